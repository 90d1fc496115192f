//! z3r0-play: the player as a program. [`run`] is the command (`z3r0-play`, and `z3r0 client`
//! in the full CLI): connect to a zone node over QUIC and play in a window (`z3r0-app`) or
//! headless, as a person or a bot.
//!
//! Its dependency tree holds no validator runtime (commonware's runtime, p2p or storage) and
//! no unix-only code outside `cfg(unix)`: `scripts/test` checks both, as this is what players
//! on Windows build.

mod play;
pub mod whereabouts;

pub use play::{ClientArgs, parse_size, run, run_game};
