//! z3r0-app: the windowed player app (`z3r0-client` holds the game logic, free of windows, GPUs
//! and sound).
//!
//! - [`run`]: plays a game in a window on three threads (window events and input, the chain's
//!   tick, rendering and sound), so none waits for another.
//! - [`Live`]: an open window with its surface, device and renderer, shared with the CLI's
//!   world viewer through [`WindowApp`] and [`handle_window_event`].
//! - [`view`]: what the renderer draws for a game (camera, entity boxes, targeted block).
//! - [`hud`]: the heads-up display (fps, ping, tick, finality, position, hotbar, the latest
//!   refusal) laid out as a renderer overlay.
//! - [`sounds`]: which sounds a frame makes (footsteps, the player's own edits).
//! - [`content`]: the zone's published content in the window (hotbar, block textures).

pub mod content;
mod error;
pub mod hud;
mod live;
pub mod sounds;
pub mod view;
mod windowed;

pub use error::AppError;
pub use live::{Live, WindowApp, handle_window_event};
pub use windowed::run;
