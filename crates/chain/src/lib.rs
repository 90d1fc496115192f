//! The Z3R0 zone chain's core: signed actions, the mempool, blocks, and the interface a state
//! machine implements to be driven by finalized blocks.
//!
//! Runtime-free: the consensus wiring (commonware simplex, p2p, storage) lives in `z3r0-node`, so
//! these types stay usable by clients.

pub mod action;
pub mod block;
#[cfg(feature = "forge")]
pub mod forge;
pub mod machine;
pub mod mempool;

pub use action::{ACTION_NAMESPACE, Action, MAX_PAYLOAD, SignedAction, verify_all};
pub use block::{Block, BlockError, MAX_BLOCK_ACTIONS, header_digest};

/// Namespace of consensus votes and certificates (simplex derives its per-vote namespaces from
/// it). Here so light clients can check finality without the consensus crates.
pub const CONSENSUS_NAMESPACE: &[u8] = b"z3r0/consensus/v1";
pub use machine::{CounterReceipt, Counters, CountersSnapshotError, Hash, Snapshot, StateMachine};
pub use mempool::{
    BlockActionsError, Mempool, MempoolConfig, Nonces, Rejection, check_block_actions,
    check_block_actions_known,
};
