//! One player's session with a zone: the streamed world, the predicted local player, the
//! interpolated others, and the actions in flight with what the chain said about them.

mod border;
mod claims;
mod content;
mod edits;
mod feedback;

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use commonware_cryptography::ed25519::PrivateKey;
use z3r0_chain::SignedAction;
use z3r0_net::Included;
use z3r0_net::NetError;
use z3r0_net::chunk_of;
use z3r0_net::{ClientConfig, ClientEvent, EdgeClient};
use z3r0_net::{OwnState, Snapshot};
use z3r0_sim::{Action, Body, InputFrame, Inventory};
use z3r0_voxel::{BlockId, Chunk, ChunkPos, VoxelPos, World, blocks};

use crate::interp::Interpolator;
use crate::predict::{Authoritative, PendingEdit, Predictor};
use claims::Claims;
pub use claims::ShownClaim;
pub use content::{ContentFollower, LoadedContent};
use edits::Edits;
use feedback::Feedback;
pub use feedback::{BlockChange, GameStats, Notice, Outcome, Refusal};

/// Most chunks a client keeps.
const WORLD_CAPACITY: usize = 8_192;
/// Inputs are sent for this many ticks ahead of the chain's tick and resent until their tick,
/// so a lost datagram does not cost a tick.
pub const INPUT_LEAD: u64 = 3;
/// An unchanged input frame is sent again at least this often: a frame stays in force until
/// the next, so at ticks shorter than this, sending it every tick only costs the chain a signed
/// action per tick (at 60 Hz, three times the 20 Hz load for the same play).
const REFRESH_MS: u64 = 50;
/// Snapshots without the player's body after which it counts as gone (timed out, left).
const GONE_AFTER: u32 = 40;
/// Ticks after joining that the player waits at most for the chunks around it (those beyond
/// the zone's edge never come).
const LOAD_WAIT: u64 = 40;
/// Ticks after a join without a body before joining again.
const JOIN_RETRY_TICKS: u64 = 20;
/// Chunk radius subscribed to unless the player sets another.
const DEFAULT_RADIUS: u8 = 3;
/// A node from which nothing arrived for this long has stalled: the session moves to another
/// member's edge, if the configuration names any.
pub const STALL_AFTER: Duration = Duration::from_secs(1);
/// How long a failover waits for one other edge.
const FAILOVER_CONNECT: Duration = Duration::from_secs(1);

/// Ticks ahead a vanished body is extrapolated to find the border it crossed.
const CROSSING_TICKS: i64 = 3;

/// Which zone owns a chunk column (x, z), in a world of zones: the player follows its body
/// across a border with it.
pub type ZoneOf = std::sync::Arc<dyn Fn(i32, i32) -> Option<u32> + Send + Sync>;

/// A world's [`ZoneOf`], held by a session.
struct Borders(ZoneOf);

impl std::fmt::Debug for Borders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Borders")
    }
}

/// The local player: as the chain last had it, and as predicted from its inputs.
#[derive(Debug)]
struct Presence {
    predictor: Predictor,
    own: Option<OwnState>,
    joined: bool,
    /// The tick of the last join sent.
    join_sent: Option<u64>,
    /// Snapshots in a row without the player's body.
    missing_body: u32,
    /// The tick of the first snapshot with the player's body since it joined.
    joined_at: Option<u64>,
    /// The session moved to another zone and the body has not shown up there yet.
    in_transit: bool,
}

impl Presence {
    fn new() -> Self {
        Self {
            predictor: Predictor::new(),
            own: None,
            joined: false,
            join_sent: None,
            missing_body: 0,
            joined_at: None,
            in_transit: false,
        }
    }
}

/// Actions signed and sent.
#[derive(Debug, Default)]
struct Sent {
    /// Recent inputs by target tick, resent until their tick passes.
    inputs: BTreeMap<u64, SignedAction>,
    /// The newest frame sent and its target tick: no frame goes out for a tick before it,
    /// which the rules refuse (kept across failovers, capped at the new node's input tick).
    last_frame: Option<(u64, InputFrame)>,
    /// The first action sent (the join), kept for the cheat bot's replay.
    first: Option<SignedAction>,
}

/// The chunks the player asked the node for: a cube of `radius` around `center`.
#[derive(Debug)]
struct Subscription {
    center: Option<ChunkPos>,
    radius: u8,
}

/// How the session reaches the zone: the configuration and key to connect again elsewhere,
/// and when the current node was last heard from.
#[derive(Debug)]
struct Link {
    config: ClientConfig,
    key: PrivateKey,
    last_heard: std::time::Instant,
    failovers: u64,
    /// Bytes received over earlier connections (failovers).
    rx_before: u64,
}

/// A player's session: everything private, read through methods, changed only by what the
/// player does and what the node proves.
#[derive(Debug)]
pub struct Game {
    edge: EdgeClient,
    link: Link,
    world: World,
    player: Presence,
    remote: Interpolator,
    sent: Sent,
    edits: Edits,
    claims: Claims,
    /// The account's inventory as of the last finalized block that changed it (`None` until
    /// the node said).
    inventory: Option<Inventory>,
    subscription: Subscription,
    feedback: Feedback,
    /// How far behind the clock snapshots arrive, in ticks (smoothed).
    lag: f64,
    /// In a world: which zone owns each column, and where the body went when it left.
    borders: Option<Borders>,
    crossed: Option<u32>,
    /// In a world: every zone's edges, so the player can follow its body (this session's
    /// edge index among each committee's).
    routes: Option<(crate::world::WorldRoutes, usize)>,
    /// Until when a join waits for a body on its way from another zone.
    arriving_until: Option<std::time::Instant>,
    /// The zone's published content: fetched ahead, in force from its tick.
    content: ContentFollower,
    /// In a world: sessions with the neighbouring zones near the body (see [`border`]).
    watches: border::Watches,
}

/// What became of a streamed chunk ([`Game::take_chunk`]).
enum ChunkTaken {
    Shown,
    /// Of another zone's columns, or beyond what was subscribed: not shown.
    Refused,
    /// The client's world is full.
    WorldFull,
}

/// The asset cache a game fetches published content into unless told otherwise.
fn default_asset_cache() -> Option<z3r0_net::AssetCache> {
    let dir = std::env::temp_dir().join("z3r0-assets");
    z3r0_net::AssetCache::open(&dir)
        .inspect_err(
            |e| tracing::warn!(error = %e, "no asset cache: published content is not followed"),
        )
        .ok()
}

/// Connects to `config.server`, or if it does not answer to the first of its fallbacks that
/// does: the session, and the config with the edge that took it first.
pub(crate) async fn connect_edge(
    config: &ClientConfig,
    key: PrivateKey,
) -> Result<(EdgeClient, ClientConfig), NetError> {
    let mut config = config.clone();
    let mut untried = config.fallbacks.len();
    loop {
        match EdgeClient::connect(&config, key.clone()).await {
            Ok(edge) => return Ok((edge, config)),
            Err(e) if untried == 0 => return Err(e),
            Err(e) => {
                untried -= 1;
                let tried = config.server;
                config.server = config.fallbacks.remove(0);
                tracing::info!(%tried, next = %config.server, error = %e, "edge unreachable");
                config.fallbacks.push(tried);
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
impl Game {
    /// Connects to `config.server`, or if it does not answer to the first of its fallbacks
    /// that does.
    pub async fn connect(config: &ClientConfig, key: PrivateKey) -> Result<Self, NetError> {
        let (edge, config) = connect_edge(config, key.clone()).await?;
        Ok(Self {
            edge,
            link: Link {
                config,
                key,
                last_heard: std::time::Instant::now(),
                failovers: 0,
                rx_before: 0,
            },
            world: World::with_capacity(WORLD_CAPACITY),
            player: Presence::new(),
            remote: Interpolator::default(),
            sent: Sent::default(),
            edits: Edits::default(),
            claims: Claims::default(),
            inventory: None,
            subscription: Subscription {
                center: None,
                radius: DEFAULT_RADIUS,
            },
            feedback: Feedback::default(),
            lag: 2.0,
            borders: None,
            routes: None,
            crossed: None,
            arriving_until: None,
            content: ContentFollower::new(default_asset_cache()),
            watches: border::Watches::default(),
        })
    }

    /// In a world of zones: `borders` says which zone owns each chunk column, so a body that
    /// walks over the border is seen to leave for its neighbour ([`Game::crossed`]) rather
    /// than to vanish.
    pub fn set_borders(&mut self, borders: ZoneOf) {
        self.borders = Some(Borders(borders));
    }

    /// In a world of zones: its borders ([`Game::set_borders`]) and every zone's edges, so the
    /// body can be followed into the zone it walks into ([`crate::cross`]); `edge_index` picks
    /// which member's edge of each committee is tried first.
    pub fn set_world(&mut self, routes: crate::world::WorldRoutes, edge_index: usize) {
        self.set_borders(routes.borders());
        self.routes = Some((routes, edge_index));
    }

    /// The routes of the world this session plays in, and its edge index
    /// ([`Game::set_world`]).
    pub fn routes(&self) -> Option<(&crate::world::WorldRoutes, usize)> {
        self.routes.as_ref().map(|(r, i)| (r, *i))
    }

    /// The zone the player's body left for (it walked over the border and the chain took it
    /// out of this zone): the player goes on there, with a session on that zone's edge.
    pub fn crossed(&self) -> Option<u32> {
        self.crossed
    }

    /// A session opened for a body coming from another zone: no join for up to `wait`, so the
    /// body arrives rather than a second one being made.
    pub fn expect_arrival(&mut self, wait: Duration) {
        self.arriving_until = Some(std::time::Instant::now() + wait);
    }

    /// The connection to the node.
    pub fn edge(&self) -> &EdgeClient {
        &self.edge
    }

    pub fn edge_mut(&mut self) -> &mut EdgeClient {
        &mut self.edge
    }

    /// The streamed world, with the player's own edits shown early.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The world for a renderer, which takes its dirty chunks.
    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// The local player's prediction and its counters.
    pub fn predictor(&self) -> &Predictor {
        &self.player.predictor
    }

    /// The visual offset still to smooth out after a correction (see [`Predictor::smoothing`]).
    pub fn smoothing(&mut self, elapsed_s: f64) -> [f64; 3] {
        self.player.predictor.smoothing(elapsed_s)
    }

    /// The player's body as the newest snapshot had it (`None`: not in the zone).
    pub fn own(&self) -> Option<OwnState> {
        self.player.own
    }

    /// Whether the player is in the zone (a snapshot had its body).
    pub fn joined(&self) -> bool {
        self.player.joined
    }

    /// The other entities, interpolated between snapshots.
    pub fn remote(&self) -> &Interpolator {
        &self.remote
    }

    /// The account's inventory as of the last finalized block that changed it (`None` until
    /// the node said).
    pub fn inventory(&self) -> Option<Inventory> {
        self.inventory
    }

    /// The chunk radius to subscribe to; the node is told when the player next moves chunk.
    pub fn set_radius(&mut self, radius: u8) {
        self.subscription.radius = radius;
        self.subscription.center = None;
    }

    /// The chunk radius streamed around the player.
    pub fn radius(&self) -> u8 {
        self.subscription.radius
    }

    pub fn stats(&self) -> &GameStats {
        &self.feedback.stats
    }

    /// The newest notices, oldest first.
    pub fn notices(&self) -> &VecDeque<Notice> {
        &self.feedback.notices
    }

    /// Outcomes of the player's actions not drained yet, oldest first (bounded: the oldest
    /// are dropped).
    pub fn outcomes(&self) -> &VecDeque<Outcome> {
        &self.feedback.outcomes
    }

    pub fn drain_outcomes(&mut self) -> impl Iterator<Item = Outcome> + '_ {
        self.feedback.outcomes.drain(..)
    }

    /// Changes to held chunks as proven edits brought them, oldest first (bounded).
    pub fn block_changes(&self) -> &VecDeque<BlockChange> {
        &self.feedback.block_changes
    }

    pub fn drain_block_changes(&mut self) -> impl Iterator<Item = BlockChange> + '_ {
        self.feedback.block_changes.drain(..)
    }

    /// Sends an action the caller signed itself (a bot's forgery), counted as sent.
    pub fn send_signed(&mut self, action: &SignedAction) -> Result<(), NetError> {
        self.edge.send_signed(action)?;
        self.feedback.stats.actions_sent += 1;
        Ok(())
    }

    /// The tick the chain is in now: its genesis clock's, less the lag its snapshots show, and
    /// within a few ticks after the newest finalized tick seen, so neither a loaded chain nor a
    /// skewed local clock makes inputs wait or run too far ahead for the mempool.
    pub fn chain_tick(&self) -> u64 {
        self.edge.chain_tick()
    }

    /// The chain's clock in ticks, continuous (for drawing between ticks).
    pub fn clock_ticks(&self) -> f64 {
        let tick_ms = f64::from(self.edge.tick_ms.max(1));
        now_ms().saturating_sub(self.edge.genesis_ms()) as f64 / tick_ms
    }

    /// How far behind the clock snapshots arrive, in ticks (smoothed).
    pub fn snapshot_lag(&self) -> f64 {
        self.lag
    }

    /// The tick inputs sent now target.
    pub fn input_tick(&self) -> u64 {
        self.chain_tick().max(self.edge.start_tick) + INPUT_LEAD
    }

    /// Sends a game action (not an input frame) for the input tick.
    pub fn act(&mut self, action: &Action) -> Result<SignedAction, NetError> {
        let signed = self
            .edge
            .send_action(self.input_tick(), action.encode_to_vec())?;
        self.feedback.stats.actions_sent += 1;
        self.sent.first.get_or_insert_with(|| signed.clone());
        Ok(signed)
    }

    /// Digs or places with immediate local feedback: the voxel changes in the client's world at
    /// once, and changes back if the chain refuses the action (the streamed chunk settles it
    /// either way). An edit the rules will refuse as far as the client can tell is only sent:
    /// a refused edit shown early misleads prediction (a block placed where the player stands
    /// lifts it, until the refusal drops it back). Returns the action's nonce.
    pub fn edit(&mut self, action: &Action) -> Result<u64, NetError> {
        let (pos, to) = match action {
            Action::Break(pos) => (*pos, blocks::AIR),
            Action::Place(pos, id) => (*pos, *id),
            _ => return Ok(self.act(action)?.action.nonce),
        };
        let show = self.likely_accepted(pos, to);
        let signed = self.act(action)?;
        let (nonce, tick) = (signed.action.nonce, signed.action.tick);
        if !show {
            self.edits.hold_back(nonce, pos, tick);
        } else if let Ok(before) = self.world.set_voxel(pos, to) {
            let edit = PendingEdit {
                pos,
                before,
                to,
                tick,
            };
            self.edits.show(nonce, edit);
        }
        Ok(nonce)
    }

    /// Whether the rules will accept setting `pos` to `to` (air: a dig), as far as the client
    /// knows: the rules' own edit checks on the local world from the predicted eye, in a column
    /// that is unclaimed or the player's, with the block carried, and no player's body where a
    /// solid block would go.
    fn likely_accepted(&mut self, pos: VoxelPos, to: BlockId) -> bool {
        // The rules check the edit against the body before its tick's movement. (Predicting
        // the input tick itself here, before its frame is sent, would also record a prediction
        // without that frame, measured later as a correction.)
        let before = self.input_tick().saturating_sub(1);
        let Some(body) = self
            .predicted_at(before)
            .or_else(|| self.player.predictor.base().map(|b| b.body))
        else {
            return false;
        };
        let placing = to != blocks::AIR;
        if !self.edit_allowed(body.pos, pos, placing) {
            return false;
        }
        if !placing {
            return true;
        }
        if self.inventory.is_some_and(|i| i.count(to) == 0) {
            return false;
        }
        !z3r0_voxel::block_info(to).solid || !self.someone_in(pos, body.pos)
    }

    /// Whether the rules' edit checks (zone, reach, line of sight, claims, something to dig or
    /// room to place) let the player edit `pos`, from its last confirmed position: for a script
    /// choosing what to do (the inventory and bodies in the way are its own to check).
    pub fn may_edit(&self, pos: VoxelPos, placing: bool) -> bool {
        self.own()
            .is_some_and(|own| self.edit_allowed(own.pos, pos, placing))
    }

    /// The rules' edit checks on the local world, for a body at `feet`. In a world only the
    /// zone's own columns (a neighbour's ground shows beyond the border, and its chain is not
    /// this session's), and none of its border strip, which nobody edits.
    fn edit_allowed(&self, feet: [i64; 3], pos: VoxelPos, placing: bool) -> bool {
        let c = pos.chunk();
        if self.zone_of(c).is_some_and(|z| z != self.edge.zone) {
            return false;
        }
        let depth = z3r0_sim::border::strip_depth(&self.edge.physics);
        if let Some(borders) = &self.borders
            && z3r0_sim::border::in_border_strip(
                |x, z| (borders.0)(x, z),
                self.edge.zone,
                depth,
                pos,
            )
        {
            return false;
        }
        let eye = [feet[0], feet[1] + z3r0_sim::physics::EYE, feet[2]];
        let account = self.edge.account();
        let may_build = self
            .claims
            .get((c.x, c.z))
            .is_none_or(|shown| shown.claim.may_build(&account));
        let world = &self.world;
        let rules = self.content.rules();
        z3r0_sim::edit_check(&|p| world.voxel(p), rules, eye, pos, placing, may_build).is_ok()
    }

    /// Whether the player's body at `own` or another player's, as last shown, overlaps the
    /// voxel at `pos`.
    fn someone_in(&self, pos: VoxelPos, own: [i64; 3]) -> bool {
        let entity = self.player.own.map(|o| o.entity);
        let newest = self.remote.newest().unwrap_or(0) as f64;
        let others = self
            .remote
            .at(newest)
            .into_iter()
            .filter(|e| Some(e.id) != entity)
            .map(|e| e.pos.map(|c| (c * 1024.0).round() as i64));
        std::iter::once(own)
            .chain(others)
            .any(|p| z3r0_sim::physics::Aabb::player(p).intersects_voxel(pos))
    }

    /// The chain decided on the edit with `nonce`: refused, or applied by the block at
    /// `height`.
    fn settle_edit(&mut self, nonce: u64, refused: bool, height: Option<u64>) {
        if self.edits.settle(&mut self.world, nonce, refused, height) {
            // The client guessed a refusal and the chain applied it: prediction ran without it.
            self.feedback.stats.held_back_applied += 1;
        }
    }

    /// The nonce of the first action sent (`None`: nothing sent yet).
    pub fn first_nonce(&self) -> Option<u64> {
        self.sent.first.as_ref().map(|a| a.action.nonce)
    }

    /// The first action sent's nonce and tick.
    pub fn first_sent(&self) -> Option<(u64, u64)> {
        self.sent
            .first
            .as_ref()
            .map(|a| (a.action.nonce, a.action.tick))
    }

    /// Sends the first action again, unchanged: the chain must refuse the used nonce. Returns
    /// that nonce (`None`: nothing sent yet).
    pub fn replay_first(&mut self) -> Result<Option<u64>, NetError> {
        match &self.sent.first {
            Some(a) => {
                self.edge.send_signed(a)?;
                self.feedback.stats.actions_sent += 1;
                Ok(Some(a.action.nonce))
            }
            None => Ok(None),
        }
    }

    /// Joins the zone if it should (call it every tick until `joined`):
    /// - not through a session key: the account is in the zone while the session lasts, and
    ///   once the account has gone a join would make the session key a player of its own
    ///   (connect again, which delegates anew);
    /// - not before the first snapshot, which tells whether the player is in the zone already
    ///   (a reconnect: a join would only be refused);
    /// - again only a second after the last one if no body has shown up (a datagram may be
    ///   lost).
    pub fn join(&mut self) -> Result<(), NetError> {
        if self.is_session() || self.player.joined || self.feedback.stats.snapshots == 0 {
            return Ok(());
        }
        if self
            .arriving_until
            .is_some_and(|t| std::time::Instant::now() < t)
            || self.search_pending()
        {
            // A body on its way from another zone, or perhaps in one: joining would make a
            // second one.
            return Ok(());
        }
        let tick = self.chain_tick();
        if self
            .player
            .join_sent
            .is_some_and(|t| tick < t.saturating_add(JOIN_RETRY_TICKS))
        {
            return Ok(());
        }
        self.player.join_sent = Some(tick);
        self.act(&Action::Join).map(|_| ())
    }

    /// Sends this tick's input frame (once per target tick) and resends the unexpired ones.
    /// Returns the new frame's nonce (`None`: this tick already had its frame).
    pub fn input(&mut self, frame: InputFrame) -> Result<Option<u64>, NetError> {
        let target = self.input_tick();
        let mut sent = None;
        let refresh = refresh_ticks(self.edge.tick_ms);
        if frame_due(self.sent.last_frame, target, frame, refresh) {
            let signed = self
                .edge
                .send_action(target, Action::Input(frame).encode_to_vec())?;
            sent = Some(signed.action.nonce);
            self.feedback.stats.actions_sent += 1;
            self.sent.inputs.insert(target, signed);
            self.sent.last_frame = Some((target, frame));
            self.player.predictor.sent(target, frame);
        }
        // A copy can only help before its tick's block is proposed.
        let chain = self.chain_tick();
        self.sent.inputs.retain(|&t, _| t >= chain);
        for (t, a) in &self.sent.inputs {
            if *t != target {
                // A copy the node already has is dropped there without a reply.
                let _ = self.edge.send_signed(a);
            }
        }
        Ok(sent)
    }

    /// Handles everything that has arrived, without waiting. A node that failed or stalled
    /// is left for another member's edge (see [`Game::failovers`]).
    pub async fn poll(&mut self) -> Result<(), NetError> {
        let drained = async {
            while let Some(event) = self.edge.try_next_event().await? {
                self.apply(event);
            }
            let version = self.content.version();
            self.content
                .poll(self.edge.chain_tick(), self.edge.connection());
            if self.content.version() != version {
                self.note_content_switch();
            }
            self.resubscribe().await
        }
        .await;
        match drained {
            Err(e) => self.fail_over(e).await?,
            Ok(()) if self.link.last_heard.elapsed() >= STALL_AFTER => {
                let stalled =
                    NetError::Connect(format!("nothing from the node for {STALL_AFTER:?}"));
                if self.fail_over(stalled).await.is_err() {
                    // With nowhere else to go, a stalled node is waited for; the next try
                    // comes a stall later.
                    self.link.last_heard = std::time::Instant::now();
                }
            }
            Ok(()) => {}
        }
        self.tend_borders().await;
        Ok(())
    }

    /// Waits up to `timeout` for one event and handles it (and whatever else is queued).
    pub async fn wait(&mut self, timeout: Duration) -> Result<(), NetError> {
        if let Ok(event) = tokio::time::timeout(timeout, self.edge.next_event()).await {
            match event {
                Ok(event) => self.apply(event),
                Err(e) => self.fail_over(e).await?,
            }
        }
        self.poll().await
    }

    /// Records how long after its tick began the content in force came into force here.
    fn note_content_switch(&mut self) {
        let (Some(active), Some(at)) = (self.content.active(), self.content.active_since()) else {
            return;
        };
        // Content in force before this session began is what it found, not a switch it saw.
        if at <= self.edge.start_tick {
            return;
        }
        let began = self
            .edge
            .genesis_ms()
            .saturating_add(at.saturating_mul(u64::from(self.edge.tick_ms)));
        let lag = now_ms().saturating_sub(began);
        self.feedback
            .stats
            .content_switches
            .push((active.hash, at, lag));
    }

    /// The zone's content as this client follows it.
    pub fn content(&self) -> &ContentFollower {
        &self.content
    }

    /// Fetches published content into `cache` (by default a `z3r0-assets` directory in the
    /// system's temporary directory; `None`: the built-in blocks stay).
    pub fn set_asset_cache(&mut self, cache: Option<z3r0_net::AssetCache>) {
        self.content = ContentFollower::new(cache);
    }

    /// How many times the session moved to another node.
    pub fn failovers(&self) -> u64 {
        self.link.failovers
    }

    /// Bytes received over this session's connections: the zone's nodes', and the
    /// neighbouring zones' watched near a border.
    pub fn rx_bytes(&self) -> u64 {
        self.link.rx_before + self.edge.connection().stats().udp_rx.bytes + self.watches.rx_bytes()
    }

    /// Moves the session to the first other edge that takes it, keeping the world, the
    /// prediction, the edits in flight, the verified chunks (none is downloaded again) and the
    /// nonces. `why` is returned if no other edge does.
    async fn fail_over(&mut self, why: NetError) -> Result<(), NetError> {
        let current = self.link.config.server;
        let candidates: Vec<_> = self
            .link
            .config
            .fallbacks
            .iter()
            .copied()
            .filter(|a| *a != current)
            .collect();
        for server in candidates {
            let mut config = self.link.config.clone();
            config.connect_timeout = FAILOVER_CONNECT;
            config.server = server;
            config.fallbacks.push(current);
            config.fallbacks.retain(|a| *a != server);
            let Ok(mut edge) = EdgeClient::connect(&config, self.link.key.clone()).await else {
                continue;
            };
            edge.resume_from(&self.edge)?;
            tracing::info!(from = %current, to = %server, why = %why, "session moved");
            self.link.rx_before += self.edge.connection().stats().udp_rx.bytes;
            self.edge.close();
            self.edge = edge;
            // The ticks aimed at followed the old node's snapshots, which are not proven: a
            // lying node could have pushed them far ahead, and no frame goes out for a tick
            // before the newest sent. Not later than where the new node puts the chain, then.
            let aim = self.input_tick();
            if let Some((tick, _)) = &mut self.sent.last_frame {
                *tick = (*tick).min(aim);
            }
            self.link.config = config;
            self.link.failovers += 1;
            self.link.last_heard = std::time::Instant::now();
            // Subscribing again reports the chunks held: the new node sends only the rest.
            self.subscription.center = None;
            return self.resubscribe().await;
        }
        Err(why)
    }

    /// Subscribes around the player's chunk when it has moved chunk, dropping chunks beyond
    /// the radius plus one of hysteresis.
    async fn resubscribe(&mut self) -> Result<(), NetError> {
        let Some(own) = self.player.own else {
            return Ok(());
        };
        let center = chunk_of(own.pos);
        if self.subscription.center == Some(center) {
            return Ok(());
        }
        self.subscription.center = Some(center);
        let keep = i32::from(self.subscription.radius) + 1;
        let far: Vec<ChunkPos> = self
            .world
            .chunks()
            .map(|(p, _)| p)
            .filter(|p| {
                let d = (p.x - center.x).pow(2) + (p.y - center.y).pow(2) + (p.z - center.z).pow(2);
                d > keep * keep
            })
            .collect();
        for p in far {
            let _ = self.world.remove_chunk(p);
            self.edits.forget_chunk(p);
            self.edge.cache.remove(&p);
        }
        self.edge.subscribe(center, self.subscription.radius).await
    }

    /// The node sent an edit of a chunk this client no longer holds. Past the radius that is
    /// a race with the last subscription; within it, subscribing again tells the node to send
    /// the chunk whole.
    fn unheld(&mut self, pos: ChunkPos) {
        if self
            .subscription
            .center
            .is_some_and(|c| self.within_radius(c, pos))
        {
            self.subscription.center = None;
        }
    }

    /// Whether chunk `pos` is within the subscription radius of `center` (a sphere of chunks):
    /// one the client should hold.
    fn within_radius(&self, center: ChunkPos, pos: ChunkPos) -> bool {
        let r = i32::from(self.subscription.radius);
        let d = (pos.x - center.x).pow(2) + (pos.y - center.y).pow(2) + (pos.z - center.z).pow(2);
        d <= r * r
    }

    fn apply(&mut self, event: ClientEvent) {
        self.link.last_heard = std::time::Instant::now();
        match event {
            ClientEvent::Snapshot(s) => self.apply_snapshot(&s),
            ClientEvent::Chunk {
                pos,
                height,
                chunk,
                edited,
            } => {
                let zone = self.edge.zone;
                let near = self.subscription.center;
                match self.take_chunk(zone, near, (pos, height, &chunk, &edited)) {
                    ChunkTaken::Shown => {}
                    ChunkTaken::Refused => self.edge.forget(pos),
                    ChunkTaken::WorldFull => {
                        // Not held after all: the node must send it again later (it learns
                        // that from the next subscription).
                        self.edge.forget(pos);
                        self.subscription.center = None;
                    }
                }
            }
            ClientEvent::Unheld { pos } => self.unheld(pos),
            ClientEvent::BadChunk { pos, reason } => {
                self.feedback.stats.bad_chunks += 1;
                // The client dropped it: subscribing again tells the node, which resends it.
                self.subscription.center = None;
                tracing::warn!(?pos, %reason, "chunk rejected");
            }
            ClientEvent::Included(i) => self.apply_included(&i),
            ClientEvent::Refused { nonce, kind } => {
                self.settle_edit(nonce, true, None);
                let refusal = Refusal::Node(kind);
                self.feedback.refused(self.chain_tick(), refusal);
                self.feedback.outcome(Outcome {
                    nonce,
                    refused: Some(refusal),
                });
            }
            ClientEvent::Inventory(inventory) => self.inventory = Some(inventory),
            ClientEvent::Claims { height, claims } => self.claims.apply(height, claims),
            ClientEvent::BadClaim { column, reason } => {
                self.feedback.stats.bad_claims += 1;
                tracing::warn!(?column, %reason, "claim rejected");
            }
            ClientEvent::BadInventory { reason } => {
                tracing::warn!(%reason, "inventory rejected");
            }
            ClientEvent::Content(records) => self.content.set_records(records),
            ClientEvent::BadContent { reason } => {
                tracing::warn!(%reason, "content records rejected");
            }
            ClientEvent::BadReceipts { reason } => {
                tracing::warn!(%reason, "receipts rejected");
            }
            ClientEvent::Header(h) => {
                // A verified header's arrival, from the start of its tick: finality as this
                // player sees it.
                let start = self
                    .edge
                    .genesis_ms()
                    .saturating_add(h.tick.saturating_mul(u64::from(self.edge.tick_ms)));
                self.feedback
                    .finality(now_ms().saturating_sub(start) as f64);
            }
        }
    }

    fn apply_snapshot(&mut self, s: &Snapshot) {
        self.feedback.stats.snapshots += 1;
        self.edits.expire_undecided(&mut self.world, s.tick);
        if self.edge.tick_ms > 0 {
            let behind = (self.clock_ticks() - s.tick as f64).max(0.0);
            self.lag += (behind - self.lag) * 0.1;
        }
        match s.own {
            Some(own) => self.reconcile(s.tick, own),
            None if self.player.joined && self.left_for().is_some() => {
                // The body walked over the border: it is in transit, not gone.
                self.crossed = self.left_for();
            }
            None if self.player.joined => {
                self.player.missing_body += 1;
                if self.player.missing_body >= GONE_AFTER {
                    // Timed out or removed: play again from a new join.
                    self.player = Presence::new();
                    self.feedback
                        .notice(s.tick, "the player is no longer in the zone".into());
                }
            }
            None => {}
        }
        self.remote.push(s.tick, &s.entities);
    }

    /// The neighbouring zone the body was walking into when it vanished: the column its last
    /// known body would reach within a few ticks at its velocity (the snapshot before the exit
    /// still has it on this side), if that is a world's other zone.
    fn left_for(&self) -> Option<u32> {
        let borders = &self.borders.as_ref()?.0;
        let own = self.player.own?;
        (0..=CROSSING_TICKS).find_map(|k| {
            let at = |axis: usize| {
                own.pos[axis]
                    .saturating_add(own.vel[axis].saturating_mul(k))
                    .div_euclid(1024 * 32)
            };
            let zone = borders(i32::try_from(at(0)).ok()?, i32::try_from(at(2)).ok()?)?;
            (zone != self.edge.zone).then_some(zone)
        })
    }

    /// The chain's body for the player at `tick`: prediction reconciles with it.
    fn reconcile(&mut self, tick: u64, own: OwnState) {
        let player = &mut self.player;
        player.missing_body = 0;
        player.joined = true;
        player.joined_at.get_or_insert(tick);
        player.own = Some(own);
        // Where the body was last seen, for the log of a large correction on arrival.
        let before = player
            .in_transit
            .then(|| player.predictor.base().map(|b| (b.tick, b.body.pos)))
            .flatten();
        let reconciled = player.predictor.authoritative(Authoritative {
            tick,
            body: Body {
                pos: own.pos,
                vel: own.vel,
                state: own.state,
            },
            frame: own.frame,
        });
        if std::mem::take(&mut player.in_transit)
            && let Some(e) = reconciled.error
        {
            if e > crate::predict::TOLERANCE {
                // Rare, and what a player sees as a jump at a border: worth a line.
                tracing::info!(
                    tick,
                    error = e,
                    arrived = ?own.pos,
                    frame = ?own.frame,
                    last_seen = ?before,
                    zone = self.edge.zone,
                    "the body arrived away from its prediction"
                );
            }
            let arrivals = &mut self.feedback.stats.arrival_errors;
            arrivals.push_back(e);
            if arrivals.len() > feedback::MAX_ARRIVALS {
                arrivals.pop_front();
            }
        }
        if let Some(e) = reconciled.error
            && e > crate::predict::TOLERANCE
        {
            tracing::debug!(
                tick,
                error = e,
                frame = ?own.frame,
                input_still_held = self.sent.inputs.contains_key(&tick),
                area_loaded = self.area_loaded(),
                pending_edits = self.edits.pending_count(),
                "prediction corrected"
            );
        }
    }

    /// A proven chunk (whole, or edited at the voxel indices in `edited`) after block
    /// `height`, with the player's own edits the chain has not proven yet kept over it.
    /// `false`: the client's world is full and did not take it.
    fn put_chunk(&mut self, pos: ChunkPos, height: u64, chunk: &Chunk, edited: &[u16]) -> bool {
        self.feedback.stats.chunks += 1;
        let own_edits = self.edits.keep_over(pos, height);
        let origin = pos.origin();
        for &index in edited {
            let i = usize::from(index);
            let local = z3r0_voxel::LocalPos::from_index(i);
            let voxel = VoxelPos::new(
                origin.x + i32::from(local.x()),
                origin.y + i32::from(local.y()),
                origin.z + i32::from(local.z()),
            );
            let to = chunk.get_index(i);
            if let Some(from) = self.world.voxel(voxel)
                && from != to
                && !own_edits.iter().any(|(p, _)| *p == voxel)
            {
                self.feedback.block_change(BlockChange {
                    pos: voxel,
                    from,
                    to,
                });
            }
        }
        let _ = self.world.remove_chunk(pos);
        if let Err(e) = self.world.insert_chunk(pos, chunk) {
            tracing::warn!(%e, "client world full");
            return false;
        }
        for (p, to) in own_edits {
            let _ = self.world.set_voxel(p, to);
        }
        true
    }

    /// A proven chunk from a session with `zone`'s edge, subscribed around `near`: shown if
    /// it is of that zone's columns (in a world a zone proves only its own) and within the
    /// subscription's reach (nothing else was asked for).
    fn take_chunk(
        &mut self,
        zone: u32,
        near: Option<ChunkPos>,
        (pos, height, chunk, edited): (ChunkPos, u64, &Chunk, &[u16]),
    ) -> ChunkTaken {
        let reach = i32::from(self.subscription.radius) + 1;
        let far = near.is_some_and(|c| {
            (pos.x - c.x).abs() > reach
                || (pos.y - c.y).abs() > reach
                || (pos.z - c.z).abs() > reach
        });
        if far || self.zone_of(pos).is_some_and(|z| z != zone) {
            self.feedback.stats.foreign_chunks += 1;
            return ChunkTaken::Refused;
        }
        if self.put_chunk(pos, height, chunk, edited) {
            ChunkTaken::Shown
        } else {
            ChunkTaken::WorldFull
        }
    }

    /// In a world, the zone owning chunk `pos`'s column (`None`: not in a world, or beyond it).
    fn zone_of(&self, pos: ChunkPos) -> Option<u32> {
        self.borders.as_ref().and_then(|b| (b.0)(pos.x, pos.z))
    }

    /// A finalized block's receipt for the player: its included nonces and the rules'
    /// refusals among them.
    fn apply_included(&mut self, i: &Included) {
        self.feedback.stats.included += 1;
        for r in &i.rejections {
            // Walls and mid-air jumps are movement feedback, not refusals to show.
            if r.nonce.is_some() {
                self.feedback
                    .refused(i.tick, Refusal::from_rule_code(r.reason));
            }
        }
        for &nonce in &i.nonces {
            let refused = i
                .rejections
                .iter()
                .find(|r| r.nonce == Some(nonce))
                .map(|r| Refusal::from_rule_code(r.reason));
            self.settle_edit(nonce, refused.is_some(), Some(i.height));
            self.feedback.outcome(Outcome { nonce, refused });
        }
    }

    /// Whether the world the player can touch soon has loaded: its chunk, the four beside it
    /// and the one below. Prediction takes a missing chunk for solid, so walking into one
    /// predicts a wall the chain does not have (a correction as the chunk arrives). Players
    /// should stand still until then; after `LOAD_WAIT` ticks it is true regardless.
    pub fn area_loaded(&self) -> bool {
        let Some(own) = self.player.own else {
            return false;
        };
        if self
            .player
            .joined_at
            .is_some_and(|t| self.chain_tick() >= t + LOAD_WAIT)
        {
            return true;
        }
        let c = chunk_of(own.pos);
        [
            (0, 0, 0),
            (1, 0, 0),
            (-1, 0, 0),
            (0, 0, 1),
            (0, 0, -1),
            (0, -1, 0),
        ]
        .iter()
        .all(|&(dx, dy, dz)| {
            let p = ChunkPos::new(c.x + dx, c.y + dy, c.z + dz);
            self.world.chunk(p).is_some()
        })
    }

    /// The claim on chunk column `(x, z)` as finalized and proven (`None`: unclaimed).
    pub fn claim(&self, column: (i32, i32)) -> Option<&ShownClaim> {
        self.claims.get(column)
    }

    /// The owner of the chunk column holding `voxel`, as finalized (`None`: unclaimed).
    pub fn owner_of(&self, voxel: VoxelPos) -> Option<[u8; 32]> {
        let c = voxel.chunk();
        self.claims.get((c.x, c.z)).map(|c| c.claim.owner)
    }

    /// The predicted local body at the input tick (what the player sees), if joined.
    /// Until the world around has streamed in it is the chain's body: chunks not held yet
    /// count as solid in prediction, a floor that is not there (a player spawned above the
    /// ground would be predicted standing in the air while the chain has it fall).
    pub fn predicted(&mut self) -> Option<Body> {
        self.predicted_at(self.input_tick())
    }

    fn predicted_at(&mut self, tick: u64) -> Option<Body> {
        if !self.area_loaded() {
            return self.player.predictor.base().map(|b| b.body);
        }
        let pending = self.edits.pending();
        let physics = self.edge.physics;
        self.player.predictor.predict(
            tick,
            &self.world,
            &pending,
            &physics,
            self.content.rules(),
            self.borders.as_ref().map(|b| &b.0),
        )
    }
}

/// Ticks of `tick_ms` between refreshes of an unchanged frame: [`REFRESH_MS`] rounded down,
/// at least one; every tick on an unpaced chain (`tick_ms` 0), which has no time to keep.
fn refresh_ticks(tick_ms: u32) -> u64 {
    match u64::from(tick_ms) {
        0 => 1,
        ms => (REFRESH_MS / ms).max(1),
    }
}

/// Whether `frame` goes out for `target`, after the newest frame sent (`last`): only for a
/// later tick, and then if it changed or the last one is `refresh` ticks old.
fn frame_due(
    last: Option<(u64, InputFrame)>,
    target: u64,
    frame: InputFrame,
    refresh: u64,
) -> bool {
    last.is_none_or(|(tick, sent)| {
        target > tick && (sent != frame || target >= tick.saturating_add(refresh))
    })
}

#[cfg(test)]
mod tests {
    use super::{INPUT_LEAD, InputFrame, frame_due, refresh_ticks};

    #[test]
    fn an_unchanged_frame_is_refreshed_every_50_ms_or_every_tick_unpaced() {
        assert_eq!(refresh_ticks(16), 3);
        assert_eq!(refresh_ticks(25), 2);
        assert_eq!(refresh_ticks(33), 1);
        assert_eq!(refresh_ticks(50), 1);
        assert_eq!(refresh_ticks(100), 1);
        // Unpaced: ticks have no length (not 50 ticks, as if each lasted a millisecond).
        assert_eq!(refresh_ticks(0), 1);
    }

    #[test]
    fn an_unchanged_frame_goes_out_at_the_refresh_rate_a_change_at_once() {
        let walk = InputFrame {
            forward: 127,
            ..InputFrame::default()
        };
        let turn = InputFrame { yaw: 900, ..walk };
        assert!(frame_due(None, 10, walk, 3));
        // 60 Hz: an unchanged frame every third tick.
        assert!(!frame_due(Some((10, walk)), 11, walk, 3));
        assert!(!frame_due(Some((10, walk)), 12, walk, 3));
        assert!(frame_due(Some((10, walk)), 13, walk, 3));
        assert!(frame_due(Some((10, walk)), 11, turn, 3));
        // 20 Hz: every tick.
        assert!(frame_due(Some((10, walk)), 11, walk, 1));
        // Never for a tick at or before the last one (after a failover to a node whose
        // estimate is behind), changed or not.
        assert!(!frame_due(Some((10, walk)), 10, turn, 1));
        assert!(!frame_due(Some((10, walk)), 8, turn, 1));
    }

    /// At 60 Hz the edge closed honest sessions for "too many datagrams": its budget was
    /// 120/s whatever the tick. It now follows the tick, at a per-tick allowance that must
    /// cover the most a client sends in one tick: the new frame, the resends of the frames
    /// still ahead, an ack and one action.
    #[test]
    fn a_clients_datagrams_per_tick_fit_the_edges_budget_at_60_hz() {
        let per_tick = 1 + INPUT_LEAD + 1 + 1;
        assert!(per_tick <= u64::from(z3r0_net::CLIENT_DATAGRAMS_PER_TICK));
        let edge = z3r0_net::EdgeConfig::for_tick("127.0.0.1:1".parse().unwrap(), 16);
        assert!(u64::from(edge.datagrams_per_sec) >= per_tick * 1000 / 16);
        let slow = z3r0_net::EdgeConfig::for_tick("127.0.0.1:1".parse().unwrap(), 50);
        assert!(u64::from(slow.datagrams_per_sec) >= per_tick * 20);
    }
}
