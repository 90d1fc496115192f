//! A world of many zones at scale, in the deterministic runtime's virtual time: every zone a
//! chain of its own on its committee, one simulated network for the whole pool, bots roaming
//! across borders through certified handoffs.
//!
//!     cargo run --release -p z3r0-node --example world_scale [-- GRIDS [SECONDS]]
//!
//! GRIDS is a comma-separated list of grids (default `1x1,2x2,4x4,8x8`); each runs for SECONDS
//! of virtual time (default 10) after a warm-up, with a pool of two validators per zone (at
//! least four), committees of four, 20 bots per zone each sending an input every 4 ticks, and
//! links of 20 ± 10 ms. Each run prints one line: finalized actions per second in all and per
//! zone, handoffs and their latency (exit finalized in the source to entry finalized in the
//! destination), items lost, and each validator's replicas, messages sent and the real time
//! the whole run took.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use commonware_codec::Encode as _;
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_runtime::{Clock as _, Metrics as _, Runner as _, deterministic};
use rand_core::{Rng as _, SeedableRng as _};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use z3r0_chain::Action;
use z3r0_node::genesis::{PoolEntry, WorldGenesis, to_hex};
use z3r0_node::{WorldNet, link};
use z3r0_sim::{Action as GameAction, InputFrame, flags};

const BOTS_PER_ZONE: usize = 20;
const INPUT_EVERY_TICKS: u64 = 4;
const COMMITTEE: usize = 4;

struct Bot {
    key: PrivateKey,
    account: [u8; 32],
    yaw: u16,
    /// Next nonce per zone number (each zone's chain keeps its own).
    nonces: BTreeMap<u32, u64>,
}

struct Run {
    zones: usize,
    pool: usize,
    virtual_s: f64,
    real_s: f64,
    actions: u64,
    handoffs: usize,
    latencies_ms: Vec<u64>,
    lost: u64,
    max_replicas: usize,
    /// Mean and most messages sent per second by one validator.
    messages: (f64, f64),
}

fn world(grid: [u16; 2], keys: &[PrivateKey]) -> WorldGenesis {
    let pool = keys
        .iter()
        .zip(0u32..)
        .map(|(k, i)| PoolEntry {
            public_key: to_hex(&k.public_key().encode()),
            weight: 1,
            p2p: std::net::SocketAddr::from(([10, (i >> 16) as u8, (i >> 8) as u8, i as u8], 3000)),
            players: None,
        })
        .collect();
    let mut world = WorldGenesis::new(grid, COMMITTEE, pool);
    // Small zones (one chunk column square, three layers): many borders for the bots to cross.
    world.zone_chunks = [1, 1];
    world.origin = origin();
    world.chunks_y = [-1, 2];
    world.timeout_s = 600;
    world
}

/// Messages the validators sent (mean and most of one), from the simulated network's counters.
fn messages_per_validator(metrics: &str) -> (f64, f64) {
    let mut by_origin: BTreeMap<&str, f64> = BTreeMap::new();
    for line in metrics
        .lines()
        .filter(|l| l.contains("messages_sent_total{"))
    {
        let origin = line
            .split("origin=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("");
        let count = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        *by_origin.entry(origin).or_default() += count;
    }
    let n = by_origin.len().max(1) as f64;
    let max = by_origin.values().copied().fold(0.0, f64::max);
    (by_origin.values().sum::<f64>() / n, max)
}

fn run(grid: [u16; 2], seconds: u64) -> Run {
    let zones = usize::from(grid[0]) * usize::from(grid[1]);
    let pool = (2 * zones).max(COMMITTEE);
    let started = Instant::now();
    let runner = deterministic::Runner::new(
        deterministic::Config::new()
            .with_seed(1)
            .with_timeout(Some(Duration::from_secs(3600))),
    );
    runner.start(|context| async move {
        let t0 = context.current();
        let keys: Vec<PrivateKey> = (0..pool as u64)
            .map(|i| PrivateKey::from_seed(10_000 + i))
            .collect();
        let genesis = world(grid, &keys);
        let mut net = WorldNet::new(context, genesis, keys, link(20, 10, 1000))
            .await
            .unwrap();
        net.start_all().await.unwrap();
        assert!(
            net.wait_for_all(3, Duration::from_secs(60)).await,
            "the world did not start"
        );
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let mut bots: Vec<Bot> = (0..zones * BOTS_PER_ZONE)
            .map(|i| {
                let key = PrivateKey::from_seed(1_000_000 + i as u64);
                let account = key.public_key().encode().as_ref().try_into().unwrap();
                Bot {
                    key,
                    account,
                    yaw: rng.next_u32() as u16,
                    nonces: BTreeMap::new(),
                }
            })
            .collect();
        // Each bot joins the zone it is numbered for.
        let joins: Vec<(usize, usize)> = (0..bots.len()).map(|b| (b / BOTS_PER_ZONE, b)).collect();
        for (z, b) in joins {
            send(&net, z, &mut bots[b], GameAction::Join);
        }
        let start_actions = finalized_actions(&net);
        let start = net.context.current();
        let end = start + Duration::from_secs(seconds);
        while net.context.current() < end {
            net.context
                .sleep(Duration::from_millis(INPUT_EVERY_TICKS * 50))
                .await;
            // Where each bot is now (a bot in transit is in no zone, and waits).
            let mut whereabouts = BTreeMap::new();
            for z in 0..zones {
                let seat = net.zones[z].seats[0];
                net.with_state(z, seat, |sim| {
                    for (key, _) in sim.players() {
                        whereabouts.insert(*key, z);
                    }
                });
            }
            for bot in &mut bots {
                let Some(&z) = whereabouts.get(&bot.account) else {
                    continue;
                };
                // Mostly straight on, now and then a new heading.
                if rng.next_u32() % 20 == 0 {
                    bot.yaw = rng.next_u32() as u16;
                }
                let frame = InputFrame {
                    forward: 127,
                    strafe: 0,
                    yaw: bot.yaw,
                    pitch: 0,
                    flags: flags::SPRINT | flags::JUMP,
                };
                send(&net, z, bot, GameAction::Input(frame));
            }
        }
        let virtual_s = net
            .context
            .current()
            .duration_since(start)
            .unwrap()
            .as_secs_f64();
        let actions = finalized_actions(&net) - start_actions;
        let crossings = net.crossings.lock().unwrap();
        let mut latencies_ms: Vec<u64> = crossings
            .latencies()
            .iter()
            .map(|d| d.as_millis() as u64)
            .collect();
        latencies_ms.sort_unstable();
        let mut replicas = vec![0usize; pool];
        for zone in &net.zones {
            for &s in &zone.seats {
                replicas[s] += 1;
            }
        }
        for z in 0..zones {
            net.agreed_chain(z).unwrap();
        }
        assert!(net.failures.lock().unwrap().is_empty());
        Run {
            zones,
            pool,
            virtual_s,
            real_s: started.elapsed().as_secs_f64(),
            actions,
            handoffs: crossings.entries.len(),
            latencies_ms,
            lost: crossings.lost,
            max_replicas: replicas.iter().copied().max().unwrap_or(0),
            messages: {
                let (mean, max) = messages_per_validator(&net.context.encode());
                let s = net
                    .context
                    .current()
                    .duration_since(t0)
                    .unwrap()
                    .as_secs_f64();
                (mean / s, max / s)
            },
        }
    })
}

/// Actions in every zone's finalized blocks so far (one seat's log per zone).
fn finalized_actions(net: &WorldNet) -> u64 {
    net.zones
        .iter()
        .map(|zone| {
            let log = zone.logs.values().next().unwrap().lock().unwrap();
            log.iter().map(|f| f.actions as u64).sum::<u64>()
        })
        .sum()
}

/// Signs `action` for the bot's zone `z` at the replica's current tick and submits it to the
/// zone's first seat (the mempool relays it to the rest of the committee).
fn send(net: &WorldNet, z: usize, bot: &mut Bot, action: GameAction) {
    let zone = &net.zones[z];
    let seat = zone.seats[0];
    let number = zone.id.number();
    let tick = net.current_tick(z, seat).unwrap_or(0) + 1;
    let nonce = bot.nonces.entry(number).or_insert(0);
    let signed = Action {
        player: bot.key.public_key(),
        zone: number,
        tick,
        nonce: *nonce,
        payload: action.encode_to_vec().into(),
    }
    .sign(&bot.key, &zone.chain)
    .encode();
    if net.submit(z, seat, &signed) {
        *nonce += 1;
    }
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[(sorted.len() - 1) * p / 100]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let grids: Vec<[u16; 2]> = args
        .first()
        .map_or("1x1,2x2,4x4,8x8", String::as_str)
        .split(',')
        .map(|g| {
            let (x, z) = g.split_once('x').expect("a grid is XxZ");
            [x.parse().unwrap(), z.parse().unwrap()]
        })
        .collect();
    let seconds: u64 = args.get(1).map_or(10, |s| s.parse().unwrap());
    println!(
        "zones | pool | actions/s | per zone | handoffs | handoff p50 / p99 ms | lost | max replicas per validator | messages/s per validator, mean / max | real s"
    );
    let mut base = None;
    for grid in grids {
        let r = run(grid, seconds);
        let rate = r.actions as f64 / r.virtual_s;
        let per_zone = rate / r.zones as f64;
        let scaling = match base {
            None => {
                base = Some(per_zone);
                1.0
            }
            Some(b) => per_zone / b,
        };
        println!(
            "{} | {} | {:.0} | {:.1} ({:.2}× the 1st row's) | {} | {} / {} | {} | {} | {:.0} / {:.0} | {:.1}",
            r.zones,
            r.pool,
            rate,
            per_zone,
            scaling,
            r.handoffs,
            percentile(&r.latencies_ms, 50),
            percentile(&r.latencies_ms, 99),
            r.lost,
            r.max_replicas,
            r.messages.0,
            r.messages.1,
            r.real_s,
        );
    }
}

/// The world's first chunk column (`WORLD_SCALE_ORIGIN=x,z` to move it).
fn origin() -> [i32; 2] {
    std::env::var("WORLD_SCALE_ORIGIN")
        .ok()
        .and_then(|v| {
            let (x, z) = v.split_once(',')?;
            Some([x.parse().ok()?, z.parse().ok()?])
        })
        .unwrap_or([-20, 5])
}
