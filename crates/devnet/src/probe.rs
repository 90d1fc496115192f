//! `z3r0 edge-probe`: connects synthetic players to a node's QUIC edge, has them join and walk
//! in circles (one input per tick), and reports what a player gets: input-to-receipt latency,
//! snapshot rate and size, and downstream bandwidth per client from quinn's connection stats.
//! With `--hostile` it attacks the edge instead ([`crate::hostile`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::PrivateKey;
use z3r0_net::{ClientConfig, ClientEvent, EdgeClient};
use z3r0_sim::{Action, InputFrame};

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// The node's player (QUIC) address.
    #[arg(long)]
    connect: SocketAddr,
    /// The zone's genesis.toml (its validator keys are pinned and form the committee).
    #[arg(long)]
    genesis: PathBuf,
    /// Synthetic players to connect.
    #[arg(long, default_value_t = 100)]
    players: u32,
    /// Seconds to measure, after every player joined.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Player keys derive from this seed.
    #[arg(long, default_value_t = 7_000)]
    seed: u64,
    /// Attack the edge instead of playing on it (see `hostile.rs`): every attack at once for
    /// `--seconds`, or those named with `--attack`.
    #[arg(long)]
    hostile: bool,
    /// With `--hostile`: run only this attack (repeat for several).
    #[arg(long = "attack", value_enum)]
    attacks: Vec<crate::hostile::Attack>,
    /// With `--hostile`: sessions to open from one address and hold idle.
    #[arg(long, default_value_t = 1_000)]
    sessions: u32,
    /// The local address to attack from (on loopback, 127.0.0.2 is another host to the edge).
    #[arg(long, default_value = "0.0.0.0")]
    from: std::net::IpAddr,
}

#[derive(Debug, Default)]
struct PlayerReport {
    /// Input sent → its proven receipt (`Included`).
    latencies_ms: Vec<f64>,
    /// Input sent → a finalized snapshot showing it in force (the player's own frame).
    applied_ms: Vec<f64>,
    rx_bytes: u64,
    snapshots: u64,
    snapshot_bytes: u64,
    snapshot_entities: u64,
    refused: u64,
    rejected: u64,
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

pub fn run(args: &ProbeArgs) -> Result<()> {
    if args.players == 0 || args.players > 1_000 {
        bail!("--players must be between 1 and 1000, got {}", args.players);
    }
    let genesis = z3r0_genesis::Genesis::load(&args.genesis).context("loading the genesis")?;
    let keys = genesis
        .public_keys()
        .map_err(|e| anyhow::anyhow!("genesis keys: {e}"))?;
    let config = ClientConfig::new(args.connect, genesis.chain_id(), keys);
    if args.hostile {
        return crate::hostile::run(
            config,
            args.from,
            args.seconds,
            args.sessions,
            &args.attacks,
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let measure = Duration::from_secs(args.seconds.max(1));
    let reports = runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..args.players {
            let config = config.clone();
            let key = PrivateKey::from_seed(args.seed + u64::from(i));
            tasks.push(tokio::spawn(
                async move { play(config, key, i, measure).await },
            ));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await?);
        }
        anyhow::Ok(out)
    })?;
    let mut ok = Vec::new();
    for (i, r) in reports.into_iter().enumerate() {
        match r {
            Ok(r) => ok.push(r),
            Err(e) => eprintln!("player {i}: {e:#}"),
        }
    }
    if ok.is_empty() {
        bail!("no player completed the probe");
    }
    let secs = measure.as_secs_f64();
    let mut latencies: Vec<f64> = ok.iter().flat_map(|r| r.latencies_ms.clone()).collect();
    let mut applied: Vec<f64> = ok.iter().flat_map(|r| r.applied_ms.clone()).collect();
    let mut kbps: Vec<f64> = ok
        .iter()
        .map(|r| r.rx_bytes as f64 * 8.0 / secs / 1000.0)
        .collect();
    let snapshots: u64 = ok.iter().map(|r| r.snapshots).sum();
    let snap_bytes: u64 = ok.iter().map(|r| r.snapshot_bytes).sum();
    let entities: u64 = ok.iter().map(|r| r.snapshot_entities).sum();
    println!(
        "{} of {} players measured for {secs:.0} s",
        ok.len(),
        args.players
    );
    println!(
        "  input → applied   p50 {:.1} ms · p99 {:.1} ms · max {:.1} ms ({} inputs seen in force in a finalized snapshot)",
        quantile(&mut applied, 0.5),
        quantile(&mut applied, 0.99),
        quantile(&mut applied, 1.0),
        applied.len()
    );
    println!(
        "  input → receipt   p50 {:.1} ms · p99 {:.1} ms · max {:.1} ms ({} proven receipts; an input frame's are proven at the edge's proof points, about once a second)",
        quantile(&mut latencies, 0.5),
        quantile(&mut latencies, 0.99),
        quantile(&mut latencies, 1.0),
        latencies.len()
    );
    println!(
        "  snapshots         {:.1}/s per player · {:.0} bytes each · {:.1} entities each · {:.2} bytes per entity",
        snapshots as f64 / ok.len() as f64 / secs,
        snap_bytes as f64 / snapshots.max(1) as f64,
        entities as f64 / snapshots.max(1) as f64,
        snap_bytes as f64 / entities.max(1) as f64
    );
    println!(
        "  downstream        p50 {:.1} kbit/s · max {:.1} kbit/s per client (quinn UDP bytes)",
        quantile(&mut kbps, 0.5),
        quantile(&mut kbps, 1.0)
    );
    let refused: u64 = ok.iter().map(|r| r.refused).sum();
    let rejected: u64 = ok.iter().map(|r| r.rejected).sum();
    println!("  refused by node   {refused} · rejected by rules {rejected}");
    Ok(())
}

/// How long a probe player waits for its body before joining again.
const JOIN_RETRY: Duration = Duration::from_secs(2);

async fn play(
    config: ClientConfig,
    key: PrivateKey,
    index: u32,
    measure: Duration,
) -> Result<PlayerReport> {
    let mut client = EdgeClient::connect(&config, key).await?;
    let join = client.send_action(client.start_tick, Action::Join.encode_to_vec())?;
    let mut report = PlayerReport::default();
    let mut sent: std::collections::BTreeMap<u64, Instant> = Default::default();
    sent.insert(join.action.nonce, Instant::now());
    // Joined once a snapshot shows the player's body; until then the join is sent again
    // every `JOIN_RETRY`, as the game does (a datagram may be lost, under a flood too).
    let mut joined = false;
    let mut join_sent = Instant::now();
    let mut started: Option<(Instant, u64, u64, u64, u64)> = None;
    let mut last_tick = 0;
    let mut yaw = (index as u16).wrapping_mul(4_000);
    // Inputs sent, by their yaw (each differs from the last hundred): a snapshot whose own
    // frame has that yaw shows the input in force.
    let mut in_flight: std::collections::VecDeque<(u16, Instant)> = Default::default();
    let give_up = Instant::now() + Duration::from_secs(30) + measure;
    loop {
        if Instant::now() > give_up {
            bail!("timed out");
        }
        if let Some((t0, ..)) = started
            && t0.elapsed() >= measure
        {
            break;
        }
        let event = tokio::time::timeout(Duration::from_secs(5), client.next_event())
            .await
            .context("no event for 5 s")??;
        match event {
            ClientEvent::Included(i) => {
                for n in &i.nonces {
                    if let Some(t) = sent.remove(n)
                        && started.is_some()
                    {
                        report.latencies_ms.push(t.elapsed().as_secs_f64() * 1e3);
                    }
                }
                report.rejected += i.rejections.len() as u64;
            }
            ClientEvent::Refused { nonce, .. } => {
                sent.remove(&nonce);
                report.refused += u64::from(started.is_some());
            }
            ClientEvent::Snapshot(s) if !joined => {
                if s.own.is_some() {
                    joined = true;
                } else if join_sent.elapsed() >= JOIN_RETRY {
                    client.send_action(client.chain_tick(), Action::Join.encode_to_vec())?;
                    join_sent = Instant::now();
                }
            }
            ClientEvent::Snapshot(s) if s.tick > last_tick => {
                last_tick = s.tick;
                if let Some(own) = &s.own
                    && let Some(i) = in_flight.iter().position(|(y, _)| *y == own.frame.yaw)
                {
                    let (_, at) = in_flight[i];
                    if started.is_some() {
                        report.applied_ms.push(at.elapsed().as_secs_f64() * 1e3);
                    }
                    in_flight.drain(..=i);
                }
                if started.is_none() {
                    let stats = client.connection().stats();
                    started = Some((
                        Instant::now(),
                        stats.udp_rx.bytes,
                        client.snapshots_applied,
                        client.snapshot_bytes,
                        client.snapshot_entities,
                    ));
                }
                // Walk in a slow circle so everyone stays within sight of everyone.
                yaw = yaw.wrapping_add(600);
                let frame = Action::Input(InputFrame {
                    forward: 127,
                    strafe: 0,
                    yaw,
                    pitch: 0,
                    flags: 0,
                });
                let a = client.send_action(client.chain_tick(), frame.encode_to_vec())?;
                sent.insert(a.action.nonce, Instant::now());
                in_flight.push_back((yaw, Instant::now()));
                while in_flight.len() > 100 {
                    in_flight.pop_front();
                }
                while sent.len() > 256 {
                    sent.pop_first();
                }
            }
            _ => {}
        }
    }
    if let Some((_, rx0, n0, b0, e0)) = started {
        report.rx_bytes = client.connection().stats().udp_rx.bytes - rx0;
        report.snapshots = client.snapshots_applied - n0;
        report.snapshot_bytes = client.snapshot_bytes - b0;
        report.snapshot_entities = client.snapshot_entities - e0;
    }
    client.close();
    Ok(report)
}
