//! The Z3R0 validator node. Today: the genesis of a zone (validator keys, addresses, tick length,
//! world parameters) and per-validator configuration files. The consensus wiring builds on these.

pub mod application;
pub mod block;
pub mod byzantine;
pub mod edge;
pub mod engine;
pub mod executor;
pub mod explorer;
/// Genesis and validator configuration (the runtime-free `z3r0-genesis` crate).
pub use z3r0_genesis as genesis;
pub mod gossip;
pub mod http;
pub mod metrics;
pub mod process;
pub mod simnet;

pub use genesis::{ConfigError, Genesis, ValidatorConfig, ValidatorEntry, generate};
