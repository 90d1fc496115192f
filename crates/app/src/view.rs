//! What the renderer draws for a game: the camera at the predicted eye (with correction
//! smoothing), the other players as boxes where interpolation puts them, and the block under
//! the crosshair.

use z3r0_render::pick_block;
use z3r0_render::{Camera, EntityBox, FrameInput, Overlay};
use z3r0_sim::physics::{EYE, HALF_WIDTH, HEIGHT};

use z3r0_client::{Game, Shown};

/// Units of the rules' fixed point per metre.
const UNIT: f64 = 1024.0;
/// Remote players are drawn this many ticks behind the newest snapshot (one tick plus jitter).
pub const INTERPOLATION_DELAY_TICKS: f64 = 1.5;

/// The camera, boxes and target of one frame.
#[derive(Debug, Clone)]
pub struct View {
    pub camera: Camera,
    pub entities: Vec<EntityBox>,
    pub target: Option<[i32; 3]>,
}

impl View {
    /// What the renderer draws for this view: the world, the boxes, the target's outline,
    /// the crosshair and `overlay` (the HUD), at `time_s` for the sky and water.
    pub fn frame_input<'a>(&'a self, time_s: f32, overlay: Option<&'a Overlay>) -> FrameInput<'a> {
        FrameInput {
            camera: &self.camera,
            entities: &self.entities,
            target_block: self.target,
            crosshair: true,
            time_s,
            overlay,
        }
    }
}

fn colour(id: u64) -> [f32; 3] {
    let h = id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let c = |shift: u32| 0.25 + 0.7 * ((h >> shift) & 0xff) as f32 / 255.0;
    [c(8), c(24), c(40)]
}

/// The moment remote players are drawn at, in ticks.
pub fn remote_time(game: &Game) -> f64 {
    game.clock_ticks() - game.snapshot_lag() - INTERPOLATION_DELAY_TICKS
}

/// The view of `game` now, looking along `yaw`/`pitch` (degrees), `elapsed_s` after the last
/// frame (for easing corrections out). `None` before the player has a body.
pub fn view(game: &mut Game, yaw_deg: f32, pitch_deg: f32, elapsed_s: f64) -> Option<View> {
    let body = game.predicted()?;
    let offset = game.smoothing(elapsed_s);
    let eye = [
        (body.pos[0] as f64 + offset[0]) / UNIT,
        (body.pos[1] as f64 + offset[1] + EYE as f64) / UNIT,
        (body.pos[2] as f64 + offset[2]) / UNIT,
    ];
    let camera = Camera::new(eye, yaw_deg, pitch_deg);
    let own = game.own().map(|o| o.entity);
    // One continuous clock: the chain's, minus how late snapshots arrive, minus the delay.
    let time = remote_time(game);
    let (w, h) = (2.0 * HALF_WIDTH as f64 / UNIT, HEIGHT as f64 / UNIT);
    let shown = |e: Shown| EntityBox {
        min: [e.pos[0] - w / 2.0, e.pos[1], e.pos[2] - w / 2.0],
        size: [w as f32, h as f32, w as f32],
        color: colour(e.id),
    };
    // The zone's players, and near a border those of the neighbouring zones (whose ids are
    // their zone's own, so never taken for the player's).
    let entities = game
        .remote()
        .at(time)
        .into_iter()
        .filter(|e| Some(e.id) != own)
        .chain(game.neighbours_at(time).into_iter().map(|(_, e)| e))
        .map(shown)
        .collect();
    let target = pick_block(game.world(), eye, camera.forward(), 6.0);
    Some(View {
        camera,
        entities,
        target,
    })
}
