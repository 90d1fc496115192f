//! State bounded by what is live: per-block execution cost and checkpoint size of a zone after
//! many distinct keys joined, acted and left, against a fresh zone running the same workload.
//!
//!     cargo run --release -p z3r0-node --example churn_bench [-- KEYS [RUNS]]
//!
//! Churn: KEYS (default 100,000) keys in groups of 500, each group joining in one block, walking
//! in the next and leaving in the one after, every action signed and checked as a validator
//! checks a block. Then both zones run the same workload, 50 players joining and walking for
//! 100 blocks, RUNS times (default 5), alternating; the median time per block and the ratio
//! churned / fresh are reported with both checkpoint sizes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use rand_core::SeedableRng as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use z3r0_chain::{Action, Block, ChainId, MempoolConfig, SignedAction, StateMachine};
use z3r0_node::Executor;
use z3r0_node::walk;
use z3r0_sim::{Action as GameAction, Sim, SimConfig};

const CHAIN: ChainId = ChainId([0; 32]);
const GROUP: u64 = 500;

fn zone() -> Executor<Sim> {
    let config = MempoolConfig {
        payload: Sim::check_payload,
        endorsements: Sim::endorsement,
        ..MempoolConfig::for_zone(CHAIN, 1)
    };
    let sim = Sim::genesis(SimConfig {
        chunks_x: (-2, 2),
        chunks_y: (-1, 2),
        chunks_z: (-2, 2),
        ..SimConfig::default()
    })
    .unwrap();
    let mut entropy = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    Executor::new(config, sim, &mut entropy)
}

/// Executes the next block with one action per key (`nonce`, `payload`) as a validator would:
/// checked (signatures included), then finalized.
fn step(ex: &mut Executor<Sim>, keys: &[PrivateKey], nonce: u64, payload: &[u8]) {
    let parent = ex.finalized().clone();
    let tick = parent.block.tick + 1;
    let actions: Vec<SignedAction> = keys
        .iter()
        .map(|k| {
            Action {
                player: k.public_key(),
                zone: 1,
                tick,
                nonce: parent.nonces.next(&k.public_key()).max(nonce),
                payload: payload.to_vec().into(),
            }
            .sign(k, &CHAIN)
        })
        .collect();
    let block = Arc::new(Block {
        parent: parent.digest,
        height: parent.block.height + 1,
        tick,
        zone: 1,
        parent_state_root: parent.root,
        actions,
        imports: Vec::new(),
    });
    ex.finalize(block, &mut Vec::new()).expect("a valid block");
}

fn churn(ex: &mut Executor<Sim>, keys: u64) {
    let join = GameAction::Join.encode_to_vec();
    let leave = GameAction::Leave.encode_to_vec();
    for group in 0..keys.div_ceil(GROUP) {
        let first = 1_000_000 + group * GROUP;
        let players: Vec<_> = (first..first + GROUP.min(keys - group * GROUP))
            .map(PrivateKey::from_seed)
            .collect();
        step(ex, &players, 0, &join);
        step(ex, &players, 1, &walk());
        step(ex, &players, 2, &leave);
    }
    // Past the nonce window: every record of a departed key has expired.
    for _ in 0..25 {
        step(ex, &[], 0, &[]);
    }
}

/// Time per block of the workload: 50 players join, then walk for 100 blocks.
fn workload(ex: &mut Executor<Sim>, run: u64) -> Duration {
    let players: Vec<_> = (0..50)
        .map(|i| PrivateKey::from_seed(9_000_000 + run * 100 + i))
        .collect();
    let start = Instant::now();
    step(ex, &players, 0, &GameAction::Join.encode_to_vec());
    for _ in 0..100 {
        step(ex, &players, 0, &walk());
    }
    step(ex, &players, 0, &GameAction::Leave.encode_to_vec());
    let per_block = start.elapsed() / 102;
    for _ in 0..25 {
        step(ex, &[], 0, &[]);
    }
    per_block
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let keys: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let runs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let (mut fresh, mut churned) = (zone(), zone());
    let started = Instant::now();
    churn(&mut churned, keys);
    println!(
        "churn: {keys} keys joined, walked and left in {} blocks, {:.1} s",
        churned.finalized().block.height,
        started.elapsed().as_secs_f64()
    );
    let (mut f, mut c) = (Vec::new(), Vec::new());
    for run in 0..runs {
        f.push(workload(&mut fresh, run));
        c.push(workload(&mut churned, run));
    }
    let (f, c) = (median(f), median(c));
    let (fs, cs) = (
        fresh.checkpoint().unwrap().len(),
        churned.checkpoint().unwrap().len(),
    );
    println!(
        "per block (median of {runs}): fresh {:.3} ms, churned {:.3} ms, ratio {:.3}",
        f.as_secs_f64() * 1e3,
        c.as_secs_f64() * 1e3,
        c.as_secs_f64() / f.as_secs_f64()
    );
    println!(
        "checkpoint: fresh {fs} bytes, churned {cs} bytes, ratio {:.3}; nonce records {} and {}; entity id space {} and {}",
        cs as f64 / fs as f64,
        fresh.finalized().nonces.len(),
        churned.finalized().nonces.len(),
        fresh.state().ecs.id_space(),
        churned.state().ecs.id_space(),
    );
}
