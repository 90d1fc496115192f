//! z3r0-net: the player edge of a zone node, over QUIC (quinn 0.11). Its modules are private;
//! what other crates use is re-exported here.
//!
//! - identity: node certificates bound to validator keys; clients pin genesis keys.
//! - proto: control, event and datagram messages ([`ClientControl`], [`ServerControl`],
//!   [`Header`], [`Included`], …); snapshot: delta-compressed area-of-interest snapshots
//!   ([`Snapshot`]); wire: the bounded byte codec under both; frame: the streams'
//!   length-prefixed framing ([`read_frame`], [`write_frame`]).
//! - server: sessions on a node (authentication, inputs into the mempool, snapshots, chunk
//!   streaming with proofs, receipts, limits): [`serve`], [`Edge`], fed by the node through
//!   [`EdgeFeed`] and [`ZoneBackend`]; zone: what the node proves to players ([`FeedBuilder`],
//!   [`chunk_data`], [`claim_entries`], …).
//! - client: the player side, which verifies what it receives ([`EdgeClient`]), with the light
//!   client's proof checks ([`Committee`], [`verify_chunk`], …).

pub mod assets;
mod client;
mod clock;
mod frame;
mod identity;
mod light;
mod proto;
mod server;
mod snapshot;
mod wire;
mod zone;

pub use assets::{AssetCache, AssetError, AssetStore};
pub use client::{ClientConfig, ClientEvent, EdgeClient, quic_config};
pub use clock::{CLOCK_SLACK, ChainClock};
pub use frame::{read_frame, write_frame};
pub use light::{Committee, verify_chunk, verify_claim, verify_inventory, verify_receipts};
pub use proto::{
    ChunkData, ClaimEntry, ClientControl, ContentEntry, FinalityProof, Header, Included,
    InventoryEntry, MAX_RADIUS, ReceiptsEntry, RuleRejection, ServerControl, VERSION,
};
pub use server::{
    CLIENT_DATAGRAMS_PER_TICK, Edge, EdgeConfig, EdgeFeed, EdgeStats, RESEND_TICKS, TickUpdate,
    ZoneBackend, ZoneEdge, chunk_of, serve, serve_on, serve_zones, serve_zones_on, server_config,
    subscription_queue,
};
pub use snapshot::{EntityState, OwnState, Snapshot, SnapshotPace};
pub use wire::WireError;
/// Why the node refused an action (in [`ClientEvent::Refused`]).
pub use z3r0_chain::RejectionKind;
pub use zone::{
    FeedBuilder, account_inventory, all_claim_entries, chunk_data, claim_entries, content_entries,
    receipt_prompt_blocks, receipt_proof_blocks, receipts_entry,
};

/// Why a connection or session failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("cannot bind {addr}: {reason}")]
    Bind { addr: String, reason: String },
    #[error("connecting: {0}")]
    Connect(String),
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    #[error("stream: {0}")]
    Stream(String),
    #[error("malformed message from the peer: {0}")]
    Wire(#[from] WireError),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("verification failed: {0}")]
    Verify(String),
    #[error("datagram: {0}")]
    Datagram(String),
}

/// Application error codes a session is closed with.
pub mod close {
    /// Normal end of a session.
    pub const DONE: u32 = 0;
    /// A message did not decode or broke the protocol's order.
    pub const MALFORMED: u32 = 1;
    /// Authentication failed (bad signature, wrong version).
    pub const AUTH: u32 = 2;
    /// Too many datagrams, frames or bytes.
    pub const RATE: u32 = 3;
    /// The node has no room for another session.
    pub const FULL: u32 = 4;
    /// An input signed by someone other than the session's player.
    pub const FOREIGN_INPUT: u32 = 5;
    /// The client does not read its event stream fast enough.
    pub const SLOW: u32 = 6;
    /// The node is shutting down.
    pub const SHUTDOWN: u32 = 7;
    /// Nothing arrived from the client for the edge's idle timeout.
    pub const IDLE: u32 = 8;
}
