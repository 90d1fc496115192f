//! The player in a window (`z3r0-play`, `z3r0 client`), on three threads so that none waits for another:
//! - the window's event loop (this thread, as the platforms require) turns keyboard, mouse and
//!   gamepad input into controls through `z3r0-input`, and acts on clicks at once;
//! - the tick thread (`z3r0_client::TickLoop`) handles the network and sends one input frame
//!   per chain tick, whatever the frame rate;
//! - the render thread draws the predicted player and the streamed world through
//!   `z3r0-render`, with the HUD (`crate::hud`: fps, ping, tick, finality, position, the
//!   hotbar, the latest refusal), and plays the sounds. The window title repeats the status
//!   line.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use z3r0_audio::{DeviceBackend, GameAudio, Sound};
use z3r0_client::{Game, PlayerScript};
use z3r0_client::{Shared, StopOnDrop, TickLoop, lock};
use z3r0_input::{ActionMap, Command, InputState, from_mouse_motion, from_window_event};
use z3r0_render::pick;
use z3r0_render::winit::application::ApplicationHandler;
use z3r0_render::winit::event::{DeviceEvent, DeviceId, StartCause, WindowEvent};
use z3r0_render::winit::event_loop::{ActiveEventLoop, ControlFlow};
use z3r0_render::winit::window::{CursorGrabMode, Window, WindowId};
use z3r0_render::{Acquired, WindowAction, window_action};
use z3r0_sim::Action;
use z3r0_voxel::VoxelPos;

use crate::AppError;
use crate::hud::HudInfo;
use crate::live::Live;
use crate::sounds::{LOCAL, SoundCues};
use crate::view::view;

/// How often the event loop wakes without events: to turn the view by the gamepad's stick and
/// to notice that the other threads have ended.
const WAKE_EVERY: Duration = Duration::from_millis(8);

/// Chunks meshed per frame at most (tens of microseconds each on a CPU): a join's hundreds of
/// chunks must not hold the game from the tick thread for a tick.
const MESHES_PER_FRAME: usize = 24;

/// Where the player looks and what it holds, as the input thread last saw it.
#[derive(Debug, Clone, Copy, Default)]
struct Look {
    yaw: f32,
    pitch: f32,
    slot: u8,
}

/// What the input thread hands the render thread.
#[derive(Debug, Default)]
struct ToRender {
    look: Look,
    resize: Option<(u32, u32)>,
    /// Sounds of the player's own clicks.
    sounds: Vec<crate::sounds::Cue>,
}

struct App {
    shared: Arc<Shared>,
    to_render: Arc<Mutex<ToRender>>,
    input: InputState,
    size: (u32, u32),
    radius: u8,
    stop_after: Option<u64>,
    /// Kept here so the window is dropped on the thread that made it.
    window: Option<Arc<Window>>,
    render: Option<JoinHandle<Result<u64, AppError>>>,
    error: Option<AppError>,
    last_advance: Instant,
    /// The game's player-side part: what the `use` control does.
    script: Option<Arc<dyn PlayerScript>>,
    /// Gamepads, with the `gamepad` feature (and where the system offers them).
    #[cfg(feature = "gamepad")]
    pads: Option<z3r0_input::gamepad::Gamepads>,
}

impl App {
    fn open(&mut self, event_loop: &ActiveEventLoop) -> Result<(), AppError> {
        let live = Live::open(event_loop, self.size, true, u32::from(self.radius))?;
        // Mouse look wants the cursor captured; where that is refused (no window manager,
        // remote desktops) the game still plays with the keyboard.
        let _ = live
            .window
            .set_cursor_grab(CursorGrabMode::Locked)
            .or_else(|_| live.window.set_cursor_grab(CursorGrabMode::Confined));
        live.window.set_cursor_visible(false);
        self.window = Some(live.window.clone());
        let (shared, to_render, stop_after) =
            (self.shared.clone(), self.to_render.clone(), self.stop_after);
        let render = std::thread::Builder::new()
            .name("z3r0-render".into())
            .spawn(move || {
                // The window closes with the renderer, for whatever reason it ends.
                let _stop = StopOnDrop(&shared);
                render_loop(live, &shared, &to_render, stop_after)
            })
            .map_err(|e| AppError::Thread("render", e))?;
        self.render = Some(render);
        Ok(())
    }

    /// Hands the controls and the look to the other threads.
    fn publish(&mut self) {
        self.shared.set_controls(self.input.frame());
        lock(&self.to_render).look = Look {
            yaw: self.input.yaw_deg as f32,
            pitch: self.input.pitch_deg as f32,
            slot: self.input.hotbar_slot,
        };
    }

    fn input_changed(&mut self) -> Result<(), AppError> {
        self.publish();
        for command in self.input.take_commands() {
            self.command(command)?;
        }
        Ok(())
    }

    /// Digs, places or claims at once, at the block under the crosshair as the player sees it.
    fn command(&mut self, command: Command) -> Result<(), AppError> {
        let (yaw, pitch) = (self.input.yaw_deg as f32, self.input.pitch_deg as f32);
        let mut game = self.shared.game();
        let Some(v) = view(&mut game, yaw, pitch, 0.0) else {
            return Ok(());
        };
        let hit = pick(game.world(), v.camera.position, v.camera.forward(), 6.0);
        let at = |c: [i32; 3]| c.map(|v| v as f32 + 0.5);
        let (action, sound) = match (command, hit) {
            (Command::Break, Some(p)) => {
                let pos = VoxelPos::new(p.block[0], p.block[1], p.block[2]);
                let dug = game.world().voxel(pos);
                (Action::Break(pos), (Sound::Break, at(p.block), dug))
            }
            (Command::Place, Some(p)) => {
                let block = crate::content::hotbar(game.content().active().map(|c| &**c))
                    [usize::from(self.input.hotbar_slot).min(8)]
                .block;
                let pos = VoxelPos::new(p.before[0], p.before[1], p.before[2]);
                (
                    Action::Place(pos, block),
                    (Sound::Place, at(p.before), Some(block)),
                )
            }
            (Command::Use, Some(p)) => {
                let target = VoxelPos::new(p.block[0], p.block[1], p.block[2]);
                let before = VoxelPos::new(p.before[0], p.before[1], p.before[2]);
                let used = game.world().voxel(target);
                let action = self
                    .script
                    .as_ref()
                    .and_then(|s| s.use_block(&game, target, before));
                let Some(action) = action else {
                    return Ok(());
                };
                (action, (Sound::Place, at(p.block), used))
            }
            (Command::Claim, _) => {
                let n = z3r0_voxel::CHUNK_SIZE as f64;
                let (x, z) = (v.camera.position[0], v.camera.position[2]);
                (
                    Action::Claim((x / n).floor() as i32, (z / n).floor() as i32),
                    (Sound::Claim, v.camera.position.map(|c| c as f32), None),
                )
            }
            _ => return Ok(()),
        };
        game.edit(&action)?;
        drop(game);
        lock(&self.to_render).sounds.push(sound);
        Ok(())
    }

    fn fail(&mut self, error: AppError, event_loop: &ActiveEventLoop) {
        self.error.get_or_insert(error);
        event_loop.exit();
    }
}

impl ApplicationHandler for App {
    fn new_events(&mut self, event_loop: &ActiveEventLoop, cause: StartCause) {
        if matches!(
            cause,
            StartCause::Init | StartCause::ResumeTimeReached { .. }
        ) {
            event_loop.set_control_flow(ControlFlow::WaitUntil(Instant::now() + WAKE_EVERY));
        }
    }

    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.render.is_none()
            && let Err(e) = self.open(event_loop)
        {
            self.fail(e, event_loop);
        }
    }

    fn device_event(&mut self, _: &ActiveEventLoop, _: DeviceId, event: DeviceEvent) {
        if let DeviceEvent::MouseMotion { delta } = event {
            self.input.apply(from_mouse_motion(delta));
            self.publish();
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        if let Some(e) = from_window_event(&event) {
            self.input.apply(e);
        }
        if matches!(event, WindowEvent::Focused(false)) {
            self.input.release_all();
        }
        if let Err(e) = self.input_changed() {
            self.fail(e, event_loop);
        }
        match window_action(&event) {
            WindowAction::Close => event_loop.exit(),
            WindowAction::Resize(width, height) => {
                lock(&self.to_render).resize = Some((width, height));
            }
            // The render thread draws continuously.
            WindowAction::Redraw | WindowAction::Other => {}
        }
    }

    fn about_to_wait(&mut self, event_loop: &ActiveEventLoop) {
        #[cfg(feature = "gamepad")]
        if let Some(pads) = self.pads.as_mut() {
            let mut events = Vec::new();
            pads.poll(&mut events);
            for e in events {
                self.input.apply(e);
            }
        }
        // The right stick turns the view by the time since the last wake.
        let now = Instant::now();
        self.input
            .advance(now.duration_since(self.last_advance).as_secs_f64());
        self.last_advance = now;
        if let Err(e) = self.input_changed() {
            self.fail(e, event_loop);
        }
        if self.shared.stopped() {
            event_loop.exit();
        }
    }
}

fn open_audio() -> Option<GameAudio<DeviceBackend>> {
    if !z3r0_audio::HAS_DEVICE {
        return None;
    }
    match GameAudio::<DeviceBackend>::new(Default::default()) {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::warn!(%e, "no audio output; playing silently");
            None
        }
    }
}

/// The window title: the HUD's status line.
fn title(info: &HudInfo) -> String {
    let p = info.position;
    let notice = info
        .notice
        .as_ref()
        .map_or(String::new(), |n| format!(" · {n}"));
    format!(
        "Z3R0 · {:.0} fps · ping {:.0} ms · tick {} · finality {} · {:.1}, {:.1}, {:.1} · slot {} ({}){notice}",
        info.fps,
        info.ping_ms,
        info.tick,
        info.finality_ms
            .map_or("-".to_string(), |f| format!("{f:.0} ms")),
        p[0],
        p[1],
        p[2],
        info.slot + 1,
        info.hotbar[usize::from(info.slot).min(8)].name,
    )
}

/// Draws frames until the threads are told to stop or `stop_after` frames were shown; returns
/// the number shown.
fn render_loop(
    mut live: Live,
    shared: &Shared,
    to_render: &Mutex<ToRender>,
    stop_after: Option<u64>,
) -> Result<u64, AppError> {
    let mut audio = open_audio();
    let mut cues = SoundCues::default();
    let mut sounds = Vec::new();
    let started = Instant::now();
    let mut last_frame = started;
    let (mut presented, mut fps_frames, mut fps_since, mut fps) = (0u64, 0u32, started, 0.0);
    let mut content_version = 0;
    let mut hotbars = crate::content::HotbarCache::default();
    while !shared.stopped() && stop_after.is_none_or(|n| presented < n) {
        let (look, resize) = {
            let mut r = lock(to_render);
            sounds.append(&mut r.sounds);
            (r.look, r.resize.take())
        };
        if let Some((width, height)) = resize {
            live.surface.resize(&live.gpu, width, height);
        }
        let now = Instant::now();
        let elapsed = now.duration_since(last_frame).as_secs_f64();
        last_frame = now;
        let size = live.surface.size();
        // The game is locked only to read it and to mesh a few chunks: the tick thread waits
        // meanwhile, so a burst of new chunks is meshed over several frames.
        let prepared = {
            let mut game = shared.game();
            live.renderer
                .sync_world_limited(&live.gpu, game.world_mut(), MESHES_PER_FRAME)?;
            view(&mut game, look.yaw, look.pitch, elapsed).map(|v| {
                // Footsteps of whoever walks, and the chain's changes to the world.
                let eye = v.camera.position;
                let feet = [eye[0], eye[1] - 1.62, eye[2]];
                let under = |game: &Game, p: [f64; 3]| {
                    let at = |v: f64| v.floor() as i32;
                    game.world()
                        .voxel(VoxelPos::new(at(p[0]), at(p[1] - 0.05), at(p[2])))
                };
                cues.step(LOCAL, feet, under(&game, feet), &mut sounds);
                let changes: Vec<_> = game.drain_block_changes().collect();
                cues.block_changes(changes, &mut sounds);
                for shown in game.remote().at(game.remote().newest().unwrap_or(0) as f64) {
                    cues.step(shown.id, shown.pos, under(&game, shown.pos), &mut sounds);
                }
                let hotbar = hotbars.get(game.content());
                let info = HudInfo::now(&game, fps, game.chain_tick(), look.slot, eye, hotbar)
                    .with_target(&game, v.target);
                let content = game.content();
                let new_content = (content.version() != content_version)
                    .then(|| (content.version(), content.active().cloned()));
                (v, info, new_content)
            })
        };
        let Some((v, info, new_content)) = prepared else {
            // No body yet: nothing to look from.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        // New content in force: its textures, decoded here, outside the game's lock.
        if let Some((version, active)) = new_content {
            content_version = version;
            let look = active.as_deref().map_or_else(
                z3r0_render::textures::BlockLook::builtin,
                crate::content::block_look,
            );
            live.renderer.set_block_look(&live.gpu, &look);
            if let Some(audio) = audio.as_mut() {
                let bank = active
                    .as_deref()
                    .map(crate::content::block_sounds)
                    .unwrap_or_default();
                audio.set_block_sounds(bank);
            }
        }
        match audio.as_mut() {
            Some(audio) => {
                audio.set_listener(v.camera.position.map(|c| c as f32), look.yaw);
                for (sound, at, block) in sounds.drain(..) {
                    if let Err(e) = audio.play_block_at(sound, block, at) {
                        tracing::debug!(%e, "sound dropped");
                    }
                }
            }
            None => sounds.clear(),
        }
        let frame = match live.surface.acquire(&live.gpu)? {
            Acquired::Frame(frame) => frame,
            Acquired::Skip => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let target = frame
            .texture
            .create_view(&z3r0_render::wgpu::TextureViewDescriptor::default());
        let hud = crate::hud::layout(&info, size.0, size.1);
        let input = v.frame_input(started.elapsed().as_secs_f32(), Some(&hud));
        live.renderer.render(&live.gpu, &target, size, &input)?;
        live.window.pre_present_notify();
        live.gpu.queue.present(frame);
        presented += 1;
        fps_frames += 1;
        if fps_since.elapsed() >= Duration::from_millis(500) {
            fps = f64::from(fps_frames) / fps_since.elapsed().as_secs_f64();
            fps_frames = 0;
            fps_since = Instant::now();
            live.window.set_title(&title(&info));
        }
    }
    Ok(presented)
}

/// Plays `game` in a window until it is closed (or `stop_after` frames were shown).
pub fn run(
    runtime: tokio::runtime::Runtime,
    game: Game,
    map: ActionMap,
    size: (u32, u32),
    radius: u8,
    stop_after: Option<u64>,
    script: Option<Arc<dyn PlayerScript>>,
) -> Result<Game, AppError> {
    let event_loop = z3r0_render::event_loop()?;
    let tick =
        TickLoop::spawn(runtime.handle().clone(), game).map_err(|e| AppError::Thread("tick", e))?;
    let mut app = App {
        shared: tick.shared().clone(),
        to_render: Arc::default(),
        input: InputState::new(map),
        size,
        radius,
        stop_after,
        window: None,
        render: None,
        error: None,
        last_advance: Instant::now(),
        script,
        #[cfg(feature = "gamepad")]
        pads: match z3r0_input::gamepad::Gamepads::new() {
            Ok(p) => {
                for name in p.connected() {
                    tracing::info!(%name, "gamepad");
                }
                Some(p)
            }
            Err(e) => {
                tracing::warn!(%e, "no gamepads");
                None
            }
        },
    };
    let started = Instant::now();
    let looped = event_loop.run_app(&mut app);
    app.shared.stop();
    let rendered = match app.render.take().map(JoinHandle::join) {
        Some(Ok(result)) => result,
        Some(Err(_)) => Err(AppError::RenderPanicked),
        None => Ok(0),
    };
    drop(app.window.take());
    let (ticked, _) = tick.finish();
    let (ticks, skipped) = app.shared.tick_counts();
    looped?;
    if let Some(e) = app.error.take() {
        return Err(e);
    }
    ticked?;
    let presented = rendered?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "presented {presented} frames in {secs:.1} s ({:.1} fps); {ticks} ticks sent on, {skipped} skipped",
        presented as f64 / secs.max(1e-9)
    );
    let shared = Arc::try_unwrap(app.shared).map_err(|_| AppError::GameHeld)?;
    Ok(shared.into_game())
}
