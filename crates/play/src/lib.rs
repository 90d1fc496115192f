//! z3r0-play: the player as a program. [`play`] is the command (`z3r0-play`, and `z3r0 client`
//! in the full CLI): connect to a zone node over QUIC and play in a window ([`windowed`]) or
//! headless, as a person or a bot. [`live`] is the open window with its GPU surface, shared
//! with the CLI's world viewer.
//!
//! Its dependency tree holds no validator runtime (commonware's runtime, p2p or storage) and
//! no unix-only code outside `cfg(unix)`: `scripts/test` checks both, as this is what players
//! on Windows build.

pub mod live;
pub mod play;
mod windowed;

pub use play::{ClientArgs, run};
