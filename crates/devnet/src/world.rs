//! `z3r0 devnet --zones XxZ`: a world of zones on this machine. The pool's validators run as
//! `z3r0 node` processes, each a replica of every zone it is seated on; their synthetic
//! players (`--load`) run east and west across the borders, so bodies hand over between the
//! zones' chains all the time. The report gives each zone's blocks per second, finality and
//! agreement, the handoffs (count, latency from the exit's block to the entry's, bodies lost
//! or entered twice), and CPU per process and per zone replica.
//!
//! `--forgers N` makes N of the validators' relays forge handoffs besides the honest ones
//! (`z3r0 node --byzantine` on a world); the report counts each kind they sent, and any that
//! a block applied. `--bots N` roaming players over QUIC run east and west across the
//! borders, each following its body to the next zone's edge ([`roam`]); `--cheaters N`
//! cheating players (the zone devnet's cheat script) play in the zones in turn, and the
//! report counts their cheats: any accepted fails the run. `--fault pause:V:SECS[@AT]` and
//! `--fault kill:V[@AT]` stop or kill pool validator V's process, `--fault skew:V:±MS` runs
//! its clock off (it paces every zone it is seated on by it), and `--churn` makes the
//! roaming players leave and come back as new ones, as in a zone devnet.
//!
//! A game's world (`GameParts`): the world genesis names its plugins and its pack, so every
//! zone runs them from block 1, and every third roaming player plays the game's script
//! instead of roaming east and west (it still follows its body across borders); the report
//! adds the game's section, as a zone devnet's does.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use z3r0_genesis::{HandoffLine, WorldGenesis, ZoneId};

use super::roam::{self, RoamStats};
use super::stats::{AuditTail, LineTail, RootLedger, quantile};
use super::stores::{MemoryStores, StoresReport};
use super::supervisor::{Validator, log_tails};
use super::{DevnetArgs, Progress, Quantiles, now_ms, on_interrupt, round, supervise};

/// Synthetic inputs a second each validator generates when `--load` is not given: enough
/// runners crossing to measure handoffs, little enough to leave the cores to the chains.
const DEFAULT_LOAD: u32 = 40;
/// An exit older than this at the end that never entered counts as lost, not in transit.
const LOST_AFTER_MS: u64 = 5_000;
/// The dashboard's percentiles cover this much of the run, up to the newest figures: a
/// publish sorts what is recent, not the whole run (twice a second, for hours).
const RECENT_MS: u64 = 30_000;

/// Parses `XxZ` (e.g. `2x2`).
pub fn parse_zones(text: &str) -> Result<[u16; 2], String> {
    let (x, z) = text
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{text:?} is not a grid (try 2x2)"))?;
    let axis = |v: &str| {
        v.trim()
            .parse::<u16>()
            .map_err(|_| format!("{text:?} is not a grid (try 2x2)"))
    };
    Ok([axis(x)?, axis(z)?])
}

/// The report's fields, exactly.
#[derive(Debug, Serialize)]
struct WorldReport {
    zones_grid: [u16; 2],
    committee_size: usize,
    duration_s: f64,
    load_per_validator: u32,
    zones: Vec<ZoneReport>,
    validators: Vec<ValidatorReport>,
    handoffs: HandoffReport,
    handoff_cheats: CheatReport,
    players: PlayersReport,
    player_cheats: PlayerCheatReport,
    /// The faults injected (`--fault`), as given.
    faults: Vec<String>,
    /// Validators left stopped because a restart could not help (a diverged state): out of the
    /// root agreement of every zone they sit on.
    halted: Vec<super::HaltReport>,
    /// Where the validators kept their stores.
    stores: StoresReport,
    /// A game built on the engine: its plugins, its pack, its players' actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    game: Option<super::game::GameReport>,
}

/// The cheating players' cheat actions (`z3r0_client::Bot`'s cheat script).
#[derive(Debug, Serialize)]
struct PlayerCheatReport {
    cheaters: usize,
    sent: u64,
    refused: BTreeMap<String, u64>,
    /// Cheat actions a block applied (must be 0).
    accepted: u64,
    /// Sent, but no outcome heard (lost with a session, or in flight at the end).
    unheard: u64,
}

/// The roaming players over QUIC.
#[derive(Debug, Serialize)]
struct PlayersReport {
    bots: usize,
    /// Playing at the end (their body in a snapshot).
    connected: usize,
    /// Times a body left a zone for a neighbour, as its player saw it.
    crossings: u64,
    /// Of those, the times its player had the body back in the neighbour's snapshots.
    arrivals: u64,
    /// Of the crossings, those to a zone its player watched already near the border.
    seamless: u64,
    /// From the first snapshot without the body (or, for a watched zone, the first with it in
    /// the neighbour's watch, whichever came first) to the body in the neighbour's session.
    gap_ms: Quantiles,
    /// How far each player's prediction was from its body as it arrived, centimetres.
    arrival_correction_cm: Quantiles,
    /// Crossings after which the body did not arrive within 5 s.
    lost: u64,
    /// Times a player left to come back as a new one (`--churn`).
    lives_ended: u64,
    actions_applied: u64,
    actions_refused: u64,
    /// Zones the players' sessions asked for a body before joining.
    zones_searched: u64,
    /// Times a session with no body yet moved to the zone its search found the body in (a
    /// resumed world's players): not counted as crossings.
    found_elsewhere: u64,
    /// The honest players' refusals by reason.
    actions_refused_by: BTreeMap<String, u64>,
}

/// The forging relays' handoff attacks.
#[derive(Debug, Serialize)]
struct CheatReport {
    /// Validators whose relays forge.
    forgers: Vec<usize>,
    /// Forged imports sent, by kind.
    sent: BTreeMap<String, u64>,
    /// Forged imports some block applied (must be 0).
    accepted: u64,
}

#[derive(Debug, Serialize)]
struct ZoneReport {
    zone: String,
    number: u32,
    committee: Vec<usize>,
    blocks_finalized: u64,
    blocks_per_s: f64,
    finality_ms: Quantiles,
    longest_block_gap_ms: Option<u64>,
    state_roots_agree: bool,
}

#[derive(Debug, Serialize)]
struct ValidatorReport {
    validator: usize,
    zones: usize,
    cpu_cores: f64,
    cpu_cores_per_zone: f64,
    rss_mb: f64,
    restarts: u32,
}

#[derive(Debug, Serialize)]
struct HandoffReport {
    /// Exits finalized within the window.
    exits: u64,
    /// Of those, the ones that entered their destination.
    entered: u64,
    /// From the exit's block to the entry's block, as first executed by any replica.
    latency_ms: Quantiles,
    /// Exits younger than 5 s at the end that had not entered yet.
    in_transit_at_end: u64,
    /// Exits older than that which never entered.
    bodies_lost: u64,
    /// Exits that entered at two heights.
    bodies_entered_twice: u64,
    /// Entries whose exit no replica of the source finalized.
    entries_without_exit: u64,
    /// Items that found no room in the inventory a player already had at its destination.
    items_lost: u64,
    /// Imports blocks carried that their zone refused.
    imports_refused: u64,
}

/// One zone being watched: its seats' audit and handoff logs.
struct ZoneWatch {
    id: ZoneId,
    seats: Vec<usize>,
    tails: Vec<AuditTail>,
    handoff_tails: Vec<LineTail>,
    ledger: RootLedger,
    /// The start of the window the heights below count in (Unix ms).
    window_ms: u64,
    /// The highest height any seat has finalized, and the highest before the window.
    highest: u64,
    before_window: u64,
    /// Heights finalized within the window, with when (first replica to execute them).
    window_heights: BTreeMap<u64, u64>,
    /// Each seat's finality latency of each height in the window.
    latencies_ms: Vec<(u64, f64)>,
    /// The latencies of the last [`RECENT_MS`], by when they were executed: the dashboard's.
    recent_ms: Recent,
    /// Refused imports by height, the most any seat logged there (seats log the same).
    refused: BTreeMap<u64, u64>,
    /// The height every seat had logged at the first read: a resumed world's last run's.
    resumed_at: Option<u64>,
}

impl ZoneWatch {
    /// `data`: each seat's storage directory, in `seats` order.
    fn new(data: &[PathBuf], id: ZoneId, seats: Vec<usize>) -> Self {
        let zone_dir = format!("zone-{}-{}", id.x, id.z);
        Self {
            id,
            tails: data
                .iter()
                .map(|d| AuditTail::new(d.join(&zone_dir).join("finalized.log")))
                .collect(),
            handoff_tails: data
                .iter()
                .map(|d| LineTail::new(d.join(&zone_dir).join("handoffs.log")))
                .collect(),
            ledger: RootLedger::new(seats.len()),
            seats,
            window_ms: 0,
            highest: 0,
            before_window: 0,
            window_heights: BTreeMap::new(),
            latencies_ms: Vec::new(),
            recent_ms: Recent::default(),
            refused: BTreeMap::new(),
            resumed_at: None,
        }
    }

    /// Reads what the seats logged since the last read; blocks count in the window from
    /// `window_ms` on (a new one forgets the last: the wait for every zone came before it).
    fn read(&mut self, window_ms: u64, crossings: &mut Crossings) {
        if window_ms != self.window_ms {
            self.window_ms = window_ms;
            self.before_window = self.highest;
            self.window_heights.clear();
            self.latencies_ms.clear();
        }
        let before = self.before_window;
        for (seat, tail) in self.tails.iter_mut().enumerate() {
            for f in tail.read_new() {
                self.ledger.add(seat, &f);
                self.highest = self.highest.max(f.height);
                if f.at_ms < window_ms {
                    self.before_window = self.before_window.max(f.height);
                    continue;
                }
                if f.height <= self.before_window {
                    continue;
                }
                let at = self.window_heights.entry(f.height).or_insert(f.at_ms);
                *at = (*at).min(f.at_ms);
                if let Some(us) = f.latency_us {
                    self.latencies_ms.push((f.height, us as f64 / 1000.0));
                    self.recent_ms.push(f.at_ms, us as f64 / 1000.0);
                }
            }
        }
        self.resumed_at.get_or_insert(self.ledger.common_tip());
        // A height one seat finalized before the window is not the window's, though a slower
        // seat (read first) logged it after the window began.
        if self.before_window != before {
            let before = self.before_window;
            self.window_heights.retain(|&h, _| h > before);
            self.latencies_ms.retain(|&(h, _)| h > before);
        }
        let number = self.id.number();
        for tail in &mut self.handoff_tails {
            let mut refused_here: BTreeMap<u64, u64> = BTreeMap::new();
            for line in tail.read_lines() {
                match line.parse::<HandoffLine>() {
                    Ok(HandoffLine::Refused { height, .. }) => {
                        *refused_here.entry(height).or_default() += 1;
                    }
                    Ok(line) => crossings.add(number, line),
                    Err(_) => {}
                }
            }
            for (height, n) in refused_here {
                let most = self.refused.entry(height).or_default();
                *most = (*most).max(n);
            }
        }
    }

    /// The lowest height every seat has finalized.
    fn height(&self) -> u64 {
        self.ledger.common_tip()
    }

    /// Whether every seat has finalized a few blocks since the world started (not counting
    /// those a resumed world's logs held from its last run).
    fn finalizing(&self) -> bool {
        self.resumed_at
            .is_some_and(|from| self.height() >= from.saturating_add(3))
    }

    /// The window of `window_s` seconds ending at `end_ms` (Unix ms): blocks first finalized
    /// after it (while the validators were being stopped) are not its.
    fn report(&self, window_s: f64, end_ms: u64) -> ZoneReport {
        let within: BTreeMap<u64, u64> = self
            .window_heights
            .iter()
            .filter(|&(_, &at)| at < end_ms)
            .map(|(&h, &at)| (h, at))
            .collect();
        let times: Vec<u64> = within.values().copied().collect();
        let latencies = self
            .latencies_ms
            .iter()
            .filter(|(h, _)| within.contains_key(h))
            .map(|&(_, l)| l)
            .collect();
        ZoneReport {
            zone: self.id.to_string(),
            number: self.id.number(),
            committee: self.seats.clone(),
            blocks_finalized: within.len() as u64,
            blocks_per_s: round(within.len() as f64 / window_s.max(1e-9), 2),
            finality_ms: Quantiles::of(latencies),
            longest_block_gap_ms: times.windows(2).map(|w| w[1].saturating_sub(w[0])).max(),
            state_roots_agree: self.ledger.agree(),
        }
    }
}

/// Every exit and entry any replica logged, keyed by (source, destination, exit number), and
/// every import a block applied.
#[derive(Debug, Default)]
struct Crossings {
    /// Imports blocks applied, by hash, with the heights that applied each.
    applied: BTreeMap<[u8; 32], BTreeSet<u64>>,
    /// When the exit's block was first executed.
    exits: BTreeMap<(u32, u32, u64), u64>,
    entries: BTreeMap<(u32, u32, u64), Entry>,
    /// The forged imports' kinds, by hash (a replay's hash is an honest record's).
    forged_kinds: BTreeMap<[u8; 32], Vec<String>>,
    live: LiveHandoffs,
}

/// How many times a forgery of `kind` may be applied without being accepted: a replay is an
/// honest record's bytes, applied once as the honest relay's; every other forgery, never.
fn forgery_allowance(kind: &str) -> usize {
    usize::from(kind == "replay")
}

/// The dashboard's handoff figures, kept up as lines arrive: a publish costs what is in
/// transit and recent, not the run's history.
#[derive(Debug, Default)]
struct LiveHandoffs {
    exits_from: BTreeMap<u32, u64>,
    entries_to: BTreeMap<u32, u64>,
    /// Exits no entry matched yet, with when they left.
    waiting: BTreeMap<(u32, u32, u64), u64>,
    /// Exits matched by an entry, since the world started.
    entered: u64,
    /// Their latencies over the last [`RECENT_MS`].
    recent: Recent,
    forged: u64,
    forged_accepted: u64,
}

impl LiveHandoffs {
    /// Exits still waiting for their entry: (in transit, lost) at `now_ms`.
    fn waiting_and_lost(&self, now_ms: u64) -> (u64, u64) {
        let lost = self
            .waiting
            .values()
            .filter(|&&at| now_ms.saturating_sub(at) > LOST_AFTER_MS)
            .count() as u64;
        (self.waiting.len() as u64 - lost, lost)
    }

    fn matched(&mut self, exit_at: u64, entry_at: u64) {
        self.entered += 1;
        self.recent
            .push(entry_at, entry_at.saturating_sub(exit_at) as f64);
    }
}

/// Figures of the last [`RECENT_MS`] by when they happened (Unix ms), in arrival order.
#[derive(Debug, Default)]
struct Recent {
    values: VecDeque<(u64, f64)>,
    newest_ms: u64,
}

impl Recent {
    /// Adds one, and forgets those older than the window before the newest (seats log in
    /// turn, so arrivals are nearly in time order and the oldest are at the front).
    fn push(&mut self, at_ms: u64, value: f64) {
        self.values.push_back((at_ms, value));
        self.newest_ms = self.newest_ms.max(at_ms);
        while self
            .values
            .front()
            .is_some_and(|&(at, _)| self.newest_ms.saturating_sub(at) > RECENT_MS)
        {
            self.values.pop_front();
        }
    }

    fn p99(&self) -> Option<f64> {
        let mut sorted: Vec<f64> = self.values.iter().map(|&(_, v)| v).collect();
        sorted.sort_by(f64::total_cmp);
        quantile(&sorted, 0.99).map(|v| round(v, 1))
    }
}

/// One entry as the destination's replicas logged it.
#[derive(Debug)]
struct Entry {
    /// Every height it was logged at (one, unless it entered twice).
    heights: BTreeSet<u64>,
    /// When its block was first executed.
    at_ms: u64,
    /// Items that found no room.
    lost: u32,
}

impl Crossings {
    /// A forged import of `kind` the forging relays sent.
    fn forged(&mut self, kind: &str, hash: [u8; 32]) {
        self.live.forged += 1;
        let applied = self.applied.get(&hash).map_or(0, BTreeSet::len);
        if applied > forgery_allowance(kind) {
            self.live.forged_accepted += 1;
        }
        self.forged_kinds
            .entry(hash)
            .or_default()
            .push(kind.to_string());
    }

    fn add(&mut self, zone: u32, line: HandoffLine) {
        match line {
            HandoffLine::Exit { to, seq, at_ms, .. } => {
                let key = (zone, to, seq);
                if !self.exits.contains_key(&key) {
                    *self.live.exits_from.entry(zone).or_default() += 1;
                    match self.entries.get(&key) {
                        Some(entry) => self.live.matched(at_ms, entry.at_ms),
                        None => {
                            self.live.waiting.insert(key, at_ms);
                        }
                    }
                }
                let at = self.exits.entry(key).or_insert(at_ms);
                *at = (*at).min(at_ms);
                if let Some(waiting) = self.live.waiting.get_mut(&key) {
                    *waiting = *at;
                }
            }
            HandoffLine::Entry {
                from,
                seq,
                height,
                at_ms,
                lost,
            } => {
                let key = (from, zone, seq);
                if !self.entries.contains_key(&key) {
                    *self.live.entries_to.entry(zone).or_default() += 1;
                    if let Some(exit_at) = self.live.waiting.remove(&key) {
                        self.live.matched(exit_at, at_ms);
                    }
                }
                let entry = self.entries.entry(key).or_insert(Entry {
                    heights: BTreeSet::new(),
                    at_ms,
                    lost,
                });
                entry.heights.insert(height);
                entry.at_ms = entry.at_ms.min(at_ms);
            }
            HandoffLine::Applied { hash, height, .. } => {
                let heights = self.applied.entry(hash).or_default();
                if heights.insert(height) {
                    let applied = heights.len();
                    // A forgery is accepted the moment its applications pass its allowance.
                    let newly = self.forged_kinds.get(&hash).map_or(0, |kinds| {
                        kinds
                            .iter()
                            .filter(|k| applied == forgery_allowance(k) + 1)
                            .count()
                    });
                    self.live.forged_accepted += newly as u64;
                }
            }
            HandoffLine::Refused { .. } => {}
        }
    }

    fn report(&self, window_ms: u64, end_ms: u64, refused: u64) -> HandoffReport {
        let mut latencies = Vec::new();
        let (mut exits, mut entered, mut in_transit, mut lost) = (0, 0, 0, 0);
        for (key, &at) in &self.exits {
            let entry = self.entries.get(key);
            if at >= window_ms {
                exits += 1;
                if let Some(e) = entry {
                    entered += 1;
                    latencies.push(e.at_ms.saturating_sub(at) as f64);
                }
            }
            if entry.is_none() {
                if end_ms.saturating_sub(at) > LOST_AFTER_MS {
                    lost += 1;
                } else {
                    in_transit += 1;
                }
            }
        }
        HandoffReport {
            exits,
            entered,
            latency_ms: Quantiles::of(latencies),
            in_transit_at_end: in_transit,
            bodies_lost: lost,
            bodies_entered_twice: self
                .entries
                .values()
                .filter(|e| e.heights.len() > 1)
                .count() as u64,
            entries_without_exit: self
                .entries
                .keys()
                .filter(|k| !self.exits.contains_key(k))
                .count() as u64,
            items_lost: self.entries.values().map(|e| u64::from(e.lost)).sum(),
            imports_refused: refused,
        }
    }
}

/// A genesis spanning the whole world's columns, for its map.
fn whole_world(world: &WorldGenesis) -> Result<z3r0_genesis::Genesis> {
    let first = world
        .zone_ids()
        .next()
        .context("a world has at least one zone")?;
    let mut whole = world.zone_genesis(first)?;
    let extent = |axis: usize| {
        let span = world.zone_chunks[axis].saturating_mul(i32::from(world.zones[axis]));
        [world.origin[axis], world.origin[axis].saturating_add(span)]
    };
    whole.chunks_x = extent(0);
    whole.chunks_z = extent(1);
    Ok(whole)
}

/// The world to run: a new one, or the one already in the data directory.
#[derive(Debug)]
struct Prepared {
    world: WorldGenesis,
    /// Made now: no player has a body in it yet.
    new: bool,
    /// Its stores in RAM, if it runs on them.
    memory: Option<MemoryStores>,
}

fn prepare_world(args: &DevnetArgs, zones: [u16; 2], game: &super::GameParts) -> Result<Prepared> {
    let path = args.data.join("world.toml");
    super::supervisor::check_stopped(&args.data)?;
    if args.fresh {
        super::wipe_devnet_dir(&args.data)?;
    }
    if path.exists() {
        super::stores::recover(&args.data)?;
    }
    let kind = super::stores::choose(args.stores, &args.data)?;
    if path.exists() {
        let world = WorldGenesis::load(&path)?;
        if world.zones != zones {
            bail!(
                "{} holds a world of {}x{} zones; run with --fresh for a new one",
                args.data.display(),
                world.zones[0],
                world.zones[1]
            );
        }
        let first = world
            .zone_ids()
            .next()
            .context("a world has at least one zone")?;
        game.check_genesis(&world.zone_genesis(first)?)?;
        println!("world: continuing the one in {}", args.data.display());
        let memory = super::place_stores(args, kind, world.pool.len())?;
        return Ok(Prepared {
            world,
            new: false,
            memory,
        });
    }
    // An empty directory (made by hand, or a mount point) takes a new world; anything else
    // is someone's, or one zone's chain.
    if args.data.exists() && std::fs::read_dir(&args.data)?.next().is_some() {
        let zone = args.data.join("genesis.toml").exists();
        bail!(
            "{} holds no world.toml{}; run with --fresh to wipe it",
            args.data.display(),
            if zone {
                " but one zone's chain (--zones 1x1 continues it)"
            } else {
                ""
            }
        );
    }
    let pack = game.new_chain_pack(&args.data)?;
    // A world left half written would hold the directory against the next run.
    let world = new_world(args, zones, game, pack.as_ref(), &path).inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&args.data);
    })?;
    println!(
        "world: {}x{} zones, {} validators in the pool, {} a committee, tick {} ms, in {}",
        zones[0],
        zones[1],
        world.pool.len(),
        world.committee_size,
        world.tick_ms,
        args.data.display()
    );
    let memory = super::place_stores(args, kind, world.pool.len())?;
    Ok(Prepared {
        world,
        new: true,
        memory,
    })
}

/// Writes a new world genesis at `path`, naming the game's plugins and its checked pack,
/// whose files go beside it.
fn new_world(
    args: &DevnetArgs,
    zones: [u16; 2],
    game: &super::GameParts,
    pack: Option<&z3r0_content::Pack>,
    path: &Path,
) -> Result<WorldGenesis> {
    let mut spec =
        z3r0_genesis::world::WorldSpec::new(args.validators, args.base_port, zones, args.committee);
    spec.tick_ms = args.tick_ms;
    spec.world_seed = args.seed;
    spec.plugins = game.plugins.clone();
    if let Some(pack) = pack {
        let hash = super::game::write_genesis_content(pack, path)?;
        spec.content = Some(z3r0_genesis::to_hex(&hash));
    }
    z3r0_genesis::world::generate(&args.data, &spec).context("writing the world genesis")
}

/// Each pool member's storage directory (its config's), in pool order.
fn storage_dirs(data: &Path, pool: usize) -> Result<Vec<PathBuf>> {
    (0..pool)
        .map(|i| {
            let config = data.join(format!("validator-{i}")).join("config.toml");
            let seat = z3r0_genesis::WorldSeat::load(&config)
                .with_context(|| format!("loading {}", config.display()))?;
            Ok(seat.config.storage_dir)
        })
        .collect()
}

/// The running world: its validators, their zones, and what is watched.
struct World<'a> {
    args: &'a DevnetArgs,
    game: &'a super::GameParts,
    exe: PathBuf,
    world: WorldGenesis,
    /// The world was made for this run.
    new_world: bool,
    validators: Vec<Validator>,
    /// Zones each running validator serves, in `validators` order.
    served: Vec<usize>,
    zones: Vec<ZoneWatch>,
    crossings: Crossings,
    /// The forging validators' `forged.log`s, and what they sent: (kind, hash).
    forged_tails: Vec<LineTail>,
    forged: Vec<(String, [u8; 32])>,
    forgers: Vec<usize>,
    load: u32,
    interrupted: Arc<AtomicBool>,
    window_ms: u64,
    runtime: tokio::runtime::Runtime,
    /// The roaming players' numbers, and the switch that stops them.
    roamers: Vec<Arc<std::sync::Mutex<RoamStats>>>,
    /// The cheating players.
    cheaters: Vec<super::bots::BotHandle>,
    /// The faults to inject, and the validators they paused.
    faults: super::fault::Injector,
    stop: tokio::sync::watch::Sender<bool>,
    board: Arc<super::dashboard::Dashboard>,
    /// The map's corner and size in voxels, for the dashboard.
    area: serde_json::Value,
    /// The stores in RAM, if there: after `validators`, so dropped after they are stopped.
    memory: Option<MemoryStores>,
}

/// Runs a world devnet: genesis, validators, wait, measure, report.
pub fn run(args: &DevnetArgs, zones: [u16; 2], game: &super::GameParts) -> Result<()> {
    let mut world = World::start(args, zones, game)?;
    let progress = Progress::new();
    world.wait_until_finalizing(&progress)?;
    world.spawn_players()?;
    let (window, cpu_start) = world.measure(&progress)?;
    progress.0.finish_and_clear();
    world.finish(window, &cpu_start)
}

impl<'a> World<'a> {
    fn start(args: &'a DevnetArgs, zones: [u16; 2], game: &'a super::GameParts) -> Result<Self> {
        let exe = std::env::current_exe().context("locating the z3r0 executable")?;
        let Prepared {
            world,
            new: new_world,
            memory,
        } = prepare_world(args, zones, game)?;
        let data = storage_dirs(&args.data, world.pool.len())?;
        // Simplex needs n >= 3f + 1 seats to stand f faulty ones.
        let tolerated = world.committee_size.saturating_sub(1) / 3;
        println!(
            "world: each zone's committee of {} stands {tolerated} faulty validator{} (--committee)",
            world.committee_size,
            if tolerated == 1 { "" } else { "s" }
        );
        let mut seats: BTreeMap<usize, Vec<ZoneId>> = BTreeMap::new();
        let mut watches = Vec::new();
        for zone in world.zone_ids() {
            let committee = world.committee(zone)?;
            for &i in &committee {
                seats.entry(i).or_default().push(zone);
            }
            let seat_data = committee
                .iter()
                .map(|&i| data.get(i).cloned().context("a seat outside the pool"))
                .collect::<Result<Vec<_>>>()?;
            watches.push(ZoneWatch::new(&seat_data, zone, committee));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (terrain_png, area) = super::terrain(&whole_world(&world)?)?;
        let board = super::dashboard::Dashboard::new_world(terrain_png);
        let board_addr = super::dashboard::serve(&runtime, args.dashboard, board.clone())?;
        println!("dashboard: http://{board_addr}/");
        let interrupted = Arc::new(AtomicBool::new(false));
        on_interrupt(&runtime, interrupted.clone());
        let load = match args.load {
            0 => DEFAULT_LOAD,
            total => total / world.pool.len().max(1) as u32,
        };
        if let Some(f) = args.faults.iter().find(|f| f.validator >= world.pool.len()) {
            bail!(
                "--fault {f}: the world's pool has {} validators",
                world.pool.len()
            );
        }
        let mut validators = Vec::new();
        let mut served = Vec::new();
        let mut forgers = Vec::new();
        for i in 0..world.pool.len() {
            let Some(zones) = seats.get(&i) else {
                println!("validator {i} holds no seat in this world: not started");
                continue;
            };
            let mut v = Validator::new_world(i, args.data.join(format!("validator-{i}")))?;
            v.byzantine = forgers.len() < args.forgers;
            v.clock_skew_ms = super::fault::clock_skew(&args.faults, i);
            v.diverge_at = super::fault::diverge_height(&args.faults, i, world.tick_ms);
            // Every player could end up on one process, with a session for each zone near its
            // body (four at a corner), and probes come on top.
            v.sessions_per_address = (args.bots + args.cheaters) * 4 + 64;
            if v.byzantine {
                forgers.push(i);
            }
            v.start(&exe, load)?;
            validators.push(v);
            served.push(zones.len());
        }
        println!(
            "validators: {} processes, {} zone replicas, forging relays {forgers:?}; logs in {}/validator-*/node.log",
            validators.len(),
            served.iter().sum::<usize>(),
            args.data.display()
        );
        let forged_tails = forgers
            .iter()
            .filter_map(|&i| data.get(i))
            .map(|d| LineTail::new(d.join("forged.log")))
            .collect();
        Ok(Self {
            args,
            game,
            exe,
            world,
            new_world,
            validators,
            served,
            zones: watches,
            crossings: Crossings::default(),
            forged_tails,
            forged: Vec::new(),
            forgers,
            load,
            interrupted,
            window_ms: now_ms(),
            runtime,
            roamers: Vec::new(),
            cheaters: Vec::new(),
            faults: super::fault::Injector::new(&args.faults),
            stop: tokio::sync::watch::channel(false).0,
            board,
            area,
            memory,
        })
    }

    /// Publishes the dashboard's figures: every zone with its committee, height, rate,
    /// finality and handoffs; the players where they are; handoffs and forgeries.
    fn publish(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let zones: Vec<serde_json::Value> = self
            .zones
            .iter()
            .map(|z| {
                let number = z.id.number();
                let ([x0, x1], [z0, z1]) = self.world.zone_columns(z.id).unwrap_or_default();
                let size = z3r0_voxel::CHUNK_SIZE as i32;
                serde_json::json!({
                    "zone": z.id.to_string(),
                    "number": number,
                    "x0": x0 * size, "x1": x1 * size, "z0": z0 * size, "z1": z1 * size,
                    "committee": z.seats,
                    "height": z.height(),
                    "blocks_per_s": z.window_heights.len() as f64 / secs,
                    "p99": z.recent_ms.p99(),
                    "exits": self.crossings.live.exits_from.get(&number).copied().unwrap_or(0),
                    "entries": self.crossings.live.entries_to.get(&number).copied().unwrap_or(0),
                })
            })
            .collect();
        let players: Vec<serde_json::Value> = self
            .roamers
            .iter()
            .filter_map(|s| {
                let s = s.lock().unwrap_or_else(|p| p.into_inner());
                let [x, z] = s.pos?;
                Some(serde_json::json!({"x": x, "z": z, "zone": s.zone, "crossings": s.arrivals}))
            })
            .collect();
        let live = &self.crossings.live;
        let (_, lost) = live.waiting_and_lost(now_ms());
        let event = serde_json::json!({
            "t": elapsed.as_secs_f64(),
            "area": self.area,
            "zones": zones,
            "players": players,
            "handoffs": {"entered": live.entered, "lost": lost, "p99": live.recent.p99()},
            "cheats": {"sent": live.forged, "accepted": live.forged_accepted},
        });
        self.board.stats.send_replace(Arc::new(event.to_string()));
    }

    /// Starts the roaming players and the cheaters, spread over the zones and their
    /// committees' edges.
    fn spawn_players(&mut self) -> Result<()> {
        let routes = z3r0_client::WorldRoutes::new(&self.world)?;
        let zones: Vec<u32> = routes.zones().collect();
        let (stop, receiver) = tokio::sync::watch::channel(false);
        self.stop = stop;
        self.roamers = (0..self.args.bots)
            .map(|i| {
                roam::spawn(
                    self.runtime.handle(),
                    roam::RoamSpec {
                        index: i,
                        seed: self.args.seed,
                        home: zones[i % zones.len()],
                        routes: routes.clone(),
                        churn: (!self.args.churn.is_zero()).then_some(self.args.churn),
                        new_world: self.new_world,
                        // Every third honest player plays the game, as in a zone devnet.
                        script: self.game.script.clone().filter(|_| i % 3 == 2),
                    },
                    receiver.clone(),
                )
            })
            .collect();
        self.cheaters = (0..self.args.cheaters)
            .map(|i| -> Result<_> {
                let zone = zones[i % zones.len()];
                let config = routes
                    .config(zone, i)
                    .context("every zone of the world has a route")?;
                Ok(super::bots::spawn(
                    self.runtime.handle(),
                    super::bots::BotSpec {
                        index: self.args.bots + i,
                        kind: z3r0_client::BotKind::Cheat,
                        seed: self.args.seed,
                        server: config.server,
                        config,
                        churn: None,
                        script: None,
                    },
                    receiver.clone(),
                ))
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// The cheaters' tallies.
    fn player_cheats(&self) -> PlayerCheatReport {
        let p = super::players(&self.cheaters);
        PlayerCheatReport {
            cheaters: self.cheaters.len(),
            sent: p.cheats,
            refused: p.cheats_refused,
            accepted: p.cheats_accepted,
            unheard: p.cheats_unheard,
        }
    }

    fn players(&self) -> PlayersReport {
        let all: Vec<RoamStats> = self
            .roamers
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect();
        let gaps: Vec<f64> = all.iter().flat_map(|s| s.gaps_ms.clone()).collect();
        PlayersReport {
            bots: all.len(),
            connected: all.iter().filter(|s| s.connected).count(),
            crossings: all.iter().map(|s| s.crossings).sum(),
            arrivals: all.iter().map(|s| s.arrivals).sum(),
            seamless: all.iter().map(|s| s.seamless).sum(),
            gap_ms: Quantiles::of(gaps),
            arrival_correction_cm: Quantiles::of(
                all.iter()
                    .flat_map(|s| s.arrival_errors.iter().map(|&e| e as f64 / 10.24))
                    .collect(),
            ),
            lost: all.iter().map(|s| s.lost).sum(),
            lives_ended: all.iter().map(|s| s.lives_ended).sum(),
            actions_applied: all.iter().map(|s| s.applied).sum(),
            actions_refused: all.iter().map(|s| s.refused).sum(),
            zones_searched: all.iter().map(|s| s.zones_searched).sum(),
            found_elsewhere: all.iter().map(|s| s.found_elsewhere).sum(),
            actions_refused_by: all.iter().fold(BTreeMap::new(), |mut by, s| {
                for (why, n) in &s.refused_by {
                    *by.entry(why.clone()).or_default() += n;
                }
                by
            }),
        }
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    fn read(&mut self) {
        self.exclude_diverged();
        for zone in &mut self.zones {
            zone.read(self.window_ms, &mut self.crossings);
        }
        for tail in &mut self.forged_tails {
            for line in tail.read_lines() {
                let mut fields = line.split(' ');
                let (Some(kind), Some(_to), Some(hash)) =
                    (fields.next(), fields.next(), fields.next())
                else {
                    continue;
                };
                if let Some(hash) = z3r0_genesis::from_hex(hash).and_then(|h| h.try_into().ok()) {
                    self.crossings.forged(kind, hash);
                    self.forged.push((kind.to_string(), hash));
                }
            }
        }
    }

    fn cheats(&self) -> CheatReport {
        let mut sent: BTreeMap<String, u64> = BTreeMap::new();
        for (kind, _) in &self.forged {
            *sent.entry(kind.clone()).or_default() += 1;
        }
        CheatReport {
            forgers: self.forgers.clone(),
            sent,
            // A replay is the honest record's bytes: applied once, as the honest relay's, and
            // accepted if ever again. Every other forgery is accepted if applied at all.
            accepted: self
                .forged
                .iter()
                .filter(|(kind, hash)| {
                    let applied = self.crossings.applied.get(hash).map_or(0, BTreeSet::len);
                    applied > forgery_allowance(kind)
                })
                .count() as u64,
        }
    }

    /// Waits until every replica of every zone has finalized a few blocks.
    fn wait_until_finalizing(&mut self, progress: &Progress) -> Result<()> {
        progress.0.set_message("waiting for every zone to finalize");
        let started = Instant::now();
        loop {
            if self.interrupted() {
                bail!("interrupted before the world ran");
            }
            supervise(&mut self.validators, &self.exe, self.load, &|l| {
                progress.say(l)
            })?;
            self.read();
            if self.zones.iter().all(ZoneWatch::finalizing) {
                break;
            }
            if started.elapsed() > Duration::from_secs(180) {
                bail!(
                    "the zones did not all finalize within 3 minutes (heights {:?}); the logs end:\n{}",
                    self.zones.iter().map(ZoneWatch::height).collect::<Vec<_>>(),
                    log_tails(&self.validators, 8)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        progress.say(format!(
            "every zone finalizing after {:.1} s; measuring for {:?}",
            started.elapsed().as_secs_f64(),
            self.args.duration
        ));
        Ok(())
    }

    /// Watches the world until the duration ends or the run is interrupted. Returns the
    /// window's start and each process's CPU seconds then.
    fn measure(&mut self, progress: &Progress) -> Result<(Instant, Vec<f64>)> {
        self.window_ms = now_ms();
        let window = Instant::now();
        let cpu_start: Vec<f64> = self
            .validators
            .iter_mut()
            .map(|v| v.cpu_seconds())
            .collect();
        let mut last_line = Instant::now();
        loop {
            let duration = self.args.duration;
            if self.interrupted() || (!duration.is_zero() && window.elapsed() >= duration) {
                return Ok((window, cpu_start));
            }
            if let Some(why) = self.memory.as_mut().and_then(MemoryStores::running_out) {
                progress.say(why);
                return Ok((window, cpu_start));
            }
            std::thread::sleep(Duration::from_millis(500));
            self.faults
                .inject(&self.validators, window.elapsed(), &|l| progress.say(l));
            supervise(&mut self.validators, &self.exe, self.load, &|l| {
                progress.say(l)
            })?;
            self.read();
            self.publish(window.elapsed());
            if last_line.elapsed() >= Duration::from_secs(5) {
                last_line = Instant::now();
                progress.say(self.progress_line(window.elapsed()));
            }
        }
    }

    fn progress_line(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-9);
        let zones: Vec<String> = self
            .zones
            .iter()
            .map(|z| format!("{} {:.1}/s", z.id, z.window_heights.len() as f64 / secs))
            .collect();
        let live = &self.crossings.live;
        let (in_transit, lost) = live.waiting_and_lost(now_ms());
        let p = self.players();
        format!(
            "{:>5.0}s  {}  handoffs {} (in transit {}, lost {})  players {}/{} crossed {}",
            elapsed.as_secs_f64(),
            zones.join("  "),
            live.entered,
            in_transit,
            lost,
            p.connected,
            p.bots,
            p.arrivals
        )
    }

    /// Stops the validators, reads what they logged last, prints the summary and writes the
    /// report.
    fn finish(mut self, window: Instant, cpu_start: &[f64]) -> Result<()> {
        let window_s = window.elapsed().as_secs_f64();
        let end_ms = now_ms();
        let players = self.players();
        let _ = self.stop.send(true);
        if !self.cheaters.is_empty() {
            // The cheaters' last outcomes come in before the validators stop.
            std::thread::sleep(Duration::from_millis(1_500));
        }
        let player_cheats = self.player_cheats();
        self.faults.resume_all(&self.validators);
        let cpu: Vec<f64> = self
            .validators
            .iter_mut()
            .zip(cpu_start)
            .map(|(v, start)| (v.cpu_seconds() - start) / window_s.max(1e-9))
            .collect();
        let rss: Vec<f64> = self
            .validators
            .iter()
            .map(|v| v.rss_mb().unwrap_or(0.0))
            .collect();
        let stores = StoresReport::of(self.memory.as_ref());
        for v in &mut self.validators {
            v.stop(Duration::from_secs(10));
        }
        self.read();
        let halted = super::HaltReport::of(&self.validators);
        let refused = self
            .zones
            .iter()
            .map(|z| z.refused.values().sum::<u64>())
            .sum();
        let report = WorldReport {
            zones_grid: self.world.zones,
            committee_size: self.world.committee_size,
            duration_s: round(window_s, 1),
            load_per_validator: self.load,
            zones: self
                .zones
                .iter()
                .map(|z| z.report(window_s, end_ms))
                .collect(),
            validators: self
                .validators
                .iter()
                .zip(&self.served)
                .zip(cpu.iter().zip(&rss))
                .map(|((v, &zones), (&cores, &rss))| ValidatorReport {
                    validator: v.index,
                    zones,
                    cpu_cores: round(cores, 3),
                    cpu_cores_per_zone: round(cores / zones.max(1) as f64, 3),
                    rss_mb: round(rss, 1),
                    restarts: v.restarts,
                })
                .collect(),
            handoffs: self.crossings.report(self.window_ms, end_ms, refused),
            handoff_cheats: self.cheats(),
            players,
            player_cheats,
            faults: self.args.faults.iter().map(ToString::to_string).collect(),
            halted,
            stores,
            game: self.game_report()?,
        };
        print_summary(&report);
        if let Some(path) = &self.args.report {
            std::fs::write(path, serde_json::to_string_pretty(&report)?)
                .with_context(|| format!("writing {}", path.display()))?;
            println!("report: {}", path.display());
        }
        if report.player_cheats.accepted > 0 {
            bail!(
                "{} cheat actions were accepted",
                report.player_cheats.accepted
            );
        }
        Ok(())
    }
}

impl World<'_> {
    /// The game's section of the report: its players are the roaming players with its script.
    fn game_report(&self) -> Result<Option<super::game::GameReport>> {
        if self.game.is_empty() {
            return Ok(None);
        }
        let first = self
            .world
            .zone_ids()
            .next()
            .context("a world has at least one zone")?;
        let tallies: Vec<z3r0_client::Tally> = self
            .roamers
            .iter()
            .filter_map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).game.clone())
            .collect();
        Ok(Some(super::game::GameReport::new(
            self.game,
            &self.world.zone_genesis(first)?,
            tallies.iter(),
        )))
    }

    /// Takes a diverged validator out of the root agreement and the common height of every
    /// zone it sits on, as soon as it is left stopped: its roots are its own.
    fn exclude_diverged(&mut self) {
        for v in self.validators.iter().filter(|v| v.diverged()) {
            for zone in &mut self.zones {
                if let Some(seat) = zone.seats.iter().position(|&i| i == v.index) {
                    zone.ledger.exclude(seat);
                }
            }
        }
    }
}

fn print_summary(r: &WorldReport) {
    let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
    println!(
        "world {}x{}, {} a committee, {:.0} s measured, {} synthetic inputs/s per validator, {}",
        r.zones_grid[0],
        r.zones_grid[1],
        r.committee_size,
        r.duration_s,
        r.load_per_validator,
        r.stores
    );
    for z in &r.zones {
        println!(
            "  zone {:<8} {:>5.2} blocks/s  finality p50 {} p99 {} ms  longest gap {} ms  roots {}",
            z.zone,
            z.blocks_per_s,
            ms(z.finality_ms.p50),
            ms(z.finality_ms.p99),
            z.longest_block_gap_ms.map_or("-".into(), |g| g.to_string()),
            if z.state_roots_agree {
                "agree"
            } else {
                "DISAGREE"
            }
        );
    }
    let h = &r.handoffs;
    println!(
        "  handoffs {} of {} exits entered, latency p50 {} p99 {} ms; in transit {}, lost {}, entered twice {}, without exit {}, items lost {}, imports refused {}",
        h.entered,
        h.exits,
        ms(h.latency_ms.p50),
        ms(h.latency_ms.p99),
        h.in_transit_at_end,
        h.bodies_lost,
        h.bodies_entered_twice,
        h.entries_without_exit,
        h.items_lost,
        h.imports_refused
    );
    let c = &r.handoff_cheats;
    println!(
        "  handoff cheats from validators {:?}: {} sent ({}), {} accepted",
        c.forgers,
        c.sent.values().sum::<u64>(),
        c.sent
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        c.accepted
    );
    let p = &r.players;
    println!(
        "  players {}/{} playing, {} crossings seen ({} to a watched zone), {} arrived (gap p50 {} p99 {} ms, correction on arrival p50 {} p99 {} cm), {} lost, {} lives ended (churn); {} actions applied, {} refused",
        p.connected,
        p.bots,
        p.crossings,
        p.seamless,
        p.arrivals,
        ms(p.gap_ms.p50),
        ms(p.gap_ms.p99),
        ms(p.arrival_correction_cm.p50),
        ms(p.arrival_correction_cm.p99),
        p.lost,
        p.lives_ended,
        p.actions_applied,
        p.actions_refused
    );
    for (why, n) in &p.actions_refused_by {
        println!("        {n} × {why}");
    }
    let c = &r.player_cheats;
    println!(
        "  cheaters {}: {} cheat actions, {} refused, {} accepted, {} unheard",
        c.cheaters,
        c.sent,
        c.refused.values().sum::<u64>(),
        c.accepted,
        c.unheard
    );
    super::print_counts(&c.refused, "");
    if let Some(g) = &r.game {
        g.print();
    }
    for h in &r.halted {
        println!(
            "  halted   validator {} ({}), left stopped and out of its zones' roots: {}",
            h.validator, h.exit, h.reason
        );
    }
    for v in &r.validators {
        println!(
            "  validator {}: {} zones, {:.3} cores ({:.3} a zone), {:.0} MB",
            v.validator, v.zones, v.cpu_cores, v.cpu_cores_per_zone, v.rss_mb
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: DevnetArgs,
    }

    fn args(dir: &Path) -> DevnetArgs {
        let dir = dir.to_str().unwrap();
        // On disk: these tests are about the directory, and leave no stores in RAM behind.
        Cli::try_parse_from([
            "devnet", "--zones", "2x1", "--stores", "disk", "--data", dir,
        ])
        .unwrap()
        .args
    }

    /// The zones finalize blocks while the world waits for all of them to start, and while
    /// they are stopped after the window; those are not the measured window's, nor is a block
    /// one seat finalized before the window and a slower seat after it began. (Before, both
    /// were counted: 5.35–5.48 blocks/s at 200 ms ticks.)
    #[test]
    fn blocks_finalized_before_the_window_are_not_counted_in_it() {
        let dir = std::env::temp_dir().join(format!("z3r0-world-window-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let log = |seat: usize| {
            let d = dir.join(format!("validator-{seat}/data/zone-0-0"));
            std::fs::create_dir_all(&d).unwrap();
            d.join("finalized.log")
        };
        let append = |seat: usize, lines: &[(u64, u64)]| {
            use std::io::Write as _;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log(seat))
                .unwrap();
            for &(height, at_ms) in lines {
                let line = z3r0_genesis::AuditLine {
                    height,
                    digest: [height as u8; 32],
                    root: [1; 32],
                    at_ms,
                    latency_us: Some(5_000),
                };
                writeln!(f, "{line}").unwrap();
            }
        };
        let data = [0, 1].map(|i| dir.join(format!("validator-{i}/data")));
        let mut zone = ZoneWatch::new(&data, ZoneId { x: 0, z: 0 }, vec![0, 1]);
        let mut crossings = Crossings::default();
        let before: Vec<(u64, u64)> = (1..=10).map(|h| (h, 1_000 + 50 * h)).collect();
        append(0, &before);
        append(1, &before[..9]);
        // The wait for every zone, from the world's start.
        zone.read(500, &mut crossings);
        // The window opens at 2 000 ms: the second seat logs height 10 only then.
        let within: Vec<(u64, u64)> = (11..=20).map(|h| (h, 2_000 + 50 * (h - 10))).collect();
        append(1, &[(10, 2_010)]);
        append(0, &within);
        append(1, &within);
        // The window ends at 2 500 ms; the validators go on a little while they are stopped.
        let after: Vec<(u64, u64)> = (21..=25).map(|h| (h, 2_500 + 50 * (h - 20))).collect();
        append(0, &after);
        append(1, &after);
        zone.read(2_000, &mut crossings);
        let report = zone.report(0.5, 2_501);
        assert_eq!(report.blocks_finalized, 10, "{report:?}");
        assert_eq!(report.blocks_per_s, 20.0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A resumed world's logs hold the last run's heights: the wait for every zone to
    /// finalize ends on blocks finalized since the validators started, not on those. (Before,
    /// it ended at once, 0.1 s in, and the window counted the validators' start-up: resumed
    /// worlds made 17.95–19.46 blocks/s against 19.3–20.0 fresh.)
    #[test]
    fn a_resumed_zone_is_finalizing_only_on_new_blocks() {
        let dir = std::env::temp_dir().join(format!("z3r0-world-resumed-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let append = |seat: usize, heights: std::ops::RangeInclusive<u64>| {
            use std::io::Write as _;
            let d = dir.join(format!("validator-{seat}/data/zone-0-0"));
            std::fs::create_dir_all(&d).unwrap();
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(d.join("finalized.log"))
                .unwrap();
            for height in heights {
                let line = z3r0_genesis::AuditLine {
                    height,
                    digest: [height as u8; 32],
                    root: [1; 32],
                    at_ms: 1_000 + 50 * height,
                    latency_us: Some(5_000),
                };
                writeln!(f, "{line}").unwrap();
            }
        };
        for seat in [0, 1] {
            append(seat, 1..=100);
        }
        let data = [0, 1].map(|i| dir.join(format!("validator-{i}/data")));
        let mut zone = ZoneWatch::new(&data, ZoneId { x: 0, z: 0 }, vec![0, 1]);
        let mut crossings = Crossings::default();
        zone.read(0, &mut crossings);
        assert!(!zone.finalizing(), "the last run's blocks");
        append(0, 101..=103);
        zone.read(0, &mut crossings);
        assert!(!zone.finalizing(), "one seat only");
        append(1, 101..=103);
        zone.read(0, &mut crossings);
        assert!(zone.finalizing());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The dashboard's figures are kept as lines arrive (a publish twice a second used to go
    /// over the whole run: the devnet's own CPU grew from 0.22 to 0.27 core over 20
    /// minutes); they must say what the full report says, in whatever order replicas log.
    #[test]
    fn live_handoff_figures_match_the_full_report() {
        let mut c = Crossings::default();
        let exit = |to, seq, at_ms| HandoffLine::Exit {
            to,
            seq,
            height: 1,
            at_ms,
        };
        let entry = |from, seq, at_ms| HandoffLine::Entry {
            from,
            seq,
            height: 2,
            at_ms,
            lost: 0,
        };
        let applied = |hash: u8, height| HandoffLine::Applied {
            hash: [hash; 32],
            height,
            at_ms: 0,
        };
        // Zone 0 sends three exits to zone 1: one enters, one's entry is logged before its
        // exit (another replica read first), one never enters.
        c.add(0, exit(1, 0, 1_000));
        c.add(1, entry(0, 0, 1_120));
        c.add(1, entry(0, 1, 1_300));
        c.add(0, exit(1, 1, 1_150));
        c.add(0, exit(1, 2, 1_200));
        // A second replica logs the first exit again, earlier: the counts stand (the live
        // latency keeps the times first logged, 120 ms; the report takes the earliest, 130).
        c.add(0, exit(1, 0, 990));
        // Forgeries: one never applied, a replay applied once (the honest copy), one applied.
        c.forged("forged_certificate", [1; 32]);
        c.forged("replay", [2; 32]);
        c.add(1, applied(2, 5));
        c.add(1, applied(3, 6));
        c.forged("without_exit", [3; 32]);
        c.add(1, applied(2, 5));
        let full = c.report(0, 10_000, 0);
        let live = &c.live;
        assert_eq!(live.entered, full.entered);
        assert_eq!(live.waiting_and_lost(10_000), (0, full.bodies_lost));
        assert_eq!(live.waiting_and_lost(5_000), (1, 0), "young: in transit");
        assert_eq!(live.exits_from.get(&0), Some(&3));
        assert_eq!(live.entries_to.get(&1), Some(&2));
        assert_eq!(live.recent.p99(), Some(150.0));
        assert_eq!((live.forged, live.forged_accepted), (3, 1));
        // The replay applied a second time is accepted too.
        c.add(1, applied(2, 9));
        assert_eq!(c.live.forged_accepted, 2);
    }

    #[test]
    fn a_games_world_names_its_plugins_and_pack_and_is_resumed_only_by_the_game() {
        let dir = std::env::temp_dir().join(format!("z3r0-world-game-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let game = crate::GameParts {
            plugins: vec!["doors@1".into()],
            // The default pack as version 2: a pack of the game's own.
            pack: Some(|out| {
                let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/default");
                z3r0_content::Pack::load(&default)
                    .map_err(|e| std::io::Error::other(e.to_string()))?
                    .write_bundle(out)?;
                let manifest = std::fs::read_to_string(out.join("pack.toml"))?;
                let own = manifest.replacen("version = 1", "version = 2", 1);
                assert_ne!(own, manifest);
                std::fs::write(out.join("pack.toml"), own)
            }),
            script: None,
        };
        let Prepared { world, new, .. } = prepare_world(&args(&dir), [2, 1], &game).unwrap();
        assert!(new);
        assert_eq!(world.plugins, vec!["doors@1".to_string()]);
        let content = world
            .content
            .clone()
            .expect("the pack is the world's content");
        // Every zone's genesis names both, and its content lies beside world.toml.
        for zone in world.zone_ids() {
            let g = world.zone_genesis(zone).unwrap();
            assert_eq!(g.plugins, world.plugins);
            assert_eq!(g.content.as_deref(), Some(content.as_str()));
            let manifest = g.load_content(&dir.join("world.toml")).unwrap();
            assert!(manifest.is_some(), "the game's own manifest, checked");
        }
        assert!(
            dir.join("content").join(&content).exists(),
            "the manifest's bytes beside the world"
        );
        let loaded = WorldGenesis::load(&dir.join("world.toml")).unwrap();
        assert_eq!(loaded.content.as_deref(), Some(content.as_str()));
        // The game resumes it; the engine alone (other plugins) is refused before it starts.
        assert!(!prepare_world(&args(&dir), [2, 1], &game).unwrap().new);
        let refused = prepare_world(&args(&dir), [2, 1], &crate::GameParts::default())
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("doors@1") && refused.contains("--fresh"),
            "{refused}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_world_starts_in_an_empty_directory_but_not_over_other_files() {
        let dir = std::env::temp_dir().join(format!("z3r0-world-empty-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // An empty directory (made by hand, or by a mount) is where a new world goes.
        let Prepared { world, new, .. } =
            prepare_world(&args(&dir), [2, 1], &crate::GameParts::default()).unwrap();
        assert!(new);
        assert_eq!(world.zones, [2, 1]);
        assert!(dir.join("world.toml").exists());
        // The next run continues it.
        let again = prepare_world(&args(&dir), [2, 1], &crate::GameParts::default()).unwrap();
        assert!(!again.new);
        assert_eq!(again.world.world_seed, world.world_seed);
        // A directory holding anything else is left alone.
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
        let refused = prepare_world(&args(&dir), [2, 1], &crate::GameParts::default())
            .unwrap_err()
            .to_string();
        assert!(refused.contains("holds no world.toml"), "{refused}");
        assert!(!dir.join("world.toml").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
