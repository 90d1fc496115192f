//! The player side of the edge: connects to a pinned node, authenticates with the player's key,
//! sends signed inputs, and turns what arrives into verified [`ClientEvent`]s: snapshots (never
//! older than the newest applied), finalized headers checked against the committee, receipts,
//! and chunks checked against a finalized root (cached, so only changed chunks come again).

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use commonware_codec::Encode as _;
use commonware_cryptography::Signer as _;
use commonware_cryptography::ed25519::{PrivateKey, PublicKey};
use tokio::sync::mpsc;
use z3r0_chain::{Action, ChainId, SignedAction};
use z3r0_voxel::{Chunk, ChunkPos, Hash};

use crate::clock::ChainClock;
use crate::frame::{read_frame, write_frame};
use crate::light::{Committee, apply_chunk_edit, verify_chunk, verify_claim};
use crate::proto::{
    AUTH_NAMESPACE, ChunkData, ChunkEdit, ClientControl, ClientDatagram, Event, Header, Included,
    MAX_DATAGRAM, MAX_KNOWN, RuleRejection, ServerControl, VERSION, auth_message,
};
use crate::snapshot::{Received, Snapshot, SnapshotReader};
use crate::{NetError, identity};

/// How to reach and trust a node.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub server: SocketAddr,
    /// The chain played on (the hash of its genesis): actions and the login are signed for it.
    pub chain: ChainId,
    /// Keys the node may present (the zone's validators from genesis).
    pub pinned: Vec<PublicKey>,
    /// The committee whose finality certificates are accepted (usually the same keys).
    pub committee: Vec<PublicKey>,
    /// Accept headers without a finality proof (a node that does not serve certificates).
    pub trust_node_headers: bool,
    /// The zone the client means to play in (from genesis); `None` accepts the node's.
    pub zone: Option<u32>,
    pub connect_timeout: Duration,
    /// Other members' edges to move the session to when `server` stalls or dies, tried in
    /// order.
    pub fallbacks: Vec<SocketAddr>,
    /// Snapshots a second to ask for (0: one every tick); remote players are interpolated
    /// between them, whatever the chain's tick rate.
    pub snapshot_hz: u16,
}

/// Snapshots a second a client asks for unless told otherwise.
pub const DEFAULT_SNAPSHOT_HZ: u16 = 20;

impl ClientConfig {
    pub fn new(server: SocketAddr, chain: ChainId, validators: Vec<PublicKey>) -> Self {
        Self {
            server,
            chain,
            pinned: validators.clone(),
            committee: validators,
            trust_node_headers: false,
            zone: None,
            connect_timeout: Duration::from_secs(5),
            fallbacks: Vec::new(),
            snapshot_hz: DEFAULT_SNAPSHOT_HZ,
        }
    }
}

/// Something the node told the client, already checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    Snapshot(Snapshot),
    Header(Header),
    Included(Included),
    Refused {
        nonce: u64,
        kind: z3r0_chain::RejectionKind,
    },
    Chunk {
        pos: ChunkPos,
        height: u64,
        chunk: Box<Chunk>,
        /// Voxel indices a chunk edit changed (empty for a chunk sent whole).
        edited: Vec<u16>,
    },
    /// Chunk column owners, each proven against the records root after block `height`: all of
    /// them at the start, then changes.
    Claims {
        height: u64,
        claims: Vec<crate::proto::ClaimEntry>,
    },
    /// The account's inventory, proven against a verified header: at the start, then
    /// whenever it changes.
    Inventory(z3r0_sim::Inventory),
    /// An inventory whose proofs did not check out: not shown.
    BadInventory {
        reason: String,
    },
    /// The zone's published content manifests (the one in force, one scheduled), proven:
    /// (manifest hash, activation tick) each. Empty only before anything was published, when
    /// the content is the genesis's.
    Content(Vec<([u8; 32], u64)>),
    /// Content records whose proofs did not check out: not taken.
    BadContent {
        reason: String,
    },
    /// A receipt log whose proof did not check out, or that is no key of this session's: its
    /// outcomes are not reported.
    BadReceipts {
        reason: String,
    },
    /// An edit of a chunk this client no longer holds (it moved away, or dropped a bad copy,
    /// before the node learnt of it): nothing to check it against, and no fault of the node.
    /// Subscribing again tells the node, which sends the chunk whole if it is still wanted.
    Unheld {
        pos: ChunkPos,
    },
    /// A chunk whose proof did not check out: dropped.
    BadChunk {
        pos: ChunkPos,
        reason: String,
    },
    /// A claim whose proof did not check out: dropped.
    BadClaim {
        column: (i32, i32),
        reason: String,
    },
}

/// Claim events kept waiting for their header, at most (older ones are dropped).
const MAX_PENDING_CLAIMS: usize = 64;
/// Receipt logs kept waiting for their header, at most (older ones are dropped).
const MAX_PENDING_RECEIPTS: usize = 16;

/// A chunk or an edit of one, waiting for the header that commits its root.
#[derive(Debug)]
enum PendingChunk {
    Full(ChunkData),
    Edit(ChunkEdit),
}

impl PendingChunk {
    /// The height it is proven at, and the chunk.
    fn at(&self) -> (u64, ChunkPos) {
        match self {
            Self::Full(d) => (d.height, d.pos),
            Self::Edit(e) => (e.height, e.pos),
        }
    }
}

enum Incoming {
    Event(Vec<u8>),
    Datagram(bytes::Bytes),
    Closed(Option<NetError>),
}

/// A connected, authenticated player.
#[derive(Debug)]
pub struct EdgeClient {
    conn: quinn::Connection,
    _endpoint: quinn::Endpoint,
    control: quinn::SendStream,
    key: PrivateKey,
    account: [u8; 32],
    /// The chain this session signs for.
    pub chain: ChainId,
    pub zone: u32,
    pub tick_ms: u32,
    /// The zone's movement rules per tick, as the node stated them (prediction only).
    pub physics: z3r0_sim::Physics,
    /// The tick the node said inputs should target when the session began.
    pub start_tick: u64,
    next_nonce: u64,
    committee: Committee,
    trust_node_headers: bool,
    snapshots: SnapshotReader,
    /// Where the chain is, from the genesis clock and the snapshots' arrivals.
    clock: ChainClock,
    headers: BTreeMap<u64, Header>,
    /// Chunks and chunk edits proven at a height whose header has not arrived yet.
    pending_chunks: VecDeque<PendingChunk>,
    /// Claims proven at a height whose header has not arrived yet, oldest first.
    pending_claims: VecDeque<(u64, Vec<crate::proto::ClaimEntry>)>,
    /// Verified chunks the client holds, with their hashes.
    pub cache: BTreeMap<ChunkPos, Hash>,
    /// Their canonical encodings: the base that chunk edits apply to.
    held: BTreeMap<ChunkPos, Vec<u8>>,
    /// The height each held chunk was proven at: an older proof never replaces a newer one.
    proven: BTreeMap<ChunkPos, u64>,
    /// Datagrams and chunks dropped as malformed or stale.
    pub dropped: u64,
    events: mpsc::Receiver<Incoming>,
    /// Statistics.
    pub bad_chunks: u64,
    /// Claims (and releases) whose proofs held, and those whose proofs failed.
    pub claims_verified: u64,
    pub bad_claims: u64,
    /// Inventories shown because their proofs held, and those refused.
    pub inventories_verified: u64,
    pub bad_inventories: u64,
    /// The newest proven inventory, waiting for the header after its height.
    pending_inventory: Option<crate::proto::InventoryEntry>,
    /// Proven receipt logs waiting for the header after their height, oldest first.
    pending_receipts: VecDeque<crate::proto::ReceiptsEntry>,
    /// Per key (the session's and its account), the tick of the newest outcome reported.
    receipts_reported: BTreeMap<[u8; 32], u64>,
    /// Outcomes proven and not yet handed out, oldest first.
    proven_outcomes: VecDeque<Included>,
    /// Receipt logs whose proofs held, and those refused.
    pub receipts_verified: u64,
    pub bad_receipts: u64,
    /// The height of the inventory shown last: an older one is never shown over it.
    inventory_height: Option<u64>,
    /// The tick of the header that proved the inventory shown: how old the proof is.
    inventory_tick: Option<u64>,
    /// The newest proven content records, waiting for the header after their height.
    pending_content: Option<(u64, Vec<crate::proto::ContentEntry>)>,
    /// The height of the content shown last: older records never replace it.
    content_height: Option<u64>,
    pub headers_verified: u64,
    /// Snapshots applied, their datagram bytes, and the remote entities they held.
    pub snapshots_applied: u64,
    pub snapshot_bytes: u64,
    /// Bytes of headers and of chunks received (event payloads).
    pub header_bytes: u64,
    pub chunk_bytes: u64,
    /// Whole chunks and chunk edits received.
    pub chunks_whole: u64,
    pub chunk_edits: u64,
    pub snapshot_entities: u64,
}

/// The QUIC client configuration that trusts only `config.pinned`.
pub fn quic_config(config: &ClientConfig) -> Result<quinn::ClientConfig, NetError> {
    let crypto = identity::client_crypto(&config.pinned)?;
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(crypto)
        .map_err(|e| NetError::Tls(e.to_string()))?;
    let mut client = quinn::ClientConfig::new(Arc::new(quic));
    let mut transport = quinn::TransportConfig::default();
    transport.keep_alive_interval(Some(Duration::from_secs(2)));
    if let Ok(idle) = quinn::IdleTimeout::try_from(Duration::from_secs(10)) {
        transport.max_idle_timeout(Some(idle));
    }
    transport.datagram_send_buffer_size(4 * MAX_DATAGRAM);
    client.transport_config(Arc::new(transport));
    Ok(client)
}

fn client_endpoint(config: &ClientConfig) -> Result<quinn::Endpoint, NetError> {
    let client = quic_config(config)?;
    let bind: SocketAddr = if config.server.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    }
    .parse()
    .map_err(|e: std::net::AddrParseError| NetError::Connect(e.to_string()))?;
    let mut endpoint = quinn::Endpoint::client(bind).map_err(|e| NetError::Bind {
        addr: bind.to_string(),
        reason: e.to_string(),
    })?;
    endpoint.set_default_client_config(client);
    Ok(endpoint)
}

impl EdgeClient {
    /// Connects, checks the node's key against the pinned ones, and authenticates as `key`.
    pub async fn connect(config: &ClientConfig, key: PrivateKey) -> Result<Self, NetError> {
        let endpoint = client_endpoint(config)?;
        Self::connect_with(endpoint, config, key).await
    }

    /// As [`EdgeClient::connect`], on a given endpoint whose default client configuration is
    /// [`quic_config`] (tests use a simulated socket).
    pub async fn connect_with(
        endpoint: quinn::Endpoint,
        config: &ClientConfig,
        key: PrivateKey,
    ) -> Result<Self, NetError> {
        let connecting = endpoint
            .connect(config.server, "z3r0-node")
            .map_err(|e| NetError::Connect(e.to_string()))?;
        let conn = tokio::time::timeout(config.connect_timeout, connecting)
            .await
            .map_err(|_| NetError::Connect("handshake timed out".into()))?
            .map_err(|e| NetError::Connect(e.to_string()))?;
        let (mut control, mut control_recv) = conn.open_bi().await?;
        let player: [u8; 32] = key
            .public_key()
            .encode()
            .as_ref()
            .try_into()
            .map_err(|_| NetError::Protocol("player key encoding".into()))?;
        // A node that closes the connection says why (full, a bad login): report that, not
        // the stream it cut.
        let why = |e: NetError| conn.close_reason().map_or(e, NetError::Connection);
        write_frame(
            &mut control,
            &ClientControl::Hello {
                version: VERSION,
                player,
                snapshot_hz: config.snapshot_hz,
                zone: config.zone,
            }
            .encode(),
        )
        .await
        .map_err(why)?;
        let frame = read_frame(&mut control_recv)
            .await
            .map_err(why)?
            .ok_or_else(|| NetError::Protocol("node closed the control stream".into()))?;
        let ServerControl::Challenge { node, zone, nonce } = ServerControl::decode(&frame)? else {
            return Err(NetError::Protocol("expected a challenge".into()));
        };
        // The challenge must name the node this connection is to (its certificate key), or a
        // validator could relay another node's challenge and log in there as this player.
        let peer = conn
            .peer_identity()
            .and_then(|id| {
                id.downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
                    .ok()
            })
            .and_then(|certs| certs.first().and_then(identity::certificate_key));
        if peer != Some(node) {
            return Err(NetError::Verify(
                "the challenge names another node than the one connected".into(),
            ));
        }
        if let Some(expected) = config.zone
            && expected != zone
        {
            return Err(NetError::Verify(format!(
                "the node serves zone {zone}, not zone {expected}"
            )));
        }
        let signature = key.sign(
            &config.chain.namespace(AUTH_NAMESPACE),
            &auth_message(&node, zone, &nonce),
        );
        let signature: [u8; 64] = signature
            .encode()
            .as_ref()
            .try_into()
            .map_err(|_| NetError::Protocol("signature encoding".into()))?;
        write_frame(&mut control, &ClientControl::Auth { signature }.encode()).await?;
        let frame = match read_frame(&mut control_recv).await {
            Ok(frame) => {
                frame.ok_or_else(|| NetError::Protocol("authentication refused".into()))?
            }
            // A node refusing the login closes with its reason: report that, not a lost stream.
            Err(e) => return Err(conn.close_reason().map_or(e, NetError::Connection)),
        };
        let ServerControl::Welcome {
            tick,
            next_nonce,
            tick_ms,
            genesis_ms,
            account,
            movement,
        } = ServerControl::decode(&frame)?
        else {
            return Err(NetError::Protocol("expected welcome".into()));
        };
        let events_stream = conn.accept_uni().await?;
        let (tx, events) = mpsc::channel(4096);
        spawn_event_reader(events_stream, tx.clone());
        spawn_datagram_reader(conn.clone(), tx);
        Ok(Self {
            conn,
            _endpoint: endpoint,
            control,
            key,
            account,
            zone,
            tick_ms,
            physics: z3r0_sim::Physics::new(&movement, u64::from(tick_ms)),
            start_tick: tick,
            next_nonce,
            chain: config.chain,
            committee: Committee::new(config.chain, config.committee.clone())?,
            trust_node_headers: config.trust_node_headers,
            snapshots: SnapshotReader::default(),
            clock: ChainClock::new(genesis_ms, u64::from(tick_ms)),
            headers: BTreeMap::new(),
            pending_chunks: VecDeque::new(),
            pending_claims: VecDeque::new(),
            inventories_verified: 0,
            bad_inventories: 0,
            pending_inventory: None,
            pending_receipts: VecDeque::new(),
            receipts_reported: BTreeMap::new(),
            proven_outcomes: VecDeque::new(),
            receipts_verified: 0,
            bad_receipts: 0,
            inventory_height: None,
            inventory_tick: None,
            pending_content: None,
            content_height: None,
            cache: BTreeMap::new(),
            held: BTreeMap::new(),
            proven: BTreeMap::new(),
            dropped: 0,
            events,
            bad_chunks: 0,
            claims_verified: 0,
            bad_claims: 0,
            headers_verified: 0,
            snapshots_applied: 0,
            snapshot_bytes: 0,
            header_bytes: 0,
            chunk_bytes: 0,
            chunks_whole: 0,
            chunk_edits: 0,
            snapshot_entities: 0,
        })
    }

    /// The key this session signs with, to open the player's next session with (in the zone
    /// its body walked into).
    pub fn signing_key(&self) -> PrivateKey {
        self.key.clone()
    }

    /// The account this session plays as (the node's `Welcome` says): the account that
    /// delegated to this session's key, or that key itself.
    pub fn account(&self) -> [u8; 32] {
        self.account
    }

    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    pub fn connection(&self) -> &quinn::Connection {
        &self.conn
    }

    /// The nonce the next action will carry.
    pub fn next_nonce(&self) -> u64 {
        self.next_nonce
    }

    /// Takes the next nonce without sending anything: the caller signs its own action with it
    /// (the cheat bot's forgeries), and no action of this client uses it again.
    pub fn take_nonce(&mut self) -> u64 {
        let nonce = self.next_nonce;
        self.next_nonce = self.next_nonce.saturating_add(1);
        nonce
    }

    /// Takes over from `old`, this player's session with another node (a failover): the
    /// verified chunks (reported in the next subscription, so none is sent again), the
    /// outcomes already reported, the newest inventory shown, the session's start, the counters,
    /// and nonces past every one `old` used (actions it sent may still land through gossip).
    pub fn resume_from(&mut self, old: &EdgeClient) -> Result<(), NetError> {
        if old.key.public_key() != self.key.public_key() || old.account != self.account {
            return Err(NetError::Protocol(
                "a session can only resume its own player's".into(),
            ));
        }
        self.cache = old.cache.clone();
        self.held = old.held.clone();
        self.proven = old.proven.clone();
        for (key, tick) in &old.receipts_reported {
            let t = self.receipts_reported.entry(*key).or_insert(0);
            *t = (*t).max(*tick);
        }
        self.inventory_height = self.inventory_height.max(old.inventory_height);
        self.inventory_tick = self.inventory_tick.max(old.inventory_tick);
        self.content_height = self.content_height.max(old.content_height);
        self.start_tick = self.start_tick.min(old.start_tick);
        // One chain, one clock: the session's genesis does not jump at a failover (where the
        // chain is, the new node's snapshots say).
        self.clock = old.clock.resumed();
        self.tick_ms = old.tick_ms;
        self.physics = old.physics;
        self.next_nonce = self.next_nonce.max(old.next_nonce);
        self.add_counters(old);
        Ok(())
    }

    fn add_counters(&mut self, old: &EdgeClient) {
        for (mine, theirs) in [
            (&mut self.dropped, old.dropped),
            (&mut self.bad_chunks, old.bad_chunks),
            (&mut self.claims_verified, old.claims_verified),
            (&mut self.bad_claims, old.bad_claims),
            (&mut self.inventories_verified, old.inventories_verified),
            (&mut self.bad_inventories, old.bad_inventories),
            (&mut self.receipts_verified, old.receipts_verified),
            (&mut self.bad_receipts, old.bad_receipts),
            (&mut self.headers_verified, old.headers_verified),
            (&mut self.snapshots_applied, old.snapshots_applied),
            (&mut self.snapshot_bytes, old.snapshot_bytes),
            (&mut self.header_bytes, old.header_bytes),
            (&mut self.chunk_bytes, old.chunk_bytes),
            (&mut self.chunks_whole, old.chunks_whole),
            (&mut self.chunk_edits, old.chunk_edits),
            (&mut self.snapshot_entities, old.snapshot_entities),
        ] {
            *mine = mine.saturating_add(theirs);
        }
    }

    /// Signs `payload` for `tick` with the next nonce and sends it as a datagram.
    pub fn send_action(&mut self, tick: u64, payload: Vec<u8>) -> Result<SignedAction, NetError> {
        let action = Action {
            player: self.key.public_key(),
            zone: self.zone,
            tick,
            nonce: self.next_nonce,
            payload: payload.into(),
        }
        .sign(&self.key, &self.chain);
        self.send_signed(&action)?;
        self.next_nonce += 1;
        Ok(action)
    }

    /// Sends an already signed action (any signer: the node refuses foreign ones).
    pub fn send_signed(&self, action: &SignedAction) -> Result<(), NetError> {
        let bytes = ClientDatagram::Input(action.encode_to_vec()).encode();
        self.conn
            .send_datagram(bytes.into())
            .map_err(|e| NetError::Datagram(e.to_string()))
    }

    /// Asks for the chunks within `radius` of `center`, telling the node which it holds
    /// nearby (chunks further than the radius plus one are forgotten).
    pub async fn subscribe(&mut self, center: ChunkPos, radius: u8) -> Result<(), NetError> {
        let keep = (i64::from(radius) + 1).pow(2);
        let near = |p: &ChunkPos| {
            let d = |a: i32, b: i32| (i64::from(a) - i64::from(b)).pow(2);
            d(p.x, center.x) + d(p.y, center.y) + d(p.z, center.z) <= keep
        };
        self.cache.retain(|p, _| near(p));
        self.held.retain(|p, _| near(p));
        self.proven.retain(|p, _| near(p));
        let known = known_nearest(&self.cache, center);
        let msg = ClientControl::Subscribe {
            center,
            radius,
            known,
        };
        write_frame(&mut self.control, &msg.encode()).await
    }

    /// Asks for `snapshot_hz` snapshots a second from now on (0: one every tick).
    pub async fn set_snapshot_rate(&mut self, snapshot_hz: u16) -> Result<(), NetError> {
        let msg = ClientControl::Pace { snapshot_hz };
        write_frame(&mut self.control, &msg.encode()).await
    }

    /// Forgets a chunk the client could not keep, so the node sends it again.
    pub fn forget(&mut self, pos: ChunkPos) {
        self.cache.remove(&pos);
        self.held.remove(&pos);
        self.proven.remove(&pos);
    }

    /// The newest applied snapshot tick.
    pub fn newest_snapshot(&self) -> u64 {
        self.snapshots.newest()
    }

    /// When tick 0 started, unix milliseconds.
    pub fn genesis_ms(&self) -> u64 {
        self.clock.genesis_ms()
    }

    /// Moves the chain's clock: for zones whose ticks do not start at their stated genesis
    /// (test zones ticking from when they start).
    pub fn set_genesis_ms(&mut self, genesis_ms: u64) {
        self.clock = ChainClock::new(genesis_ms, u64::from(self.tick_ms));
    }

    /// The tick the chain is in now, as its snapshots show (see [`ChainClock`]): inputs aimed
    /// at it wait for no lag of the chain's behind its clock.
    pub fn chain_tick(&self) -> u64 {
        self.clock.tick(unix_ms())
    }

    /// The tick of the certified header that proved the newest inventory shown (`None`: none
    /// yet). A proof says where a body was then, not where it is: a node may replay an old one.
    pub fn inventory_tick(&self) -> Option<u64> {
        self.inventory_tick
    }

    pub fn stale_snapshots(&self) -> u64 {
        self.snapshots.stale
    }

    /// The next checked event, or the reason the session ended.
    pub async fn next_event(&mut self) -> Result<ClientEvent, NetError> {
        loop {
            if let Some(event) = self.drain_pending() {
                return Ok(event);
            }
            let incoming = self.events.recv().await;
            if let Some(event) = self.handle(incoming).await? {
                return Ok(event);
            }
        }
    }

    /// The next checked event if one is already queued (for a game loop that must not wait).
    pub async fn try_next_event(&mut self) -> Result<Option<ClientEvent>, NetError> {
        loop {
            if let Some(event) = self.drain_pending() {
                return Ok(Some(event));
            }
            let incoming = match self.events.try_recv() {
                Ok(i) => Some(i),
                Err(mpsc::error::TryRecvError::Empty) => return Ok(None),
                Err(mpsc::error::TryRecvError::Disconnected) => None,
            };
            if let Some(event) = self.handle(incoming).await? {
                return Ok(Some(event));
            }
        }
    }

    async fn handle(
        &mut self,
        incoming: Option<Incoming>,
    ) -> Result<Option<ClientEvent>, NetError> {
        match incoming {
            None => Err(NetError::Protocol("session ended".into())),
            Some(Incoming::Closed(e)) => {
                // Prefer the node's stated reason when the connection carries one.
                let wait = Duration::from_millis(200);
                Err(match tokio::time::timeout(wait, self.conn.closed()).await {
                    Ok(reason) => NetError::Connection(reason),
                    Err(_) => e.unwrap_or_else(|| NetError::Protocol("session ended".into())),
                })
            }
            Some(Incoming::Datagram(bytes)) => self.on_snapshot(&bytes),
            Some(Incoming::Event(bytes)) => self.on_event(&bytes),
        }
    }

    fn on_snapshot(&mut self, bytes: &[u8]) -> Result<Option<ClientEvent>, NetError> {
        // A bad datagram is dropped, not fatal: datagrams are unordered and unreliable anyway.
        let received = match self.snapshots.receive(bytes) {
            Ok(r) => r,
            Err(e) => {
                self.dropped += 1;
                tracing::debug!(%e, "snapshot dropped");
                return Ok(None);
            }
        };
        match received {
            Received::Apply(s) => {
                self.clock.observe(s.tick, unix_ms());
                self.snapshots_applied += 1;
                self.snapshot_bytes += bytes.len() as u64;
                self.snapshot_entities += s.entities.len() as u64;
                let ack = ClientDatagram::Ack(s.tick).encode();
                // An ack that cannot go out is just a later base.
                let _ = self.conn.send_datagram(ack.into());
                Ok(Some(ClientEvent::Snapshot(s)))
            }
            Received::Stale | Received::MissingBase => Ok(None),
        }
    }

    fn on_event(&mut self, bytes: &[u8]) -> Result<Option<ClientEvent>, NetError> {
        let event = Event::decode(bytes)?;
        match &event {
            Event::Header(_) => self.header_bytes += bytes.len() as u64,
            Event::Chunk(_) => {
                self.chunk_bytes += bytes.len() as u64;
                self.chunks_whole += 1;
            }
            Event::ChunkEdit(_) => {
                self.chunk_bytes += bytes.len() as u64;
                self.chunk_edits += 1;
            }
            _ => {}
        }
        match event {
            Event::Header(h) => {
                if h.finality.is_some() || !self.trust_node_headers {
                    self.committee.verify_header(&h)?;
                    self.headers_verified += 1;
                } else if z3r0_ecs::state_root(&h.parent_records_root, &h.parent_chunk_root)
                    != h.parent_state_root
                {
                    return Err(NetError::Verify(format!(
                        "header {}: roots do not combine",
                        h.height
                    )));
                }
                self.headers.insert(h.height, h.clone());
                while self.headers.len() > 256 {
                    self.headers.pop_first();
                }
                Ok(Some(ClientEvent::Header(h)))
            }
            Event::Receipts(entry) => {
                self.pending_receipts.push_back(entry);
                while self.pending_receipts.len() > MAX_PENDING_RECEIPTS {
                    self.pending_receipts.pop_front();
                    self.dropped += 1;
                }
                Ok(self.drain_pending())
            }
            Event::Refused { nonce, kind } => Ok(Some(ClientEvent::Refused { nonce, kind })),
            Event::Chunk(data) => Ok(self.pend(PendingChunk::Full(data))),
            Event::ChunkEdit(edit) => Ok(self.pend(PendingChunk::Edit(edit))),
            Event::Claims { height, claims } => {
                self.pending_claims.push_back((height, claims));
                while self.pending_claims.len() > MAX_PENDING_CLAIMS {
                    self.pending_claims.pop_front();
                    self.dropped += 1;
                }
                Ok(self.drain_pending())
            }
            Event::Inventory(entry) => {
                // The node sends them in height order: the last one received replaces any
                // waiting (so one at a height whose header never comes holds nothing up), but
                // none older than the inventory shown is taken.
                if self
                    .inventory_height
                    .is_none_or(|shown| shown <= entry.height)
                {
                    self.pending_inventory = Some(entry);
                }
                Ok(self.drain_pending())
            }
            Event::Content { height, records } => {
                // The newest set replaces any waiting; an older one replaces neither the set
                // waiting nor the one shown.
                let newer = self.content_height.is_none_or(|shown| shown <= height)
                    && self
                        .pending_content
                        .as_ref()
                        .is_none_or(|(waiting, _)| *waiting <= height);
                if newer {
                    self.pending_content = Some((height, records));
                }
                Ok(self.drain_pending())
            }
        }
    }

    fn pend(&mut self, chunk: PendingChunk) -> Option<ClientEvent> {
        self.pending_chunks.push_back(chunk);
        while self.pending_chunks.len() > 1024 {
            self.pending_chunks.pop_front();
        }
        self.drain_pending_chunk()
    }

    /// The next chunk or claim event whose header is here, checked.
    fn drain_pending(&mut self) -> Option<ClientEvent> {
        self.drain_pending_receipts()
            .or_else(|| self.drain_pending_inventory())
            .or_else(|| self.drain_pending_content())
            .or_else(|| self.drain_pending_claims())
            .or_else(|| self.drain_pending_chunk())
    }

    /// The next proven outcome; the waiting receipt logs whose header is here are checked
    /// first (a refused one is reported as such).
    fn drain_pending_receipts(&mut self) -> Option<ClientEvent> {
        loop {
            if let Some(included) = self.proven_outcomes.pop_front() {
                return Some(ClientEvent::Included(included));
            }
            let index = self.pending_receipts.iter().position(|e| {
                e.height
                    .checked_add(1)
                    .is_some_and(|h| self.headers.contains_key(&h))
            })?;
            let entry = self.pending_receipts.remove(index)?;
            let header = self.headers.get(&entry.height.checked_add(1)?)?;
            if let Err(e) = self.check_receipts(header, &entry) {
                self.bad_receipts += 1;
                return Some(ClientEvent::BadReceipts {
                    reason: e.to_string(),
                });
            }
            self.receipts_verified += 1;
            self.report_outcomes(&entry);
        }
    }

    /// This session's signing key as bytes (an ed25519 public key is 32 bytes).
    fn own_key(&self) -> [u8; 32] {
        self.key.public_key().as_ref().try_into().unwrap_or([0; 32])
    }

    fn check_receipts(
        &self,
        header: &Header,
        entry: &crate::proto::ReceiptsEntry,
    ) -> Result<(), NetError> {
        let me = self.own_key();
        if entry.log.key != me && entry.log.key != self.account {
            return Err(NetError::Verify(
                "a receipt log of a key that is not this session's".into(),
            ));
        }
        crate::light::verify_receipts(header, entry)
    }

    /// Queues the outcomes of a verified log that were not reported yet. A session key's
    /// account log adds only its movement refusals (its actions are the account key's own).
    fn report_outcomes(&mut self, entry: &crate::proto::ReceiptsEntry) {
        let me = self.own_key();
        let key = entry.log.key;
        let reported = self.receipts_reported.get(&key).copied();
        for outcome in &entry.log.entries {
            // Outcomes from before this session are not its actions': a nonce record dropped
            // after its actions expired lets a key use the same nonces again, and the log can
            // still hold the old ones. This session's actions target ticks from its start.
            if outcome.tick < self.start_tick || reported.is_some_and(|t| outcome.tick <= t) {
                continue;
            }
            let own = key == me;
            let rejections: Vec<RuleRejection> = outcome
                .refusals()
                .iter()
                .filter(|r| own || r.slot.is_none())
                .map(|r| RuleRejection {
                    action: r.action,
                    reason: r.reason,
                    nonce: outcome.refused_nonce(r),
                })
                .collect();
            let nonces = if own {
                outcome.nonces().to_vec()
            } else {
                Vec::new()
            };
            if nonces.is_empty() && rejections.is_empty() {
                continue;
            }
            // The log does not name each outcome's block: the height proven at bounds it.
            self.proven_outcomes.push_back(Included {
                height: entry.height,
                tick: outcome.tick,
                nonces,
                rejections,
            });
        }
        if let Some(newest) = entry.log.entries.last() {
            let t = self.receipts_reported.entry(key).or_insert(0);
            *t = (*t).max(newest.tick);
        }
    }

    /// The waiting inventory, once the header after its height is here: shown if its proofs
    /// hold for this account, refused otherwise.
    fn drain_pending_inventory(&mut self) -> Option<ClientEvent> {
        let height = self.pending_inventory.as_ref()?.height;
        let header = self.headers.get(&height.checked_add(1)?)?.clone();
        let entry = self.pending_inventory.take()?;
        let me = self.own_key();
        match crate::light::verify_inventory(&header, &me, &self.account, &entry) {
            Ok(()) => {
                self.inventories_verified += 1;
                self.inventory_height = Some(entry.height);
                self.inventory_tick = Some(header.tick);
                Some(ClientEvent::Inventory(entry.inventory))
            }
            Err(e) => {
                self.bad_inventories += 1;
                Some(ClientEvent::BadInventory {
                    reason: e.to_string(),
                })
            }
        }
    }

    /// The waiting content records, once the header after their height is here: taken if
    /// every proof holds, refused otherwise.
    fn drain_pending_content(&mut self) -> Option<ClientEvent> {
        let height = self.pending_content.as_ref()?.0;
        let header = self.headers.get(&height.checked_add(1)?)?.clone();
        let (height, records) = self.pending_content.take()?;
        let checked: Result<Vec<_>, _> = records
            .iter()
            .map(|r| crate::light::verify_content(&header, r).map(|()| (r.manifest, r.activate_at)))
            .collect();
        match checked {
            Ok(content) => {
                self.content_height = Some(height);
                Some(ClientEvent::Content(content))
            }
            Err(e) => Some(ClientEvent::BadContent {
                reason: e.to_string(),
            }),
        }
    }

    fn drain_pending_claims(&mut self) -> Option<ClientEvent> {
        // In order: a later change to a column must not overtake an earlier one.
        let height = self.pending_claims.front()?.0;
        let header = self.headers.get(&height.checked_add(1)?)?.clone();
        let (_, claims) = self.pending_claims.pop_front()?;
        let mut checked = Vec::with_capacity(claims.len());
        let mut bad = None;
        for claim in claims {
            match verify_claim(&header, &claim) {
                Ok(()) => checked.push(claim),
                Err(e) => {
                    self.bad_claims += 1;
                    bad.get_or_insert(ClientEvent::BadClaim {
                        column: claim.column,
                        reason: e.to_string(),
                    });
                }
            }
        }
        // The good ones are used; the first bad one is reported the next time round.
        if let Some(bad) = bad {
            self.pending_claims.push_front((height, checked));
            return Some(bad);
        }
        self.claims_verified += checked.len() as u64;
        Some(ClientEvent::Claims {
            height,
            claims: checked,
        })
    }

    fn drain_pending_chunk(&mut self) -> Option<ClientEvent> {
        // The first pending chunk whose header is here (a missing header blocks only its own
        // chunk, and what came after it for the same chunk).
        let index = self.pending_chunks.iter().enumerate().position(|(i, d)| {
            let (height, pos) = d.at();
            height
                .checked_add(1)
                .is_some_and(|h| self.headers.contains_key(&h))
                && !self.pending_chunks.iter().take(i).any(|e| e.at().1 == pos)
        })?;
        let pending = self.pending_chunks.remove(index)?;
        let (height, pos) = pending.at();
        let header = self.headers.get(&(height + 1))?.clone();
        if self.proven.get(&pos).is_some_and(|&h| h > height) {
            // Proven at an older state than the copy held: a rollback, dropped.
            self.dropped += 1;
            return self.drain_pending_chunk();
        }
        let edited: Vec<u16> = match &pending {
            PendingChunk::Full(_) => Vec::new(),
            PendingChunk::Edit(edit) => edit.voxels.iter().map(|v| v.0).collect(),
        };
        Some(
            match check_pending(&header, &pending, self.held.get(&pos)) {
                Ok(None) => {
                    self.dropped += 1;
                    ClientEvent::Unheld { pos }
                }
                Ok(Some((chunk, bytes))) => {
                    self.proven.insert(pos, height);
                    self.cache.insert(pos, *blake3::hash(&bytes).as_bytes());
                    self.held.insert(pos, bytes);
                    ClientEvent::Chunk {
                        pos,
                        height,
                        chunk: Box::new(chunk),
                        edited,
                    }
                }
                Err(e) => {
                    self.bad_chunks += 1;
                    // Not held any more: the node sends the whole chunk after the next subscribe.
                    self.forget(pos);
                    ClientEvent::BadChunk {
                        pos,
                        reason: e.to_string(),
                    }
                }
            },
        )
    }

    /// Ends the session.
    pub fn close(&self) {
        self.conn
            .close(quinn::VarInt::from_u32(crate::close::DONE), b"bye");
    }
}

impl Drop for EdgeClient {
    fn drop(&mut self) {
        // The reader tasks hold the connection too: close it, or it outlives the client.
        self.close();
    }
}

/// Checks a chunk or an edit (applied to `held`, the copy held) against `header`: the chunk
/// and its encoding, or `None` for an edit of a chunk not held.
fn check_pending(
    header: &Header,
    pending: &PendingChunk,
    held: Option<&Vec<u8>>,
) -> Result<Option<(Chunk, Vec<u8>)>, NetError> {
    match pending {
        PendingChunk::Full(data) => {
            verify_chunk(header, data).map(|chunk| Some((chunk, data.chunk.clone())))
        }
        PendingChunk::Edit(edit) => {
            let Some(base) = held else { return Ok(None) };
            let applied = apply_chunk_edit(header, edit, base).map_err(|e| {
                NetError::Verify(format!(
                    "edit of {} voxels at height {}: {e}",
                    edit.voxels.len(),
                    edit.height
                ))
            })?;
            Ok(Some(applied))
        }
    }
}

fn spawn_event_reader(mut stream: quinn::RecvStream, tx: mpsc::Sender<Incoming>) {
    tokio::spawn(async move {
        loop {
            match read_frame(&mut stream).await {
                Ok(Some(frame)) => {
                    if tx.send(Incoming::Event(frame)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => {
                    let _ = tx.send(Incoming::Closed(None)).await;
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Incoming::Closed(Some(e))).await;
                    return;
                }
            }
        }
    });
}

fn spawn_datagram_reader(conn: quinn::Connection, tx: mpsc::Sender<Incoming>) {
    tokio::spawn(async move {
        loop {
            match conn.read_datagram().await {
                Ok(bytes) => {
                    // A full queue means this snapshot would be late anyway.
                    let _ = tx.try_send(Incoming::Datagram(bytes));
                }
                Err(e) => {
                    let _ = tx
                        .send(Incoming::Closed(Some(NetError::Connection(e))))
                        .await;
                    return;
                }
            }
        }
    });
}
/// The cached chunks a subscription reports, nearest to `center` first, at most
/// [`MAX_KNOWN`] (a frame's worth): a client holding more still subscribes, and the node
/// resends the far ones it was not told about.
fn known_nearest(cache: &BTreeMap<ChunkPos, Hash>, center: ChunkPos) -> Vec<(ChunkPos, Hash)> {
    let distance = |p: &ChunkPos| {
        let d = |a: i32, b: i32| (i64::from(a) - i64::from(b)).pow(2);
        d(p.x, center.x) + d(p.y, center.y) + d(p.z, center.z)
    };
    let mut known: Vec<(ChunkPos, Hash)> = cache.iter().map(|(&p, &h)| (p, h)).collect();
    if known.len() > MAX_KNOWN {
        known.sort_by_key(|(p, _)| (distance(p), *p));
        known.truncate(MAX_KNOWN);
    }
    known
}

/// The local clock in unix milliseconds (0 before 1970).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_of_a_chunk_not_held_is_no_fault_of_the_node() {
        let edit = PendingChunk::Edit(ChunkEdit {
            height: 9,
            pos: ChunkPos::new(1, 0, 0),
            base: [0; 32],
            voxels: vec![(0, 1)],
            proof: Vec::new(),
        });
        let header = Header {
            height: 10,
            tick: 10,
            parent: [3; 32],
            zone: 1,
            parent_state_root: [0; 32],
            actions_hash: [4; 32],
            parent_records_root: [1; 32],
            parent_chunk_root: [2; 32],
            finality: None,
        };
        assert!(matches!(check_pending(&header, &edit, None), Ok(None)));
        // Held, its proof is checked (here it is empty, so refused).
        let held = Vec::new();
        assert!(check_pending(&header, &edit, Some(&held)).is_err());
    }

    #[test]
    fn a_client_holding_more_than_a_frame_reports_the_nearest_chunks() {
        let center = ChunkPos::new(0, 0, 0);
        let mut cache = BTreeMap::new();
        for x in -20..20 {
            for y in -5..5 {
                for z in -20..20 {
                    cache.insert(ChunkPos::new(x, y, z), [1; 32]);
                }
            }
        }
        assert!(cache.len() > MAX_KNOWN);
        let known = known_nearest(&cache, center);
        assert_eq!(known.len(), MAX_KNOWN);
        let d =
            |p: &ChunkPos| i64::from(p.x).pow(2) + i64::from(p.y).pow(2) + i64::from(p.z).pow(2);
        let farthest_kept = known.iter().map(|(p, _)| d(p)).max().unwrap();
        let nearest_left = cache
            .keys()
            .filter(|p| !known.iter().any(|(k, _)| k == *p))
            .map(d)
            .min()
            .unwrap();
        assert!(farthest_kept <= nearest_left);
        let msg = ClientControl::Subscribe {
            center,
            radius: crate::proto::MAX_RADIUS,
            known,
        };
        assert!(msg.encode().len() <= crate::proto::MAX_FRAME);
        // A small cache is reported whole.
        let small: BTreeMap<_, _> = cache.into_iter().take(10).collect();
        assert_eq!(known_nearest(&small, center).len(), 10);
    }
}
