//! z3r0-app: the windowed player's presentation of a game (`z3r0-client` holds the game logic,
//! free of windows, GPUs and sound).
//!
//! - [`view`]: what the renderer draws for a game (camera, entity boxes, targeted block).
//! - [`hud`]: the heads-up display (fps, ping, tick, finality, position, hotbar, the latest
//!   refusal) laid out as a renderer overlay.
//! - [`sounds`]: which sounds a frame makes (footsteps, the player's own edits).

pub mod hud;
pub mod sounds;
pub mod view;
