//! z3r0-client: the game client's logic, independent of windows, GPUs and sound (those are
//! `z3r0-app`'s). Its modules are private; what other crates use is re-exported here.
//!
//! - prediction of the local player with the validators' movement code, and reconciliation
//!   against the authoritative state ([`Predictor`]);
//! - interpolation of remote entities ([`Interpolator`]);
//! - one session with a zone: streamed chunks, inputs with resends, proven receipts ([`Game`]);
//! - session keys delegated by an account key, so the account key can stay offline
//!   ([`connect_session`]);
//! - scripted players (wander, build, cheat, and a game's own) for devnets and tests
//!   ([`Bot`]), and a game's player-side part ([`PlayerScript`]: its bots' actions, what
//!   using a block does);
//! - the windowed client's network thread, one input frame per chain tick whatever the frame
//!   rate ([`TickLoop`]);
//! - playing in a world of zones: each zone's edges and borders ([`WorldRoutes`]), and a
//!   session that follows the body into the zone it walked into ([`cross`]).

mod bot;
mod game;
mod interp;
mod predict;
mod script;
mod session;
mod tick_loop;
mod world;

pub use bot::{Bot, BotKind, Tally};
pub use game::ZoneOf;
pub use game::{
    BlockChange, ContentFollower, Game, GameStats, INPUT_LEAD, LoadedContent, Notice, Outcome,
    Refusal, ShownClaim,
};
pub use interp::{Interpolator, Shown};
pub use predict::{
    Authoritative, PendingEdit, Predictor, Reconciled, SMOOTHING_HALF_LIFE_S, TOLERANCE,
};
pub use script::PlayerScript;
pub use session::{SessionError, connect_session};
pub use tick_loop::{POLL_INTERVAL, Shared, StopOnDrop, TickLoop, lock};
pub use world::{ARRIVAL_WAIT, NextZone, RouteError, WorldRoutes, cross, next_zone};
