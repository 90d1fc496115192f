//! Integer voxel physics: an axis-aligned box swept axis by axis (y, then x, then z) against solid
//! voxels, with step-up, and a voxel ray walk for line of sight. All in fixed point
//! ([`crate::fixed::UNIT`] per metre); anything outside the loaded zone counts as solid.

use crate::fixed::UNIT;
use z3r0_voxel::VoxelPos;

/// Player box: 0.6 m wide, 1.8 m tall; eyes at 1.62 m.
pub const HALF_WIDTH: i64 = 307;
pub const HEIGHT: i64 = 1843;
pub const EYE: i64 = 1659;
/// Highest ledge walked onto without jumping: one block (the world has no slabs yet, so a
/// Minecraft-style 0.6 m step would never apply).
pub const STEP: i64 = UNIT;

/// A box `[min, max)` in fixed-point units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aabb {
    pub min: [i64; 3],
    pub max: [i64; 3],
}

impl Aabb {
    /// The player box standing with its feet centred on `pos`.
    pub fn player(pos: [i64; 3]) -> Self {
        Aabb {
            min: [pos[0] - HALF_WIDTH, pos[1], pos[2] - HALF_WIDTH],
            max: [pos[0] + HALF_WIDTH, pos[1] + HEIGHT, pos[2] + HALF_WIDTH],
        }
    }

    pub fn shifted(mut self, axis: usize, d: i64) -> Self {
        self.min[axis] += d;
        self.max[axis] += d;
        self
    }

    pub fn intersects_voxel(&self, v: VoxelPos) -> bool {
        let v = [v.x, v.y, v.z];
        (0..3).all(|a| {
            let lo = i64::from(v[a]) * UNIT;
            self.min[a] < lo + UNIT && lo < self.max[a]
        })
    }
}

/// Voxel index containing unit coordinate `u`.
#[inline]
pub fn voxel_of(u: i64) -> i32 {
    u.div_euclid(UNIT) as i32
}

/// How far (same sign as `d`, never past 0) the box can move along `axis` before touching a solid
/// voxel.
pub fn sweep(solid: &impl Fn(VoxelPos) -> bool, b: &Aabb, axis: usize, d: i64) -> i64 {
    if d == 0 {
        return 0;
    }
    let (u, w) = match axis {
        0 => (1, 2),
        1 => (0, 2),
        _ => (0, 1),
    };
    let cross = |lo: i64, hi: i64| voxel_of(lo)..=voxel_of(hi - 1);
    let layer_solid = |layer: i32| {
        cross(b.min[u], b.max[u]).any(|a| {
            cross(b.min[w], b.max[w]).any(|c| {
                let mut p = [0i32; 3];
                p[axis] = layer;
                p[u] = a;
                p[w] = c;
                solid(VoxelPos::new(p[0], p[1], p[2]))
            })
        })
    };
    if d > 0 {
        let first = voxel_of(b.max[axis] - 1) + 1;
        let last = voxel_of(b.max[axis] + d - 1);
        for layer in first..=last {
            if layer_solid(layer) {
                return (i64::from(layer) * UNIT - b.max[axis]).clamp(0, d);
            }
        }
    } else {
        let first = voxel_of(b.min[axis]) - 1;
        let last = voxel_of(b.min[axis] + d);
        for layer in (last..=first).rev() {
            if layer_solid(layer) {
                return ((i64::from(layer) + 1) * UNIT - b.min[axis]).clamp(d, 0);
            }
        }
    }
    d
}

/// Whether the box overlaps any solid voxel.
pub fn overlaps_solid(solid: &impl Fn(VoxelPos) -> bool, b: &Aabb) -> bool {
    let r = |a: usize| voxel_of(b.min[a])..=voxel_of(b.max[a] - 1);
    r(0).any(|x| r(1).any(|y| r(2).any(|z| solid(VoxelPos::new(x, y, z)))))
}

/// Result of a ray walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ray {
    /// The ray reached the target voxel without crossing a blocking one.
    Clear,
    /// The first blocking voxel on the way.
    Blocked(VoxelPos),
}

/// Whether some face of `target` that looks toward `eye` can be seen from it: a ray from the eye
/// to that face's centre crosses no blocking voxel. (Aiming at the block's centre instead would
/// refuse a floor block two steps away, whose centre hides behind its neighbour.)
pub fn visible(blocks: &impl Fn(VoxelPos) -> bool, eye: [i64; 3], target: VoxelPos) -> Ray {
    let t = [target.x, target.y, target.z].map(i64::from);
    let centre: [i64; 3] = std::array::from_fn(|a| t[a] * UNIT + UNIT / 2);
    let mut first_block = None;
    for axis in 0..3 {
        let (lo, hi) = (t[axis] * UNIT, (t[axis] + 1) * UNIT);
        // A point of the face toward the eye, one unit inside the target voxel.
        let plane = if eye[axis] >= hi {
            hi - 1
        } else if eye[axis] < lo {
            lo
        } else {
            continue;
        };
        let mut end = centre;
        end[axis] = plane;
        match ray_to_voxel(blocks, eye, target, end) {
            Ray::Clear => return Ray::Clear,
            Ray::Blocked(p) => {
                first_block.get_or_insert(p);
            }
        }
    }
    // No face toward the eye means the eye is inside the target.
    first_block.map_or(Ray::Clear, Ray::Blocked)
}

/// Walks the voxels on the segment from `from` to `end`, a point inside `target`
/// (Amanatides–Woo, with exact rational comparisons; ties step the lowest axis first). The voxel
/// containing `from` is not tested.
pub fn ray_to_voxel(
    blocks: &impl Fn(VoxelPos) -> bool,
    from: [i64; 3],
    target: VoxelPos,
    end: [i64; 3],
) -> Ray {
    let t = [target.x, target.y, target.z];
    let mut v: [i32; 3] = std::array::from_fn(|a| voxel_of(from[a]));
    let d: [i64; 3] = std::array::from_fn(|a| end[a] - from[a]);
    let den: [i64; 3] = std::array::from_fn(|a| d[a].abs());
    // Parameter of the next boundary on each axis is num[a] / den[a] (in units of the segment).
    let mut num: [i64; 3] = std::array::from_fn(|a| match d[a].signum() {
        1 => (i64::from(v[a]) + 1) * UNIT - from[a],
        -1 => from[a] - i64::from(v[a]) * UNIT,
        _ => i64::MAX,
    });
    // The walk visits at most one voxel per unit of Manhattan length, plus the start.
    let steps = (den.iter().sum::<i64>() / UNIT + 3) as usize;
    for _ in 0..steps {
        if v == t {
            return Ray::Clear;
        }
        // Axis with the nearest boundary: compare num[a]/den[a] exactly.
        let mut best: Option<usize> = None;
        for a in 0..3 {
            if den[a] == 0 {
                continue;
            }
            best = match best {
                Some(b)
                    if i128::from(num[b]) * i128::from(den[a])
                        <= i128::from(num[a]) * i128::from(den[b]) =>
                {
                    Some(b)
                }
                _ => Some(a),
            };
        }
        let Some(a) = best else {
            return Ray::Clear; // from and target share the voxel
        };
        v[a] += d[a].signum() as i32;
        num[a] += UNIT;
        let p = VoxelPos::new(v[0], v[1], v[2]);
        if v != t && blocks(p) {
            return Ray::Blocked(p);
        }
    }
    Ray::Clear
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floor_at_zero(p: VoxelPos) -> bool {
        p.y < 0
    }

    #[test]
    fn falling_box_lands_on_the_floor() {
        let b = Aabb::player([512, 3 * UNIT + 100, 512]);
        assert_eq!(sweep(&floor_at_zero, &b, 1, -10 * UNIT), -(3 * UNIT + 100));
        assert_eq!(sweep(&floor_at_zero, &b, 1, -50), -50);
    }

    #[test]
    fn walls_stop_horizontal_motion_at_their_face() {
        let wall = |p: VoxelPos| p.y < 0 || p.x == 3;
        let b = Aabb::player([UNIT + 512, 0, 512]);
        // Box max x = 1536 + 307 = 1843; the wall starts at 3072.
        assert_eq!(sweep(&wall, &b, 0, 5 * UNIT), 3 * UNIT - 1843);
        assert_eq!(sweep(&wall, &b, 0, -300), -300);
    }

    #[test]
    fn a_floor_block_two_steps_away_is_visible_by_its_top_face() {
        let floor = |p: VoxelPos| p.y < 0;
        // Standing at x = 0.0 (feet on y = 0), eyes 1.62 m up.
        let eye = [0, EYE, 512];
        let target = VoxelPos::new(2, -1, 0);
        let centre = [2 * UNIT + 512, -512, 512];
        // Aimed at its centre, the ray grazes the neighbouring floor block first...
        assert!(matches!(
            ray_to_voxel(&floor, eye, target, centre),
            Ray::Blocked(_)
        ));
        // ...but its top face is in plain view.
        assert_eq!(visible(&floor, eye, target), Ray::Clear);
        // Covered by a slab of blocks on top, it is not.
        let buried = |p: VoxelPos| p.y < 0 || ((1..=3).contains(&p.x) && p.y == 0);
        assert!(matches!(visible(&buried, eye, target), Ray::Blocked(_)));
    }

    #[test]
    fn rays_stop_at_the_first_blocking_voxel() {
        let pillar = |p: VoxelPos| p == VoxelPos::new(2, 1, 0);
        let eye = [512, 1536, 512];
        assert_eq!(
            visible(&pillar, eye, VoxelPos::new(4, 1, 0)),
            Ray::Blocked(VoxelPos::new(2, 1, 0))
        );
        assert_eq!(visible(&pillar, eye, VoxelPos::new(2, 1, 0)), Ray::Clear);
        assert_eq!(visible(&pillar, eye, VoxelPos::new(0, 1, 3)), Ray::Clear);
    }
}
