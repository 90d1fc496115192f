//! z3r0-client: the game client's logic, independent of windows, GPUs and sound (those are
//! `z3r0-app`'s).
//!
//! - [`predict`]: prediction of the local player with the validators' movement code, and
//!   reconciliation against the authoritative state.
//! - [`interp`]: interpolation of remote entities.
//! - [`game`]: one session with a zone: streamed chunks, inputs with resends, receipts.
//! - [`session`]: session keys delegated by an account key, so the account key can stay
//!   offline.
//! - [`bot`]: scripted players (wander, build, cheat) for devnets and tests.
//! - [`tick_loop`]: the windowed client's network thread, one input frame per chain tick
//!   whatever the frame rate.

pub mod bot;
pub mod game;
pub mod interp;
pub mod predict;
pub mod session;
pub mod tick_loop;

pub use game::{Game, GameStats, Notice};
pub use predict::{Authoritative, Predictor, Reconciled, TOLERANCE};
pub use session::{SessionError, connect_session};
