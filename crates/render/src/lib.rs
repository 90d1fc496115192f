//! z3r0-render: the wgpu renderer of the Z3R0 client. Its modules are private; what other crates
//! use is re-exported here.
//!
//! - [`Gpu`]: adapter and device selection (DX12 on Windows, Metal on Apple, Vulkan elsewhere,
//!   `Z3R0_BACKEND` to override), with errors that say what was tried and what was found.
//! - [`Renderer`]: chunk meshes from `z3r0-voxel` in pooled GPU buffers ([`ChunkBuffers`]),
//!   pulled by the vertex shader; CPU frustum and face culling; all visible chunks of a pass in
//!   one multi-draw-indirect call; textured blocks with smooth ambient occlusion, sun, fog, sky,
//!   water, entity boxes, crosshair and block outline; [`FrameStats`] with GPU timestamps.
//! - [`HeadlessTarget`]: offscreen rendering to an [`RgbaImage`] / PNG, and [`compare`] for
//!   golden images.
//! - [`map_pixels`]: a top-down map of a generated world; [`generate_view`] and [`pick_block`]
//!   for previews and picking.
//! - `window` (feature, on by default): a winit window with a configured surface (X11; Wayland
//!   sessions run it through XWayland).

mod alloc;
mod camera;
mod chunks;
mod gpu;
mod headless;
mod map;
mod occupancy;
mod overlay;
mod renderer;
mod terrain;
pub mod textures;
mod timing;
#[cfg(feature = "window")]
mod window;

/// The wgpu and winit versions this crate is built against, for callers that need their types.
pub use wgpu;
#[cfg(feature = "window")]
pub use winit;

pub use camera::{Camera, Frustum, Mat4};
pub use chunks::{ChunkBuffers, PoolStats};
pub use gpu::{Capabilities, Gpu, GpuOptions};
pub use headless::{HEADLESS_FORMAT, HeadlessTarget, ImageDiff, RgbaImage, compare};
pub use map::{encode_png_rgb, map_pixels};
pub use occupancy::Occupancy;
pub use overlay::{Overlay, srgb};
pub use renderer::{EntityBox, FrameInput, FrameStats, Renderer, RendererConfig, SyncStats};
pub use terrain::{generate_view, ground_height, pick, pick_block};
#[cfg(feature = "window")]
pub use window::{Acquired, WindowAction, WindowSurface, event_loop, window_action};

/// Everything that can go wrong while rendering, each with what the user can do about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RenderError {
    #[error(
        "no GPU adapter for backends {tried} (compiled in: {compiled}): {reason}; adapters \
         present on any backend: [{}]. On Linux without a GPU install software Vulkan \
         (`apt-get install mesa-vulkan-drivers`); set Z3R0_BACKEND to pick another backend",
        found.join("; ")
    )]
    NoAdapter {
        tried: String,
        compiled: String,
        reason: String,
        found: Vec<String>,
    },
    #[error("{var}={value:?} names no backend (use vulkan, dx12, metal or gl)")]
    BadBackend { var: &'static str, value: String },
    #[error("adapter {adapter} lacks {missing}")]
    Unsupported {
        adapter: String,
        missing: &'static str,
    },
    #[error("adapter {adapter} refused a device: {reason}")]
    Device { adapter: String, reason: String },
    #[error("GPU error: {0}")]
    Gpu(String),
    #[error("the {what} pool needs {needed} but the device allows at most {max}")]
    PoolFull {
        what: &'static str,
        needed: u32,
        max: u32,
    },
    #[error(
        "chunk mesh face ranges opaque {opaque:?} / transparent {transparent:?} do not split \
         its {quads} quads"
    )]
    BadMesh {
        opaque: [u32; 7],
        transparent: [u32; 7],
        quads: usize,
    },
    #[error("image size {width}×{height} is outside 1..={max}")]
    BadSize { width: u32, height: u32, max: u32 },
    #[error("image {path}: {reason}")]
    Image { path: String, reason: String },
    #[error("window: {0}")]
    Window(String),
}
