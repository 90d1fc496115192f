//! Voxel core benchmarks: meshing (with `binary-greedy-meshing` on the same chunks as the peer),
//! worldgen, and incremental commitment updates.
//!
//! Run: `cargo bench -p z3r0-voxel`. Per-chunk figures are the reported time divided by the
//! number of chunks per iteration (printed at start).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_debug_implementations
)]

use binary_greedy_meshing as bgm;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::BTreeSet;
use std::hint::black_box;
use z3r0_voxel::{CHUNK_VOLUME, ChunkMesh, ChunkPos, Mesher, VoxelPos, World, WorldGen, blocks::*};

const CS: usize = 32;
type Bgm = bgm::Mesher<CS>;

/// A generated world around the origin and the non-uniform surface chunks in it (each with all
/// six neighbours loaded).
fn terrain() -> (World, Vec<ChunkPos>) {
    let g = WorldGen::new(42);
    let mut world = World::with_capacity(10 * 10 * 6);
    for x in -5..5 {
        for z in -5..5 {
            for y in -2..4 {
                let p = ChunkPos::new(x, y, z);
                world.insert_chunk(p, &g.generate(p)).unwrap();
            }
        }
    }
    let chunks: Vec<ChunkPos> = world
        .chunks()
        .filter(|(p, c)| {
            p.x.abs() < 4
                && p.z.abs() < 4
                && p.y > -2
                && p.y < 3
                && c.as_uniform().is_none()
                && c.count_of(GRASS) > 0
        })
        .map(|(p, _)| p)
        .take(32)
        .collect();
    (world, chunks)
}

/// The chunk and its neighbours as `binary-greedy-meshing` wants them: a 34³ padded buffer.
fn padded(world: &World, pos: ChunkPos) -> Vec<u16> {
    let mut v = vec![0u16; Bgm::CS_P3];
    let o = pos.origin();
    for y in -1..=CS as i32 {
        for z in -1..=CS as i32 {
            for x in -1..=CS as i32 {
                let id = world
                    .voxel(VoxelPos::new(o.x + x, o.y + y, o.z + z))
                    .unwrap_or(AIR);
                // bgm's layout: index = z + x * CS_P + y * CS_P2 with padding offset 1 (see its
                // `pad_linearize`); we map our (x, y, z) onto it axis for axis.
                let i =
                    (z + 1) as usize + (x + 1) as usize * Bgm::CS_P + (y + 1) as usize * Bgm::CS_P2;
                v[i] = id;
            }
        }
    }
    v
}

fn bench_mesh(c: &mut Criterion) {
    let (world, chunks) = terrain();
    let n = chunks.len();
    let transparent: BTreeSet<u16> = [WATER, GLASS].into();
    let inputs: Vec<_> = chunks
        .iter()
        .map(|&p| {
            let v = padded(&world, p);
            let om = bgm::compute_opaque_mask::<CS>(&v, &transparent);
            let tm = bgm::compute_transparent_mask::<CS>(&v, &transparent);
            (v, om, tm)
        })
        .collect();

    let mut mesher = Mesher::new();
    let mut mesh = ChunkMesh::default();
    let mut ours_quads = 0;
    for &p in &chunks {
        mesher.mesh(&world.neighborhood(p).unwrap(), &mut mesh);
        ours_quads += mesh.quads.len();
    }
    let mut peer = Bgm::new();
    let mut peer_quads = 0;
    for (v, om, tm) in &inputs {
        peer.clear();
        peer.fast_mesh(v, om, tm);
        peer_quads += peer.quads.iter().map(Vec::len).sum::<usize>();
    }
    eprintln!(
        "meshing {n} generated terrain chunks (seed 42) per iteration; quads: ours {ours_quads}, binary-greedy-meshing {peer_quads}"
    );

    let mut g = c.benchmark_group("mesh_terrain");
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("z3r0_full", |b| {
        b.iter(|| {
            for &p in &chunks {
                mesher.mesh(&world.neighborhood(p).unwrap(), &mut mesh);
                black_box(mesh.quads.len());
            }
        })
    });
    g.bench_function("z3r0_load_only", |b| {
        b.iter(|| {
            for &p in &chunks {
                mesher.load(&world.neighborhood(p).unwrap());
            }
        })
    });
    // Like-for-like with the peer's fast path: masks already built (one loaded mesher per chunk).
    let loaded: Vec<Mesher> = chunks
        .iter()
        .map(|&p| {
            let mut m = Mesher::new();
            m.load(&world.neighborhood(p).unwrap());
            m
        })
        .collect();
    g.bench_function("z3r0_merge_only", |b| {
        b.iter(|| {
            for (m, &p) in loaded.iter().zip(&chunks) {
                m.mesh_loaded(&world.neighborhood(p).unwrap(), &mut mesh);
                black_box(mesh.quads.len());
            }
        })
    });
    g.bench_function("bgm_fast_mesh", |b| {
        b.iter(|| {
            for (v, om, tm) in &inputs {
                peer.clear();
                peer.fast_mesh(v, om, tm);
                black_box(peer.quads[0].len());
            }
        })
    });
    g.bench_function("bgm_fast_mesh_with_masks", |b| {
        b.iter(|| {
            for (v, _, _) in &inputs {
                let om = bgm::compute_opaque_mask::<CS>(v, &transparent);
                let tm = bgm::compute_transparent_mask::<CS>(v, &transparent);
                peer.clear();
                peer.fast_mesh(v, &om, &tm);
                black_box(peer.quads[0].len());
            }
        })
    });
    g.finish();
}

fn bench_worldgen(c: &mut Criterion) {
    let gen_ = WorldGen::new(42);
    let mut scratch = Box::new([AIR; CHUNK_VOLUME]);
    let mut out = z3r0_voxel::Chunk::default();
    let mut g = c.benchmark_group("worldgen");
    g.bench_function("column_heights", |b| {
        b.iter(|| black_box(gen_.column(3, -2).max()))
    });
    let column = gen_.column(3, -2);
    g.bench_function("surface_chunk", |b| {
        b.iter(|| {
            gen_.generate_into(ChunkPos::new(3, 0, -2), &column, &mut scratch, &mut out);
            black_box(out.bits_per_voxel())
        })
    });
    g.bench_function("cave_chunk", |b| {
        b.iter(|| {
            gen_.generate_into(ChunkPos::new(3, -3, -2), &column, &mut scratch, &mut out);
            black_box(out.bits_per_voxel())
        })
    });
    g.finish();
}

fn bench_commit(c: &mut Criterion) {
    let (mut world, chunks) = terrain();
    world.chunk_root();
    let mut g = c.benchmark_group("commit");
    let mut flip = 0u16;
    g.bench_function("one_dirty_chunk", |b| {
        b.iter(|| {
            flip ^= 1;
            let o = chunks[0].origin();
            world
                .set_voxel(
                    VoxelPos::new(o.x + 5, o.y + 5, o.z + 5),
                    if flip == 1 { LOG } else { STONE },
                )
                .unwrap();
            black_box(world.chunk_root())
        })
    });
    g.throughput(Throughput::Elements(chunks.len() as u64));
    g.bench_function("many_dirty_chunks", |b| {
        b.iter(|| {
            flip ^= 1;
            for p in &chunks {
                let o = p.origin();
                world
                    .set_voxel(
                        VoxelPos::new(o.x + 7, o.y + 9, o.z + 3),
                        if flip == 1 { LOG } else { GLASS },
                    )
                    .unwrap();
            }
            black_box(world.chunk_root())
        })
    });
    g.finish();
}

criterion_group!(benches, bench_mesh, bench_worldgen, bench_commit);
criterion_main!(benches);
