//! The greedy mesher against a face-by-face reference, on random and generated chunks.

use std::collections::BTreeSet;
use z3r0_voxel::{
    BlockId, CHUNK_VOLUME, Chunk, ChunkMesh, ChunkPos, Face, Mesher, Neighborhood, Opacities,
    Opacity, Quad, World, WorldGen, blocks::*, voxel_index,
};

/// (transparent pass, face, x, y, z, block) of every visible unit face.
type FaceSet = BTreeSet<(bool, u8, i32, i32, i32, BlockId)>;

fn id_padded(h: &Neighborhood<'_>, x: i32, y: i32, z: i32) -> BlockId {
    let inside = |v: i32| (0..32).contains(&v);
    if inside(x) && inside(y) && inside(z) {
        return h
            .center
            .get_index(voxel_index(x as usize, y as usize, z as usize));
    }
    let (face, lx, ly, lz) = if x < 0 {
        (Face::NegX, 31, y, z)
    } else if x > 31 {
        (Face::PosX, 0, y, z)
    } else if y < 0 {
        (Face::NegY, x, 31, z)
    } else if y > 31 {
        (Face::PosY, x, 0, z)
    } else if z < 0 {
        (Face::NegZ, x, y, 31)
    } else {
        (Face::PosZ, x, y, 0)
    };
    h.neighbors[face as usize].map_or(AIR, |c| {
        c.get_index(voxel_index(lx as usize, ly as usize, lz as usize))
    })
}

fn reference_faces(h: &Neighborhood<'_>, ops: &Opacities) -> FaceSet {
    let is_opaque = |id| ops.get(id) == Opacity::Opaque;
    let is_transparent = |id| ops.get(id) == Opacity::Transparent;
    let mut set = FaceSet::new();
    for y in 0..32 {
        for z in 0..32 {
            for x in 0..32 {
                let v = id_padded(h, x, y, z);
                if ops.get(v) == Opacity::Empty {
                    continue;
                }
                for f in Face::ALL {
                    let [dx, dy, dz] = f.normal();
                    let n = id_padded(h, x + dx, y + dy, z + dz);
                    let visible = if is_transparent(v) {
                        !is_opaque(n) && n != v
                    } else {
                        !is_opaque(n)
                    };
                    if visible {
                        set.insert((is_transparent(v), f as u8, x, y, z, v));
                    }
                }
            }
        }
    }
    set
}

fn mesh_faces(mesh: &ChunkMesh) -> FaceSet {
    let mut set = FaceSet::new();
    let mut add = |q: &Quad, transparent: bool| {
        let f = q.face();
        let (u, v) = Quad::axes(f);
        let p = q.pos().map(|c| c as i32);
        for i in 0..q.width() as i32 {
            for j in 0..q.height() as i32 {
                let mut c = p;
                c[u] += i;
                c[v] += j;
                if f.is_positive() {
                    c[f.axis()] -= 1;
                }
                let fresh = set.insert((transparent, f as u8, c[0], c[1], c[2], q.block()));
                assert!(fresh, "face covered twice: {q:?}");
            }
        }
    };
    for (f, range) in mesh.opaque.windows(2).enumerate() {
        for q in &mesh.quads[range[0] as usize..range[1] as usize] {
            assert_eq!(q.face() as usize, f, "opaque quads grouped by face");
            add(q, false);
        }
    }
    for (f, range) in mesh.transparent.windows(2).enumerate() {
        for q in &mesh.quads[range[0] as usize..range[1] as usize] {
            assert_eq!(q.face() as usize, f, "transparent quads grouped by face");
            add(q, true);
        }
    }
    set
}

fn check(h: &Neighborhood<'_>) -> ChunkMesh {
    check_with(h, Opacities::builtin())
}

fn check_with(h: &Neighborhood<'_>, ops: &Opacities) -> ChunkMesh {
    let mut mesher = Mesher::new();
    mesher.set_opacities(ops.clone());
    let mut mesh = ChunkMesh::default();
    mesher.mesh(h, &mut mesh);
    assert_eq!(mesh_faces(&mesh), reference_faces(h, ops));
    mesh
}

/// Deterministic pseudo-random chunk: `density` in 0..=100 percent non-air, drawn from `ids`.
fn random_chunk(seed: u64, density: u64, ids: &[BlockId]) -> Chunk {
    let mut s = seed;
    let mut v = Box::new([AIR; CHUNK_VOLUME]);
    for x in v.iter_mut() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = s >> 33;
        if r % 100 < density {
            *x = ids[(r / 100) as usize % ids.len()];
        }
    }
    Chunk::from_voxels(&v)
}

#[test]
fn single_voxel_gives_six_unit_quads() {
    let mut c = Chunk::uniform(AIR);
    c.set_index(voxel_index(3, 4, 5), STONE);
    let mesh = check(&Neighborhood::alone(&c));
    assert_eq!(mesh.quads.len(), 6);
}

#[test]
fn solid_chunk_merges_to_one_quad_per_side() {
    let c = Chunk::uniform(STONE);
    let mesh = check(&Neighborhood::alone(&c));
    assert_eq!(mesh.quads.len(), 6);
    assert!(
        mesh.quads
            .iter()
            .all(|q| q.width() == 32 && q.height() == 32)
    );
    // Fully enclosed by solid neighbours: nothing is visible.
    let stone = Chunk::uniform(STONE);
    let hood = Neighborhood {
        center: &c,
        neighbors: [Some(&stone); 6],
    };
    assert_eq!(check(&hood).quads.len(), 0);
}

#[test]
fn random_chunks_match_reference() {
    for (seed, density) in [(1, 10), (2, 50), (3, 90)] {
        let c = random_chunk(seed, density, &[STONE, DIRT, GRASS, WATER, LEAVES]);
        let n: Vec<Chunk> = (0..6)
            .map(|i| random_chunk(seed * 10 + i, density, &[STONE, WATER, SAND]))
            .collect();
        let neighbors = [
            Some(&n[0]),
            Some(&n[1]),
            Some(&n[2]),
            None,
            Some(&n[4]),
            Some(&n[5]),
        ];
        check(&Neighborhood {
            center: &c,
            neighbors,
        });
    }
}

#[test]
fn every_storage_width_matches_reference() {
    // Palettes of 2, 3, 9, 40 and 300 ids cover 1-, 2-, 4-, 8- and 16-bit indices; ids past the
    // built-in blocks are opaque. Neighbours get the same widths so their border masks do too.
    for (seed, count) in [(21u64, 1u16), (22, 2), (23, 8), (24, 39), (25, 299)] {
        let mut ids: Vec<BlockId> = vec![STONE, WATER];
        ids.extend((0..count.saturating_sub(1)).map(|k| 100 + k));
        ids.truncate(usize::from(count).max(1));
        let c = random_chunk(seed, 70, &ids);
        let expected_bits = match ids.len() + 1 {
            2 => 1,
            3..=4 => 2,
            5..=16 => 4,
            17..=256 => 8,
            _ => 16,
        };
        assert_eq!(c.bits_per_voxel(), expected_bits, "{} ids", ids.len());
        let n: Vec<Chunk> = (0..6)
            .map(|i| random_chunk(seed * 10 + i, 70, &ids))
            .collect();
        let neighbors = [0, 1, 2, 3, 4, 5].map(|i| Some(&n[i]));
        check(&Neighborhood {
            center: &c,
            neighbors,
        });
    }
}

#[test]
fn content_blocks_mesh_as_their_opacity_says() {
    // Content adds a glass-like block (11), an invisible one (12) and a wide id (3000) of
    // each kind; every storage width must read them from the table, not the built-in one.
    let mut ops = Opacities::builtin().clone();
    ops.set(11, Opacity::Transparent).unwrap();
    ops.set(12, Opacity::Empty).unwrap();
    ops.set(3_000, Opacity::Transparent).unwrap();
    for count in [1u16, 2, 8, 39, 299] {
        let mut ids: Vec<BlockId> = vec![11, 12, STONE, 3_000, WATER];
        ids.extend((0..count).map(|k| 100 + k));
        ids.truncate(usize::from(count).max(1));
        let c = random_chunk(u64::from(count), 70, &ids);
        let n: Vec<Chunk> = (0..6)
            .map(|i| random_chunk(u64::from(count) * 10 + i, 70, &ids))
            .collect();
        let hood = Neighborhood {
            center: &c,
            neighbors: [0, 1, 2, 3, 4, 5].map(|i| Some(&n[i])),
        };
        check_with(&hood, &ops);
    }
    // A lone content block of each kind: glass-like is drawn in the transparent pass, the
    // invisible one not at all, and neither hides the stone beside it.
    let mut c = Chunk::uniform(AIR);
    c.set_index(voxel_index(3, 4, 5), 11);
    c.set_index(voxel_index(4, 4, 5), STONE);
    c.set_index(voxel_index(9, 9, 9), 12);
    c.set_index(voxel_index(10, 9, 9), STONE);
    let mesh = check_with(&Neighborhood::alone(&c), &ops);
    assert_eq!(
        mesh.transparent_quads().len(),
        5,
        "all but the face on the stone"
    );
    assert!(mesh.quads.iter().all(|q| q.block() != 12));
    assert_eq!(
        mesh.opaque_quads().len(),
        12,
        "stone shows all six faces, twice"
    );
    // The uniform chunk of a content block.
    check_with(&Neighborhood::alone(&Chunk::uniform(11)), &ops);
    check_with(&Neighborhood::alone(&Chunk::uniform(12)), &ops);
}

#[test]
fn layers_of_identical_partial_rows_match_reference() {
    // Every row of a layer alike but neither empty nor full (walls along x): the layer-level
    // shortcuts must not mistake such a layer for a uniform one.
    let mut c = Chunk::uniform(AIR);
    for i in 0..CHUNK_VOLUME {
        let x = i % 32;
        if x < 5 {
            c.set_index(i, STONE);
        } else if (9..12).contains(&x) {
            c.set_index(i, WATER);
        }
    }
    check(&Neighborhood::alone(&c));
    let solid = Chunk::uniform(STONE);
    check(&Neighborhood {
        center: &c,
        neighbors: [Some(&solid); 6],
    });
}

#[test]
fn mixed_transparent_blocks_show_faces_between_kinds() {
    // Water beside water hides the shared face; water beside glass shows both.
    let c = random_chunk(9, 60, &[WATER, GLASS]);
    let n = random_chunk(10, 60, &[WATER, STONE, GLASS]);
    let mesh = check(&Neighborhood {
        center: &c,
        neighbors: [Some(&n); 6],
    });
    assert!(mesh.transparent_quads().iter().any(|q| q.block() == GLASS));
    // A single transparent kind takes the fast path; it must agree with the reference too.
    let c = random_chunk(11, 60, &[WATER]);
    let n = random_chunk(12, 60, &[WATER, STONE]);
    check(&Neighborhood {
        center: &c,
        neighbors: [Some(&n); 6],
    });
}

#[test]
fn generated_terrain_matches_reference() {
    let gen_ = WorldGen::new(42);
    let mut world = World::with_capacity(64);
    for x in -1..=1 {
        for z in -1..=1 {
            for y in -1..=2 {
                let p = ChunkPos::new(x, y, z);
                world.insert_chunk(p, &gen_.generate(p)).unwrap();
            }
        }
    }
    let mut total = 0;
    for y in -1..=1 {
        let mesh = check(&world.neighborhood(ChunkPos::new(0, y, 0)).unwrap());
        total += mesh.quads.len();
    }
    assert!(total > 100, "terrain produced {total} quads");
}

#[test]
fn mesher_is_reusable_and_deterministic() {
    let a = random_chunk(5, 40, &[STONE, DIRT]);
    let b = random_chunk(6, 70, &[GRASS, WATER]);
    let mut mesher = Mesher::new();
    let (mut m1, mut m2, mut m3) = (
        ChunkMesh::default(),
        ChunkMesh::default(),
        ChunkMesh::default(),
    );
    mesher.mesh(&Neighborhood::alone(&a), &mut m1);
    mesher.mesh(&Neighborhood::alone(&b), &mut m2);
    mesher.mesh(&Neighborhood::alone(&a), &mut m3);
    assert_eq!(m1, m3);
    assert_ne!(m1, m2);
}
