//! `z3r0 client` in a window: keyboard and mouse through `z3r0-input`, the predicted player and
//! the streamed world through `z3r0-render`, one input frame per tick, dig/place/claim with
//! the block under the crosshair. The HUD (`z3r0_client::hud`) is drawn in the frame: fps,
//! ping, tick, finality, position, the hotbar and the latest refusal; the window title repeats
//! the status line.

use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use z3r0_audio::{DeviceBackend, GameAudio, Sound};
use z3r0_client::Game;
use z3r0_client::hud::{HOTBAR, HudInfo};
use z3r0_client::sounds::{LOCAL, SoundCues};
use z3r0_client::view::view;
use z3r0_input::{ActionMap, Command, InputState, from_mouse_motion, from_window_event};
use z3r0_render::terrain::pick;
use z3r0_render::window::Acquired;

use crate::window_app::{Live, WindowApp, handle_window_event};
use z3r0_render::FrameInput;
use z3r0_render::winit::application::ApplicationHandler;
use z3r0_render::winit::event::{DeviceEvent, DeviceId, WindowEvent};
use z3r0_render::winit::event_loop::ActiveEventLoop;
use z3r0_render::winit::window::{CursorGrabMode, WindowId};
use z3r0_sim::Action;
use z3r0_voxel::VoxelPos;

struct App {
    runtime: tokio::runtime::Runtime,
    /// `None` when no audio output could be opened (the game plays on, silent).
    audio: Option<GameAudio<DeviceBackend>>,
    cues: SoundCues,
    sounds: Vec<(Sound, [f32; 3])>,
    game: Game,
    input: InputState,
    size: (u32, u32),
    radius: u8,
    vsync: bool,
    stop_after: Option<u64>,
    live: Option<Live>,
    error: Option<anyhow::Error>,
    last_tick: u64,
    join_sent: Option<u64>,
    presented: u64,
    fps_frames: u32,
    fps_since: Instant,
    fps: f64,
    started: Instant,
    last_frame: Instant,
    /// Gamepads, with the `gamepad` feature (and where the system offers them).
    #[cfg(feature = "gamepad")]
    pads: Option<z3r0_input::gamepad::Gamepads>,
}

impl App {
    fn open(&mut self, event_loop: &ActiveEventLoop) -> Result<()> {
        let live = Live::open(event_loop, self.size, self.vsync, u32::from(self.radius))?;
        // Mouse look wants the cursor captured; where that is refused (no window manager,
        // remote desktops) the game still plays with the keyboard.
        let _ = live
            .window
            .set_cursor_grab(CursorGrabMode::Locked)
            .or_else(|_| live.window.set_cursor_grab(CursorGrabMode::Confined));
        live.window.set_cursor_visible(false);
        self.live = Some(live);
        Ok(())
    }

    /// One display frame: network, one input per tick, commands, render.
    fn frame(&mut self) -> Result<bool> {
        #[cfg(feature = "gamepad")]
        if let Some(pads) = self.pads.as_mut() {
            let mut events = Vec::new();
            pads.poll(&mut events);
            for e in events {
                self.input.apply(e);
            }
        }
        // The right stick turns the view by the time since the last frame.
        let now = Instant::now();
        self.input
            .advance(now.duration_since(self.last_frame).as_secs_f64());
        self.last_frame = now;
        self.runtime.block_on(self.game.poll())?;
        let tick = self.game.chain_tick();
        if tick != self.last_tick {
            self.last_tick = tick;
            if self.game.joined {
                let mut frame = self.input.frame();
                if !self.game.area_loaded() {
                    // Look around, but stay put until the world around has streamed in.
                    (frame.forward, frame.strafe, frame.flags) = (0, 0, 0);
                }
                self.game.input(frame)?;
            } else if self.join_sent.is_none_or(|t| tick >= t + 20) {
                // Join, and ask again a second later if no body has shown up.
                self.game.join()?;
                self.join_sent = Some(tick);
            }
        }
        let (yaw, pitch) = (self.input.yaw_deg as f32, self.input.pitch_deg as f32);
        for command in self.input.take_commands() {
            self.command(command, yaw, pitch)?;
        }
        let Some(live) = self.live.as_mut() else {
            return Ok(true);
        };
        live.renderer.sync_world(&live.gpu, &mut self.game.world)?;
        let Some(v) = view(&mut self.game, yaw, pitch) else {
            return Ok(true);
        };
        // Sounds: the listener at the eye, footsteps of whoever walks, the player's own edits
        // (queued by `command`).
        let eye = v.camera.position;
        self.cues
            .step(LOCAL, [eye[0], eye[1] - 1.62, eye[2]], &mut self.sounds);
        let changes: Vec<_> = self.game.block_changes.drain(..).collect();
        self.cues.block_changes(changes, &mut self.sounds);
        for shown in self
            .game
            .remote
            .at(self.game.remote.newest().unwrap_or(0) as f64)
        {
            self.cues.step(shown.id, shown.pos, &mut self.sounds);
        }
        if let Some(audio) = self.audio.as_mut() {
            audio.set_listener(eye.map(|c| c as f32), yaw);
            for (sound, at) in self.sounds.drain(..) {
                if let Err(e) = audio.play_at(sound, at) {
                    tracing::debug!(%e, "sound dropped");
                }
            }
        } else {
            self.sounds.clear();
        }
        let frame = match live.surface.acquire(&live.gpu)? {
            Acquired::Frame(frame) => frame,
            Acquired::Skip => {
                std::thread::sleep(Duration::from_millis(10));
                return Ok(true);
            }
        };
        let target = frame
            .texture
            .create_view(&z3r0_render::wgpu::TextureViewDescriptor::default());
        let size = live.surface.size();
        let info = HudInfo::now(
            &self.game,
            self.fps,
            self.last_tick,
            self.input.hotbar_slot,
            v.camera.position,
        )
        .with_target(&self.game, v.target);
        let hud = z3r0_client::hud::layout(&info, size.0, size.1);
        let input = FrameInput {
            camera: &v.camera,
            entities: &v.entities,
            target_block: v.target,
            crosshair: true,
            time_s: self.started.elapsed().as_secs_f32(),
            overlay: Some(&hud),
        };
        live.renderer
            .render(&live.gpu, &target, live.surface.size(), &input)?;
        live.window.pre_present_notify();
        live.gpu.queue.present(frame);
        self.presented += 1;
        self.fps_frames += 1;
        if self.fps_since.elapsed() >= Duration::from_millis(500) {
            self.fps = f64::from(self.fps_frames) / self.fps_since.elapsed().as_secs_f64();
            self.fps_frames = 0;
            self.fps_since = Instant::now();
            let title = self.hud(&v.camera);
            if let Some(live) = &self.live {
                live.window.set_title(&title);
            }
        }
        Ok(self.stop_after.is_none_or(|n| self.presented < n))
    }

    fn command(&mut self, command: Command, yaw: f32, pitch: f32) -> Result<()> {
        let Some(v) = view(&mut self.game, yaw, pitch) else {
            return Ok(());
        };
        let hit = pick(&self.game.world, v.camera.position, v.camera.forward(), 6.0);
        let at = |c: [i32; 3]| c.map(|v| v as f32 + 0.5);
        let sound = match (command, hit) {
            (Command::Break, Some(p)) => Some((Sound::Break, at(p.block))),
            (Command::Place, Some(p)) => Some((Sound::Place, at(p.before))),
            (Command::Claim, _) => Some((Sound::Claim, v.camera.position.map(|c| c as f32))),
            _ => None,
        };
        self.sounds.extend(sound);
        let action = match (command, hit) {
            (Command::Break, Some(p)) => {
                Action::Break(VoxelPos::new(p.block[0], p.block[1], p.block[2]))
            }
            (Command::Place, Some(p)) => Action::Place(
                VoxelPos::new(p.before[0], p.before[1], p.before[2]),
                HOTBAR[usize::from(self.input.hotbar_slot).min(8)],
            ),
            (Command::Claim, _) => {
                let n = z3r0_voxel::CHUNK_SIZE as f64;
                let (x, z) = (v.camera.position[0], v.camera.position[2]);
                Action::Claim((x / n).floor() as i32, (z / n).floor() as i32)
            }
            _ => return Ok(()),
        };
        self.game.edit(&action)?;
        Ok(())
    }

    fn hud(&self, camera: &z3r0_render::Camera) -> String {
        let info = HudInfo::now(
            &self.game,
            self.fps,
            self.last_tick,
            self.input.hotbar_slot,
            camera.position,
        );
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
            z3r0_voxel::block_info(HOTBAR[usize::from(info.slot)]).name,
        )
    }
}

impl WindowApp for App {
    fn live(&mut self) -> Option<&mut Live> {
        self.live.as_mut()
    }
    fn frame(&mut self) -> Result<bool> {
        App::frame(self)
    }
    fn fail(&mut self, error: anyhow::Error) {
        self.error = Some(error);
    }
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.live.is_none()
            && let Err(e) = self.open(event_loop)
        {
            self.error = Some(e);
            event_loop.exit();
        }
    }

    fn device_event(&mut self, _: &ActiveEventLoop, _: DeviceId, event: DeviceEvent) {
        if let DeviceEvent::MouseMotion { delta } = event {
            self.input.apply(from_mouse_motion(delta));
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        if let Some(e) = from_window_event(&event) {
            self.input.apply(e);
        }
        if matches!(event, WindowEvent::Focused(false)) {
            self.input.release_all();
        }
        handle_window_event(self, &event, event_loop);
    }
}

/// Plays `game` in a window until it is closed (or `stop_after` frames were shown).
pub fn run(
    runtime: tokio::runtime::Runtime,
    game: Game,
    map: ActionMap,
    size: (u32, u32),
    radius: u8,
    stop_after: Option<u64>,
) -> Result<Game> {
    let event_loop = z3r0_render::window::event_loop()?;
    // Without the sound card feature kira's backend never mixes (tracks would pile up):
    // play silently instead.
    let audio = if cfg!(feature = "audio-device") {
        match GameAudio::<DeviceBackend>::new(Default::default()) {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!(%e, "no audio output; playing silently");
                None
            }
        }
    } else {
        None
    };
    let mut app = App {
        runtime,
        audio,
        cues: SoundCues::default(),
        sounds: Vec::new(),
        game,
        input: InputState::new(map),
        size,
        radius,
        vsync: true,
        stop_after,
        live: None,
        error: None,
        last_tick: 0,
        join_sent: None,
        presented: 0,
        fps_frames: 0,
        fps_since: Instant::now(),
        fps: 0.0,
        started: Instant::now(),
        last_frame: Instant::now(),
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
    event_loop
        .run_app(&mut app)
        .context("window event loop failed")?;
    if let Some(e) = app.error {
        return Err(e);
    }
    let secs = app.started.elapsed().as_secs_f64();
    println!(
        "presented {} frames in {secs:.1} s ({:.1} fps)",
        app.presented,
        app.presented as f64 / secs.max(1e-9)
    );
    Ok(app.game)
}
