//! The node side of the player edge: a quinn endpoint whose sessions authenticate players,
//! feed their signed inputs to the zone (mempool, then gossip to the committee), and send
//! snapshots, receipts, finalized headers and verified chunks.
//!
//! The zone plugs in through [`ZoneBackend`] (queries and submissions) and an [`EdgeFeed`]
//! (one [`TickUpdate`] per finalized block), so this crate needs no consensus code.

use crate::assets::{AssetStore, Request};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use commonware_codec::{DecodeExt as _, Encode as _};
use commonware_cryptography::Signer as _;
use commonware_cryptography::Verifier as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey, Signature};
use tokio::sync::{broadcast, mpsc};
use tracing::{debug, info, warn};
use z3r0_chain::{RejectionKind, SignedAction};
use z3r0_voxel::{BlockId, CHUNK_SIZE, ChunkPos, Hash, VoxelPos};

use crate::frame::{read_frame, write_frame};
use crate::proto::{
    AUTH_NAMESPACE, ChunkData, ChunkEdit, ClaimEntry, ClientControl, ClientDatagram, Event, Header,
    MAX_EDIT_VOXELS, MAX_FRAME, MAX_RADIUS, ServerControl, VERSION, auth_message,
};
use crate::snapshot::{EntityRecord, SnapshotWriter};
use crate::{NetError, close, identity};

/// Ticks during which a client may resend an action (inputs are resent until their tick
/// passes): a copy within them is a resend, a copy after them is a replay, and is told so.
pub const RESEND_TICKS: u64 = 40;

/// What the edge needs from the zone.
pub trait ZoneBackend: Send + Sync + 'static {
    /// The chain served: the edge's challenge is signed for it.
    fn chain(&self) -> z3r0_chain::ChainId;
    fn zone(&self) -> u32;
    fn tick_ms(&self) -> u32;
    /// The zone's movement rules (its genesis's), which clients predict with.
    fn movement(&self) -> z3r0_sim::Movement;
    fn genesis_ms(&self) -> u64;
    /// The tick inputs should target now.
    fn current_tick(&self) -> u64;
    /// The player's next unused nonce: after the last finalized block and the actions waiting
    /// in the mempool (a client that reconnects must not reuse those).
    fn next_nonce(&self, player: &PublicKey) -> u64;
    /// Offers a decoded, signature-unchecked action from session `session` (a number unique
    /// to this edge) to the mempool.
    fn submit(&self, session: u64, action: SignedAction) -> Result<(), z3r0_chain::Rejection>;
    /// The chunk at `pos` in the latest finalized state, with its proof (`None`: not in the
    /// zone).
    fn chunk(&self, pos: ChunkPos) -> Option<ChunkData>;
    /// Every claimed chunk column in the latest finalized state, proven against it, and that
    /// state's height (a session's starting view; blocks bring the changes).
    fn claims(&self) -> (u64, Vec<ClaimEntry>) {
        (0, Vec::new())
    }
    /// The claims of `which` (column, claim entity) in the latest finalized state, proven
    /// against it, and its height: for proofs whose header never came (`None`: cannot).
    fn prove_claims(&self, _which: &[((i32, i32), u64)]) -> Option<(u64, Vec<ClaimEntry>)> {
        None
    }
    /// The account a signing key plays as in the latest finalized state: the account that
    /// delegated to it if it is a session key, else the key itself.
    fn account_of(&self, key: &[u8; 32]) -> [u8; 32] {
        *key
    }
    /// The account's inventory in the latest finalized state, proven (`None`: not in the
    /// zone).
    fn inventory(&self, _account: &[u8; 32]) -> Option<crate::proto::InventoryEntry> {
        None
    }
    /// Every published content record in the latest finalized state, proven against it, and
    /// its height (`None`: cannot).
    fn content(&self) -> Option<(u64, Vec<crate::proto::ContentEntry>)> {
        None
    }
}

/// One finalized block, as every session needs it.
#[derive(Debug, Clone)]
pub struct TickUpdate {
    /// The header of the finalized block (committing to the state after its parent).
    pub header: Header,
    /// Every player entity after the block.
    pub entities: Arc<[EntityRecord]>,
    /// Receipt logs proven against the state after this block, by signing key: every live
    /// log at the feed's proof points, else the logs of keys whose actions in this block
    /// need a prompt answer (see [`crate::zone::FeedBuilder`]).
    pub receipts: BTreeMap<[u8; 32], crate::proto::ReceiptsEntry>,
    /// Voxels the block changed, and to what, in order.
    pub changed_voxels: Vec<(VoxelPos, BlockId)>,
    /// Claims the block made or released, proven against the state after it.
    pub claims: Vec<ClaimEntry>,
    /// Inventories the block changed, by account, proven against the state after it.
    pub inventories: BTreeMap<[u8; 32], crate::proto::InventoryEntry>,
    /// Every published content record, proven against the state after the block, when the
    /// block scheduled or activated a manifest.
    pub content: Option<Vec<crate::proto::ContentEntry>>,
}

/// Where the zone publishes finalized blocks to the edge.
#[derive(Debug, Clone)]
pub struct EdgeFeed {
    sender: broadcast::Sender<Arc<TickUpdate>>,
}

impl Default for EdgeFeed {
    fn default() -> Self {
        Self::new()
    }
}

impl EdgeFeed {
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(256);
        Self { sender }
    }

    /// Publishes one finalized block; sessions that lag more than 256 blocks skip ahead.
    pub fn publish(&self, update: TickUpdate) {
        let _ = self.sender.send(Arc::new(update));
    }

    /// Whether any session reads the feed (a node nobody plays on need not build updates).
    pub fn has_sessions(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<TickUpdate>> {
        self.sender.subscribe()
    }
}

/// Limits and tuning of the edge.
#[derive(Debug, Clone)]
pub struct EdgeConfig {
    pub listen: SocketAddr,
    pub max_sessions: usize,
    /// Sessions from one IP address at most (a crowd behind one NAT still fits; one host
    /// cannot take the edge).
    pub max_sessions_per_address: usize,
    /// Connections one IP address may open per second once its burst (as many as
    /// `max_sessions_per_address`) is spent; more are refused before any handshake crypto.
    pub handshakes_per_address_per_sec: u32,
    /// A session from which nothing arrives for this long is closed (QUIC's keep-alives do not
    /// count: the node sends them itself).
    pub idle_timeout: Duration,
    /// Datagrams a client may send per second (inputs and acks), with a burst of the same.
    pub datagrams_per_sec: u32,
    /// Control messages a client may send per second.
    pub control_per_sec: u32,
    /// Subscriptions one session has served per second (each rebuilds its chunk set); more
    /// wait, and only the newest is served.
    pub subscriptions_per_sec: u32,
    /// Subscriptions the whole edge serves per second, all sessions together.
    pub node_subscriptions_per_sec: u32,
    /// How long a client has to authenticate.
    pub auth_timeout: Duration,
    /// Area of interest half-width, in metres.
    pub interest_radius_m: i64,
    /// Every entity in the area is refreshed at least this often, in ticks.
    pub refresh_ticks: u64,
    /// Chunks sent per tick per session (bounds the stream's burst).
    pub chunks_per_tick: usize,
    /// Chunks beyond the subscribed radius the node still counts as held by the client (it
    /// keeps them that much longer), so walking back and forth over a border resends nothing.
    pub chunk_hysteresis: u8,
    /// Send a header at least every this many blocks (receipts and chunks bring their own).
    pub header_interval: u64,
    /// Changes to chunks a client holds are gathered this many blocks and sent as one proven
    /// edit per chunk (each costs a header and a proof, so not every block).
    pub edit_interval: u64,
    /// Event frames, and bytes, queued per session before it counts as too slow.
    pub event_queue: usize,
    pub event_queue_bytes: usize,
}

/// Datagrams an honest client sends per tick at most: its input frame and the resends of the
/// frames still ahead (`z3r0_client::INPUT_LEAD`), a snapshot ack, an action, with slack.
pub const CLIENT_DATAGRAMS_PER_TICK: u32 = 8;

impl EdgeConfig {
    /// [`EdgeConfig::new`] for a chain of `tick_ms` ticks: the datagram budget follows the
    /// tick rate (a 60 Hz client sends three times a 20 Hz one's inputs).
    pub fn for_tick(listen: SocketAddr, tick_ms: u64) -> Self {
        let mut config = Self::new(listen);
        if let Some(ticks_per_sec) = 1000u64.checked_div(tick_ms) {
            let per_sec = u64::from(CLIENT_DATAGRAMS_PER_TICK).saturating_mul(ticks_per_sec + 1);
            config.datagrams_per_sec = config
                .datagrams_per_sec
                .max(u32::try_from(per_sec).unwrap_or(u32::MAX));
        }
        // What `new` sets for 50 ms ticks, kept in time: a header a second, every entity
        // refreshed and edits gathered each half second, 160 chunks a second. Headers and
        // edits come with the receipt proofs, so that one header serves them all.
        config.header_interval = crate::zone::receipt_proof_blocks(tick_ms);
        config.refresh_ticks = z3r0_chain::ticks_in(500, tick_ms);
        config.edit_interval = crate::zone::receipt_prompt_blocks(tick_ms);
        config.chunks_per_tick =
            usize::try_from((160 * tick_ms).div_ceil(1_000).max(1)).unwrap_or(usize::MAX);
        config
    }

    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            max_sessions: 256,
            max_sessions_per_address: 64,
            handshakes_per_address_per_sec: 4,
            idle_timeout: Duration::from_secs(10),
            datagrams_per_sec: 120,
            control_per_sec: 20,
            subscriptions_per_sec: 2,
            node_subscriptions_per_sec: 200,
            auth_timeout: Duration::from_secs(5),
            interest_radius_m: 96,
            refresh_ticks: 10,
            chunks_per_tick: 8,
            chunk_hysteresis: 1,
            header_interval: 20,
            edit_interval: 10,
            event_queue: 1024,
            event_queue_bytes: 4 << 20,
        }
    }
}

/// Counters of a running edge.
#[derive(Debug, Default)]
pub struct EdgeStats {
    pub sessions: AtomicUsize,
    /// Sessions ever started: the next session's number.
    pub started: AtomicU64,
    /// Connections refused because the edge, or their address's share of it, was full.
    pub refused: AtomicUsize,
    /// Connections asked to prove their address first (QUIC retry).
    pub retries: AtomicU64,
    /// Connections refused because their address opened too many too fast.
    pub handshakes_limited: AtomicU64,
    /// Datagrams received from players, and their bytes.
    pub datagrams_in: AtomicU64,
    pub bytes_in: AtomicU64,
    /// Snapshot datagrams sent, and their bytes.
    pub datagrams_out: AtomicU64,
    pub bytes_out: AtomicU64,
    /// Chunk subscriptions taken.
    pub subscriptions: AtomicU64,
    /// Content assets served, and their bytes (before encoding).
    pub assets_served: AtomicU64,
    /// Content assets the uploader stored here.
    pub assets_stored: AtomicU64,
    pub asset_bytes: AtomicU64,
    /// Actions refused before any block, by [`RejectionKind`] code (index = code - 1).
    pub refusals: [AtomicU64; RejectionKind::ALL.len()],
}

impl EdgeStats {
    fn refusal(&self, kind: RejectionKind) {
        let index = usize::from(kind.code()).saturating_sub(1);
        if let Some(counter) = self.refusals.get(index) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counters in the Prometheus text format, each with its help line.
    pub fn prometheus(&self) -> String {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut out = String::new();
        let single: [(&str, &str, &str, u64); 13] = [
            (
                "edge_sessions",
                "gauge",
                "Open player sessions.",
                self.sessions.load(Ordering::Relaxed) as u64,
            ),
            (
                "edge_sessions_started_total",
                "counter",
                "Player sessions started.",
                get(&self.started),
            ),
            (
                "edge_connections_refused_total",
                "counter",
                "Connections refused because the edge was full.",
                self.refused.load(Ordering::Relaxed) as u64,
            ),
            (
                "edge_retries_total",
                "counter",
                "Connections asked to prove their address first.",
                get(&self.retries),
            ),
            (
                "edge_handshakes_limited_total",
                "counter",
                "Connections refused because their address opened too many too fast.",
                get(&self.handshakes_limited),
            ),
            (
                "edge_datagrams_received_total",
                "counter",
                "Datagrams received from players.",
                get(&self.datagrams_in),
            ),
            (
                "edge_datagram_bytes_received_total",
                "counter",
                "Bytes of datagrams received from players.",
                get(&self.bytes_in),
            ),
            (
                "edge_snapshots_sent_total",
                "counter",
                "Snapshot datagrams sent.",
                get(&self.datagrams_out),
            ),
            (
                "edge_snapshot_bytes_sent_total",
                "counter",
                "Bytes of snapshot datagrams sent.",
                get(&self.bytes_out),
            ),
            (
                "edge_subscriptions_total",
                "counter",
                "Chunk subscriptions taken.",
                get(&self.subscriptions),
            ),
            (
                "edge_assets_served_total",
                "counter",
                "Content assets served by hash.",
                get(&self.assets_served),
            ),
            (
                "edge_asset_bytes_total",
                "counter",
                "Bytes of content assets served.",
                get(&self.asset_bytes),
            ),
            (
                "edge_assets_stored_total",
                "counter",
                "Content assets the content publisher uploaded here.",
                get(&self.assets_stored),
            ),
        ];
        for (name, kind, help, value) in single {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        }
        out.push_str(
            "# HELP edge_refusals_total Actions refused before any block, by reason.\n\
             # TYPE edge_refusals_total counter\n",
        );
        for kind in RejectionKind::ALL {
            let index = usize::from(kind.code()).saturating_sub(1);
            let n = self.refusals.get(index).map_or(0, get);
            out.push_str(&format!(
                "edge_refusals_total{{reason=\"{}\"}} {n}\n",
                kind.label()
            ));
        }
        out
    }
}

/// A running edge: the endpoint and its accept loop.
#[derive(Debug)]
pub struct Edge {
    endpoint: quinn::Endpoint,
    pub stats: Arc<EdgeStats>,
    task: tokio::task::JoinHandle<()>,
    assets: Arc<std::sync::OnceLock<Arc<AssetStore>>>,
}

impl Edge {
    /// Serves content assets from `store` to sessions from now on (once; later calls are
    /// ignored). Until then an asset request is refused.
    pub fn serve_assets(&self, store: AssetStore) {
        let _ = self.assets.set(Arc::new(store));
    }

    pub fn local_addr(&self) -> Result<SocketAddr, NetError> {
        self.endpoint.local_addr().map_err(|e| NetError::Bind {
            addr: "edge".into(),
            reason: e.to_string(),
        })
    }

    /// Closes every session and stops accepting.
    pub async fn shutdown(self) {
        self.endpoint.close(
            quinn::VarInt::from_u32(close::SHUTDOWN),
            b"node shutting down",
        );
        self.task.abort();
        self.endpoint.wait_idle().await;
    }
}

fn transport(config: &EdgeConfig) -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    if let Ok(idle) = quinn::IdleTimeout::try_from(config.idle_timeout) {
        t.max_idle_timeout(Some(idle));
    }
    t.keep_alive_interval(Some(Duration::from_secs(2)));
    // Late datagrams are worse than lost ones: keep two snapshots queued at most, so quinn
    // drops the stale one when a newer one is sent.
    t.datagram_send_buffer_size(2 * crate::proto::MAX_DATAGRAM + 64);
    t.datagram_receive_buffer_size(Some(64 * 1024));
    // The control stream, and the asset requests a session may have open at once.
    t.max_concurrent_bidi_streams(quinn::VarInt::from_u32(1 + SESSION_ASSET_STREAMS as u32));
    t.max_concurrent_uni_streams(0u32.into());
    t
}

/// The QUIC server configuration of the node holding `key`.
pub fn server_config(
    key: &PrivateKey,
    config: &EdgeConfig,
) -> Result<quinn::ServerConfig, NetError> {
    let crypto = identity::server_crypto(key)?;
    let quic = quinn::crypto::rustls::QuicServerConfig::try_from(crypto)
        .map_err(|e| NetError::Tls(e.to_string()))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(quic));
    server.transport_config(Arc::new(transport(config)));
    Ok(server)
}

/// One zone an edge serves: its chain's state and the feed of its finalized blocks.
#[derive(Clone)]
pub struct ZoneEdge {
    pub backend: Arc<dyn ZoneBackend>,
    pub feed: EdgeFeed,
}

impl std::fmt::Debug for ZoneEdge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneEdge")
            .field("zone", &self.backend.zone())
            .finish_non_exhaustive()
    }
}

/// Starts the edge for the node holding `key`, listening on `config.listen`, for one zone.
pub fn serve(
    key: &PrivateKey,
    config: EdgeConfig,
    backend: Arc<dyn ZoneBackend>,
    feed: EdgeFeed,
) -> Result<Edge, NetError> {
    serve_zones(key, config, vec![ZoneEdge { backend, feed }])
}

/// Starts one edge for every zone in `zones` (a validator seated on several): each player
/// names the zone it plays in when it says hello. The limits (sessions, rates, subscription
/// and asset budgets) are the edge's, all zones together.
pub fn serve_zones(
    key: &PrivateKey,
    config: EdgeConfig,
    zones: Vec<ZoneEdge>,
) -> Result<Edge, NetError> {
    let server = server_config(key, &config)?;
    let endpoint = quinn::Endpoint::server(server, config.listen).map_err(|e| NetError::Bind {
        addr: config.listen.to_string(),
        reason: e.to_string(),
    })?;
    serve_zones_on(endpoint, key, config, zones)
}

/// Starts the edge on an endpoint built with [`server_config`] (tests use a simulated socket).
pub fn serve_on(
    endpoint: quinn::Endpoint,
    key: &PrivateKey,
    config: EdgeConfig,
    backend: Arc<dyn ZoneBackend>,
    feed: EdgeFeed,
) -> Result<Edge, NetError> {
    serve_zones_on(endpoint, key, config, vec![ZoneEdge { backend, feed }])
}

/// [`serve_zones`] on a given endpoint.
pub fn serve_zones_on(
    endpoint: quinn::Endpoint,
    key: &PrivateKey,
    config: EdgeConfig,
    zones: Vec<ZoneEdge>,
) -> Result<Edge, NetError> {
    let stats = Arc::new(EdgeStats::default());
    let node_key: [u8; 32] = key
        .public_key()
        .encode()
        .as_ref()
        .try_into()
        .map_err(|_| NetError::Tls("node key encoding".into()))?;
    let subscriptions = Arc::new(std::sync::Mutex::new(Bucket::new(
        config.node_subscriptions_per_sec,
    )));
    let assets = Arc::new(std::sync::OnceLock::new());
    let asset_streams = Arc::new(tokio::sync::Semaphore::new(EDGE_ASSET_STREAMS));
    let mut served = BTreeMap::new();
    for zone in zones {
        let number = zone.backend.zone();
        let shared = Shared {
            node_key,
            subscriptions: subscriptions.clone(),
            config: config.clone(),
            backend: zone.backend,
            feed: zone.feed,
            stats: stats.clone(),
            assets: assets.clone(),
            asset_streams: asset_streams.clone(),
        };
        if served.insert(number, Arc::new(shared)).is_some() {
            return Err(NetError::Protocol(format!("zone {number} given twice")));
        }
    }
    if served.is_empty() {
        return Err(NetError::Protocol("an edge needs a zone to serve".into()));
    }
    let zones: Zones = Arc::new(served);
    let accepting = endpoint.clone();
    let gate = Arc::new(Gate::new(&config));
    let edge_stats = stats.clone();
    let task = tokio::spawn(async move {
        while let Some(incoming) = accepting.accept().await {
            admit(&zones, &edge_stats, &gate, incoming);
        }
    });
    info!(addr = %shared_addr(&endpoint), "player edge listening");
    Ok(Edge {
        endpoint,
        stats,
        task,
        assets,
    })
}

/// Handshakes at once that only tell a client the edge is full; beyond them a full edge
/// refuses without a handshake.
const FULL_REPLIES: usize = 16;

/// The address a connection counts against: an IPv4 address itself, an IPv6 address's /64
/// (one host is routinely given a whole /64, so counting single IPv6 addresses would let it
/// take any number of budgets); an IPv4-mapped IPv6 address as its IPv4 address.
fn address_key(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V4(v4) => std::net::IpAddr::V4(v4),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => std::net::IpAddr::V6(std::net::Ipv6Addr::from_bits(
                v6.to_bits() & !((1u128 << 64) - 1),
            )),
        },
    }
}

/// Who gets a session slot: at most `max` sessions in all and `per_address` from one IP
/// address. A slot is taken when a connection arrives (handshakes included), so concurrent
/// arrivals cannot overshoot either limit; it is given back however the session ends.
struct Gate {
    slots: Arc<tokio::sync::Semaphore>,
    per_address: usize,
    by_address: std::sync::Mutex<BTreeMap<std::net::IpAddr, usize>>,
    full_replies: Arc<tokio::sync::Semaphore>,
    handshakes: HandshakeBudgets,
}

/// Addresses whose handshake budget the gate remembers at once. Past it, budgets that have
/// refilled are forgotten; if none has, a new address is refused (thousands of validated
/// addresses opening connections at once is a flood the session cap would refuse anyway).
const TRACKED_ADDRESSES: usize = 4096;

/// Connections each address may open: a token bucket per recently seen address.
struct HandshakeBudgets {
    rate: u32,
    burst: u32,
    by_address: std::sync::Mutex<BTreeMap<std::net::IpAddr, Bucket>>,
}

impl HandshakeBudgets {
    /// Spends one of `address`'s handshakes, if it has one.
    fn take(&self, address: std::net::IpAddr) -> bool {
        let mut budgets = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        if !budgets.contains_key(&address) && budgets.len() >= TRACKED_ADDRESSES {
            budgets.retain(|_, bucket| !bucket.is_full());
            if budgets.len() >= TRACKED_ADDRESSES {
                return false;
            }
        }
        budgets
            .entry(address)
            .or_insert_with(|| Bucket::with_burst(self.rate, self.burst))
            .take()
    }
}

/// One taken slot: released on drop.
struct Slot {
    _permit: tokio::sync::OwnedSemaphorePermit,
    gate: Arc<Gate>,
    address: std::net::IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self
            .gate
            .by_address
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = counts.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.address);
            }
        }
    }
}

impl Gate {
    fn new(config: &EdgeConfig) -> Self {
        Self {
            slots: Arc::new(tokio::sync::Semaphore::new(config.max_sessions)),
            per_address: config.max_sessions_per_address,
            by_address: std::sync::Mutex::new(BTreeMap::new()),
            full_replies: Arc::new(tokio::sync::Semaphore::new(FULL_REPLIES)),
            handshakes: HandshakeBudgets {
                // A budget that never refills would lock an address out for good.
                rate: config.handshakes_per_address_per_sec.max(1),
                burst: u32::try_from(config.max_sessions_per_address).unwrap_or(u32::MAX),
                by_address: std::sync::Mutex::new(BTreeMap::new()),
            },
        }
    }

    /// A slot for a connection from `address`, if the edge and the address have room.
    fn take(self: &Arc<Self>, address: std::net::IpAddr) -> Option<Slot> {
        let mut counts = self.by_address.lock().unwrap_or_else(|p| p.into_inner());
        let n = counts.entry(address).or_insert(0);
        if *n >= self.per_address {
            return None;
        }
        let permit = self.slots.clone().try_acquire_owned().ok()?;
        *n += 1;
        Some(Slot {
            _permit: permit,
            gate: self.clone(),
            address,
        })
    }
}

/// One arriving connection, cheapest checks first: an unproven address is asked to prove it
/// (a QUIC retry costs the edge no handshake), a proven one that opens connections too fast is
/// refused (still no handshake), then the gate gives it a slot or it hears that the edge is
/// full. The rate is checked only on proven addresses, so nobody can spend another's budget
/// with spoofed packets.
fn admit(zones: &Zones, stats: &EdgeStats, gate: &Arc<Gate>, incoming: quinn::Incoming) {
    let remote = incoming.remote_address();
    if !incoming.remote_address_validated() && incoming.may_retry() {
        stats.retries.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = incoming.retry() {
            debug!(%remote, ?e, "retry not sent");
        }
        return;
    }
    let address = address_key(remote.ip());
    if !gate.handshakes.take(address) {
        stats.handshakes_limited.fetch_add(1, Ordering::Relaxed);
        debug!(%remote, "too many connections from one address: refused");
        incoming.refuse();
        return;
    }
    let Some(slot) = gate.take(address) else {
        stats.refused.fetch_add(1, Ordering::Relaxed);
        warn!(from = %remote, "edge full: session refused");
        tell_full(gate, incoming);
        return;
    };
    let zones = zones.clone();
    tokio::spawn(async move {
        let _slot = slot;
        match incoming.await {
            Ok(conn) => serve_connection(&zones, &conn).await,
            Err(e) => debug!(%remote, %e, "handshake failed"),
        }
    });
}

/// Completes the handshake only to close with [`close::FULL`], so the client can say why; at
/// most [`FULL_REPLIES`] at once, beyond which the connection is refused outright.
fn tell_full(gate: &Gate, incoming: quinn::Incoming) {
    let Ok(permit) = gate.full_replies.clone().try_acquire_owned() else {
        incoming.refuse();
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        if let Ok(Ok(conn)) = tokio::time::timeout(Duration::from_secs(2), incoming).await {
            conn.close(
                quinn::VarInt::from_u32(close::FULL),
                b"the edge is full: try another node or later",
            );
        }
    });
}

/// Runs one session on an established connection, closing it with its end's code.
async fn serve_connection(zones: &Zones, conn: &quinn::Connection) {
    let remote = conn.remote_address();
    // Every zone's entry shares the edge's counters.
    let Some(stats) = zones.values().next().map(|z| z.stats.clone()) else {
        return;
    };
    stats.sessions.fetch_add(1, Ordering::Relaxed);
    let session = stats.started.fetch_add(1, Ordering::Relaxed);
    let result = run_session(zones, conn, session).await;
    stats.sessions.fetch_sub(1, Ordering::Relaxed);
    match result {
        Ok(()) => debug!(%remote, "session ended"),
        Err(end) => {
            warn!(%remote, code = end.code(), why = %end, "session closed");
            // Errors before the session loop (authentication) close here.
            end.close(conn);
        }
    }
}

fn shared_addr(endpoint: &quinn::Endpoint) -> String {
    endpoint
        .local_addr()
        .map_or_else(|e| e.to_string(), |a| a.to_string())
}

/// What a session on one zone of the edge uses: the zone's backend and feed, and the edge's
/// limits and counters (shared by all its zones).
struct Shared {
    node_key: [u8; 32],
    config: EdgeConfig,
    backend: Arc<dyn ZoneBackend>,
    feed: EdgeFeed,
    stats: Arc<EdgeStats>,
    /// The edge's subscription budget, shared by its sessions.
    subscriptions: Arc<std::sync::Mutex<Bucket>>,
    /// The content assets it serves, once given ([`Edge::serve_assets`]).
    assets: Arc<std::sync::OnceLock<Arc<AssetStore>>>,
    /// Asset requests served at once, all sessions together.
    asset_streams: Arc<tokio::sync::Semaphore>,
}

/// The zones an edge serves, by number.
type Zones = Arc<BTreeMap<u32, Arc<Shared>>>;

/// Asset requests one session has served at once, and the whole edge (each reads and encodes
/// up to 16 MiB on a blocking thread: two at a time leave a validator's cores to its chain).
const SESSION_ASSET_STREAMS: usize = 2;
const EDGE_ASSET_STREAMS: usize = 2;
/// Asset requests one session may make a second (a pack is fetched once, then cached).
const SESSION_ASSET_REQUESTS_PER_SEC: u32 = 32;

/// Why the node ended a session; each kind closes the connection with its code
/// ([`crate::close`]) and the text as the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionEnd {
    /// The connection or a stream ended.
    #[error("{0}")]
    Closed(String),
    /// A message did not decode or broke the protocol's order.
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Auth(String),
    /// Too many datagrams or control messages.
    #[error("too many {0}")]
    Rate(&'static str),
    #[error("input signed by another player")]
    ForeignInput,
    #[error("client does not read its events")]
    Slow,
    #[error("nothing heard from the client for {0:?}")]
    Idle(Duration),
}

impl SessionEnd {
    /// The application close code.
    pub fn code(&self) -> u32 {
        match self {
            SessionEnd::Closed(_) => close::DONE,
            SessionEnd::Malformed(_) => close::MALFORMED,
            SessionEnd::Auth(_) => close::AUTH,
            SessionEnd::Rate(_) => close::RATE,
            SessionEnd::ForeignInput => close::FOREIGN_INPUT,
            SessionEnd::Slow => close::SLOW,
            SessionEnd::Idle(_) => close::IDLE,
        }
    }

    /// Closes `conn` with this end's code and reason.
    fn close(&self, conn: &quinn::Connection) {
        conn.close(
            quinn::VarInt::from_u32(self.code()),
            self.to_string().as_bytes(),
        );
    }
}

type SessionResult = Result<(), SessionEnd>;

fn malformed(e: impl std::fmt::Display) -> SessionEnd {
    SessionEnd::Malformed(e.to_string())
}

/// A token bucket: `rate` per second, burst of `rate`. On tokio's clock, so simulated time
/// (turmoil) drives it like real time.
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: tokio::time::Instant,
}

impl Bucket {
    /// `rate` tokens a second, with a burst of as many.
    fn new(rate: u32) -> Self {
        Self::with_burst(rate, rate)
    }

    fn with_burst(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate),
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: tokio::time::Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = tokio::time::Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
    }

    /// Whether the bucket has refilled to its burst (it then says nothing a new one would not).
    fn is_full(&mut self) -> bool {
        self.refill();
        self.tokens >= self.burst
    }

    /// Whether a token is there now (none is taken).
    fn ready(&mut self) -> bool {
        self.refill();
        self.tokens >= 1.0
    }

    fn take(&mut self) -> bool {
        self.refill();
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Who logged in, and what they asked for.
struct Login {
    player: PublicKey,
    /// The account it plays as (itself, or the account a session key acts for).
    account: [u8; 32],
    snapshot_hz: u16,
}

/// The zone a hello asks for, among those the edge serves.
fn choose_zone(zones: &Zones, asked: Option<u32>) -> Result<Arc<Shared>, SessionEnd> {
    let served = || {
        zones
            .keys()
            .map(|z| format!("{z:#x}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match asked {
        Some(zone) => zones.get(&zone).cloned().ok_or_else(|| {
            SessionEnd::Auth(format!(
                "this node does not serve zone {zone:#x}; it serves {}",
                served()
            ))
        }),
        None if zones.len() == 1 => zones
            .values()
            .next()
            .cloned()
            .ok_or_else(|| SessionEnd::Auth("this node serves no zone".into())),
        None => Err(SessionEnd::Auth(format!(
            "this node serves zones {}: name the one to play in",
            served()
        ))),
    }
}

async fn authenticate(
    zones: &Zones,
    send: &mut quinn::SendStream,
    recv: &mut quinn::RecvStream,
) -> Result<(Arc<Shared>, Login), SessionEnd> {
    let hello = read_frame(recv)
        .await
        .map_err(malformed)?
        .ok_or_else(|| malformed("control stream ended before hello"))?;
    let ClientControl::Hello {
        version,
        player,
        snapshot_hz,
        zone: asked,
    } = ClientControl::decode(&hello).map_err(malformed)?
    else {
        return Err(malformed("expected hello"));
    };
    if version != VERSION {
        return Err(SessionEnd::Auth(format!(
            "protocol version {version}, this node speaks {VERSION}"
        )));
    }
    let shared = choose_zone(zones, asked)?;
    let key = PublicKey::decode(commonware_codec::Copying(&player[..]))
        .map_err(|e| SessionEnd::Auth(format!("player key: {e}")))?;
    let mut nonce = [0u8; 32];
    getrandom::fill(&mut nonce).map_err(|e| SessionEnd::Auth(format!("randomness: {e}")))?;
    let zone = shared.backend.zone();
    let challenge = ServerControl::Challenge {
        node: shared.node_key,
        zone,
        nonce,
    };
    write_frame(send, &challenge.encode())
        .await
        .map_err(malformed)?;
    let auth = read_frame(recv)
        .await
        .map_err(malformed)?
        .ok_or_else(|| malformed("control stream ended before auth"))?;
    let ClientControl::Auth { signature } = ClientControl::decode(&auth).map_err(malformed)? else {
        return Err(malformed("expected auth"));
    };
    let signature = Signature::decode(commonware_codec::Copying(&signature[..]))
        .map_err(|e| SessionEnd::Auth(format!("signature: {e}")))?;
    if !key.verify(
        &shared.backend.chain().namespace(AUTH_NAMESPACE),
        &auth_message(&shared.node_key, zone, &nonce),
        &signature,
    ) {
        return Err(SessionEnd::Auth(
            "authentication signature is invalid".into(),
        ));
    }
    let account = shared.backend.account_of(&player);
    let welcome = ServerControl::Welcome {
        tick: shared.backend.current_tick(),
        next_nonce: shared.backend.next_nonce(&key),
        tick_ms: shared.backend.tick_ms(),
        genesis_ms: shared.backend.genesis_ms(),
        account,
        movement: shared.backend.movement(),
    };
    write_frame(send, &welcome.encode())
        .await
        .map_err(malformed)?;
    Ok((
        shared,
        Login {
            player: key,
            account,
            snapshot_hz,
        },
    ))
}

/// Which chunks to stream and which were sent.
#[derive(Default)]
struct ChunkStream {
    center: Option<ChunkPos>,
    radius: u8,
    hysteresis: u8,
    /// Hash of the version the client holds.
    held: BTreeMap<ChunkPos, Hash>,
    /// Held versions not known to be the zone's current one (named by the client, or held
    /// across missed updates): blocks this session never saw may have changed them, so no
    /// edit builds on them until the chunk is checked whole.
    unchecked: BTreeSet<ChunkPos>,
    /// Chunks fetched whole and not sent yet: the edits gathered meanwhile build on the
    /// version in flight, so they wait for it.
    whole_in_flight: BTreeSet<ChunkPos>,
    /// Still to check and send, nearest last (popped first).
    queue: Vec<ChunkPos>,
    queued: BTreeSet<ChunkPos>,
    /// Proven chunks waiting for the header that commits their root.
    waiting: Vec<ChunkData>,
    /// Changes to held chunks not sent yet: chunk → (voxel index, new block), one per voxel.
    edits: BTreeMap<ChunkPos, Vec<(u16, BlockId)>>,
    /// Proven edits waiting for the header that commits their root.
    waiting_edits: Vec<ChunkEdit>,
    /// Proven claims (with the height they are proven at) waiting for that header.
    waiting_claims: Vec<(u64, Vec<ClaimEntry>)>,
    /// The account's proven inventory waiting for the header after its height.
    waiting_inventory: Vec<crate::proto::InventoryEntry>,
    /// The zone's proven content records waiting for the header after their height.
    waiting_content: Vec<(u64, Vec<crate::proto::ContentEntry>)>,
    /// Proven receipt logs (the signer's, and the account's) waiting for that header.
    waiting_receipts: Vec<crate::proto::ReceiptsEntry>,
    /// The height of the update in which the version in `held` was sent (whole or as an edit)
    /// for chunks sent lately: a subscription from the client may cross it in flight.
    sent_at: BTreeMap<ChunkPos, u64>,
    /// The height of the newest update handled.
    height: u64,
    /// The claim entity of each column whose claim was sent (to prove again after a lag).
    claims_sent: BTreeMap<(i32, i32), u64>,
}

/// Blocks after sending a chunk's version during which a subscription that reports the
/// version before it is taken to have crossed it in flight (two seconds at 50 ms ticks).
const IN_FLIGHT_BLOCKS: u64 = 40;

/// Squared distance in chunks, in i64 so positions anywhere cannot overflow.
fn dist2(a: ChunkPos, b: ChunkPos) -> i64 {
    let d = |x: i32, y: i32| i64::from(x) - i64::from(y);
    d(a.x, b.x).pow(2) + d(a.y, b.y).pow(2) + d(a.z, b.z).pow(2)
}

/// The chunks within `radius` of `center` in the order a subscription streams them (nearest
/// last, so popping takes the nearest first; ties in position order), and the same chunks as a
/// set. Positions past the `i32` range do not exist and are left out.
///
/// Both orders survive moving the ball, so each radius's offsets are ordered once and every
/// subscription only moves them: a subscribe flood sorted 17,077 positions twice per message.
pub fn subscription_queue(center: ChunkPos, radius: u8) -> (Vec<ChunkPos>, BTreeSet<ChunkPos>) {
    let ball = ball(radius.min(MAX_RADIUS));
    let moved = |o: &ChunkPos| {
        Some(ChunkPos::new(
            center.x.checked_add(o.x)?,
            center.y.checked_add(o.y)?,
            center.z.checked_add(o.z)?,
        ))
    };
    let queue = ball.nearest_last.iter().filter_map(moved).collect();
    // Already in order: the set is built without sorting.
    let set = ball.in_order.iter().filter_map(moved).collect();
    (queue, set)
}

/// The offsets within one radius of the origin, in both of a subscription's orders.
struct Ball {
    nearest_last: Vec<ChunkPos>,
    in_order: Vec<ChunkPos>,
}

fn ball(radius: u8) -> &'static Ball {
    static BALLS: [OnceLock<Ball>; MAX_RADIUS as usize + 1] =
        [const { OnceLock::new() }; MAX_RADIUS as usize + 1];
    BALLS[usize::from(radius)].get_or_init(|| {
        let r = i32::from(radius);
        let origin = ChunkPos::new(0, 0, 0);
        let mut in_order = Vec::new();
        for x in -r..=r {
            for y in -r..=r {
                for z in -r..=r {
                    let p = ChunkPos::new(x, y, z);
                    if dist2(p, origin) <= i64::from(r).pow(2) {
                        in_order.push(p);
                    }
                }
            }
        }
        let mut nearest_last = in_order.clone();
        nearest_last.sort_by_key(|p| std::cmp::Reverse((dist2(*p, origin), *p)));
        Ball {
            nearest_last,
            in_order,
        }
    })
}

impl ChunkStream {
    fn subscribe(
        &mut self,
        center: ChunkPos,
        radius: u8,
        hysteresis: u8,
        known: Vec<(ChunkPos, Hash)>,
    ) {
        self.center = Some(center);
        self.radius = radius.min(MAX_RADIUS);
        self.hysteresis = hysteresis;
        let r = i64::from(self.radius);
        let keep = (r + i64::from(hysteresis)).pow(2);
        // Only what the client may hold around its position counts.
        // What the client says it holds is what it holds (it may have dropped a chunk), unless
        // it names the version before one sent lately: then the subscription crossed that one
        // in flight, and the client holds it by the time it reads what comes next.
        let before = std::mem::take(&mut self.held);
        let height = self.height;
        self.sent_at
            .retain(|_, at| at.saturating_add(IN_FLIGHT_BLOCKS) >= height);
        for (p, h) in known {
            if dist2(p, center) <= keep {
                let in_flight = before
                    .get(&p)
                    .filter(|&&b| b != h && self.sent_at.contains_key(&p))
                    .copied();
                self.held.insert(p, in_flight.unwrap_or(h));
            }
        }
        // Gathered edits survive only for chunks held in the version they were gathered for;
        // a version this session did not track is checked before edits build on it.
        let held = &self.held;
        self.edits
            .retain(|p, _| before.get(p).is_some_and(|h| held.get(p) == Some(h)));
        self.unchecked.retain(|p| held.contains_key(p));
        let untracked = held.iter().filter(|&(p, h)| before.get(p) != Some(h));
        self.unchecked.extend(untracked.map(|(p, _)| *p));
        (self.queue, self.queued) = subscription_queue(center, self.radius);
    }

    fn push(&mut self, p: ChunkPos) {
        if self.queued.insert(p) {
            self.queue.push(p);
        }
    }

    fn pop(&mut self) -> Option<ChunkPos> {
        let p = self.queue.pop()?;
        self.queued.remove(&p);
        Some(p)
    }

    /// Notes the voxels a block changed: gathered as edits of held chunks, other chunks in
    /// range (and held ones not checked yet) queued whole (changed chunks go first).
    fn changed(&mut self, voxels: &[(VoxelPos, BlockId)]) {
        let Some(center) = self.center else { return };
        let r = i64::from(self.radius);
        for &(voxel, block) in voxels {
            let p = voxel.chunk();
            // Held chunks reach past the radius (by the hysteresis): they change there too.
            let held = self.held.contains_key(&p);
            if !held && dist2(p, center) > r * r {
                continue;
            }
            if !held || self.unchecked.contains(&p) {
                self.push(p);
                continue;
            }
            let index = voxel.local().index() as u16;
            let edits = self.edits.entry(p).or_default();
            match edits.iter_mut().find(|e| e.0 == index) {
                Some(e) => e.1 = block,
                None => edits.push((index, block)),
            }
            if edits.len() > MAX_EDIT_VOXELS {
                // Cheaper whole.
                self.edits.remove(&p);
                self.push(p);
            }
        }
    }

    /// The held version of `p` is the zone's current one: edits may build on it.
    fn checked(&mut self, p: ChunkPos) {
        self.unchecked.remove(&p);
        self.whole_in_flight.remove(&p);
    }

    /// A whole chunk goes out: edits gathered for it are in it, and those gathered until it is
    /// sent build on it.
    fn sending_whole(&mut self, p: ChunkPos) {
        self.edits.remove(&p);
        self.waiting_edits.retain(|e| e.pos != p);
        self.unchecked.remove(&p);
        self.whole_in_flight.insert(p);
    }

    /// The whole chunk fetched for `p` went out with its header: the client holds `version`.
    fn sent_whole(&mut self, p: ChunkPos, version: Hash) {
        self.held.insert(p, version);
        self.sent_at.insert(p, self.height);
        self.whole_in_flight.remove(&p);
    }

    /// After missed updates: anything may have changed, so check everything in range again
    /// (unchanged chunks are skipped by their hash) before edits build on it (a subscription
    /// from an empty `held` marks every version it names unchecked).
    fn recheck(&mut self) {
        if let Some(center) = self.center {
            let known = std::mem::take(&mut self.held).into_iter().collect();
            self.subscribe(center, self.radius, self.hysteresis, known);
        }
    }
}

fn chunk_hash(data: &ChunkData) -> Hash {
    *blake3::hash(&data.chunk).as_bytes()
}

async fn run_session(zones: &Zones, conn: &quinn::Connection, session: u64) -> SessionResult {
    let (_control_send, control_recv, shared, login) = accept_session(zones, conn).await?;
    let shared = &shared;
    let Login {
        player,
        account,
        snapshot_hz,
    } = login;
    let player_bytes: [u8; 32] = player
        .encode()
        .as_ref()
        .try_into()
        .map_err(|_| SessionEnd::Auth("player key encoding".to_string()))?;
    info!(remote = %conn.remote_address(), player = %player, "player authenticated");
    let (events, writer) = EventQueue::open(conn, &shared.config).await?;
    let send_event = |event: &Event| events.send(event);
    let (mut control_frames, control_reader) = read_control(control_recv);

    let mut updates = shared.feed.subscribe();
    let mut snapshots = SnapshotWriter::new(
        shared.config.interest_radius_m,
        shared.config.refresh_ticks,
        crate::proto::MAX_DATAGRAM,
    );
    let tick_ms = u64::from(shared.backend.tick_ms());
    let mut pace = crate::snapshot::SnapshotPace::new(snapshot_hz, tick_ms);
    let mut datagram_budget = Bucket::new(shared.config.datagrams_per_sec);
    let mut control_budget = Bucket::new(shared.config.control_per_sec);
    let mut chunks = ChunkStream::default();
    // The claims, the inventory and the content as of now, after subscribing (a change in
    // between comes twice, never not at all), each waiting for the header its proofs need.
    chunks.waiting_claims.push(shared.backend.claims());
    chunks
        .waiting_inventory
        .extend(shared.backend.inventory(&account));
    chunks.waiting_content.extend(shared.backend.content());
    let mut last_header_sent = 0u64;
    // The height of the last update read: a validator that state-synced skips heights.
    let mut fed: Option<u64> = None;
    let mut inputs = InputLedger::default();

    let idle = shared.config.idle_timeout;
    let mut heard = tokio::time::Instant::now();
    let mut waiting: Option<Subscription> = None;
    let mut subscribe_budget = Bucket::new(shared.config.subscriptions_per_sec);
    let assets = SessionAssets::new();
    let result = loop {
        tokio::select! {
            () = tokio::time::sleep_until(heard + idle) => break Err(SessionEnd::Idle(idle)),
            datagram = conn.read_datagram() => {
                let bytes = match datagram {
                    Ok(b) => b,
                    Err(e) => break Err(SessionEnd::Closed(e.to_string())),
                };
                heard = tokio::time::Instant::now();
                if !datagram_budget.take() {
                    break Err(SessionEnd::Rate("datagrams"));
                }
                shared.stats.datagrams_in.fetch_add(1, Ordering::Relaxed);
                shared.stats.bytes_in.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                let handled = match ClientDatagram::decode(&bytes) {
                    Err(e) => Err(malformed(e)),
                    Ok(ClientDatagram::Ack(tick)) => {
                        snapshots.ack(tick);
                        Ok(())
                    }
                    Ok(ClientDatagram::Input(action)) => {
                        inputs.submit(shared, session, &player, &action, &send_event)
                    }
                };
                if let Err(e) = handled {
                    break Err(e);
                }
            }
            stream = conn.accept_bi() => {
                match stream {
                    Ok((send, recv)) => {
                        heard = tokio::time::Instant::now();
                        serve_asset_stream(shared, &assets, &account, send, recv);
                    }
                    Err(e) => break Err(SessionEnd::Closed(e.to_string())),
                }
            }
            frame = control_frames.recv() => {
                let frame = match frame {
                    Some(Ok(Some(f))) => f,
                    Some(Ok(None)) | None => break Ok(()),
                    Some(Err(e)) => break Err(malformed(e)),
                };
                heard = tokio::time::Instant::now();
                if !control_budget.take() {
                    break Err(SessionEnd::Rate("control messages"));
                }
                if let Err(e) = on_control(&frame, &mut waiting, &mut pace, tick_ms) {
                    break Err(e);
                }
                serve_subscription(shared, &mut waiting, &mut subscribe_budget, &mut chunks);
            }
            update = updates.recv() => {
                let update = match update {
                    Ok(u) => u,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        warn!(player = %player, skipped = n, "session lagged behind the chain");
                        catch_up(shared, &mut chunks, &account);
                        fed = None;
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => break Ok(()),
                };
                if fed.is_some_and(|h| update.header.height > h.saturating_add(1)) {
                    // What the skipped blocks changed never came: check everything again.
                    catch_up(shared, &mut chunks, &account);
                }
                fed = Some(update.header.height);
                serve_subscription(shared, &mut waiting, &mut subscribe_budget, &mut chunks);
                let view = SessionView {
                    player: &player_bytes,
                    account: &account,
                    snapshots: &mut snapshots,
                    pace: &mut pace,
                    chunks: &mut chunks,
                    last_header_sent: &mut last_header_sent,
                };
                if let Err(e) = on_update(shared, conn, &update, view, &send_event) {
                    break Err(e);
                }
            }
        }
    };
    // Close with the reason before the event stream finishes, so the client sees why.
    if let Err(end) = &result {
        end.close(conn);
    }
    control_reader.abort();
    drop(events);
    // Flush what is queued, but never wait on a client that does not read.
    if tokio::time::timeout(Duration::from_secs(2), writer)
        .await
        .is_err()
    {
        conn.close(quinn::VarInt::from_u32(close::SLOW), b"events not read");
    }
    conn.close(quinn::VarInt::from_u32(close::DONE), b"session over");
    result
}

/// Serves an asset request or upload on its own task, if the edge has assets and the session
/// has a stream and a request to spare; otherwise the stream is reset (the client asks another
/// edge, or later). The edge-wide permit is taken only once the request has arrived, so
/// streams that never send one hold nothing but their session's. Uploads are taken only from
/// the store's uploader (`account` is the session's).
fn serve_asset_stream(
    shared: &Arc<Shared>,
    session: &SessionAssets,
    account: &[u8; 32],
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let refuse = |send: &mut quinn::SendStream| {
        let _ = send.reset(quinn::VarInt::from_u32(close::RATE));
    };
    let Some(store) = shared.assets.get().cloned() else {
        return refuse(&mut send);
    };
    let Ok(permit) = session.streams.clone().try_acquire_owned() else {
        return refuse(&mut send);
    };
    if !session
        .budget
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return refuse(&mut send);
    }
    let (stats, edge_streams) = (shared.stats.clone(), shared.asset_streams.clone());
    let uploader = store.takes_uploads_from(account);
    tokio::spawn(async move {
        let _permit = permit;
        let served = async {
            let request = crate::assets::read_request(&mut recv).await?;
            let Ok(_edge) = edge_streams.try_acquire_owned() else {
                refuse(&mut send);
                return Ok(None);
            };
            match request {
                Request::Get(hash) => crate::assets::answer(store, hash, send)
                    .await
                    .map(|bytes| Some((bytes, false))),
                Request::Put(_, _) if !uploader => {
                    crate::assets::refuse_upload(send, recv).await;
                    Ok(None)
                }
                Request::Put(hash, len) => crate::assets::take_upload(store, hash, len, send, recv)
                    .await
                    .map(|bytes| Some((bytes, true))),
            }
        };
        match served.await {
            Ok(Some((bytes, false))) => {
                stats.assets_served.fetch_add(1, Ordering::Relaxed);
                stats.asset_bytes.fetch_add(bytes, Ordering::Relaxed);
            }
            Ok(Some((bytes, true))) => {
                stats.assets_stored.fetch_add(1, Ordering::Relaxed);
                debug!(bytes, "asset uploaded");
            }
            Ok(None) => debug!("asset request refused"),
            Err(e) => debug!(error = %e, "asset request failed"),
        }
    });
}

/// A session's share of the edge's asset serving: streams at once, and requests a second.
struct SessionAssets {
    streams: Arc<tokio::sync::Semaphore>,
    budget: std::sync::Mutex<Bucket>,
}

impl SessionAssets {
    fn new() -> Self {
        Self {
            streams: Arc::new(tokio::sync::Semaphore::new(SESSION_ASSET_STREAMS)),
            budget: std::sync::Mutex::new(Bucket::new(SESSION_ASSET_REQUESTS_PER_SEC)),
        }
    }
}

/// Accepts the session's control stream and authenticates the player, all within the
/// authentication deadline. Returns the control stream, the player's key and its account.
async fn accept_session(
    zones: &Zones,
    conn: &quinn::Connection,
) -> Result<(quinn::SendStream, quinn::RecvStream, Arc<Shared>, Login), SessionEnd> {
    // Every zone's entry has the edge's configuration.
    let timeout = zones
        .values()
        .next()
        .map_or(Duration::from_secs(5), |z| z.config.auth_timeout);
    tokio::time::timeout(timeout, async {
        let (mut send, mut recv) = conn
            .accept_bi()
            .await
            .map_err(|e| SessionEnd::Closed(e.to_string()))?;
        let (shared, login) = authenticate(zones, &mut send, &mut recv).await?;
        Ok::<_, SessionEnd>((send, recv, shared, login))
    })
    .await
    .map_err(|_| SessionEnd::Auth("authentication timed out".to_string()))?
}

/// The session's events, through a bounded queue to one writer task: a client that stops
/// reading fills it and is closed, instead of growing the node's memory.
struct EventQueue {
    queue: mpsc::Sender<Vec<u8>>,
    /// Bytes waiting in the queue: frames may be large (chunks), so bytes are bounded too.
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
}

impl EventQueue {
    /// Opens the event stream and starts its writer task.
    async fn open(
        conn: &quinn::Connection,
        config: &EdgeConfig,
    ) -> Result<(Self, tokio::task::JoinHandle<()>), SessionEnd> {
        let mut stream = conn
            .open_uni()
            .await
            .map_err(|e| SessionEnd::Closed(e.to_string()))?;
        let (queue, mut queued) = mpsc::channel::<Vec<u8>>(config.event_queue);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let writer_bytes = queued_bytes.clone();
        let writer = tokio::spawn(async move {
            while let Some(frame) = queued.recv().await {
                writer_bytes.fetch_sub(frame.len(), Ordering::Relaxed);
                if write_frame(&mut stream, &frame).await.is_err() {
                    break;
                }
            }
            let _ = stream.finish();
        });
        let events = Self {
            queue,
            queued_bytes,
            max_bytes: config.event_queue_bytes,
        };
        Ok((events, writer))
    }

    fn send(&self, event: &Event) -> Result<(), SessionEnd> {
        let frame = event.encode();
        let len = frame.len();
        if self.queued_bytes.fetch_add(len, Ordering::Relaxed) + len > self.max_bytes {
            return Err(SessionEnd::Slow);
        }
        self.queue.try_send(frame).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => SessionEnd::Slow,
            mpsc::error::TrySendError::Closed(_) => {
                SessionEnd::Closed("event stream closed".into())
            }
        })
    }
}

type ControlFrames = mpsc::Receiver<Result<Option<Vec<u8>>, NetError>>;

/// Reads control frames on a task of their own: a frame read is not cancel-safe, so it must
/// not race datagrams and updates in the session's select.
fn read_control(mut recv: quinn::RecvStream) -> (ControlFrames, tokio::task::JoinHandle<()>) {
    let (tx, frames) = mpsc::channel(8);
    let reader = tokio::spawn(async move {
        loop {
            let frame = read_frame(&mut recv).await;
            let end = !matches!(frame, Ok(Some(_)));
            if tx.send(frame).await.is_err() || end {
                return;
            }
        }
    });
    (frames, reader)
}

/// What the session told its player about its inputs.
#[derive(Default)]
struct InputLedger {
    /// Refused nonces, with the tick of the refusal: a client resending a refused action
    /// hears once, a player who sends it again much later (a replay) hears again.
    refused: BTreeMap<u64, u64>,
    /// Nonces this session got into the mempool: clients resend inputs against loss, and a
    /// resent copy coming back as a duplicate or replay is no news to them.
    accepted: BTreeSet<u64>,
}

impl InputLedger {
    /// Submits a signed input from the session's player, telling it of a refusal once per
    /// resend window.
    fn submit(
        &mut self,
        shared: &Shared,
        session: u64,
        player: &PublicKey,
        bytes: &[u8],
        send_event: &impl Fn(&Event) -> Result<(), SessionEnd>,
    ) -> Result<(), SessionEnd> {
        let action = SignedAction::decode(bytes).map_err(|e| malformed(format!("input: {e}")))?;
        if action.action.player != *player {
            return Err(SessionEnd::ForeignInput);
        }
        let (nonce, tick) = (action.action.nonce, action.action.tick);
        let now = shared.backend.current_tick();
        match shared.backend.submit(session, action) {
            Ok(()) => {
                self.accepted.insert(nonce);
                if self.accepted.len() > 1024 {
                    self.accepted.pop_first();
                }
                Ok(())
            }
            // A resend of an action this session got in: pending, or final while its tick is
            // recent.
            Err(z3r0_chain::Rejection::Duplicate(_)) if self.accepted.contains(&nonce) => Ok(()),
            Err(z3r0_chain::Rejection::Replay { .. })
                if self.accepted.contains(&nonce) && tick.saturating_add(RESEND_TICKS) >= now =>
            {
                Ok(())
            }
            Err(reason) => {
                shared.stats.refusal(reason.kind());
                let repeat = self
                    .refused
                    .get(&nonce)
                    .is_some_and(|&at| at.saturating_add(RESEND_TICKS) > now);
                if repeat {
                    return Ok(());
                }
                self.refused.insert(nonce, now);
                if self.refused.len() > 1024 {
                    self.refused.pop_first();
                }
                send_event(&Event::Refused {
                    nonce,
                    kind: reason.kind(),
                })
            }
        }
    }
}

/// A subscription the session asked for and has not been served yet.
struct Subscription {
    center: ChunkPos,
    radius: u8,
    known: Vec<(ChunkPos, Hash)>,
}

/// A control frame after authentication: a subscription (the newest one replaces any still
/// waiting for the budgets) or a new snapshot rate.
fn on_control(
    frame: &[u8],
    waiting: &mut Option<Subscription>,
    pace: &mut crate::snapshot::SnapshotPace,
    tick_ms: u64,
) -> Result<(), SessionEnd> {
    match ClientControl::decode(frame).map_err(malformed)? {
        ClientControl::Subscribe {
            center,
            radius,
            known,
        } => {
            if radius > MAX_RADIUS {
                return Err(malformed("subscription radius"));
            }
            *waiting = Some(Subscription {
                center,
                radius,
                known,
            });
            Ok(())
        }
        ClientControl::Pace { snapshot_hz } => {
            *pace = crate::snapshot::SnapshotPace::new(snapshot_hz, tick_ms);
            Ok(())
        }
        _ => Err(malformed("hello or auth after authentication")),
    }
}

/// Serves the waiting subscription if the session's budget and the edge's allow it now;
/// otherwise it waits (for the next block or control message).
fn serve_subscription(
    shared: &Shared,
    waiting: &mut Option<Subscription>,
    budget: &mut Bucket,
    chunks: &mut ChunkStream,
) {
    if waiting.is_none() || !budget.ready() {
        return;
    }
    let node_allows = shared
        .subscriptions
        .lock()
        .map(|mut b| b.take())
        .unwrap_or(false);
    if !node_allows {
        return;
    }
    budget.take();
    if let Some(s) = waiting.take() {
        chunks.subscribe(s.center, s.radius, shared.config.chunk_hysteresis, s.known);
        shared.stats.subscriptions.fetch_add(1, Ordering::Relaxed);
    }
}

/// Sends the newest proven content records whose header is the one going out now; if their
/// header will not come (uncertified), they are proven again against the state now.
fn send_content(
    shared: &Shared,
    chunks: &mut ChunkStream,
    ready: Vec<(u64, Vec<crate::proto::ContentEntry>)>,
    header: &Header,
    send_event: &impl Fn(&Event) -> Result<(), SessionEnd>,
) -> SessionResult {
    // Only the newest set matters: it is every record the zone holds.
    let Some((height, records)) = ready.into_iter().max_by_key(|(h, _)| *h) else {
        return Ok(());
    };
    if header.finality.is_some() && height.checked_add(1) == Some(header.height) {
        send_event(&Event::Content { height, records })?;
    } else {
        chunks.waiting_content.extend(shared.backend.content());
    }
    Ok(())
}

/// After the session lagged behind the feed: the chunks are checked again, and the claims
/// those blocks changed are lost with them, so every claim sent is proven again (held, changed
/// or released now), with the ones made meanwhile and the inventory.
fn catch_up(shared: &Shared, chunks: &mut ChunkStream, account: &[u8; 32]) {
    chunks.recheck();
    let sent: Vec<_> = chunks.claims_sent.iter().map(|(&c, &e)| (c, e)).collect();
    chunks
        .waiting_claims
        .extend(shared.backend.prove_claims(&sent));
    chunks.waiting_claims.push(shared.backend.claims());
    chunks
        .waiting_inventory
        .extend(shared.backend.inventory(account));
    chunks.waiting_content.extend(shared.backend.content());
}

/// What one session has been sent and is owed: who it plays as, its snapshot encoder, its
/// chunk stream and the height of the last header it got.
struct SessionView<'a> {
    /// The signing key (its receipt log is the session's).
    player: &'a [u8; 32],
    /// The account it plays (its body, inventory and movement outcomes).
    account: &'a [u8; 32],
    snapshots: &'a mut SnapshotWriter,
    pace: &'a mut crate::snapshot::SnapshotPace,
    chunks: &'a mut ChunkStream,
    last_header_sent: &'a mut u64,
}

/// Sends the session what a finalized block brings it: a snapshot datagram, the header when
/// something proven needs it, its receipts, claims, inventory and chunks.
fn on_update(
    shared: &Shared,
    conn: &quinn::Connection,
    update: &TickUpdate,
    view: SessionView<'_>,
    send_event: &impl Fn(&Event) -> Result<(), SessionEnd>,
) -> SessionResult {
    let SessionView {
        player,
        account,
        snapshots,
        pace,
        chunks,
        last_header_sent,
    } = view;
    let header = &update.header;
    chunks.height = header.height;
    if pace.due(header.tick) {
        send_snapshot(shared, conn, update, account, snapshots);
    }

    // Chunks proven after the parent of this block match this header; later ones wait.
    let (ready, later): (Vec<ChunkData>, Vec<ChunkData>) = std::mem::take(&mut chunks.waiting)
        .into_iter()
        .partition(|c| c.height < header.height);
    chunks.waiting = later;
    let (ready_edits, later): (Vec<ChunkEdit>, Vec<ChunkEdit>) =
        std::mem::take(&mut chunks.waiting_edits)
            .into_iter()
            .partition(|e| e.height < header.height);
    chunks.waiting_edits = later;
    let (ready_claims, later): (Vec<_>, Vec<_>) = std::mem::take(&mut chunks.waiting_claims)
        .into_iter()
        .filter(|(_, claims)| !claims.is_empty())
        .partition(|(height, _)| *height < header.height);
    chunks.waiting_claims = later;
    let (ready_inventory, later): (Vec<_>, Vec<_>) = std::mem::take(&mut chunks.waiting_inventory)
        .into_iter()
        .partition(|e| e.height < header.height);
    chunks.waiting_inventory = later;
    let (ready_receipts, later): (Vec<_>, Vec<_>) = std::mem::take(&mut chunks.waiting_receipts)
        .into_iter()
        .partition(|e| e.height < header.height);
    chunks.waiting_receipts = later;
    let (ready_content, later): (Vec<_>, Vec<_>) = std::mem::take(&mut chunks.waiting_content)
        .into_iter()
        .filter(|(_, records)| !records.is_empty())
        .partition(|(height, _)| *height < header.height);
    chunks.waiting_content = later;
    // An uncertified header (marshal may finalize a block through a descendant's certificate)
    // is not sent: a light client could not check it. Its chunks are proven again later.
    let certified = header.finality.is_some();
    // Headers cost ~450 bytes with their certificate: send them for chunks that need them,
    // and otherwise every `header_interval` blocks (receipts do not need one).
    let need_header = certified
        && (!ready.is_empty()
            || !ready_edits.is_empty()
            || !ready_claims.is_empty()
            || !ready_inventory.is_empty()
            || !ready_receipts.is_empty()
            || !ready_content.is_empty()
            || header.height >= *last_header_sent + shared.config.header_interval);
    if need_header {
        send_event(&Event::Header(header.clone()))?;
        *last_header_sent = header.height;
    }
    // A log whose header will not come is dropped: the next proof point proves it again,
    // within its window.
    for entry in ready_receipts {
        if certified && entry.height.checked_add(1) == Some(header.height) {
            send_event(&Event::Receipts(entry))?;
        }
    }
    // The signer's outcomes, and through a session key the account's too (its movement's).
    chunks
        .waiting_receipts
        .extend(update.receipts.get(player).cloned());
    if account != player {
        chunks
            .waiting_receipts
            .extend(update.receipts.get(account).cloned());
    }
    for (height, claims) in ready_claims {
        if certified && height.checked_add(1) == Some(header.height) {
            for c in &claims {
                match c.owner {
                    Some(_) => chunks.claims_sent.insert(c.column, c.entity),
                    None => chunks.claims_sent.remove(&c.column),
                };
            }
            for event in claim_events(height, claims) {
                send_event(&event)?;
            }
        } else {
            // Their header will not come: prove them again against the state now.
            let which: Vec<_> = claims.iter().map(|c| (c.column, c.entity)).collect();
            chunks
                .waiting_claims
                .extend(shared.backend.prove_claims(&which));
        }
    }
    chunks
        .waiting_claims
        .push((header.height, update.claims.clone()));
    // Only the newest proven inventory matters: an older one is superseded, not re-proven.
    if let Some(entry) = ready_inventory.into_iter().max_by_key(|e| e.height) {
        if certified && entry.height.checked_add(1) == Some(header.height) {
            send_event(&Event::Inventory(entry))?;
        } else {
            chunks
                .waiting_inventory
                .extend(shared.backend.inventory(account));
        }
    }
    chunks
        .waiting_inventory
        .extend(update.inventories.get(account).cloned());
    send_content(shared, chunks, ready_content, header, send_event)?;
    chunks.waiting_content.extend(
        update
            .content
            .clone()
            .map(|records| (header.height, records)),
    );
    for c in ready {
        if certified && c.height.checked_add(1) == Some(header.height) {
            chunks.sent_whole(c.pos, chunk_hash(&c));
            send_event(&Event::Chunk(c))?;
        } else {
            chunks.push(c.pos);
        }
    }
    for e in ready_edits {
        if certified && e.height.checked_add(1) == Some(header.height) {
            send_event(&Event::ChunkEdit(e))?;
        } else {
            // Its header will not come: the client gets the chunk whole.
            chunks.held.remove(&e.pos);
            chunks.push(e.pos);
        }
    }

    chunks.changed(&update.changed_voxels);
    if header
        .height
        .is_multiple_of(shared.config.edit_interval.max(1))
    {
        flush_edits(header.height, chunks, |p| shared.backend.chunk(p));
    }
    // Every backend call counts against the budget, found or not, so a far-off subscription
    // cannot make a tick walk thousands of positions.
    for _ in 0..shared.config.chunks_per_tick {
        let Some(pos) = chunks.pop() else { break };
        let Some(data) = shared.backend.chunk(pos) else {
            continue;
        };
        if chunks.held.get(&pos) == Some(&chunk_hash(&data)) {
            chunks.checked(pos);
            continue;
        }
        chunks.sending_whole(pos);
        chunks.waiting.push(data);
    }
    Ok(())
}

/// The snapshot of `update`'s tick for the session playing `account`, as one datagram.
fn send_snapshot(
    shared: &Shared,
    conn: &quinn::Connection,
    update: &TickUpdate,
    account: &[u8; 32],
    snapshots: &mut SnapshotWriter,
) {
    // The body is the account's; outcomes are the signer's (its nonces).
    let own = update.entities.iter().find(|e| &e.player == account);
    let (bytes, _) = snapshots.build(update.header.tick, own, &update.entities);
    let sent = bytes.len() as u64;
    // A full send buffer drops the oldest datagram: that is the intent.
    match conn.send_datagram(bytes.into()) {
        Ok(()) => {
            shared.stats.datagrams_out.fetch_add(1, Ordering::Relaxed);
            shared.stats.bytes_out.fetch_add(sent, Ordering::Relaxed);
        }
        Err(e) => debug!(%e, "snapshot not sent"),
    }
}

/// `claims` proven at `height` as events that fit a frame.
fn claim_events(height: u64, claims: Vec<ClaimEntry>) -> Vec<Event> {
    // Room for the event's own fields.
    const BUDGET: usize = MAX_FRAME - 64;
    let mut events = Vec::new();
    let mut part = Vec::new();
    let mut size = 0;
    for c in claims {
        let entry = 4 + 4 + 8 + 1 + 32 + 2 + 32 * c.builders.len() + 3 + c.proof.len();
        if !part.is_empty() && (size + entry > BUDGET || part.len() == crate::proto::MAX_CLAIMS) {
            events.push(Event::Claims {
                height,
                claims: std::mem::take(&mut part),
            });
            size = 0;
        }
        size += entry;
        part.push(c);
    }
    if !part.is_empty() {
        events.push(Event::Claims {
            height,
            claims: part,
        });
    }
    events
}

/// Proves the gathered edits against the state after block `height` (the update just handled)
/// and queues them for the next header. A chunk whose proof is for another state (the zone
/// moved on meanwhile) goes whole instead; edits of a chunk whose whole version is in flight
/// wait for it.
fn flush_edits(
    height: u64,
    chunks: &mut ChunkStream,
    prove: impl Fn(ChunkPos) -> Option<ChunkData>,
) {
    let in_flight = &chunks.whole_in_flight;
    let (later, now) = std::mem::take(&mut chunks.edits)
        .into_iter()
        .partition(|(pos, _)| in_flight.contains(pos));
    chunks.edits = later;
    for (pos, voxels) in now {
        let Some(base) = chunks.held.get(&pos).copied() else {
            continue;
        };
        match prove(pos) {
            Some(data) if data.height == height => {
                chunks.held.insert(pos, chunk_hash(&data));
                chunks.sent_at.insert(pos, height);
                chunks.waiting_edits.push(ChunkEdit {
                    height,
                    pos,
                    base,
                    voxels,
                    proof: data.proof,
                });
            }
            _ => chunks.push(pos),
        }
    }
}

/// The chunk holding the voxel at `pos` (1/1024 m units), for subscriptions.
pub fn chunk_of(pos: [i64; 3]) -> ChunkPos {
    let n = (CHUNK_SIZE as i64) * 1024;
    let c = |v: i64| v.div_euclid(n) as i32;
    ChunkPos::new(c(pos[0]), c(pos[1]), c(pos[2]))
}

#[cfg(test)]
mod address_tests {
    use super::address_key;

    #[test]
    fn ipv6_hosts_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let a: std::net::IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: std::net::IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: std::net::IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(
            address_key(mapped),
            "10.0.0.7".parse::<std::net::IpAddr>().unwrap()
        );
        let v4: std::net::IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(address_key(v4), v4);
    }
}

#[cfg(test)]
mod tests {
    use super::{ChunkData, ChunkStream, IN_FLIGHT_BLOCKS, flush_edits, subscription_queue};
    use std::collections::BTreeSet;
    use z3r0_voxel::ChunkPos;

    /// Every position within `radius` of `center`, nearest last, by brute force.
    fn queue_by_sorting(center: ChunkPos, radius: u8) -> Vec<ChunkPos> {
        let r = i32::from(radius.min(crate::proto::MAX_RADIUS));
        let mut all = std::collections::BTreeSet::new();
        for dx in -r..=r {
            for dy in -r..=r {
                for dz in -r..=r {
                    let (Some(x), Some(y), Some(z)) = (
                        center.x.checked_add(dx),
                        center.y.checked_add(dy),
                        center.z.checked_add(dz),
                    ) else {
                        continue;
                    };
                    let p = ChunkPos::new(x, y, z);
                    if super::dist2(p, center) <= i64::from(r * r) {
                        all.insert(p);
                    }
                }
            }
        }
        let mut v: Vec<_> = all.into_iter().collect();
        v.sort_by_key(|p| std::cmp::Reverse((super::dist2(*p, center), *p)));
        v
    }

    #[test]
    fn a_subscription_streams_every_chunk_in_range_nearest_first() {
        let centers = [
            ChunkPos::new(0, 0, 0),
            ChunkPos::new(5, -3, 7),
            ChunkPos::new(i32::MAX, i32::MIN, i32::MAX - 2),
            ChunkPos::new(i32::MIN + 1, 0, i32::MAX),
        ];
        for center in centers {
            for radius in [0, 1, 2, 7, 16, 200] {
                let (queue, set) = subscription_queue(center, radius);
                assert_eq!(
                    queue,
                    queue_by_sorting(center, radius),
                    "{center:?} {radius}"
                );
                assert!(set.iter().eq(queue.iter().collect::<BTreeSet<_>>()));
            }
        }
        assert_eq!(
            subscription_queue(ChunkPos::new(0, 0, 0), 16).0.len(),
            17_077
        );
    }

    #[test]
    fn edits_gathered_before_missed_updates_are_dropped() {
        let center = ChunkPos::new(0, 0, 0);
        let p = ChunkPos::new(0, 0, 0);
        let mut s = ChunkStream::default();
        s.subscribe(center, 2, 1, vec![(p, [0u8; 32])]);
        s.checked(p);
        // A block changes a voxel of a held chunk: gathered as an edit.
        s.changed(&[(z3r0_voxel::VoxelPos::new(1, 2, 3), 1)]);
        assert!(s.edits.contains_key(&p));
        // Then the session misses updates: their changes are not in the edit, so an edit built
        // on it would not lead to the state's root. The chunk is checked again whole instead,
        // and so is it when a later block changes it before that check.
        s.recheck();
        assert!(s.edits.is_empty(), "{:?}", s.edits);
        s.changed(&[(z3r0_voxel::VoxelPos::new(1, 2, 4), 1)]);
        assert!(s.edits.is_empty(), "{:?}", s.edits);
    }

    #[test]
    fn held_chunks_past_the_radius_still_gather_their_changes() {
        // The client keeps chunks up to the radius plus the hysteresis. A change to one of
        // them past the radius must still reach it, or the next edit (after the player walks
        // back) builds on a version that lacks it.
        let center = ChunkPos::new(0, 0, 0);
        let p = ChunkPos::new(3, 0, 0);
        let mut s = ChunkStream::default();
        s.subscribe(center, 2, 1, vec![(p, [0u8; 32])]);
        s.checked(p);
        s.changed(&[(z3r0_voxel::VoxelPos::new(3 * 32 + 1, 2, 3), 1)]);
        assert!(s.edits.contains_key(&p), "{:?}", s.edits);
    }

    #[test]
    fn edits_wait_for_the_whole_version_in_flight() {
        let center = ChunkPos::new(0, 0, 0);
        let p = ChunkPos::new(0, 0, 0);
        let (v0, v1) = ([0u8; 32], [1u8; 32]);
        let mut s = ChunkStream::default();
        s.subscribe(center, 2, 1, vec![(p, v0)]);
        s.checked(p);
        // Fetched whole (proven at a later state than the session's), not sent yet; a block
        // changes it meanwhile.
        s.height = 5;
        s.sending_whole(p);
        s.changed(&[(z3r0_voxel::VoxelPos::new(1, 2, 3), 1)]);
        let proof = |height| {
            move |pos| {
                Some(ChunkData {
                    height,
                    pos,
                    chunk: Vec::new(),
                    proof: Vec::new(),
                })
            }
        };
        // An edit now would build on version 0 and lack what the whole version brings.
        flush_edits(5, &mut s, proof(5));
        assert!(s.waiting_edits.is_empty());
        assert!(s.edits.contains_key(&p), "kept for the version in flight");
        s.height = 7;
        s.sent_whole(p, v1);
        flush_edits(7, &mut s, proof(7));
        assert_eq!(s.waiting_edits.len(), 1);
        assert_eq!(s.waiting_edits[0].base, v1);
    }

    #[test]
    fn a_version_the_client_names_is_checked_before_edits_build_on_it() {
        // A client fails over to this node naming the version it holds. Blocks this node's
        // session never saw may have changed that chunk since, so a change now cannot be sent
        // as an edit of it (the edit would lack those blocks and miss the root): the chunk is
        // checked whole first, ahead of the rest of the queue.
        let center = ChunkPos::new(0, 0, 0);
        let p = ChunkPos::new(0, 0, 0);
        let mut s = ChunkStream::default();
        s.subscribe(center, 2, 1, vec![(p, [7u8; 32])]);
        s.changed(&[(z3r0_voxel::VoxelPos::new(1, 2, 3), 1)]);
        assert!(s.edits.is_empty(), "{:?}", s.edits);
        assert_eq!(s.pop(), Some(p));
    }

    #[test]
    fn a_subscription_crossing_a_version_in_flight_keeps_it() {
        let center = ChunkPos::new(0, 0, 0);
        let p = ChunkPos::new(1, 0, 0);
        let (v0, v1, v2) = ([0u8; 32], [1u8; 32], [2u8; 32]);
        let mut s = ChunkStream::default();
        s.subscribe(center, 2, 1, vec![(p, v0)]);
        assert_eq!(s.held.get(&p), Some(&v0));
        // Version 1 goes out at height 10; the client subscribes again before reading it.
        s.height = 10;
        s.held.insert(p, v1);
        s.sent_at.insert(p, 10);
        s.height = 12;
        s.subscribe(center, 2, 1, vec![(p, v0)]);
        assert_eq!(
            s.held.get(&p),
            Some(&v1),
            "the next edit must build on version 1"
        );
        // Long after, what the client says is what it holds.
        s.height = 10 + IN_FLIGHT_BLOCKS + 1;
        s.subscribe(center, 2, 1, vec![(p, v2)]);
        assert_eq!(s.held.get(&p), Some(&v2));
        // A chunk the client no longer names is not held, sent lately or not.
        s.sent_at.insert(p, s.height);
        s.subscribe(center, 2, 1, Vec::new());
        assert!(!s.held.contains_key(&p));
    }
}
