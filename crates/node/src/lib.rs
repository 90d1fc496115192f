//! z3r0-node: a zone's validator. It runs the zone chain on commonware's simplex consensus
//! (one block per game tick), executes finalized blocks with the game's state machine, gossips
//! player actions between validators, serves players through the `z3r0-net` edge, and exposes
//! metrics, an explorer and an audit log over HTTP. Its modules are private; what other crates
//! use is re-exported here.
//!
//! - [`run`] with [`NodeOptions`]: one validator process (storage, p2p, consensus, edge, HTTP).
//! - [`Executor`]: finalized blocks into state, receipts and snapshots ([`Executed`]).
//! - [`ZoneBlock`], [`Pacing`], [`Source`]: the block, the tick clock, where actions come from.
//! - [`SimNet`]: whole committees in commonware's deterministic runtime, with [`Byzantine`]
//!   validators and their [`Attack`]s, for tests and benchmarks.

mod application;
mod assets;
mod block;
mod byzantine;
mod datadir;
mod edge;
mod engine;
mod executor;
mod explorer;
mod forger;
pub mod handoff;
/// Genesis and validator configuration (the runtime-free `z3r0-genesis` crate).
pub use z3r0_genesis as genesis;
mod gossip;
mod http;
mod metrics;
mod process;
mod scoped;
mod simnet;
pub mod statesync;
mod stores;
mod worldload;
mod worldnet;
mod worldnode;

pub use application::{Pacing, Source};
pub use block::ZoneBlock;
pub use byzantine::{Attack, Byzantine};
pub use engine::{CONSENSUS_NAMESPACE, channel};
pub use executor::{ExecError, Executed, Executor};
pub use forger::Forgery;
pub use genesis::{ConfigError, Genesis, ValidatorConfig, ValidatorEntry, generate};
pub use gossip::{decode_batch, encode_batch};
pub use process::{NodeOptions, ProcessError, resync_advice, run};
pub use simnet::{ChainEntry, SimNet, forged_consent, link, small_game, walk};
pub use stores::{Store, StoreFault};
pub use worldnet::{Crossings, WorldNet, WorldZone};
/// A game's rules beyond the engine's, for [`NodeOptions::plugins`].
pub use z3r0_sim::plugin::Plugins;
