//! What a chunk subscription costs the edge: the order it streams a radius-16 ball of 17,077
//! chunks in, and the set it keeps of those still queued. A subscribe flood pays this per
//! message (a node allows 200 a second), beside the same work done by sorting both (the peer).
//!
//! Run: `cargo bench -p z3r0-net --bench subscribe`.
#![allow(clippy::unwrap_used, missing_debug_implementations)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::collections::BTreeSet;
use std::hint::black_box;
use z3r0_net::{MAX_RADIUS, subscription_queue};
use z3r0_voxel::ChunkPos;

fn dist2(a: ChunkPos, b: ChunkPos) -> i64 {
    let d = |x: i32, y: i32| i64::from(x) - i64::from(y);
    d(a.x, b.x).pow(2) + d(a.y, b.y).pow(2) + d(a.z, b.z).pow(2)
}

/// The queue and set built by sorting the ball around the centre each time.
fn by_sorting(center: ChunkPos, radius: u8) -> (Vec<ChunkPos>, BTreeSet<ChunkPos>) {
    let r = i32::from(radius);
    let mut wanted = Vec::new();
    for dy in -r..=r {
        for dz in -r..=r {
            for dx in -r..=r {
                let p = ChunkPos::new(center.x + dx, center.y + dy, center.z + dz);
                if dist2(p, center) <= i64::from(r * r) {
                    wanted.push(p);
                }
            }
        }
    }
    wanted.sort_by_key(|p| std::cmp::Reverse((dist2(*p, center), *p)));
    let queued = wanted.iter().copied().collect();
    (wanted, queued)
}

fn subscribe(c: &mut Criterion) {
    let center = ChunkPos::new(3, 1, -2);
    let mut g = c.benchmark_group("subscribe_radius_16");
    g.bench_function("sorted_each_time", |b| {
        b.iter(|| by_sorting(black_box(center), MAX_RADIUS))
    });
    g.bench_function("subscription_queue", |b| {
        b.iter(|| subscription_queue(black_box(center), MAX_RADIUS))
    });
    g.finish();
}

criterion_group!(benches, subscribe);
criterion_main!(benches);
