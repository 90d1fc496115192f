//! Near a border in a world of zones: sessions with the neighbouring zones' edges.
//!
//! A body near a border sees into the neighbour's columns, and walks into them. So while the
//! body is within the subscription radius of another zone's columns, the game holds a second
//! session with an edge of that zone's committee (a *watch*): it never joins, it streams that
//! zone's chunks around the body (proven against that zone's own finalized headers, as every
//! session's are) into the one world the player sees and predicts in, and it shows that zone's
//! players. When the body leaves for that zone (or the watch already sees it there), the watch
//! becomes the session and the old one becomes a watch: no connection to wait for, no chunk to
//! load again, and the prediction goes on from the same world.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use z3r0_net::{ClientConfig, ClientEvent, EdgeClient, NetError, chunk_of};
use z3r0_sim::Inventory;
use z3r0_voxel::ChunkPos;

use super::{Game, ZoneOf, connect_edge};
use crate::interp::{Interpolator, Shown};
use crate::world::{ARRIVAL_WAIT, WorldRoutes};
use z3r0_genesis::ZoneId;

/// Columns past the subscription radius at which a watched zone is let go: a body walking
/// along a border does not open and close sessions over and over.
const UNWATCH_MARGIN: i32 = 2;
/// How long a zone whose watch failed waits before it is tried again.
const WATCH_RETRY: Duration = Duration::from_secs(1);
/// Most zones watched at once: a body at a corner of zones wider than the radius has three
/// neighbours; a world of zones narrower than the radius gets no more than this.
const MAX_WATCHES: usize = 8;
/// Snapshots a second a watch asks for: the neighbour's players are shown from them, a
/// little further in the past than the zone's own ([`Game::neighbours_at`]), and each
/// session costs its edge per snapshot. A watch the game moves to asks for the player's rate.
pub const WATCH_SNAPSHOT_HZ: u16 = 5;
/// Longest a watch's work may take in one poll (its events, its subscription): a neighbour's
/// edge that stops reading or sending never holds up the game's tick; the watch is let go.
const WATCH_IO: Duration = Duration::from_millis(10);
/// Longest one round of the search for a body in other zones waits for its zones' answers
/// ([`MAX_WATCHES`] zones a round, nearest first): the next round, or the join, follows.
const SEARCH_WAIT: Duration = Duration::from_secs(2);
/// Longest the search holds the join, once every zone was asked, for zones that proved the
/// body only too long ago to follow or did not answer: asked again every [`SEARCH_WAIT`], each
/// over a new session (a new proof), meanwhile. The body may be there still (that zone's chain
/// or edge stalled), and a join would make a second one; a zone down for good must not keep
/// the player out for ever.
const SEARCH_HOLD: Duration = Duration::from_secs(10);
/// Oldest a neighbour's proof of the body may be, by the world's clock, for the session to
/// follow it there: a proof shows where the body was at its header's tick, and a hostile edge
/// may replay one from before the body left. Every zone of a world keeps one clock, and an
/// honest edge proves against its newest header, well within this.
const SIGHTING_MAX_AGE: Duration = Duration::from_secs(2);
/// Most events handled from one watch per poll: a flood from a neighbour's edge costs a
/// bounded amount per tick (the rest wait in its bounded queue).
const EVENTS_PER_POLL: usize = 256;

type Opening = tokio::task::JoinHandle<Result<(EdgeClient, ClientConfig), NetError>>;

/// One neighbouring zone's session, as far as it has got.
enum Slot {
    /// Connecting in the background: the game never waits for a neighbour's handshake.
    Opening(Opening),
    Open(Box<Watch>),
    /// It failed (to connect, or later); tried again from this instant on.
    Failed(Instant),
}

/// A session with a neighbouring zone's edge that never joins.
struct Watch {
    edge: EdgeClient,
    config: ClientConfig,
    /// That zone's players, interpolated as the game's own zone's are.
    remote: Interpolator,
    /// The chunk the watch last subscribed around.
    center: Option<ChunkPos>,
    /// Its newest snapshot shows the player's body (what the edge says; not proven).
    seen: bool,
    /// Its edge's proven answer: the account's inventory there, its proofs checked against
    /// that zone's certified header (they bind the entity to the account, and the account to
    /// this key), or `Err` with why it was refused. `None`: none came yet.
    proven: Option<Result<Inventory, String>>,
    /// A snapshot came.
    snapshot: bool,
}

impl Watch {
    fn new(edge: EdgeClient, config: ClientConfig, remote: Interpolator) -> Self {
        Self {
            edge,
            config,
            remote,
            center: None,
            seen: false,
            proven: None,
            snapshot: false,
        }
    }

    /// The body is in that zone: its edge shows it, and proved it to this key at a tick no
    /// older than `oldest` (the session keeps the tick of the header that proved `proven`).
    /// An edge's snapshots alone are not proof: a hostile neighbour could claim any body; nor
    /// is an old proof: it could be replayed after the body left.
    fn arrived(&self, oldest: u64) -> bool {
        self.seen
            && matches!(self.proven, Some(Ok(_)))
            && self.edge.inventory_tick().is_some_and(|t| t >= oldest)
    }

    /// The watch knows whether the body is there: its edge shows none, or shows one and gave
    /// its proof (or a proof that failed).
    fn answered(&self) -> bool {
        self.snapshot && (!self.seen || self.proven.is_some())
    }

    /// The edge shows the body and proved it, at whatever tick: it was there then.
    fn proved(&self) -> bool {
        self.seen && matches!(self.proven, Some(Ok(_)))
    }
}

/// Where a session in a world that has no body yet looks for one before it joins: a player
/// coming back may have left its body in another zone, and a join would make a second one.
#[derive(Debug, Default)]
enum Search {
    /// No snapshot yet, or not in a world.
    #[default]
    NotYet,
    /// Watches of the zones `asked` are asked until the instant `until`; the zones in `rest`,
    /// nearest first, are asked in the rounds after.
    Asking {
        until: Instant,
        asked: BTreeSet<u32>,
        rest: std::collections::VecDeque<u32>,
        /// Zones asked that proved the body only too long ago to follow, or did not answer.
        doubtful: BTreeSet<u32>,
        /// When the search began to hold the join for `doubtful` zones ([`SEARCH_HOLD`]):
        /// each round from then on lasts [`SEARCH_WAIT`].
        held: Option<Instant>,
    },
    /// The body was here, was found, or is nowhere the search looked.
    Done,
}

/// The game's watches, by zone number.
#[derive(Default)]
pub(super) struct Watches {
    slots: BTreeMap<u32, Slot>,
    /// Bytes received over watches already closed.
    rx_closed: u64,
    /// Chunk columns from another zone's within which it is watched (`None`: the
    /// subscription radius).
    radius: Option<u8>,
    search: Search,
    /// Told each zone the session follows the body into ([`Game::on_zone_entered`]).
    on_enter: Option<ZoneHook>,
}

/// What a game calls with the zone each time its session follows the body into another.
type ZoneHook = Box<dyn FnMut(u32) + Send + Sync>;

impl std::fmt::Debug for Watches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watches")
            .field("zones", &self.slots.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Drop for Watches {
    fn drop(&mut self) {
        for (_, slot) in std::mem::take(&mut self.slots) {
            self.close(slot);
        }
    }
}

impl Watches {
    pub(super) fn rx_bytes(&self) -> u64 {
        let open: u64 = self
            .slots
            .values()
            .filter_map(|s| match s {
                Slot::Open(w) => Some(w.edge.connection().stats().udp_rx.bytes),
                _ => None,
            })
            .sum();
        self.rx_closed + open
    }

    fn close(&mut self, slot: Slot) {
        match slot {
            Slot::Opening(task) => task.abort(),
            Slot::Open(watch) => {
                self.rx_closed += watch.edge.connection().stats().udp_rx.bytes;
                watch.edge.close();
            }
            Slot::Failed(_) => {}
        }
    }
}

/// Asks `edge` for `hz` snapshots a second, waiting at most [`WATCH_IO`]: a session that
/// does not take it goes on at its old rate.
async fn pace(edge: &mut EdgeClient, hz: u16) {
    match tokio::time::timeout(WATCH_IO, edge.set_snapshot_rate(hz)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!(zone = edge.zone, error = %e, "snapshot rate not sent"),
        Err(_) => tracing::debug!(zone = edge.zone, "snapshot rate not sent in time"),
    }
}

/// The zones other than `own` owning a chunk column within `r` columns (either axis) of
/// `column`, and those within `r + margin`, in one pass over the columns.
fn zones_within(
    borders: &ZoneOf,
    own: u32,
    column: (i32, i32),
    r: i32,
    margin: i32,
) -> (BTreeSet<u32>, BTreeSet<u32>) {
    let (mut near, mut keep) = (BTreeSet::new(), BTreeSet::new());
    let outer = r.saturating_add(margin);
    for x in column.0.saturating_sub(outer)..=column.0.saturating_add(outer) {
        for z in column.1.saturating_sub(outer)..=column.1.saturating_add(outer) {
            let Some(zone) = borders(x, z).filter(|&zone| zone != own) else {
                continue;
            };
            keep.insert(zone);
            let away = x.abs_diff(column.0).max(z.abs_diff(column.1));
            if i64::from(away) <= i64::from(r) {
                near.insert(zone);
            }
        }
    }
    (near, keep)
}

impl Game {
    /// Watches a neighbouring zone while the body is within `columns` chunk columns of it
    /// (0: never; the zone is followed by opening a session when the body crosses). By default
    /// the subscription radius: the player sees the neighbour's ground as far as its own.
    pub fn set_watch_radius(&mut self, columns: u8) {
        self.watches.radius = Some(columns);
    }

    /// Calls `hook` with the zone each time the session follows the body into another zone of
    /// the world (a player binary remembers it there, so a crash leaves the zone it was in).
    pub fn on_zone_entered(&mut self, hook: impl FnMut(u32) + Send + Sync + 'static) {
        self.watches.on_enter = Some(Box::new(hook));
    }

    /// The neighbouring zones with a session open now (near a border, in a world).
    pub fn watched_zones(&self) -> Vec<u32> {
        self.watches
            .slots
            .iter()
            .filter(|(_, s)| matches!(s, Slot::Open(_)))
            .map(|(&z, _)| z)
            .collect()
    }

    /// The players of the neighbouring zones watched near a border, at `time` (ticks) less
    /// the time between two of a watch's snapshots (so they move smoothly between its sparser
    /// snapshots), with the zone each is in (entity ids are each zone's own).
    pub fn neighbours_at(&self, time: f64) -> Vec<(u32, Shown)> {
        let spacing = 1000.0 / f64::from(WATCH_SNAPSHOT_HZ) / f64::from(self.edge.tick_ms.max(1));
        let time = time - spacing;
        self.watches
            .slots
            .iter()
            .filter_map(|(&zone, s)| match s {
                Slot::Open(w) => Some((zone, w)),
                _ => None,
            })
            .flat_map(|(zone, w)| w.remote.at(time).into_iter().map(move |s| (zone, s)))
            .collect()
    }

    /// Moves the session to another zone of the world, on `edge` (opened with `config`): the
    /// world, the prediction and the counters stay; what belonged to the old zone's chain
    /// (inputs in flight, claims, inventory) goes; the old session becomes a watch of the zone
    /// left behind. The player waits for its body rather than joining ([`ARRIVAL_WAIT`]).
    /// Each session is asked for the snapshot rate of its new part.
    pub async fn enter_zone(&mut self, mut edge: EdgeClient, mut config: ClientConfig) {
        let rate = self.link.config.snapshot_hz;
        if config.snapshot_hz != rate {
            config.snapshot_hz = rate;
            pace(&mut edge, rate).await;
        }
        let mut old_edge = std::mem::replace(&mut self.edge, edge);
        let mut old_config = std::mem::replace(&mut self.link.config, config);
        old_config.snapshot_hz = WATCH_SNAPSHOT_HZ;
        pace(&mut old_edge, WATCH_SNAPSHOT_HZ).await;
        let mut old_remote = std::mem::take(&mut self.remote);
        if let Some(own) = self.player.own {
            // The body in the zone left behind is no one else to show there.
            old_remote.forget(own.entity);
        }
        let left = old_edge.zone;
        if let Some(slot) = self.watches.slots.remove(&self.edge.zone) {
            // A watch of this zone still opening (the session came by `cross`).
            self.watches.close(slot);
        }
        self.link.last_heard = Instant::now();
        let player = &mut self.player;
        player.joined = false;
        player.join_sent = None;
        player.missing_body = 0;
        player.joined_at = None;
        player.in_transit = true;
        self.edits.abandon(&mut self.world);
        self.sent.inputs.clear();
        self.sent.last_frame = None;
        self.claims = super::Claims::default();
        self.inventory = None;
        self.subscription.center = None;
        self.crossed = None;
        self.arriving_until = Some(Instant::now() + ARRIVAL_WAIT);
        self.feedback.stats.zone_switches += 1;
        if let Some(hook) = self.watches.on_enter.as_mut() {
            hook(self.edge.zone);
        }
        tracing::info!(
            from = left,
            to = self.edge.zone,
            "followed the body into the next zone"
        );
        let watch = Watch::new(old_edge, old_config, old_remote);
        if let Some(slot) = self.watches.slots.insert(left, Slot::Open(Box::new(watch))) {
            self.watches.close(slot);
        }
    }

    /// Whether a body is expected here from another zone ([`Game::expect_arrival`], or a move
    /// to this zone): nothing pulls the session elsewhere meanwhile.
    fn awaiting_arrival(&self) -> bool {
        self.player.in_transit || self.arriving_until.is_some_and(|t| Instant::now() < t)
    }

    /// In a world: opens, feeds and closes the watches of the zones near the body (or, with no
    /// body yet, of the zones it may be in), and moves the session to a watched zone the body
    /// went into. A watch's failure never ends the game: the zone is tried again a little
    /// later.
    pub(super) async fn tend_borders(&mut self) {
        let Some((routes, index)) = self.routes.clone() else {
            return;
        };
        let borders = routes.borders();
        let center = self.player.own.map(|own| chunk_of(own.pos));
        let (near, keep) = match center {
            Some(center) => {
                self.watches.search = Search::Done;
                self.zones_near(&borders, center)
            }
            None => self.zones_to_search(&routes),
        };
        let mut slots = std::mem::take(&mut self.watches.slots);
        let (gone, kept): (BTreeMap<_, _>, BTreeMap<_, _>) =
            slots.into_iter().partition(|(z, _)| !keep.contains(z));
        slots = kept;
        for (zone, slot) in gone {
            self.watches.close(slot);
            self.drop_zone_chunks(zone);
        }
        for zone in near {
            if !slots.contains_key(&zone) && slots.len() >= MAX_WATCHES {
                break;
            }
            let retry = match slots.get(&zone) {
                None => true,
                Some(Slot::Failed(at)) => at.elapsed() >= WATCH_RETRY,
                Some(_) => false,
            };
            if let (true, Some(mut config)) = (retry, routes.config(zone, index)) {
                config.snapshot_hz = WATCH_SNAPSHOT_HZ;
                let key = self.link.key.clone();
                let task = tokio::spawn(async move { connect_edge(&config, key).await });
                slots.insert(zone, Slot::Opening(task));
            }
        }
        for (&zone, slot) in slots.iter_mut() {
            let taken = std::mem::replace(slot, Slot::Failed(Instant::now()));
            *slot = self.advance(zone, taken, center).await;
        }
        self.watches.slots = slots;
        self.follow_watched().await;
    }

    /// The zones to watch near the body in chunk `center`, and those to keep watching.
    fn zones_near(&self, borders: &ZoneOf, center: ChunkPos) -> (BTreeSet<u32>, BTreeSet<u32>) {
        let radius = i32::from(self.watches.radius.unwrap_or(self.subscription.radius));
        if radius == 0 {
            return Default::default();
        }
        let column = (center.x, center.z);
        zones_within(borders, self.edge.zone, column, radius, UNWATCH_MARGIN)
    }

    /// With no body yet: once this zone's first snapshot showed none, every other zone of the
    /// world is asked whether the body is there, nearest first, in rounds of at most
    /// [`MAX_WATCHES`] watches; a round ends when each has answered or after [`SEARCH_WAIT`].
    /// Meanwhile the player does not join ([`Game::join`]). A player's body may be anywhere in
    /// the world, and a join would make it a second one.
    fn zones_to_search(&mut self, routes: &WorldRoutes) -> (BTreeSet<u32>, BTreeSet<u32>) {
        if matches!(self.watches.search, Search::NotYet) {
            if self.feedback.stats.snapshots == 0 || self.player.joined || self.awaiting_arrival() {
                return Default::default();
            }
            let here = ZoneId::from_number(self.edge.zone);
            let distance = |z: u32| {
                let there = ZoneId::from_number(z);
                here.x.abs_diff(there.x) + here.z.abs_diff(there.z)
            };
            let mut others: Vec<u32> = routes.zones().filter(|&z| z != self.edge.zone).collect();
            others.sort_by_key(|&z| (distance(z), z));
            self.watches.search = Search::Asking {
                until: Instant::now(),
                asked: BTreeSet::new(),
                rest: others.into(),
                doubtful: BTreeSet::new(),
                held: None,
            };
        }
        let found = self.round_found_zones();
        let beside = self.beside_found(&found);
        let heard = !self.round_pending();
        let round_over = heard && found.is_empty();
        let settled = self.player.joined || self.awaiting_arrival();
        let doubtful_now = if round_over {
            self.round_doubtful_zones()
        } else {
            Vec::new()
        };
        let Search::Asking {
            until,
            asked,
            rest,
            doubtful,
            ..
        } = &mut self.watches.search
        else {
            return Default::default();
        };
        if !round_over {
            if !heard || beside.is_empty() {
                return (BTreeSet::new(), asked.clone());
            }
            rest.retain(|z| !beside.contains(z));
            *asked = found.iter().chain(&beside).copied().collect();
            self.feedback.stats.zones_searched += beside.len() as u64;
            *until = Instant::now() + SEARCH_WAIT;
            return (asked.clone(), asked.clone());
        }
        doubtful.retain(|z| !asked.contains(z));
        doubtful.extend(doubtful_now);
        if settled {
            self.watches.search = Search::Done;
            return Default::default();
        }
        if rest.is_empty() {
            return match self.hold_round() {
                Some(asked) => (asked.clone(), asked),
                None => {
                    self.watches.search = Search::Done;
                    Default::default()
                }
            };
        }
        let count = rest.len().min(MAX_WATCHES);
        *asked = rest.drain(..count).collect();
        self.feedback.stats.zones_searched += count as u64;
        *until = Instant::now() + SEARCH_WAIT;
        (asked.clone(), asked.clone())
    }

    /// Once every zone was asked and none proved the body lately: the zones that proved it
    /// too long ago, or never answered, are asked again in a round of [`SEARCH_WAIT`], over
    /// new sessions, until [`SEARCH_HOLD`] has passed since the first such round. `None`: no
    /// zone left in doubt, or the hold is over (the player joins).
    fn hold_round(&mut self) -> Option<BTreeSet<u32>> {
        let Search::Asking {
            until,
            asked,
            doubtful,
            held,
            ..
        } = &mut self.watches.search
        else {
            return None;
        };
        let since = *held.get_or_insert_with(Instant::now);
        if doubtful.is_empty() || since.elapsed() >= SEARCH_HOLD {
            return None;
        }
        *asked = doubtful.clone();
        *until = Instant::now() + SEARCH_WAIT;
        let again = asked.clone();
        self.feedback.stats.zones_searched += again.len() as u64;
        for zone in &again {
            if let Some(slot) = self.watches.slots.remove(zone) {
                self.watches.close(slot);
            }
        }
        Some(again)
    }

    /// The zones of the search's round that may hold the body though none proved it lately:
    /// their edge proved it at an older tick, or gave no answer.
    fn round_doubtful_zones(&self) -> Vec<u32> {
        let Search::Asking { asked, .. } = &self.watches.search else {
            return Vec::new();
        };
        asked
            .iter()
            .copied()
            .filter(|z| match self.watches.slots.get(z) {
                Some(Slot::Open(w)) => w.proved() || !w.answered(),
                _ => true,
            })
            .collect()
    }

    /// The key was made for this session: it has no body anywhere, so in a world the session
    /// joins without first asking every other zone for one.
    pub fn new_player(&mut self) {
        self.watches.search = Search::Done;
    }

    /// Whether the search for a body elsewhere is still going: a round waits for an answer,
    /// or zones are left to ask.
    pub(super) fn search_pending(&self) -> bool {
        match &self.watches.search {
            Search::Asking {
                rest,
                doubtful,
                held,
                ..
            } => {
                let hold_left = held.is_none_or(|t| t.elapsed() < SEARCH_HOLD);
                !rest.is_empty()
                    || self.round_pending()
                    || (hold_left
                        && (!doubtful.is_empty() || !self.round_doubtful_zones().is_empty()))
            }
            _ => false,
        }
    }

    /// The zones of the search's round whose watches prove the body there (the game follows
    /// one before the next round closes its watch).
    fn round_found_zones(&self) -> Vec<u32> {
        let Search::Asking { asked, .. } = &self.watches.search else {
            return Vec::new();
        };
        let oldest = self.oldest_sighting();
        asked
            .iter()
            .copied()
            .filter(
                |z| matches!(self.watches.slots.get(z), Some(Slot::Open(w)) if w.arrived(oldest)),
            )
            .collect()
    }

    /// The zones beside those proving the body (`found`) that the search has not asked yet, as
    /// many as a round's watches allow. A proof may be up to [`SIGHTING_MAX_AGE`] old
    /// (replayed by a lying edge, or the body crossed since): by now the body can only be
    /// where it was proven or beside it, so these are asked before the session follows the
    /// freshest proof.
    fn beside_found(&self, found: &[u32]) -> Vec<u32> {
        let Search::Asking { rest, .. } = &self.watches.search else {
            return Vec::new();
        };
        rest.iter()
            .copied()
            .filter(|&z| found.iter().any(|&f| adjacent(f, z)))
            .take(MAX_WATCHES.saturating_sub(found.len()))
            .collect()
    }

    /// Whether the search's round waits for a zone's answer still.
    fn round_pending(&self) -> bool {
        let Search::Asking {
            until, asked, held, ..
        } = &self.watches.search
        else {
            return false;
        };
        // A round of the hold lasts its whole time: a zone still stalled answers at once.
        Instant::now() < *until
            && (held.is_some()
                || asked.iter().any(|z| match self.watches.slots.get(z) {
                    Some(Slot::Open(w)) => !w.answered(),
                    Some(Slot::Opening(_)) => true,
                    Some(Slot::Failed(_)) | None => false,
                }))
    }

    /// One watch's slot after this poll: opened, fed, or failed.
    async fn advance(&mut self, zone: u32, slot: Slot, center: Option<ChunkPos>) -> Slot {
        match slot {
            Slot::Opening(task) if task.is_finished() => match task.await {
                Ok(Ok((edge, config))) => {
                    Slot::Open(Box::new(Watch::new(edge, config, Interpolator::default())))
                }
                Ok(Err(e)) => {
                    tracing::debug!(zone, error = %e, "no watch of the neighbouring zone");
                    Slot::Failed(Instant::now())
                }
                Err(_) => Slot::Failed(Instant::now()),
            },
            Slot::Open(mut watch) => {
                let fed = tokio::time::timeout(WATCH_IO, self.feed(zone, &mut watch, center))
                    .await
                    .unwrap_or_else(|_| Err(NetError::Connect("the watch took too long".into())));
                match fed {
                    Ok(()) => Slot::Open(watch),
                    Err(e) => {
                        tracing::debug!(zone, error = %e, "the watch of a neighbouring zone ended");
                        self.watches.close(Slot::Open(watch));
                        Slot::Failed(Instant::now())
                    }
                }
            }
            other => other,
        }
    }

    /// Handles what a watch of `zone` received, and subscribes it around `center` when the
    /// body moved chunk (a watch searching for a body streams no chunks).
    async fn feed(
        &mut self,
        zone: u32,
        watch: &mut Watch,
        center: Option<ChunkPos>,
    ) -> Result<(), NetError> {
        for _ in 0..EVENTS_PER_POLL {
            let Some(event) = watch.edge.try_next_event().await? else {
                break;
            };
            match event {
                ClientEvent::Snapshot(s) => {
                    watch.seen = s.own.is_some();
                    watch.snapshot = true;
                    watch.remote.push(s.tick, &s.entities);
                }
                ClientEvent::Inventory(inventory) => {
                    watch.proven = Some(Ok(inventory));
                    let proven_at = watch.edge.inventory_tick();
                    if proven_at < Some(self.oldest_sighting()) {
                        tracing::warn!(
                            zone,
                            proven_at,
                            now = self.edge.chain_tick(),
                            "a neighbour's edge proves the body with an old header: not followed"
                        );
                    }
                }
                ClientEvent::BadInventory { reason } => {
                    tracing::warn!(zone, %reason, "a neighbour's edge claims the body unproven");
                    watch.proven = Some(Err(reason));
                }
                ClientEvent::Chunk {
                    pos,
                    height,
                    chunk,
                    edited,
                } => {
                    let taken = self.take_chunk(zone, watch.center, (pos, height, &chunk, &edited));
                    if !matches!(taken, super::ChunkTaken::Shown) {
                        // Not resubscribed for: a full world, or chunks nobody asked for, must
                        // not turn into a subscription every poll.
                        watch.edge.forget(pos);
                    }
                }
                ClientEvent::Unheld { pos }
                    if watch.center.is_some_and(|c| self.within_radius(c, pos)) =>
                {
                    watch.center = None;
                }
                ClientEvent::BadChunk { .. } => watch.center = None,
                // Receipts, claims and the rest concern players of that zone.
                _ => {}
            }
        }
        let Some(center) = center else {
            return Ok(());
        };
        if watch.center != Some(center) {
            // Chunks the game dropped (the session's own subscription moved on) are sent
            // again when near.
            let dropped: Vec<ChunkPos> = watch
                .edge
                .cache
                .keys()
                .copied()
                .filter(|p| !self.world.contains_chunk(*p))
                .collect();
            for p in dropped {
                watch.edge.forget(p);
            }
            watch
                .edge
                .subscribe(center, self.subscription.radius)
                .await?;
            watch.center = Some(center);
        }
        Ok(())
    }

    /// The chunks of `zone`'s columns leave the world with its watch (never the session's own
    /// zone's).
    fn drop_zone_chunks(&mut self, zone: u32) {
        if zone == self.edge.zone {
            return;
        }
        let theirs: Vec<ChunkPos> = self
            .world
            .chunks()
            .map(|(p, _)| p)
            .filter(|&p| self.zone_of(p) == Some(zone))
            .collect();
        for p in theirs {
            let _ = self.world.remove_chunk(p);
            self.edits.forget_chunk(p);
        }
    }

    /// The oldest tick a neighbour's proof of the body may be at to be followed now
    /// ([`SIGHTING_MAX_AGE`] behind this session's reading of the world's clock).
    fn oldest_sighting(&self) -> u64 {
        let max_age = SIGHTING_MAX_AGE.as_millis() as u64 / u64::from(self.edge.tick_ms.max(1));
        self.edge.chain_tick().saturating_sub(max_age)
    }

    /// Moves the session to a watched zone the body left for, or is in while this zone's
    /// snapshots lack it. Never while the session waits for the body to arrive, nor while it
    /// has the body: a key with bodies in two zones (a player that joined again) stays put.
    /// A body seen leaving for one zone is followed only there, whatever another zone's edge
    /// says (snapshots are not proven).
    async fn follow_watched(&mut self) {
        if self.round_pending() || !self.beside_found(&self.round_found_zones()).is_empty() {
            // A search's round is heard out first, and the zones beside one proving the body
            // are asked too: of two zones that prove the body, the one that answers first may
            // be replaying a proof from before the body left.
            return;
        }
        let oldest = self.oldest_sighting();
        let player = &self.player;
        let lost_here = !self.awaiting_arrival()
            && (self.crossed.is_some() || !player.joined || player.missing_body > 0);
        // The freshest proof wins.
        let arrived = self
            .watches
            .slots
            .iter()
            .filter_map(|(&z, s)| match s {
                Slot::Open(w)
                    if w.arrived(oldest) && lost_here && self.crossed.is_none_or(|c| c == z) =>
                {
                    Some((w.edge.inventory_tick(), z))
                }
                _ => None,
            })
            .max()
            .map(|(_, z)| z);
        let open = |z: u32| matches!(self.watches.slots.get(&z), Some(Slot::Open(_)));
        let Some(to) = arrived.or(self.crossed.filter(|&z| open(z))) else {
            return;
        };
        let Some(Slot::Open(watch)) = self.watches.slots.remove(&to) else {
            return;
        };
        let Watch {
            edge,
            config,
            remote,
            proven,
            ..
        } = *watch;
        self.enter_zone(edge, config).await;
        self.remote = remote;
        // The watch took the new zone's proven inventory: the session will not get it again.
        if let Some(Ok(inventory)) = proven {
            self.inventory = Some(inventory);
        }
        self.feedback.stats.seamless_switches += 1;
    }
}

/// Whether zones `a` and `b` touch, on a side or at a corner: a body crosses from one to the
/// other directly.
fn adjacent(a: u32, b: u32) -> bool {
    let (a, b) = (ZoneId::from_number(a), ZoneId::from_number(b));
    a != b && a.x.abs_diff(b.x) <= 1 && a.z.abs_diff(b.z) <= 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn zones_near_a_column_are_the_others_within_the_radius() {
        // Zone 0 west of x = 0, zone 1 east of it, zone 2 north of z = 10; nothing past x = 20.
        let borders: ZoneOf = Arc::new(|x, z| match (x, z) {
            (20.., _) => None,
            (_, 10..) => Some(2),
            (..0, _) => Some(0),
            _ => Some(1),
        });
        let near = |column, r| zones_within(&borders, 0, column, r, 0).0;
        assert!(near((-5, 0), 3).is_empty(), "four columns from the border");
        assert_eq!(near((-3, 0), 3), BTreeSet::from([1]));
        assert_eq!(near((-1, 8), 2), BTreeSet::from([1, 2]), "a corner");
        assert_eq!(zones_within(&borders, 1, (18, 0), 4, 0).0, BTreeSet::new());
        let corner = zones_within(&borders, 2, (i32::MIN, i32::MAX), 3, 0).0;
        assert!(corner.is_empty(), "no overflow at the ends: {corner:?}");
        // One pass gives both rings: near within 1, kept within 1 + 2.
        let (near1, keep3) = zones_within(&borders, 0, (-3, 0), 1, 2);
        assert_eq!((near1, keep3), (BTreeSet::new(), BTreeSet::from([1])));
    }
}
