//! One game tick at scale: 1,000 players moving and 200 voxel edits, commitment included; and
//! a fork of the default zone (what executing ahead of finality costs when its tip is stale),
//! beside generating that zone (what a fork used to cost on top).
//!
//! Run: `cargo bench -p z3r0-sim`.
#![allow(clippy::unwrap_used, missing_debug_implementations)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use z3r0_sim::{Action, InputFrame, PlayerKey, Receipt, Sim, SimConfig, flags};
use z3r0_voxel::{VoxelPos, blocks};

const PLAYERS: usize = 1_000;
const EDITORS: usize = 200;
const FLOOR: i32 = 20;

fn key(i: usize) -> PlayerKey {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&(i as u64).to_be_bytes());
    k[31] = 1;
    k
}

/// The default zone (4×5×4 chunks) flattened to a 4-voxel stone floor below y = 20 with open sky, so every
/// player walks and every edit has a clear target.
fn zone() -> Sim {
    let config = SimConfig::default();
    let mut s = Sim::genesis(config).unwrap();
    for x in config.chunks_x.0 * 32..config.chunks_x.1 * 32 {
        for z in config.chunks_z.0 * 32..config.chunks_z.1 * 32 {
            for y in FLOOR - 4..FLOOR {
                s.voxels
                    .set_voxel(VoxelPos::new(x, y, z), blocks::STONE)
                    .unwrap();
            }
            for y in FLOOR..config.chunks_y.1 * 32 {
                s.voxels
                    .set_voxel(VoxelPos::new(x, y, z), blocks::AIR)
                    .unwrap();
            }
        }
    }
    s
}

/// Payloads for tick `t`. The first 200 players are editors: they sway back and forth (moving,
/// but staying within reach of their spot) and on even ticks place a block at their anchor (a
/// floating spot two voxels away at head height), on odd ticks break it again. Everyone else walks, each on its own slowly turning heading, jumping now
/// and then.
fn payloads(anchors: &[VoxelPos], t: u64, out: &mut Vec<(PlayerKey, Vec<u8>)>) {
    out.clear();
    for i in 0..PLAYERS {
        let k = key(i);
        let editor = i < EDITORS;
        let yaw = ((i as u64 * 2_654_435_761 + t * 300) % 65_536) as u16;
        let jump = if (t + i as u64).is_multiple_of(37) {
            flags::JUMP
        } else {
            0
        };
        let frame = InputFrame {
            forward: if !editor {
                100
            } else if t.is_multiple_of(2) {
                60
            } else {
                -60
            },
            strafe: 0,
            yaw: if editor { 0 } else { yaw },
            pitch: 0,
            flags: if editor { 0 } else { jump },
        };
        out.push((k, Action::Input(frame).encode_to_vec()));
        if editor {
            let target = anchors[i];
            let action = if t.is_multiple_of(2) {
                Action::Place(target, blocks::STONE)
            } else {
                Action::Break(target)
            };
            out.push((k, action.encode_to_vec()));
        }
    }
}

fn isqrt(v: u64) -> u64 {
    (0..=v).take_while(|r| r * r <= v).last().unwrap_or(0)
}

fn bench_tick(c: &mut Criterion) {
    let mut sim = zone();
    let joins: Vec<(PlayerKey, Vec<u8>)> = (0..PLAYERS)
        .map(|i| (key(i), Action::Join.encode_to_vec()))
        .collect();
    let mut receipts: Vec<Receipt> = Vec::with_capacity(16_384);
    sim.execute_tick(
        1,
        joins.iter().map(|(k, p)| (k, p.as_slice())),
        &mut receipts,
    );
    let mut batch = Vec::new();
    let mut t = 1u64;
    // Land everyone and spread the editors over the zone (a sunflower pattern: editor i sprints
    // out along the golden angle for a time growing with sqrt(i)), then give each editor an
    // anchor two voxels from where it stands, at head height, and let it dig one floor block
    // there for its stone.
    for step in 0..130u64 {
        t += 1;
        let spread: Vec<(PlayerKey, Vec<u8>)> = (0..PLAYERS)
            .map(|i| {
                let walk_ticks = 7 + 8 * isqrt(i as u64);
                let frame = if i < EDITORS && step < walk_ticks {
                    InputFrame {
                        forward: 127,
                        yaw: ((i as u64 * 25_033) % 65_536) as u16, // golden angle in turn units
                        flags: flags::SPRINT,
                        ..InputFrame::default()
                    }
                } else {
                    InputFrame::default()
                };
                (key(i), Action::Input(frame).encode_to_vec())
            })
            .collect();
        sim.execute_tick(
            t,
            spread.iter().map(|(k, p)| (k, p.as_slice())),
            &mut receipts,
        );
    }
    let anchors: Vec<VoxelPos> = (0..EDITORS)
        .map(|i| {
            let p = sim.body(&key(i)).unwrap().pos;
            let (dx, dz) = [(2, 0), (-2, 0), (0, 2), (0, -2)][i % 4];
            VoxelPos::new(
                (p[0] >> 10) as i32 + dx,
                FLOOR + 2,
                (p[2] >> 10) as i32 + dz,
            )
        })
        .collect();
    t += 1;
    let digs: Vec<(PlayerKey, Vec<u8>)> = anchors
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let below = VoxelPos::new(a.x, FLOOR - 1, a.z);
            (key(i), Action::Break(below).encode_to_vec())
        })
        .collect();
    sim.execute_tick(
        t,
        digs.iter().map(|(k, p)| (k, p.as_slice())),
        &mut receipts,
    );

    for _ in 0..40 {
        t += 1;
        payloads(&anchors, t, &mut batch);
        receipts.clear();
        sim.execute_tick(
            t,
            batch.iter().map(|(k, p)| (k, p.as_slice())),
            &mut receipts,
        );
    }
    let mut reasons = std::collections::BTreeMap::new();
    for r in &receipts {
        if let Receipt::Rejected { reason, .. } = r {
            *reasons.entry(reason.message()).or_insert(0) += 1;
        }
    }
    let edits = receipts
        .iter()
        .filter(|r| matches!(r, Receipt::BlockChanged { .. }))
        .count();
    eprintln!(
        "tick: {PLAYERS} players, {EDITORS} edit attempts; last warm-up tick: {edits} edits applied, refusals {reasons:?}"
    );
    c.bench_function("tick_1000_players_200_edits", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                t += 1;
                payloads(&anchors, t, &mut batch);
                receipts.clear();
                let start = std::time::Instant::now();
                black_box(sim.execute_tick(
                    t,
                    batch.iter().map(|(k, p)| (k, p.as_slice())),
                    &mut receipts,
                ));
                total += start.elapsed();
            }
            total
        })
    });
}

fn bench_fork(c: &mut Criterion) {
    use z3r0_chain::Snapshot as _;
    let sim = zone();
    c.bench_function("fork_default_zone", |b| {
        b.iter(|| black_box(sim.fork().unwrap()))
    });
    c.bench_function("genesis_default_zone", |b| {
        b.iter(|| black_box(Sim::genesis(SimConfig::default()).unwrap()))
    });
}

criterion_group!(benches, bench_tick, bench_fork);
criterion_main!(benches);
