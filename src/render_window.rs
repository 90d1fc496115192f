//! `z3r0 render --window`: the generated world in a window, the camera turning slowly, with
//! frame statistics once a second. Escape or closing the window ends it; so does `--frames N`
//! (N > 1) after N presented frames.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use z3r0_render::Acquired;

use z3r0_app::{AppError, Live, WindowApp, handle_window_event};
use z3r0_render::winit::application::ApplicationHandler;
use z3r0_render::winit::event::WindowEvent;
use z3r0_render::winit::event_loop::ActiveEventLoop;
use z3r0_render::winit::window::WindowId;
use z3r0_render::{Camera, EntityBox, FrameInput, FrameStats};
use z3r0_voxel::World;

use crate::render_cmd::{RenderArgs, parse_size, print_stats};

struct App {
    size: (u32, u32),
    view_distance: u32,
    vsync: bool,
    stop_after: Option<u64>,
    camera: Camera,
    world: World,
    overlays: (Vec<EntityBox>, Option<[i32; 3]>),
    live: Option<Live>,
    error: Option<AppError>,
    started: Instant,
    presented: u64,
    window_frames: Vec<(FrameStats, f64)>,
    last_report: Instant,
    /// A content pack's look to show, and its watcher with `--watch`.
    look: Option<z3r0_render::textures::BlockLook>,
    watcher: Option<crate::pack_textures::PackWatcher>,
}

impl App {
    fn open(&mut self, event_loop: &ActiveEventLoop) -> Result<(), AppError> {
        let mut live = Live::open(event_loop, self.size, self.vsync, self.view_distance)?;
        let sync = live.renderer.sync_world(&live.gpu, &mut self.world)?;
        println!("meshed {} chunks · {} quads", sync.meshed, sync.quads);
        if let Some(look) = &self.look {
            live.renderer.set_block_look(&live.gpu, look);
        }
        self.live = Some(live);
        self.started = Instant::now();
        self.last_report = self.started;
        Ok(())
    }

    fn frame(&mut self) -> Result<bool, AppError> {
        let Some(live) = self.live.as_mut() else {
            return Ok(true);
        };
        if let Some(look) = self.watcher.as_mut().and_then(|w| w.poll()) {
            live.renderer.set_block_look(&live.gpu, &look);
        }
        let t = self.started.elapsed().as_secs_f32();
        let mut camera = self.camera;
        camera.yaw_deg += 8.0 * t;
        let wall = Instant::now();
        let frame = match live.surface.acquire(&live.gpu)? {
            Acquired::Frame(frame) => frame,
            Acquired::Skip => return Ok(true),
        };
        let view = frame.texture.create_view(&wgpu_view_descriptor());
        let input = FrameInput {
            camera: &camera,
            entities: &self.overlays.0,
            target_block: self.overlays.1,
            crosshair: true,
            time_s: t,
            overlay: None,
        };
        let stats = live
            .renderer
            .render(&live.gpu, &view, live.surface.size(), &input)?;
        live.window.pre_present_notify();
        live.gpu.queue.present(frame);
        self.presented += 1;
        self.window_frames
            .push((stats, wall.elapsed().as_secs_f64() * 1e3));
        if self.last_report.elapsed() >= Duration::from_secs(1) {
            let fps = self.window_frames.len() as f64 / self.last_report.elapsed().as_secs_f64();
            println!("{fps:.1} fps");
            print_stats(&self.window_frames);
            self.window_frames.clear();
            self.last_report = Instant::now();
        }
        Ok(self.stop_after.is_none_or(|n| self.presented < n))
    }
}

fn wgpu_view_descriptor() -> z3r0_render::wgpu::TextureViewDescriptor<'static> {
    z3r0_render::wgpu::TextureViewDescriptor::default()
}

impl WindowApp for App {
    fn live(&mut self) -> Option<&mut Live> {
        self.live.as_mut()
    }
    fn frame(&mut self) -> Result<bool, AppError> {
        App::frame(self)
    }
    fn fail(&mut self, error: AppError) {
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

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        handle_window_event(self, &event, event_loop);
    }
}

pub fn run(
    args: &RenderArgs,
    camera: Camera,
    world: World,
    overlays: (Vec<EntityBox>, Option<[i32; 3]>),
) -> Result<()> {
    let event_loop = z3r0_render::event_loop()?;
    let mut app = App {
        size: parse_size(&args.size)?,
        view_distance: args.view_distance,
        vsync: args.vsync,
        stop_after: (args.frames > 1).then_some(u64::from(args.frames)),
        camera,
        world,
        overlays,
        live: None,
        error: None,
        started: Instant::now(),
        presented: 0,
        window_frames: Vec::new(),
        last_report: Instant::now(),
        look: args
            .content
            .as_deref()
            .map(crate::pack_textures::load)
            .transpose()?,
        watcher: match (&args.content, args.watch) {
            (Some(dir), true) => Some(crate::pack_textures::PackWatcher::new(dir)?),
            _ => None,
        },
    };
    event_loop
        .run_app(&mut app)
        .context("window event loop failed")?;
    if let Some(e) = app.error {
        return Err(e.into());
    }
    if !app.window_frames.is_empty() {
        print_stats(&app.window_frames);
    }
    let secs = app.started.elapsed().as_secs_f64();
    println!(
        "presented {} frames in {secs:.1} s ({:.1} fps)",
        app.presented,
        app.presented as f64 / secs.max(1e-9)
    );
    Ok(())
}
