//! What a zone's rules see just past its border: the first voxel columns of each neighbour,
//! its border strip.
//!
//! A body whose centre is still in its zone reaches past the border by its half width and
//! the step that takes its centre across ([`strip_depth`]: one column at the default speeds
//! from 10 to 60 Hz), so the source's rules must know what stands in those columns of the
//! neighbour, or the body walks through the neighbour's ground and is lifted onto whatever
//! stands there (a cliff, a wall) when it enters. Asking the neighbour would put its finality
//! on every step; instead nobody may edit a strip
//! ([`crate::SimConfig::in_border_strip`], [`crate::Reason::AtBorder`]), so each strip is the
//! world generator's forever, and every zone derives its neighbours' strips from the world
//! seed it shares with them. Nothing here is committed: it is configuration, like the seed.

use std::collections::BTreeMap;
use z3r0_voxel::{BlockId, Chunk, ChunkPos, VoxelPos, WorldGen};

use crate::physics::HALF_WIDTH;
use crate::{Physics, SimConfig, fixed::UNIT};

/// Deepest strip, in voxel columns: a genesis whose bodies step further in a tick (speeds
/// of tens of metres a second at second-long ticks) has bodies lifted out of what they
/// reach beyond it, and a neighbour one chunk wide is wholly strip.
pub const MAX_STRIP_DEPTH: i32 = 32;

/// How many voxel columns deep a border strip is under `physics`: as far past the border as
/// a body's edge can be while its centre is not, after the longest step one tick allows.
pub fn strip_depth(physics: &Physics) -> i32 {
    let reach = HALF_WIDTH.saturating_add(physics.max_step());
    i32::try_from(reach.saturating_add(UNIT - 1) / UNIT)
        .unwrap_or(MAX_STRIP_DEPTH)
        .clamp(1, MAX_STRIP_DEPTH)
}

/// The voxels of the columns outside a zone within a strip's depth of it that lie in another
/// zone of its world (diagonal neighbours included), from the zone's lowest layer to its
/// highest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BorderGround {
    /// Voxel column `(x, z)` → its voxels, the lowest first.
    columns: BTreeMap<(i32, i32), Box<[BlockId]>>,
    /// The voxel y of each column's first entry.
    base: i32,
}

impl BorderGround {
    /// The strips around `config`'s zone as `voxel` says they are (`None` reads as air).
    pub fn new(config: &SimConfig, mut voxel: impl FnMut(VoxelPos) -> Option<BlockId>) -> Self {
        let (base, top) = (config.chunks_y.0 * 32, config.chunks_y.1 * 32);
        let columns = ring(config)
            .map(|(x, z)| {
                let column = (base..top)
                    .map(|y| voxel(VoxelPos::new(x, y, z)).unwrap_or(z3r0_voxel::blocks::AIR))
                    .collect();
                ((x, z), column)
            })
            .collect();
        Self { columns, base }
    }

    /// The strips around `config`'s zone as the world generator makes them from its seed:
    /// what the neighbours hold, since nobody edits a strip. Each chunk is generated once.
    pub fn generated(config: &SimConfig) -> Self {
        let worldgen = WorldGen::new(config.seed);
        let mut chunks: BTreeMap<ChunkPos, Chunk> = BTreeMap::new();
        Self::new(config, |p| {
            let chunk = chunks
                .entry(p.chunk())
                .or_insert_with(|| worldgen.generate(p.chunk()));
            Some(chunk.get(p.local()))
        })
    }

    /// The neighbour's voxel at `p`, if `p` is in a strip around the zone.
    pub fn get(&self, p: VoxelPos) -> Option<BlockId> {
        let column = self.columns.get(&(p.x, p.z))?;
        let i = usize::try_from(i64::from(p.y) - i64::from(self.base)).ok()?;
        column.get(i).copied()
    }
}

/// The voxel columns within a strip's depth of the zone's columns from outside (corners
/// included) that belong to another zone of the world; none for a zone of no world.
fn ring(config: &SimConfig) -> impl Iterator<Item = (i32, i32)> + '_ {
    let d = config.strip_depth();
    let (x0, x1) = (config.chunks_x.0 * 32, config.chunks_x.1 * 32);
    let (z0, z1) = (config.chunks_z.0 * 32, config.chunks_z.1 * 32);
    let sides = (x0 - d..x0)
        .chain(x1..x1 + d)
        .flat_map(move |x| (z0 - d..z1 + d).map(move |z| (x, z)));
    let ends = (z0 - d..z0)
        .chain(z1..z1 + d)
        .flat_map(move |z| (x0..x1).map(move |x| (x, z)));
    sides.chain(ends).filter(move |&(x, z)| {
        let c = VoxelPos::new(x, 0, z).chunk();
        config.zone_of_column(c.x, c.z).is_some()
    })
}

/// Whether voxel `p` is in its zone's border strip: in the zone (`zone_of` names each chunk
/// column's zone, `own` this one's) and within `depth` columns of another zone's (zones are
/// rectangles of a full grid, so looking along the two axes is enough). A zone's edge at the
/// end of the world has no strip.
pub fn in_border_strip(
    zone_of: impl Fn(i32, i32) -> Option<u32>,
    own: u32,
    depth: i32,
    p: VoxelPos,
) -> bool {
    let zone = |x: i32, z: i32| {
        let c = VoxelPos::new(x, p.y, z).chunk();
        zone_of(c.x, c.z)
    };
    if zone(p.x, p.z) != Some(own) {
        return false;
    }
    [(1, 0), (-1, 0), (0, 1), (0, -1)].iter().any(|&(dx, dz)| {
        (1..=depth).any(|k| {
            let (x, z) = (dx * k, dz * k);
            zone(p.x.saturating_add(x), p.z.saturating_add(z)).is_some_and(|z| z != own)
        })
    })
}
