//! A steady-state tick (players walking, blocks placed and broken, commit and state root) makes
//! no heap allocations.

mod common;

use common::*;
use z3r0_mem::{CountingAllocator, count_allocations};
use z3r0_sim::{Action, InputFrame, PlayerKey, flags};
use z3r0_voxel::{VoxelPos, blocks};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

#[test]
fn steady_state_tick_allocates_nothing() {
    let keys: Vec<PlayerKey> = (0..40u8).map(|i| [i + 10; 32]).collect();
    let mut s = joined(&keys);
    // Each of the first 8 players edits a spot two voxels east of it, at head height.
    let anchors: Vec<VoxelPos> = keys[..8]
        .iter()
        .map(|k| {
            let f = feet(&s, k);
            VoxelPos::new(f.x + 2, FLOOR + 1, f.z)
        })
        .collect();
    // Each editor digs one floor block for its stone.
    let digs: Vec<_> = keys[..8]
        .iter()
        .zip(&anchors)
        .map(|(k, a)| (*k, Action::Break(VoxelPos::new(a.x, FLOOR - 1, a.z))))
        .collect();
    tick(&mut s, &digs);
    // Payloads for 40 ticks, encoded up front: walkers circle, editors place then break.
    let batches: Vec<Vec<(PlayerKey, Vec<u8>)>> = (0..40u64)
        .map(|t| {
            let mut b = Vec::new();
            for (i, k) in keys.iter().enumerate() {
                let editor = i < 8;
                let frame = InputFrame {
                    forward: if editor { 0 } else { 90 },
                    yaw: ((i as u64 * 9_000 + t * 900) % 65_536) as u16,
                    flags: if t % 10 == 3 { flags::JUMP } else { 0 },
                    ..InputFrame::default()
                };
                b.push((*k, Action::Input(frame).encode_to_vec()));
                if editor {
                    let a = if t % 2 == 0 {
                        Action::Place(anchors[i], blocks::STONE)
                    } else {
                        Action::Break(anchors[i])
                    };
                    b.push((*k, a.encode_to_vec()));
                }
            }
            b
        })
        .collect();
    let mut receipts = Vec::with_capacity(4096);
    let mut run = |batch: &Vec<(PlayerKey, Vec<u8>)>, receipts: &mut Vec<_>| {
        receipts.clear();
        let next = s.tick() + 1;
        s.execute_tick(next, batch.iter().map(|(k, p)| (k, p.as_slice())), receipts);
    };
    for b in &batches[..10] {
        run(b, &mut receipts);
    }
    let mut edits = 0;
    let (_, stats) = count_allocations(|| {
        for b in &batches[10..] {
            run(b, &mut receipts);
            edits += receipts
                .iter()
                .filter(|r| matches!(r, z3r0_sim::Receipt::BlockChanged { .. }))
                .count();
        }
    });
    assert!(edits >= 8 * 30 / 2, "edits applied: {edits}");
    assert_eq!(stats.heap_calls(), 0, "{stats:?}");
}
