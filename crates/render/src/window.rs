//! Windowed rendering: a winit 0.30 window with a configured wgpu surface (resize, vsync on or
//! off). The client's event loop owns the window; this type owns the surface and the device.

use std::sync::Arc;

use winit::event::{ElementState, WindowEvent};
use winit::event_loop::{ControlFlow, EventLoop};
use winit::keyboard::{Key, NamedKey};
use winit::window::Window;

use crate::RenderError;
use crate::gpu::{Gpu, GpuOptions};

/// A window's presentable surface.
#[derive(Debug)]
pub struct WindowSurface {
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    /// The last frame was suboptimal: reconfigure before the next (not while it is held).
    reconfigure: bool,
}

/// What acquiring a frame gave.
#[derive(Debug)]
pub enum Acquired {
    Frame(wgpu::SurfaceTexture),
    /// Nothing to draw into now (minimised, occluded or timed out): skip this frame.
    Skip,
}

impl WindowSurface {
    /// Creates the device for `window` (an adapter that can present to it) and its surface.
    pub fn new(
        window: Arc<Window>,
        options: &GpuOptions,
        vsync: bool,
    ) -> Result<(Gpu, Self), RenderError> {
        let backends = options.resolve_backends()?;
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = backends;
        let instance = wgpu::Instance::new(desc);
        let size = window.inner_size();
        let surface = instance
            .create_surface(window)
            .map_err(|e| RenderError::Window(format!("cannot create a surface: {e}")))?;
        let gpu = pollster::block_on(Gpu::for_surface(instance, backends, options, &surface))?;
        let caps = surface.get_capabilities(&gpu.adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(wgpu::TextureFormat::is_srgb)
            .or_else(|| caps.formats.first().copied())
            .ok_or_else(|| {
                RenderError::Window(format!(
                    "adapter {} cannot present to this window",
                    gpu.describe()
                ))
            })?;
        let mut config = surface
            .get_default_config(&gpu.adapter, size.width.max(1), size.height.max(1))
            .ok_or_else(|| RenderError::Window("surface is not supported by the adapter".into()))?;
        config.format = format;
        config.present_mode = if vsync {
            wgpu::PresentMode::AutoVsync
        } else {
            wgpu::PresentMode::AutoNoVsync
        };
        // One frame queued: lowest latency that still overlaps CPU and GPU work.
        config.desired_maximum_frame_latency = 1;
        surface.configure(&gpu.device, &config);
        tracing::info!(?format, present = ?config.present_mode, "window surface ready");
        Ok((
            gpu,
            Self {
                surface,
                config,
                reconfigure: false,
            },
        ))
    }

    pub fn format(&self) -> wgpu::TextureFormat {
        self.config.format
    }

    pub fn size(&self) -> (u32, u32) {
        (self.config.width, self.config.height)
    }

    pub fn present_mode(&self) -> wgpu::PresentMode {
        self.config.present_mode
    }

    /// Follows a window resize (a zero size, when minimised, is ignored).
    pub fn resize(&mut self, gpu: &Gpu, width: u32, height: u32) {
        if width == 0 || height == 0 || (width, height) == self.size() {
            return;
        }
        self.config.width = width;
        self.config.height = height;
        self.surface.configure(&gpu.device, &self.config);
    }

    /// The next frame to draw into, reconfiguring the surface when it went out of date.
    pub fn acquire(&mut self, gpu: &Gpu) -> Result<Acquired, RenderError> {
        if std::mem::take(&mut self.reconfigure) {
            self.surface.configure(&gpu.device, &self.config);
        }
        for _ in 0..2 {
            match self.surface.get_current_texture() {
                wgpu::CurrentSurfaceTexture::Success(frame) => return Ok(Acquired::Frame(frame)),
                wgpu::CurrentSurfaceTexture::Suboptimal(frame) => {
                    // Draw this one; the surface cannot be reconfigured while it is held.
                    self.reconfigure = true;
                    return Ok(Acquired::Frame(frame));
                }
                wgpu::CurrentSurfaceTexture::Timeout | wgpu::CurrentSurfaceTexture::Occluded => {
                    return Ok(Acquired::Skip);
                }
                wgpu::CurrentSurfaceTexture::Outdated => {
                    self.surface.configure(&gpu.device, &self.config);
                }
                other => {
                    return Err(RenderError::Window(format!(
                        "surface lost ({other:?}); the window must be recreated"
                    )));
                }
            }
        }
        Ok(Acquired::Skip)
    }
}

/// What a window event means to a game loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowAction {
    /// Closed, or Escape pressed.
    Close,
    Resize(u32, u32),
    Redraw,
    Other,
}

/// The loop-level meaning of `event` (input itself is the caller's business).
pub fn window_action(event: &WindowEvent) -> WindowAction {
    match event {
        WindowEvent::CloseRequested => WindowAction::Close,
        WindowEvent::KeyboardInput { event, .. }
            if event.state == ElementState::Pressed
                && event.logical_key == Key::Named(NamedKey::Escape) =>
        {
            WindowAction::Close
        }
        WindowEvent::Resized(size) => WindowAction::Resize(size.width, size.height),
        WindowEvent::RedrawRequested => WindowAction::Redraw,
        _ => WindowAction::Other,
    }
}

/// A polling event loop, or an error that says how to get a display.
pub fn event_loop() -> Result<EventLoop<()>, RenderError> {
    let event_loop = EventLoop::new().map_err(|e| {
        RenderError::Window(format!(
            "cannot open a window: {e} (is an X display available? set DISPLAY, or run \
             headless)"
        ))
    })?;
    event_loop.set_control_flow(ControlFlow::Poll);
    Ok(event_loop)
}
