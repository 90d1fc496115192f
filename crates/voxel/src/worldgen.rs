//! Seeded, integer-only world generation.
//!
//! Validators on every platform must produce identical chunks, so there is no floating point
//! here: noise is value noise on hashed lattice points, interpolated in 16.16 fixed point.
//! Every chunk is generated from its position and the seed alone, in any order.

use crate::block::{BlockId, blocks::*};
use crate::chunk::Chunk;
use crate::pos::{CHUNK_SIZE, CHUNK_VOLUME, ChunkPos, voxel_index};

/// Water fills every non-solid voxel at or below this height.
pub const SEA_LEVEL: i32 = 0;
/// Surfaces at or above this height are snow.
pub const SNOW_LINE: i32 = 68;
/// Terrain height bounds (inclusive), from the noise amplitudes below.
pub const MIN_SURFACE: i32 = -24;
pub const MAX_SURFACE: i32 = 110;
/// Chunks farther than this from the origin (in chunk units) are left empty: keeps every
/// world coordinate of a generated voxel well inside i32.
pub const WORLD_LIMIT_CHUNKS: i32 = 1 << 24;

const TREE_CELL_BITS: u32 = 3; // one tree candidate per 8×8 columns
const TREE_RADIUS: i32 = 2;
/// Caves stay below this depth under the surface, so the ground never caves in visibly.
const CAVE_MIN_DEPTH: i32 = 5;
/// Cave noise is sampled every 4 voxels and interpolated linearly in between.
const CAVE_STEP_BITS: u32 = 2;
const CAVE_SAMPLES: usize = (CHUNK_SIZE >> CAVE_STEP_BITS) + 1;
/// A voxel is cave where the cave field (0..65536) is below this.
const CAVE_THRESHOLD: i64 = 15_000;

const SALT_CONTINENT: u64 = 0x636f_6e74;
const SALT_HILLS: u64 = 0x6869_6c6c;
const SALT_MOUNTAIN: u64 = 0x6d6f_756e;
const SALT_CAVE: u64 = 0x6361_7665;
const SALT_TREE: u64 = 0x7472_6565;

/// SplitMix64's finaliser: a cheap, well-mixed 64-bit permutation.
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
fn hash2(seed: u64, x: i32, z: i32) -> u64 {
    let h = mix64(seed ^ u64::from(x as u32).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    mix64(h ^ u64::from(z as u32).wrapping_mul(0xc2b2_ae3d_27d4_eb4f))
}

#[inline]
fn hash3(seed: u64, x: i32, y: i32, z: i32) -> u64 {
    mix64(hash2(seed, x, z) ^ u64::from(y as u32).wrapping_mul(0x1656_67b1_9e37_79f9))
}

/// Smoothstep in 16.16 fixed point: `t` and the result in `0..=65536`.
#[inline]
fn fade(t: i64) -> i64 {
    (((t * t) >> 16) * (3 * 65536 - 2 * t)) >> 16
}

#[inline]
fn lerp(a: i64, b: i64, t: i64) -> i64 {
    a + (((b - a) * t) >> 16)
}

/// 2D value noise with cells of `2^s` voxels; result in `0..65536`.
fn value2(seed: u64, x: i32, z: i32, s: u32) -> i64 {
    let (cx, cz) = (x >> s, z >> s);
    let frac = |v: i32| fade(i64::from(v & ((1 << s) - 1)) << (16 - s));
    let (tx, tz) = (frac(x), frac(z));
    let v = |i: i32, j: i32| (hash2(seed, cx.wrapping_add(i), cz.wrapping_add(j)) >> 48) as i64;
    lerp(lerp(v(0, 0), v(1, 0), tx), lerp(v(0, 1), v(1, 1), tx), tz)
}

/// 3D value noise with cells of `2^s` voxels; result in `0..65536`.
fn value3(seed: u64, x: i32, y: i32, z: i32, s: u32) -> i64 {
    let (cx, cy, cz) = (x >> s, y >> s, z >> s);
    let frac = |v: i32| fade(i64::from(v & ((1 << s) - 1)) << (16 - s));
    let (tx, ty, tz) = (frac(x), frac(y), frac(z));
    let v = |i: i32, j: i32, k: i32| {
        (hash3(
            seed,
            cx.wrapping_add(i),
            cy.wrapping_add(j),
            cz.wrapping_add(k),
        ) >> 48) as i64
    };
    let plane = |j: i32| {
        lerp(
            lerp(v(0, j, 0), v(1, j, 0), tx),
            lerp(v(0, j, 1), v(1, j, 1), tx),
            tz,
        )
    };
    lerp(plane(0), plane(1), ty)
}

/// A tree whose leaves or trunk reach into a chunk column.
#[derive(Debug, Clone, Copy)]
struct Tree {
    x: i32,
    z: i32,
    ground: i32,
    top: i32,
    shape: u64,
}

/// Surface heights of one 32×32 column of chunks (indexed `z * 32 + x`) and the trees that
/// reach into it, computed once and shared by every chunk of the column.
#[derive(Debug, Clone)]
pub struct ColumnHeights {
    heights: [i32; CHUNK_SIZE * CHUNK_SIZE],
    min: i32,
    max: i32,
    trees: Vec<Tree>,
    /// Highest voxel any tree reaching into the column occupies.
    tree_top: i32,
}

impl ColumnHeights {
    pub fn at(&self, x: usize, z: usize) -> i32 {
        self.heights[z * CHUNK_SIZE + x]
    }
    pub fn min(&self) -> i32 {
        self.min
    }
    pub fn max(&self) -> i32 {
        self.max
    }
}

/// The terrain generator for one seed.
#[derive(Debug, Clone, Copy)]
pub struct WorldGen {
    continent: u64,
    hills: u64,
    mountain: u64,
    cave: u64,
    tree: u64,
}

impl WorldGen {
    pub fn new(seed: u64) -> Self {
        let s = mix64(seed);
        Self {
            continent: mix64(s ^ SALT_CONTINENT),
            hills: mix64(s ^ SALT_HILLS),
            mountain: mix64(s ^ SALT_MOUNTAIN),
            cave: mix64(s ^ SALT_CAVE),
            tree: mix64(s ^ SALT_TREE),
        }
    }

    /// Height of the topmost solid voxel of column `(x, z)`.
    pub fn surface_height(&self, x: i32, z: i32) -> i32 {
        let continent = value2(self.continent, x, z, 8);
        let hills = value2(self.hills, x, z, 6) * 8
            + value2(self.hills ^ 1, x, z, 5) * 4
            + value2(self.hills ^ 2, x, z, 4) * 2
            + value2(self.hills ^ 3, x, z, 3);
        let mountain = value2(self.mountain, x, z, 7);
        let ridge = (mountain - 36_000).max(0); // 0..29536
        let peak = (ridge * ridge) >> 24; // 0..52
        let h = MIN_SURFACE as i64 + ((continent * 48) >> 16) + ((hills * 24) >> 20) + peak;
        h as i32
    }

    pub fn column(&self, cx: i32, cz: i32) -> ColumnHeights {
        let mut c = ColumnHeights {
            heights: [0; CHUNK_SIZE * CHUNK_SIZE],
            min: i32::MAX,
            max: i32::MIN,
            trees: Vec::new(),
            tree_top: i32::MIN,
        };
        let limit = WORLD_LIMIT_CHUNKS;
        if cx.abs() > limit || cz.abs() > limit {
            return c;
        }
        let (ox, oz) = (cx << 5, cz << 5);
        for z in 0..CHUNK_SIZE {
            for x in 0..CHUNK_SIZE {
                let h = self.surface_height(ox + x as i32, oz + z as i32);
                c.heights[z * CHUNK_SIZE + x] = h;
                c.min = c.min.min(h);
                c.max = c.max.max(h);
            }
        }
        self.trees_reaching(ox, oz, &mut c.trees);
        c.tree_top = c.trees.iter().map(|t| t.top + 1).max().unwrap_or(i32::MIN);
        c
    }

    /// Trees whose trunk stands within leaf reach of the 32×32 area at `(ox, oz)`.
    fn trees_reaching(&self, ox: i32, oz: i32, out: &mut Vec<Tree>) {
        let reach = TREE_RADIUS;
        let (x0, x1) = (
            (ox - reach) >> TREE_CELL_BITS,
            (ox + 31 + reach) >> TREE_CELL_BITS,
        );
        let (z0, z1) = (
            (oz - reach) >> TREE_CELL_BITS,
            (oz + 31 + reach) >> TREE_CELL_BITS,
        );
        for cz in z0..=z1 {
            for cx in x0..=x1 {
                let h = hash2(self.tree, cx, cz);
                if h % 100 >= 35 {
                    continue;
                }
                let x = (cx << TREE_CELL_BITS) + ((h >> 8) & 7) as i32;
                let z = (cz << TREE_CELL_BITS) + ((h >> 11) & 7) as i32;
                if x < ox - reach || x > ox + 31 + reach || z < oz - reach || z > oz + 31 + reach {
                    continue;
                }
                let ground = self.surface_height(x, z);
                if ground <= SEA_LEVEL + 2 || ground >= SNOW_LINE - 4 {
                    continue;
                }
                let top = ground + 4 + ((h >> 14) % 3) as i32;
                out.push(Tree {
                    x,
                    z,
                    ground,
                    top,
                    shape: h,
                });
            }
        }
    }

    /// Generates the chunk at `pos` (allocates scratch; see [`WorldGen::generate_into`]).
    pub fn generate(&self, pos: ChunkPos) -> Chunk {
        let column = self.column(pos.x, pos.z);
        let mut scratch = Box::new([AIR; CHUNK_VOLUME]);
        let mut out = Chunk::default();
        self.generate_into(pos, &column, &mut scratch, &mut out);
        out
    }

    /// Generates the chunk at `pos` into `out`, given its column's heights and a scratch buffer.
    pub fn generate_into(
        &self,
        pos: ChunkPos,
        column: &ColumnHeights,
        scratch: &mut [BlockId; CHUNK_VOLUME],
        out: &mut Chunk,
    ) {
        let limit = WORLD_LIMIT_CHUNKS;
        if pos.x.abs() > limit || pos.y.abs() > limit || pos.z.abs() > limit {
            out.fill(AIR);
            return;
        }
        let bottom = pos.y << 5;
        let top = bottom + CHUNK_SIZE as i32 - 1;
        // Above all terrain, trees and water: empty.
        if bottom > column.max && bottom > column.tree_top && bottom > SEA_LEVEL {
            out.fill(AIR);
            return;
        }
        let caves = self.cave_samples(pos);
        // Entirely below the dirt layers and no cave reaches in: solid stone.
        if top < column.min - 3
            && caves
                .iter()
                .flatten()
                .flatten()
                .all(|&v| v >= CAVE_THRESHOLD)
        {
            out.fill(STONE);
            return;
        }
        let (ox, oz) = (pos.x << 5, pos.z << 5);
        for y in 0..CHUNK_SIZE {
            let wy = bottom + y as i32;
            for z in 0..CHUNK_SIZE {
                for x in 0..CHUNK_SIZE {
                    let h = column.at(x, z);
                    let mut id = layer_block(wy, h);
                    if id != AIR
                        && id != WATER
                        && wy <= h - CAVE_MIN_DEPTH
                        && cave_at(&caves, x, y, z)
                    {
                        id = AIR;
                    }
                    scratch[voxel_index(x, y, z)] = id;
                }
            }
        }
        place_trees(&column.trees, ox, bottom, oz, scratch);
        out.load_voxels(scratch);
    }

    /// Cave field at every 4th voxel of the chunk (inclusive of the far edge).
    fn cave_samples(&self, pos: ChunkPos) -> [[[i64; CAVE_SAMPLES]; CAVE_SAMPLES]; CAVE_SAMPLES] {
        let mut s = [[[0i64; CAVE_SAMPLES]; CAVE_SAMPLES]; CAVE_SAMPLES];
        let (ox, oy, oz) = (pos.x << 5, pos.y << 5, pos.z << 5);
        for (j, plane) in s.iter_mut().enumerate() {
            for (k, row) in plane.iter_mut().enumerate() {
                for (i, v) in row.iter_mut().enumerate() {
                    let (x, y, z) = (
                        ox + (i << CAVE_STEP_BITS) as i32,
                        oy + (j << CAVE_STEP_BITS) as i32,
                        oz + (k << CAVE_STEP_BITS) as i32,
                    );
                    // Stretched horizontally (y counts double) for long, flat-ish tunnels.
                    *v = (value3(self.cave, x, y * 2, z, 5) * 2
                        + value3(self.cave ^ 1, x, y * 2, z, 4))
                        / 3;
                }
            }
        }
        s
    }
}

/// Stamps `trees` into the chunk at `(ox, oy, oz)`. Order does not matter: trunks always win and
/// leaves only fill air, so overlapping trees give the same voxels in every chunk that sees them.
fn place_trees(trees: &[Tree], ox: i32, oy: i32, oz: i32, voxels: &mut [BlockId; CHUNK_VOLUME]) {
    let mut set = |wx: i32, wy: i32, wz: i32, id: BlockId, leaves: bool| {
        let (x, y, z) = (wx - ox, wy - oy, wz - oz);
        if (0..32).contains(&x) && (0..32).contains(&y) && (0..32).contains(&z) {
            let v = &mut voxels[voxel_index(x as usize, y as usize, z as usize)];
            if !leaves || *v == AIR {
                *v = id;
            }
        }
    };
    for t in trees {
        if t.top + 1 < oy || t.ground > oy + 31 {
            continue;
        }
        for dy in -2..=1 {
            let r: i32 = if dy <= -1 { 2 } else { 1 };
            for dz in -r..=r {
                for dx in -r..=r {
                    let corner = dx.abs() == r && dz.abs() == r;
                    // Trim corners; the hash keeps a few of the wide layer's for variety.
                    let keep_bit = 20 + (dx + 2 + (dz + 2) * 5) as u64;
                    if corner && (r == 1 || (t.shape >> keep_bit) & 1 == 0) {
                        continue;
                    }
                    set(t.x + dx, t.top + dy, t.z + dz, LEAVES, true);
                }
            }
        }
        for y in t.ground + 1..=t.top {
            set(t.x, y, t.z, LOG, false);
        }
        set(t.x, t.ground, t.z, DIRT, false);
    }
}

/// The block at height `y` in a column whose surface is at `h`, before caves and trees.
fn layer_block(y: i32, h: i32) -> BlockId {
    if y > h {
        return if y <= SEA_LEVEL { WATER } else { AIR };
    }
    let beach = (SEA_LEVEL - 3..=SEA_LEVEL + 1).contains(&h);
    if y == h {
        return if h >= SNOW_LINE {
            SNOW
        } else if beach {
            SAND
        } else if h < SEA_LEVEL {
            GRAVEL
        } else {
            GRASS
        };
    }
    if y > h - 4 {
        return if beach { SAND } else { DIRT };
    }
    STONE
}

#[inline]
fn cave_at(
    s: &[[[i64; CAVE_SAMPLES]; CAVE_SAMPLES]; CAVE_SAMPLES],
    x: usize,
    y: usize,
    z: usize,
) -> bool {
    let (i, j, k) = (
        x >> CAVE_STEP_BITS,
        y >> CAVE_STEP_BITS,
        z >> CAVE_STEP_BITS,
    );
    let step = 1 << CAVE_STEP_BITS;
    let (fx, fy, fz) = (
        (x & (step - 1)) as i64,
        (y & (step - 1)) as i64,
        (z & (step - 1)) as i64,
    );
    let l = |a: i64, b: i64, t: i64| a + (((b - a) * t) >> CAVE_STEP_BITS);
    let plane = |j: usize| {
        l(
            l(s[j][k][i], s[j][k][i + 1], fx),
            l(s[j][k + 1][i], s[j][k + 1][i + 1], fx),
            fz,
        )
    };
    l(plane(j), plane(j + 1), fy) < CAVE_THRESHOLD
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_stays_in_range_and_is_continuous() {
        let seed = mix64(7);
        let mut prev = value2(seed, -1000, 5, 5);
        for x in -999..1000 {
            let v = value2(seed, x, 5, 5);
            assert!((0..65536).contains(&v));
            // Smooth: neighbouring samples of a 32-voxel cell differ by a fraction of the range.
            assert!((v - prev).abs() < 8000, "jump at {x}: {prev} -> {v}");
            prev = v;
        }
    }

    #[test]
    fn heights_are_within_declared_bounds() {
        let g = WorldGen::new(42);
        for x in (-4000..4000).step_by(37) {
            for z in (-4000..4000).step_by(41) {
                let h = g.surface_height(x, z);
                assert!((MIN_SURFACE..=MAX_SURFACE).contains(&h), "{h} at {x},{z}");
            }
        }
    }

    #[test]
    fn layers() {
        assert_eq!(layer_block(10, 5), AIR);
        assert_eq!(layer_block(-3, -10), WATER);
        assert_eq!(layer_block(20, 20), GRASS);
        assert_eq!(layer_block(0, 0), SAND);
        assert_eq!(layer_block(80, 80), SNOW);
        assert_eq!(layer_block(18, 20), DIRT);
        assert_eq!(layer_block(0, 20), STONE);
    }

    #[test]
    fn far_away_chunks_are_empty() {
        let g = WorldGen::new(1);
        assert_eq!(
            g.generate(ChunkPos::new(WORLD_LIMIT_CHUNKS + 1, 0, 0))
                .as_uniform(),
            Some(AIR)
        );
        assert_eq!(g.generate(ChunkPos::new(0, 40, 0)).as_uniform(), Some(AIR));
    }
}
