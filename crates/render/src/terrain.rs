//! The chunks a camera needs: columns within the view distance, and in each column the
//! layers that can hold visible surface (terrain, trees, sea level), so offline renders and
//! benchmarks generate what a client would stream, not the whole underground.

use z3r0_voxel::worldgen::SEA_LEVEL;
use z3r0_voxel::{
    CHUNK_SIZE, CHUNK_VOLUME, Chunk, ChunkPos, VoxelPos, World, WorldError, WorldGen, block_info,
    blocks,
};

/// Chunk columns `(x, z)` within `radius` chunks of `center` (a disc), nearest first.
pub fn columns_in_view(center: (i32, i32), radius: u32) -> Vec<(i32, i32)> {
    let r = radius as i32;
    let mut out = Vec::new();
    for dz in -r..=r {
        for dx in -r..=r {
            if dx * dx + dz * dz <= r * r {
                out.push((center.0 + dx, center.1 + dz));
            }
        }
    }
    out.sort_by_key(|&(x, z)| {
        let (dx, dz) = (x - center.0, z - center.1);
        (dx * dx + dz * dz, x, z)
    });
    out
}

/// Tree crowns reach this far above the surface.
const TREE_MARGIN: i32 = 8;

/// The chunk layers of column `(x, z)` from `min_y` to `max_y` voxels, inclusive.
fn layers(min_y: i32, max_y: i32) -> std::ops::RangeInclusive<i32> {
    let n = CHUNK_SIZE as i32;
    min_y.div_euclid(n)..=max_y.div_euclid(n)
}

/// Generates the world around `center` (a chunk column) out to `radius` chunks. In each column
/// the layers span the lowest surface of it and its neighbours (so cliffs between columns are
/// closed) up to its highest surface plus trees, and sea level.
pub fn generate_view(seed: u64, center: (i32, i32), radius: u32) -> Result<World, WorldError> {
    let generator = WorldGen::new(seed);
    let columns = columns_in_view(center, radius);
    let heights: std::collections::BTreeMap<(i32, i32), (i32, i32)> = columns
        .iter()
        .flat_map(|&(x, z)| {
            [-1, 0, 1]
                .into_iter()
                .flat_map(move |dx| [-1, 0, 1].map(|dz| (x + dx, z + dz)))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|c| {
            let h = generator.column(c.0, c.1);
            (c, (h.min(), h.max()))
        })
        .collect();
    let mut plan = Vec::new();
    for &(x, z) in &columns {
        let (mut low, high) = heights[&(x, z)];
        for dx in -1..=1 {
            for dz in -1..=1 {
                low = low.min(heights[&(x + dx, z + dz)].0);
            }
        }
        let low = (low - 1).min(SEA_LEVEL - 1);
        let high = (high + TREE_MARGIN).max(SEA_LEVEL);
        for y in layers(low, high) {
            plan.push(ChunkPos::new(x, y, z));
        }
    }
    let mut world = World::with_capacity(plan.len());
    let mut scratch = Box::new([blocks::AIR; CHUNK_VOLUME]);
    let mut chunk = Chunk::default();
    let mut column = None;
    for pos in plan {
        if column.as_ref().is_none_or(|(c, _)| *c != (pos.x, pos.z)) {
            column = Some(((pos.x, pos.z), generator.column(pos.x, pos.z)));
        }
        if let Some((_, heights)) = &column {
            generator.generate_into(pos, heights, &mut scratch, &mut chunk);
            world.insert_chunk(pos, &chunk)?;
        }
    }
    Ok(world)
}

/// The first solid voxel along `direction` from `origin` within `max` voxels, walking voxel
/// boundaries exactly (Amanatides–Woo). For display (the crosshair outline); whether an edit is
/// allowed is the game rules' decision.
pub fn pick_block(
    world: &World,
    origin: [f64; 3],
    direction: [f32; 3],
    max: f64,
) -> Option<[i32; 3]> {
    pick(world, origin, direction, max).map(|p| p.block)
}

/// What the view ray hit: the solid voxel, and the voxel just before it (where a placed block
/// goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    pub block: [i32; 3],
    pub before: [i32; 3],
}

/// [`pick_block`], also naming the voxel the ray crossed last before the hit.
pub fn pick(world: &World, origin: [f64; 3], direction: [f32; 3], max: f64) -> Option<Pick> {
    let d = direction.map(f64::from);
    let mut cell = origin.map(|c| c.floor() as i32);
    let step = d.map(|c| if c > 0.0 { 1 } else { -1 });
    let mut t_max = [0.0f64; 3];
    let mut t_delta = [f64::INFINITY; 3];
    for i in 0..3 {
        if d[i] != 0.0 {
            let boundary = if d[i] > 0.0 {
                f64::from(cell[i]) + 1.0
            } else {
                f64::from(cell[i])
            };
            t_max[i] = (boundary - origin[i]) / d[i];
            t_delta[i] = 1.0 / d[i].abs();
        } else {
            t_max[i] = f64::INFINITY;
        }
    }
    let mut t = 0.0;
    let mut before = cell;
    while t <= max {
        if let Some(id) = world.voxel(VoxelPos::new(cell[0], cell[1], cell[2]))
            && block_info(id).solid
        {
            return Some(Pick {
                block: cell,
                before,
            });
        }
        let axis = (0..3)
            .min_by(|&a, &b| t_max[a].total_cmp(&t_max[b]))
            .unwrap_or(0);
        t = t_max[axis];
        before = cell;
        cell[axis] += step[axis];
        t_max[axis] += t_delta[axis];
    }
    None
}

/// The y just above the highest solid voxel of column `(x, z)` among loaded chunks.
pub fn ground_height(world: &World, x: i32, z: i32) -> Option<i32> {
    let n = CHUNK_SIZE as i32;
    let (cx, cz) = (x.div_euclid(n), z.div_euclid(n));
    let top = world
        .chunks()
        .filter(|(p, _)| p.x == cx && p.z == cz)
        .map(|(p, _)| p.y)
        .max()?;
    let bottom = world
        .chunks()
        .filter(|(p, _)| p.x == cx && p.z == cz)
        .map(|(p, _)| p.y)
        .min()?;
    ((bottom * n)..((top + 1) * n))
        .rev()
        .find(|&y| {
            world
                .voxel(VoxelPos::new(x, y, z))
                .is_some_and(|id| block_info(id).solid)
        })
        .map(|y| y + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_form_a_disc_nearest_first() {
        let c = columns_in_view((10, -3), 4);
        assert_eq!(c[0], (10, -3));
        assert!(c.contains(&(14, -3)) && !c.contains(&(14, 1)));
        let d = |&(x, z): &(i32, i32)| (x - 10) * (x - 10) + (z + 3) * (z + 3);
        assert!(c.windows(2).all(|w| d(&w[0]) <= d(&w[1])));
    }

    #[test]
    fn generated_view_holds_the_surface_under_every_column() {
        let world = generate_view(42, (0, 0), 2).unwrap();
        let generator = WorldGen::new(42);
        for (x, z) in columns_in_view((0, 0), 2) {
            let h = generator.surface_height(x * 32 + 5, z * 32 + 7);
            let pos = ChunkPos::new(x, h.div_euclid(32), z);
            assert!(world.contains_chunk(pos), "surface chunk {pos:?} missing");
        }
    }

    #[test]
    fn picking_finds_the_first_solid_voxel_on_the_ray() {
        let mut world = World::with_capacity(4);
        world
            .insert_chunk(ChunkPos::new(0, 0, 0), &Chunk::default())
            .unwrap();
        world
            .set_voxel(VoxelPos::new(5, 3, 9), blocks::STONE)
            .unwrap();
        world
            .set_voxel(VoxelPos::new(5, 3, 12), blocks::STONE)
            .unwrap();
        world
            .set_voxel(VoxelPos::new(5, 3, 7), blocks::WATER)
            .unwrap();
        let eye = [5.5, 3.5, 0.5];
        assert_eq!(
            pick_block(&world, eye, [0.0, 0.0, 1.0], 20.0),
            Some([5, 3, 9])
        );
        assert_eq!(
            pick_block(&world, eye, [0.0, 0.0, 1.0], 5.0),
            None,
            "out of reach"
        );
        assert_eq!(pick_block(&world, eye, [0.0, 0.0, -1.0], 20.0), None);
        // A diagonal ray enters the voxel through an edge neighbourhood, not around it.
        let diag = pick_block(&world, [3.5, 1.5, 7.5], [0.6, 0.6, 0.53], 10.0);
        assert_eq!(diag, Some([5, 3, 9]));
        assert_eq!(ground_height(&world, 5, 9), Some(4));
        assert_eq!(ground_height(&world, 0, 0), None);
    }
}
