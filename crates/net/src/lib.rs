//! z3r0-net: the player edge of a zone node, over QUIC (quinn 0.11).
//!
//! - [`identity`]: node certificates bound to validator keys; clients pin genesis keys.
//! - [`proto`]: control, event and datagram messages; [`snapshot`]: delta-compressed area-of-
//!   interest snapshots; [`wire`]: the bounded byte codec under both; [`frame`]: the streams'
//!   length-prefixed framing.
//! - [`server`]: sessions on a node (authentication, inputs into the mempool, snapshots, chunk
//!   streaming with proofs, receipts, limits); [`client`]: the player side, which verifies what
//!   it receives.

pub mod client;
pub mod frame;
pub mod identity;
pub mod light;
pub mod proto;
pub mod server;
pub mod snapshot;
pub mod wire;
pub mod zone;

pub use wire::WireError;

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
}
