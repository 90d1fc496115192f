//! The Z3R0 zone chain's core: signed actions, the mempool, blocks, and the interface a state
//! machine implements to be driven by finalized blocks.
//!
//! Runtime-free: the consensus wiring (commonware simplex, p2p, storage) lives in `z3r0-node`, so
//! these types stay usable by clients.

pub mod action;
pub mod block;
pub mod chain_id;
pub mod finality;
#[cfg(feature = "forge")]
pub mod forge;
pub mod machine;
pub mod mempool;
#[cfg(any(test, feature = "fuzz"))]
pub mod mutate;

pub use action::{
    ACTION_NAMESPACE, Action, Endorsement, Endorsements, MAX_PAYLOAD, SignedAction,
    no_endorsements, verify_all, verify_all_endorsed,
};
pub use block::{
    Block, BlockError, MAX_BLOCK_ACTIONS, MAX_BLOCK_IMPORTS, MAX_IMPORT_BYTES, header_digest,
};
pub use chain_id::ChainId;
pub use finality::{Committee, FinalityError, FinalityProof};

/// Domain of consensus votes and certificates: the namespace is
/// [`ChainId::namespace`] of it, and simplex derives its per-vote namespaces from that. Here so
/// light clients can check finality without the consensus crates.
pub const CONSENSUS_NAMESPACE: &[u8] = b"z3r0/consensus/v1";

/// Ticks of `tick_ms` in `ms` milliseconds, rounded up, at least one (a tick of 0 counts as
/// 1 ms). Every window kept in time (the mempool's, the receipt logs', the edge's intervals and
/// proof points) is counted with it, so windows of the same time fall on the same ticks.
pub const fn ticks_in(ms: u64, tick_ms: u64) -> u64 {
    let tick_ms = if tick_ms == 0 { 1 } else { tick_ms };
    let ticks = ms.div_ceil(tick_ms);
    if ticks == 0 { 1 } else { ticks }
}
pub use machine::{
    CounterReceipt, Counters, CountersSnapshotError, Hash, ImportChecker, PayloadCheck, Snapshot,
    StateMachine, any_payload,
};
pub use mempool::{
    BlockActionsError, MAX_NONCE, Mempool, MempoolConfig, NonceRecord, Nonces, Rejection,
    RejectionKind, check_block_actions, check_block_actions_known, nonce_after,
};
