//! The camera and the little linear algebra the renderer needs.
//!
//! Conventions follow the game rules (`z3r0-sim`): y is up, yaw 0 looks along +z, yaw 90° along
//! +x, and +x is to the right of a player looking along +z. Seen through the camera that is a
//! left-handed view space (x right, y up, z forward). Depth is reversed (near = 1, infinitely far
//! = 0) for precision at long view distances.
//!
//! Positions reach the GPU relative to the camera: the integer voxel under the camera is
//! subtracted on the CPU (exactly, in integers), so f32 precision holds anywhere in the world.

/// Column-major 4×4 matrix, the layout WGSL's `mat4x4<f32>` expects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mat4(pub [[f32; 4]; 4]);

impl Mat4 {
    pub const IDENTITY: Mat4 = Mat4([
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]);

    /// `self * rhs`.
    pub fn mul(&self, rhs: &Mat4) -> Mat4 {
        let mut out = [[0.0f32; 4]; 4];
        for (c, col) in out.iter_mut().enumerate() {
            for (r, cell) in col.iter_mut().enumerate() {
                *cell = (0..4).map(|k| self.0[k][r] * rhs.0[c][k]).sum();
            }
        }
        Mat4(out)
    }

    /// Row `r` as a vector (for frustum plane extraction).
    pub fn row(&self, r: usize) -> [f32; 4] {
        [self.0[0][r], self.0[1][r], self.0[2][r], self.0[3][r]]
    }

    pub fn transform(&self, p: [f32; 4]) -> [f32; 4] {
        let mut out = [0.0f32; 4];
        for (r, cell) in out.iter_mut().enumerate() {
            *cell = (0..4).map(|k| self.0[k][r] * p[k]).sum();
        }
        out
    }
}

/// A first-person camera: a world position and a view direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// Eye position in world units (1 = one voxel).
    pub position: [f64; 3],
    /// Degrees; 0 looks along +z, 90 along +x.
    pub yaw_deg: f32,
    /// Degrees; positive looks up. Clamped to ±89.9 when used.
    pub pitch_deg: f32,
    /// Vertical field of view in degrees.
    pub fov_y_deg: f32,
    /// Near plane distance.
    pub near: f32,
}

impl Camera {
    pub fn new(position: [f64; 3], yaw_deg: f32, pitch_deg: f32) -> Self {
        Self {
            position,
            yaw_deg,
            pitch_deg,
            fov_y_deg: 70.0,
            near: 0.05,
        }
    }

    /// Unit view direction.
    pub fn forward(&self) -> [f32; 3] {
        let (yaw, pitch) = self.angles();
        [
            yaw.sin() * pitch.cos(),
            pitch.sin(),
            yaw.cos() * pitch.cos(),
        ]
    }

    /// Unit vector to the right of the view, horizontal.
    pub fn right(&self) -> [f32; 3] {
        let (yaw, _) = self.angles();
        [yaw.cos(), 0.0, -yaw.sin()]
    }

    /// Unit vector up in the view (perpendicular to forward and right).
    pub fn up(&self) -> [f32; 3] {
        let (yaw, pitch) = self.angles();
        [
            -yaw.sin() * pitch.sin(),
            pitch.cos(),
            -yaw.cos() * pitch.sin(),
        ]
    }

    fn angles(&self) -> (f32, f32) {
        (
            self.yaw_deg.to_radians(),
            self.pitch_deg.clamp(-89.9, 89.9).to_radians(),
        )
    }

    /// The integer voxel holding the eye, and the eye's offset inside it (each in `0..1`).
    pub fn split_position(&self) -> ([i32; 3], [f32; 3]) {
        let mut whole = [0i32; 3];
        let mut frac = [0.0f32; 3];
        for i in 0..3 {
            let floor = self.position[i].floor();
            whole[i] = floor.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32;
            frac[i] = (self.position[i] - floor) as f32;
        }
        (whole, frac)
    }

    /// View rotation (camera-relative world → view space).
    pub fn view(&self) -> Mat4 {
        let (r, u, f) = (self.right(), self.up(), self.forward());
        Mat4([
            [r[0], u[0], f[0], 0.0],
            [r[1], u[1], f[1], 0.0],
            [r[2], u[2], f[2], 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ])
    }

    /// Reversed-z infinite perspective: depth = near / z.
    pub fn projection(&self, aspect: f32) -> Mat4 {
        let f = 1.0 / (self.fov_y_deg.to_radians() * 0.5).tan();
        Mat4([
            [f / aspect, 0.0, 0.0, 0.0],
            [0.0, f, 0.0, 0.0],
            [0.0, 0.0, 0.0, 1.0],
            [0.0, 0.0, self.near, 0.0],
        ])
    }

    /// Projection × view, for camera-relative positions.
    pub fn view_projection(&self, aspect: f32) -> Mat4 {
        self.projection(aspect).mul(&self.view())
    }

    /// `tan` of half the horizontal and vertical field of view, for per-pixel view rays.
    pub fn half_extents(&self, aspect: f32) -> (f32, f32) {
        let ty = (self.fov_y_deg.to_radians() * 0.5).tan();
        (ty * aspect, ty)
    }
}

/// The planes bounding the view (left, right, bottom, top, near), each `(n, d)` with points `p`
/// inside when `n·p + d ≥ 0`. There is no far plane: the loaded world ends at the view distance.
#[derive(Debug, Clone, Copy)]
pub struct Frustum {
    planes: [[f32; 4]; 5],
}

impl Frustum {
    /// Gribb–Hartmann extraction from a view-projection matrix (reversed z: `0 ≤ z ≤ w`).
    pub fn from_view_projection(m: &Mat4) -> Self {
        let (r0, r1, r2, r3) = (m.row(0), m.row(1), m.row(2), m.row(3));
        let add = |a: [f32; 4], b: [f32; 4]| [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]];
        let sub = |a: [f32; 4], b: [f32; 4]| [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]];
        Self {
            planes: [
                add(r3, r0),
                sub(r3, r0),
                add(r3, r1),
                sub(r3, r1),
                sub(r3, r2),
            ],
        }
    }

    /// Whether the box `min..max` (camera-relative) may be visible.
    pub fn intersects_box(&self, min: [f32; 3], max: [f32; 3]) -> bool {
        self.planes.iter().all(|p| {
            // The box corner furthest along the plane normal.
            let x = if p[0] >= 0.0 { max[0] } else { min[0] };
            let y = if p[1] >= 0.0 { max[1] } else { min[1] };
            let z = if p[2] >= 0.0 { max[2] } else { min[2] };
            p[0] * x + p[1] * y + p[2] * z + p[3] >= 0.0
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-4
    }

    #[test]
    fn yaw_zero_looks_along_z_with_x_to_the_right() {
        let cam = Camera::new([0.0; 3], 0.0, 0.0);
        let vp = cam.view_projection(1.0);
        let ahead = vp.transform([0.0, 0.0, 10.0, 1.0]);
        assert!(close(ahead[0], 0.0) && close(ahead[1], 0.0) && ahead[3] > 0.0);
        let right = vp.transform([1.0, 0.0, 10.0, 1.0]);
        assert!(right[0] / right[3] > 0.0, "+x is on the right");
        let above = vp.transform([0.0, 1.0, 10.0, 1.0]);
        assert!(above[1] / above[3] > 0.0, "+y is up");
        // Reversed depth: nearer is larger, and near plane maps to 1.
        let near = vp.transform([0.0, 0.0, cam.near, 1.0]);
        assert!(close(near[2] / near[3], 1.0));
        let far = vp.transform([0.0, 0.0, 1000.0, 1.0]);
        assert!(far[2] / far[3] < ahead[2] / ahead[3]);
    }

    #[test]
    fn yaw_ninety_looks_along_x_like_the_game_rules() {
        let cam = Camera::new([0.0; 3], 90.0, 0.0);
        let f = cam.forward();
        assert!(close(f[0], 1.0) && close(f[2], 0.0));
        // The sim's strafe-right at yaw 90° is (cos, -sin) = -z.
        let r = cam.right();
        assert!(close(r[2], -1.0));
    }

    #[test]
    fn frustum_keeps_what_is_ahead_and_culls_what_is_behind() {
        let cam = Camera::new([0.0; 3], 0.0, 0.0);
        let fr = Frustum::from_view_projection(&cam.view_projection(16.0 / 9.0));
        assert!(fr.intersects_box([-1.0, -1.0, 20.0], [1.0, 1.0, 22.0]));
        assert!(!fr.intersects_box([-1.0, -1.0, -22.0], [1.0, 1.0, -20.0]));
        assert!(!fr.intersects_box([200.0, -1.0, 5.0], [202.0, 1.0, 7.0]));
        // A box around the eye is always kept.
        assert!(fr.intersects_box([-1.0; 3], [1.0; 3]));
    }

    #[test]
    fn split_position_is_exact_for_negative_coordinates() {
        let cam = Camera::new([-0.25, 70.5, -1_000_000.75], 0.0, 0.0);
        let (w, f) = cam.split_position();
        assert_eq!(w, [-1, 70, -1_000_001]);
        assert!(close(f[0], 0.75) && close(f[1], 0.5) && close(f[2], 0.25));
    }
}
