//! z3r0-client: the game client's logic, independent of windows and sound.
//!
//! - [`predict`]: prediction of the local player with the validators' movement code, and
//!   reconciliation against the authoritative state.

pub mod predict;

pub use predict::{Authoritative, Predictor, Reconciled, TOLERANCE};
