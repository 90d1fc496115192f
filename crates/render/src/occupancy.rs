//! Per-chunk opacity bits for ambient occlusion.
//!
//! Greedy quads span many voxels, so AO cannot live in per-vertex data without splitting quads.
//! Instead every resident chunk carries the opacity of its voxels plus a one-voxel shell from its
//! 26 neighbours (34³ bits), and the fragment shader computes smooth corner AO for the voxel
//! under each pixel from the 8 voxels around it in the face's plane.

use z3r0_voxel::{CHUNK_SIZE, CHUNK_VOLUME, ChunkPos, Opacities, World, blocks, voxel_index};

/// Edge of the padded occupancy cube.
pub const OCC_SIDE: usize = CHUNK_SIZE + 2;
/// `u32` words per chunk, rounded up so each chunk's block stays 16-byte aligned.
pub const OCC_WORDS: usize = (OCC_SIDE * OCC_SIDE * OCC_SIDE)
    .div_ceil(32)
    .next_multiple_of(4);

/// Bit index of chunk-local `(x, y, z)`, each in `-1..=32`.
#[inline]
pub const fn occ_bit(x: i32, y: i32, z: i32) -> usize {
    (((y + 1) as usize * OCC_SIDE) + (z + 1) as usize) * OCC_SIDE + (x + 1) as usize
}

/// Reusable scratch for [`Occupancy::compute`].
#[derive(Debug)]
pub struct Occupancy {
    pub words: Box<[u32; OCC_WORDS]>,
    voxels: Box<[u16; CHUNK_VOLUME]>,
}

impl Default for Occupancy {
    fn default() -> Self {
        Self {
            words: Box::new([0; OCC_WORDS]),
            voxels: Box::new([blocks::AIR; CHUNK_VOLUME]),
        }
    }
}

impl Occupancy {
    /// Fills `self.words` for the chunk at `pos`, as `ops` classes its blocks. Missing
    /// neighbours count as empty.
    pub fn compute(&mut self, world: &World, pos: ChunkPos, ops: &Opacities) {
        let is_opaque = |id| ops.is_opaque(id);
        self.words.fill(0);
        let n = CHUNK_SIZE as i32;
        if let Some(center) = world.chunk(pos) {
            match center.as_uniform() {
                Some(id) if !is_opaque(id) => {}
                Some(_) => {
                    for y in 0..n {
                        for z in 0..n {
                            for x in 0..n {
                                self.set(occ_bit(x, y, z));
                            }
                        }
                    }
                }
                None => {
                    center.unpack_into(&mut self.voxels);
                    for y in 0..n {
                        for z in 0..n {
                            for x in 0..n {
                                let id =
                                    self.voxels[voxel_index(x as usize, y as usize, z as usize)];
                                if is_opaque(id) {
                                    self.set(occ_bit(x, y, z));
                                }
                            }
                        }
                    }
                }
            }
        }
        // The shell: voxels of the 26 neighbours touching this chunk.
        let side = |c: i32| -> (i32, usize) {
            if c < 0 {
                (-1, (c + n) as usize)
            } else if c >= n {
                (1, (c - n) as usize)
            } else {
                (0, c as usize)
            }
        };
        for y in -1..=n {
            for z in -1..=n {
                for x in -1..=n {
                    let inside = (0..n).contains(&x) && (0..n).contains(&y) && (0..n).contains(&z);
                    if inside {
                        continue;
                    }
                    let ((dx, lx), (dy, ly), (dz, lz)) = (side(x), side(y), side(z));
                    let neighbour = ChunkPos::new(pos.x + dx, pos.y + dy, pos.z + dz);
                    if let Some(chunk) = world.chunk(neighbour)
                        && is_opaque(chunk.get_index(voxel_index(lx, ly, lz)))
                    {
                        self.set(occ_bit(x, y, z));
                    }
                }
            }
        }
    }

    #[inline]
    fn set(&mut self, bit: usize) {
        self.words[bit / 32] |= 1 << (bit % 32);
    }

    pub fn get(&self, x: i32, y: i32, z: i32) -> bool {
        let bit = occ_bit(x, y, z);
        self.words[bit / 32] >> (bit % 32) & 1 == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use z3r0_voxel::{Chunk, VoxelPos};

    #[test]
    fn shell_comes_from_all_26_neighbours() {
        let mut world = World::with_capacity(32);
        let mut stone = Chunk::default();
        stone.fill(blocks::STONE);
        world
            .insert_chunk(ChunkPos::new(0, 0, 0), &Chunk::default())
            .unwrap();
        // A corner neighbour (diagonal in all three axes) and a face neighbour.
        world.insert_chunk(ChunkPos::new(1, 1, 1), &stone).unwrap();
        world
            .insert_chunk(ChunkPos::new(-1, 0, 0), &Chunk::default())
            .unwrap();
        world
            .set_voxel(VoxelPos::new(-1, 5, 6), blocks::DIRT)
            .unwrap();
        world
            .set_voxel(VoxelPos::new(3, 4, 5), blocks::WATER)
            .unwrap();
        world
            .set_voxel(VoxelPos::new(7, 8, 9), blocks::LEAVES)
            .unwrap();
        let mut occ = Occupancy::default();
        occ.compute(&world, ChunkPos::new(0, 0, 0), Opacities::builtin());
        assert!(occ.get(32, 32, 32), "corner neighbour");
        assert!(!occ.get(32, 32, 31), "edge neighbour not loaded");
        assert!(occ.get(-1, 5, 6), "face neighbour voxel");
        assert!(!occ.get(-1, 5, 7));
        assert!(!occ.get(3, 4, 5), "water does not occlude");
        assert!(occ.get(7, 8, 9), "leaves do");
        let set: u32 = occ.words.iter().map(|w| w.count_ones()).sum();
        assert_eq!(set, 3);
    }
}
