//! Z3R0's game rules: the deterministic state machine every validator runs to agree on a state
//! root and every client runs to predict.
//!
//! One call to [`Sim::execute_tick`] is one block: the tick's actions in block order, then the
//! systems (movement, timeouts) in a fixed order, then the commit of the ECS records and the
//! voxel chunks into one state root. Integers only: positions in 1/1024 m, angles in 1/65536
//! turns, no clock, no randomness.

pub mod action;
pub mod border;
pub mod components;
pub mod content;
pub mod fixed;
pub mod handoff;
mod machine;
pub mod physics;
pub mod plugin;
pub mod receipts;
mod rules;
pub mod units;

pub use action::{
    Action, InputFrame, PlayerKey, SESSION_NAMESPACE, flags, session_consent,
    session_consent_message, session_consents,
};
pub use components::{Body, Claim, Control, Inventory, MAX_BUILDERS, Player, Session};
pub use receipts::{
    MAX_RECEIPT_WINDOW, Outcome, RECEIPT_WINDOW_MS, ReceiptLog, Refusal, receipt_window,
};
pub use rules::{
    BlockAction, ImportRefusal, MAX_CHUNK_COORD, MAX_CLAIM_LIMIT, MAX_SESSION_TICKS,
    MAX_TIMEOUT_TICKS, MAX_TRANSIT_STEPS, MAX_ZONE_CHUNKS, Reason, Receipt, Sim, SimConfig,
    SimError, edit_check, limits as rules_limits, step_body, step_in_view, step_in_world,
};
pub use units::{Movement, Physics};
