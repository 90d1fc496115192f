//! A steady-state loop of chunk alloc / free / edit / mesh / commit into reused buffers makes no
//! heap allocations.

use z3r0_mem::{CountingAllocator, Pool, count_allocations};
use z3r0_voxel::{
    CHUNK_VOLUME, Chunk, ChunkMesh, ChunkPos, Mesher, Neighborhood, SparseMerkleTree, WorldGen,
    blocks::*, chunk_key,
};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

#[test]
fn steady_state_chunk_loop_allocates_nothing() {
    let g = WorldGen::new(42);
    // A few generated surface chunks as templates (generation itself is not in the loop).
    let templates: Vec<Chunk> = (0..4).map(|i| g.generate(ChunkPos::new(i, 0, 1))).collect();
    let mut pool = Pool::new(16, Chunk::default);
    let mut mesher = Mesher::new();
    let mut mesh = ChunkMesh::default();
    let mut tree = SparseMerkleTree::new();
    let mut scratch = Vec::with_capacity(CHUNK_VOLUME * 2 + 64);
    let keys: Vec<_> = (0..4).map(|i| chunk_key(ChunkPos::new(i, 0, 1))).collect();
    for k in &keys {
        tree.insert(*k, [0; 32]);
    }
    let mut handles = Vec::with_capacity(16);

    let mut tick = |n: usize| {
        for t in &templates {
            handles.push(pool.alloc_with(|c| c.copy_from(t)).expect("pool has room"));
        }
        for (i, &h) in handles.iter().enumerate() {
            let c = pool.get_mut(h).expect("live handle");
            // Dig a small pit and place a few blocks, different each tick.
            for k in 0..8 {
                c.set_index(
                    (n * 131 + k * 1031 + i * 7) % CHUNK_VOLUME,
                    if k % 2 == 0 { AIR } else { LOG },
                );
            }
            mesher.mesh(&Neighborhood::alone(c), &mut mesh);
            assert!(!mesh.quads.is_empty());
            tree.insert(keys[i], c.hash_with(&mut scratch));
        }
        tree.root();
        for h in handles.drain(..) {
            pool.free(h).expect("live handle");
        }
    };
    // Warm-up: buffers grow to their working size (pool slots come back in alternating order).
    for n in 0..4 {
        tick(n);
    }
    let ((), stats) = count_allocations(|| {
        for n in 4..54 {
            tick(n);
        }
    });
    assert_eq!(
        stats.heap_calls(),
        0,
        "steady-state loop allocated: {stats:?}"
    );
}
