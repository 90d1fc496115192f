//! Simulated-region benchmark: a zone of 4 or 7 validators on the deterministic runtime with
//! 3 ± 1 ms links, unpaced and at a 50 ms tick, with counter load. Reports (virtual time) the
//! block interval and finality latency medians and p99 as seen by validator 0.
//!
//!     cargo run --release -p z3r0-node --example simnet_bench

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_runtime::{Clock as _, Runner as _, deterministic};
use std::time::Duration;
use z3r0_chain::Counters;
use z3r0_node::Pacing;
use z3r0_node::{SimNet, link};

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted
        .get((sorted.len() * p / 100).min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or_default()
}

fn run(validators: usize, pacing: Pacing, seconds: u64) -> String {
    deterministic::Runner::new(
        // Advance virtual time 10 µs per scheduler pass (default 1 ms): each actor hop inside a
        // validator costs one pass, which at 1 ms would dominate 3 ms links.
        deterministic::Config::new()
            .with_seed(5)
            .with_cycle(Duration::from_micros(10)),
    ).start(|context| async move {
        let mut net = SimNet::new(context, validators, link(3, 1, 1000), pacing, Counters::default).await;
        if let Err(e) = net.start_all().await {
            return format!("could not start: {e}");
        }
        let players: Vec<_> = (0..20u64).map(|i| PrivateKey::from_seed(90_000 + i)).collect();
        let rounds = seconds * 20;
        for round in 0..rounds {
            net.submit_round(&players, round, &1u64.to_be_bytes());
            net.context.sleep(Duration::from_millis(50)).await;
        }
        let log = net.logs[0].lock().map(|l| l.clone()).unwrap_or_default();
        // Skip the first second (start-up).
        let log: Vec<_> = log.into_iter().skip_while(|f| f.height < 20).collect();
        let mut intervals: Vec<Duration> = log
            .windows(2)
            .filter_map(|w| w[1].at.duration_since(w[0].at).ok())
            .collect();
        intervals.sort();
        let mut finality: Vec<Duration> = log.iter().filter_map(|f| f.latency).collect();
        finality.sort();
        let actions: usize = log.iter().map(|f| f.actions).sum();
        let span = match (log.first(), log.last()) {
            (Some(a), Some(b)) => b.at.duration_since(a.at).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        let rate = (log.len().saturating_sub(1)) as f64 / span.as_secs_f64().max(1e-9);
        format!(
            "{validators} validators, {}: {} blocks ({rate:.1}/s virtual), {actions} actions; block interval p50 {:?} p99 {:?}; finality p50 {:?} p99 {:?}",
            if pacing.tick_ms == 0 { "unpaced".to_string() } else { format!("{} ms tick", pacing.tick_ms) },
            log.len(),
            percentile(&intervals, 50),
            percentile(&intervals, 99),
            percentile(&finality, 50),
            percentile(&finality, 99),
        )
    })
}

fn main() {
    let paced = Pacing {
        genesis_ms: 0,
        tick_ms: 50,
    };
    for validators in [4, 7] {
        println!("{}", run(validators, Pacing::UNPACED, 10));
        println!("{}", run(validators, paced, 10));
    }
}
