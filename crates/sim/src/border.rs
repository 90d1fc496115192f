//! What a zone's rules see just past its border: the first voxel column of each neighbour,
//! its border strip.
//!
//! A body whose centre is still in its zone reaches past the border by its half width (and
//! the step that takes its centre across), so the source's rules must know what stands in the
//! neighbour's first column, or the body walks through the neighbour's ground and is lifted
//! onto whatever stands there (a cliff, a wall) when it enters. Asking the neighbour would
//! put its finality on every step; instead nobody may edit a strip
//! ([`crate::SimConfig::in_border_strip`], [`crate::Reason::AtBorder`]), so each strip is the
//! world generator's forever, and every zone derives its neighbours' strips from the world
//! seed it shares with them. Nothing here is committed: it is configuration, like the seed.

use std::collections::BTreeMap;
use z3r0_voxel::{BlockId, Chunk, ChunkPos, VoxelPos, WorldGen};

use crate::SimConfig;

/// The voxels of the columns just outside a zone that lie in another zone of its world
/// (diagonal neighbours included), from the zone's lowest layer to its highest.
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

    /// The columns held.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }
}

/// The voxel columns touching the zone's columns from outside (corners included) that belong
/// to another zone of the world; none for a zone of no world.
fn ring(config: &SimConfig) -> impl Iterator<Item = (i32, i32)> + '_ {
    let (x0, x1) = (config.chunks_x.0 * 32, config.chunks_x.1 * 32);
    let (z0, z1) = (config.chunks_z.0 * 32, config.chunks_z.1 * 32);
    let sides = [x0 - 1, x1]
        .into_iter()
        .flat_map(move |x| (z0 - 1..=z1).map(move |z| (x, z)));
    let ends = [z0 - 1, z1]
        .into_iter()
        .flat_map(move |z| (x0..x1).map(move |x| (x, z)));
    sides.chain(ends).filter(move |&(x, z)| {
        config.world.is_some() && {
            let c = VoxelPos::new(x, 0, z).chunk();
            config.zone_of_column(c.x, c.z).is_some()
        }
    })
}

/// Whether voxel `p` is in its zone's border strip: in the zone (`zone_of` names each chunk
/// column's zone, `own` this one's) and beside a column of another zone. A zone's edge at the
/// end of the world has no strip.
pub fn in_border_strip(zone_of: impl Fn(i32, i32) -> Option<u32>, own: u32, p: VoxelPos) -> bool {
    let zone = |x: i32, z: i32| {
        let c = VoxelPos::new(x, p.y, z).chunk();
        zone_of(c.x, c.z)
    };
    if zone(p.x, p.z) != Some(own) {
        return false;
    }
    [(1, 0), (-1, 0), (0, 1), (0, -1)].iter().any(|&(dx, dz)| {
        zone(p.x.saturating_add(dx), p.z.saturating_add(dz)).is_some_and(|z| z != own)
    })
}
