//! What the `render --window` viewer and the windowed client share: the open window with its
//! surface, device and renderer, and the loop-level handling of window events.

use std::sync::Arc;

use z3r0_render::winit::dpi::PhysicalSize;
use z3r0_render::winit::event::WindowEvent;
use z3r0_render::winit::event_loop::ActiveEventLoop;
use z3r0_render::winit::window::Window;
use z3r0_render::{Gpu, GpuOptions, Renderer, RendererConfig};
use z3r0_render::{WindowAction, WindowSurface, window_action};

use crate::AppError;

/// An open window ready to draw into.
#[allow(missing_debug_implementations)] // GPU handles have nothing useful to print
pub struct Live {
    pub window: Arc<Window>,
    pub gpu: Gpu,
    pub surface: WindowSurface,
    pub renderer: Renderer,
}

impl Live {
    /// Opens a `size` window with a surface and a renderer for `view_distance` chunks.
    pub fn open(
        event_loop: &ActiveEventLoop,
        size: (u32, u32),
        vsync: bool,
        view_distance: u32,
    ) -> Result<Self, AppError> {
        let attributes = Window::default_attributes()
            .with_title("Z3R0")
            .with_inner_size(PhysicalSize::new(size.0, size.1));
        let window = Arc::new(event_loop.create_window(attributes)?);
        let (gpu, surface) = WindowSurface::new(window.clone(), &GpuOptions::default(), vsync)?;
        println!(
            "adapter {} · surface {:?} · {:?}",
            gpu.describe(),
            surface.format(),
            surface.present_mode()
        );
        let renderer = Renderer::new(&gpu, RendererConfig::new(surface.format(), view_distance))?;
        Ok(Self {
            window,
            gpu,
            surface,
            renderer,
        })
    }
}

/// A game or viewer loop drawing into a [`Live`] window.
pub trait WindowApp {
    fn live(&mut self) -> Option<&mut Live>;
    /// Draws one frame; `false` ends the loop.
    fn frame(&mut self) -> Result<bool, AppError>;
    /// Keeps the error that ends the loop.
    fn fail(&mut self, error: AppError);
}

/// Handles closing, resizing and redrawing for `app`.
pub fn handle_window_event(
    app: &mut impl WindowApp,
    event: &WindowEvent,
    event_loop: &ActiveEventLoop,
) {
    match window_action(event) {
        WindowAction::Close => event_loop.exit(),
        WindowAction::Resize(width, height) => {
            if let Some(live) = app.live() {
                live.surface.resize(&live.gpu, width, height);
            }
        }
        WindowAction::Redraw => match app.frame() {
            Ok(true) => {
                if let Some(live) = app.live() {
                    live.window.request_redraw();
                }
            }
            Ok(false) => event_loop.exit(),
            Err(e) => {
                app.fail(e);
                event_loop.exit();
            }
        },
        WindowAction::Other => {}
    }
}
