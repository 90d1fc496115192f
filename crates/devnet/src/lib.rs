//! z3r0-devnet: `z3r0 devnet`, a whole zone on this machine, run in named phases (genesis,
//! validators, wait, players, measure, report); and `z3r0 edge-probe` ([`probe`]).
//!
//! `z3r0 devnet`: a whole zone on this machine. Validators as separate `z3r0 node` processes on
//! loopback, scripted players (honest and cheating) over QUIC, a live progress line and
//! dashboard, and at the end a summary and a JSON report (the end-to-end benchmark).

mod bots;
mod dashboard;
mod fault;
mod game;
mod hostile;
pub mod probe;
pub mod publish;
mod roam;
mod stats;
mod stores;
mod supervisor;
mod world;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use clap::Args;
use serde::Serialize;
use serde_json::{Value, json};
use z3r0_client::BotKind;
use z3r0_genesis::NodeExit;
use z3r0_net::ClientConfig;

use bots::{BotHandle, BotStats, kind_name};
pub use game::{GameParts, PackWriter, check_genesis_pack, write_genesis_content};
use stats::{AuditTail, RootLedger, http_get, parse_metrics, quantile};
use stores::{MemoryStores, StoresKind, StoresReport};
use supervisor::{MAX_RESTARTS, Validator, log_tail};

#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Validators in the world's pool (for a new chain); with `--zones 1x1`, in the zone.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// The world's grid of zones (`XxZ`; 2x2 unless a game's devnet): each pool validator runs
    /// every zone it is seated on, its synthetic players (`--load`) and the players over QUIC
    /// (`--bots`) run across the borders, and the cheaters play in the zones in turn; a game's
    /// plugins and pack are every zone's. `1x1` runs one zone, a chain of its own (content
    /// publishing runs there; a game's devnet runs one zone unless told otherwise).
    #[arg(long, value_parser = world::parse_zones)]
    zones: Option<[u16; 2]>,
    /// In a world: validators on each zone's committee.
    #[arg(long, default_value_t = 3)]
    committee: usize,
    /// In a world: validators whose relays also send forged handoffs (an exit replayed,
    /// with a richer inventory, of a body that never left, with forged or another block's
    /// certificate); the report counts each kind sent and any accepted.
    #[arg(long, default_value_t = 1)]
    forgers: usize,
    /// Honest players: walkers and builders.
    #[arg(long, default_value_t = 50)]
    bots: usize,
    /// Cheating players, besides the honest ones.
    #[arg(long, default_value_t = 5)]
    cheaters: usize,
    /// How long the players play once the chain runs ("60s", "2m", "500ms"; 0: until Ctrl-C).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Directory of the chain: genesis, keys, each validator's storage and log.
    #[arg(long, default_value = "devnet-data")]
    data: PathBuf,
    /// Start a new chain: wipe the data directory first.
    #[arg(long)]
    fresh: bool,
    /// Where the validators keep their stores while the devnet runs: `memory` (a RAM
    /// filesystem, /dev/shm, saved to --data when the devnet ends: the same stores without
    /// disk syncs, which on one machine all queue on one disk) or `disk` (in --data, every
    /// block synced as written). Either way a later run resumes the chain. Default: memory
    /// where the machine has a RAM filesystem with room, disk otherwise.
    #[arg(long, value_enum)]
    stores: Option<StoresKind>,
    /// Write the JSON report here at the end.
    #[arg(long)]
    report: Option<PathBuf>,
    /// Address of the live dashboard (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:8800")]
    dashboard: SocketAddr,
    /// Seed of the world (for a new chain) and of the players' keys and choices.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Tick (block) length in milliseconds, for a new chain.
    #[arg(long, default_value_t = 50)]
    tick_ms: u64,
    /// First loopback port of a new chain (p2p, metrics and player ports follow it).
    #[arg(long, default_value_t = 9000)]
    base_port: u16,
    /// Synthetic load besides the players: signed game inputs per second in total, generated
    /// inside the validators and spread over them (the chain's own benchmark).
    #[arg(long, default_value_t = 0)]
    load: u32,
    /// A fault to inject while the players play (repeatable): `pause:V:SECS[@AT]` stops
    /// validator V for SECS, `kill:V[@AT]` kills it (it is restarted); AT after the players
    /// start, 10 s if not given. `diverge:V[@AT]` makes V's state leave the chain's about AT
    /// after genesis: it exits as diverged and is left stopped. `skew:V:±MS` runs V's clock MS
    /// milliseconds ahead (or behind).
    #[arg(long = "fault", value_parser = fault::Fault::parse)]
    faults: Vec<fault::Fault>,
    /// Entity churn: each honest player leaves after about this long (half to one and a half
    /// times it) and comes back as a new player with a fresh key (0: players stay).
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    churn: Duration,
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (try 60s, 2m, 500ms)"))?;
    let seconds = match unit.trim() {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" | "min" => number * 60.0,
        "h" => number * 3600.0,
        other => return Err(format!("unknown unit {other:?} (ms, s, m or h)")),
    };
    if !(0.0..=1e9).contains(&seconds) {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// The report's fields, exactly.
#[derive(Debug, Serialize)]
struct Report {
    validators: usize,
    bots: usize,
    cheaters: usize,
    duration_s: f64,
    blocks_finalized: u64,
    blocks_per_s: f64,
    finality_ms: Quantiles,
    actions_submitted: u64,
    actions_applied: u64,
    actions_rejected: BTreeMap<String, u64>,
    cheat_actions_accepted: u64,
    state_roots_agree: bool,
    bandwidth_kbps_per_client: Spread,
    cpu_cores_per_validator: f64,
    rss_mb_per_validator: f64,
    /// The faults injected (`--fault`), as given.
    faults: Vec<String>,
    /// The longest time without a newly finalized block, within the window.
    longest_block_gap_ms: Option<u64>,
    /// The longest time a player went without a snapshot (reconnecting included).
    longest_player_freeze_ms: u64,
    /// Player sessions that ended in an error (each player then connects again).
    player_disconnects: u64,
    /// Times a player's session moved to another validator's edge (its node stalled or died).
    player_failovers: u64,
    /// Validators left stopped because a restart could not help (diverged state, damaged
    /// data directory); roots are compared among the others.
    halted: Vec<HaltReport>,
    /// Published content that came into force while players played (`z3r0 content publish`
    /// during the run): how many players saw it switch, and how long after its tick.
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<ContentReport>,
    /// A game built on the engine: its plugins, its pack, its players' actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    game: Option<game::GameReport>,
    /// Where the validators kept their stores.
    stores: StoresReport,
}

#[derive(Debug, Serialize)]
struct ContentReport {
    players_switched: usize,
    switches: usize,
    lag_ms: Quantiles,
}

#[derive(Debug, Serialize)]
pub(crate) struct HaltReport {
    validator: usize,
    exit: &'static str,
    reason: String,
}

impl HaltReport {
    /// The validators the devnet left stopped, each with how it exited and why.
    fn of(validators: &[supervisor::Validator]) -> Vec<Self> {
        validators
            .iter()
            .filter_map(|v| {
                let h = v.halted.as_ref()?;
                Some(Self {
                    validator: v.index,
                    exit: h.exit.label(),
                    reason: h.reason.clone(),
                })
            })
            .collect()
    }
}

#[derive(Debug, Serialize)]
struct Quantiles {
    p50: Option<f64>,
    p99: Option<f64>,
    max: Option<f64>,
}

impl Quantiles {
    /// The median, 99th percentile and maximum of `values`, to a tenth.
    fn of(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        let q = |p| quantile(&values, p).map(|v| round(v, 1));
        Self {
            p50: q(0.5),
            p99: q(0.99),
            max: q(1.0),
        }
    }
}

#[derive(Debug, Serialize)]
struct Spread {
    p50: Option<f64>,
    max: Option<f64>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// Wipes `dir` for a fresh devnet, if it is one: empty, or holding a zone's or a world's
/// genesis (with the memory stores a killed devnet left for it). Anything else is refused, so
/// a mistyped `--data` loses nothing.
fn wipe_devnet_dir(dir: &std::path::Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let empty = std::fs::read_dir(dir)?.next().is_none();
    let devnet = ["genesis.toml", "world.toml"]
        .iter()
        .any(|f| dir.join(f).exists());
    if !devnet && !empty {
        bail!(
            "{} is not a devnet directory (no genesis.toml or world.toml); not wiping it",
            dir.display()
        );
    }
    stores::remove_left(dir)?;
    std::fs::remove_dir_all(dir).with_context(|| format!("wiping {}", dir.display()))
}

/// Makes the chain's directory: a new genesis (naming the game's plugins, its pack the
/// genesis content), or the one already there.
fn prepare_chain(
    args: &DevnetArgs,
    game: &GameParts,
) -> Result<(z3r0_genesis::Genesis, Option<MemoryStores>)> {
    let genesis_path = args.data.join("genesis.toml");
    supervisor::check_stopped(&args.data)?;
    if args.fresh {
        wipe_devnet_dir(&args.data)?;
    }
    if genesis_path.exists() {
        stores::recover(&args.data)?;
    }
    let kind = stores::choose(args.stores, &args.data)?;
    if genesis_path.exists() {
        let genesis = z3r0_genesis::Genesis::load(&genesis_path).context("loading the genesis")?;
        if genesis.validators.len() != args.validators {
            bail!(
                "{} holds a chain of {} validators, not {}: pass --fresh for a new chain",
                args.data.display(),
                genesis.validators.len(),
                args.validators
            );
        }
        game.check_genesis(&genesis)?;
        println!("devnet: resuming the chain in {}", args.data.display());
        let memory = place_stores(args, kind, genesis.validators.len())?;
        return Ok((genesis, memory));
    }
    if args.validators == 0 {
        bail!("--validators must be at least 1");
    }
    // A new chain goes only into an empty directory: never over a world's files, nor over
    // anything else a mistyped --data names (a failed pack below wipes the directory).
    if args.data.exists() && std::fs::read_dir(&args.data)?.next().is_some() {
        let world = args.data.join("world.toml").exists();
        bail!(
            "{} {}; run with --fresh to start over there",
            args.data.display(),
            if world {
                "holds a world (run without --zones 1x1 to continue it)"
            } else {
                "is not empty and holds no genesis.toml"
            }
        );
    }
    let pack = game.new_chain_pack(&args.data)?;
    let mut genesis =
        z3r0_genesis::generate(&args.data, args.validators, args.base_port, 0, args.tick_ms)?;
    genesis.world_seed = args.seed;
    genesis.plugins = game.plugins.clone();
    if let Some(pack) = &pack {
        let hash = game::write_genesis_content(pack, &genesis_path)?;
        genesis.content = Some(z3r0_genesis::to_hex(&hash));
    }
    genesis.save(&genesis_path)?;
    let memory = place_stores(args, kind, args.validators)?;
    println!(
        "devnet: new chain of {} validators in {} (world seed {})",
        args.validators,
        args.data.display(),
        args.seed
    );
    println!(
        "  publish content: z3r0 content publish PACK_DIR --genesis {}",
        genesis_path.display()
    );
    Ok((genesis, memory))
}

/// The chain's memory stores, loaded into RAM, if it runs on them: each validator's config
/// under `args.data` then points at its directory there.
fn place_stores(
    args: &DevnetArgs,
    kind: StoresKind,
    validators: usize,
) -> Result<Option<MemoryStores>> {
    if kind == StoresKind::Disk {
        stores::settle_on_disk(&args.data, validators)?;
        println!(
            "stores: on disk, {}/validator-*/data (every block synced as written)",
            args.data.display()
        );
        return Ok(None);
    }
    let memory = MemoryStores::load(&args.data, validators)?;
    println!(
        "stores: in memory, {} (saved to {}/validator-*/data when the devnet ends; --stores disk syncs every block there instead)",
        memory.root().display(),
        args.data.display()
    );
    Ok(Some(memory))
}

/// The zone from above, as the dashboard's map shows it, and its corner in voxels.
fn terrain(genesis: &z3r0_genesis::Genesis) -> Result<(Vec<u8>, Value)> {
    use z3r0_voxel::{CHUNK_SIZE, ChunkPos, World, WorldGen};
    let [x0, x1] = genesis.chunks_x;
    let [y0, y1] = genesis.chunks_y;
    let [z0, z1] = genesis.chunks_z;
    let generator = WorldGen::new(genesis.world_seed);
    let chunks = ((x1 - x0) * (y1 - y0) * (z1 - z0)).max(0) as usize;
    let mut world = World::with_capacity(chunks);
    for x in x0..x1 {
        for y in y0..y1 {
            for z in z0..z1 {
                let pos = ChunkPos::new(x, y, z);
                world.insert_chunk(pos, &generator.generate(pos))?;
            }
        }
    }
    let (pixels, width, depth) = z3r0_render::map_pixels(&world, (x0, x1), (z0, z1), (y0, y1 - 1));
    let png = z3r0_render::encode_png_rgb(&pixels, width, depth)?;
    let size = CHUNK_SIZE as i32;
    let zone = json!({"x0": x0 * size, "z0": z0 * size, "width": width, "depth": depth});
    Ok((png, zone))
}

/// Everything measured while the devnet runs.
struct Measure {
    tails: Vec<AuditTail>,
    ledger: RootLedger,
    /// Start of the measured window (players playing), Unix ms.
    window_ms: u64,
    /// Heights finalized within the window, with when (first validator to execute them).
    window_heights: BTreeMap<u64, u64>,
    /// Finality latencies within the window, milliseconds (every validator's).
    latencies_ms: Vec<f64>,
}

impl Measure {
    fn read(&mut self) {
        for (i, tail) in self.tails.iter_mut().enumerate() {
            for f in tail.read_new() {
                self.ledger.add(i, &f);
                if f.at_ms >= self.window_ms {
                    let at = self.window_heights.entry(f.height).or_insert(f.at_ms);
                    *at = (*at).min(f.at_ms);
                    if let Some(us) = f.latency_us {
                        self.latencies_ms.push(us as f64 / 1000.0);
                    }
                }
            }
        }
    }

    fn finality(&self) -> Quantiles {
        Quantiles::of(self.latencies_ms.clone())
    }

    /// Finality latencies in buckets (not cumulative), for the dashboard.
    fn histogram(&self) -> Value {
        const BOUNDS: [f64; 10] = [
            10.0, 20.0, 30.0, 40.0, 50.0, 75.0, 100.0, 200.0, 500.0, 1000.0,
        ];
        let mut counts = [0u64; BOUNDS.len() + 1];
        for &l in &self.latencies_ms {
            let i = BOUNDS.iter().position(|&b| l <= b).unwrap_or(BOUNDS.len());
            counts[i] += 1;
        }
        Value::Array(
            counts
                .iter()
                .enumerate()
                .map(|(i, c)| json!({"le_ms": BOUNDS.get(i), "count": c}))
                .collect(),
        )
    }

    /// The longest time between two consecutive heights' first executions in the window.
    fn longest_gap_ms(&self) -> Option<u64> {
        let times: Vec<u64> = self.window_heights.values().copied().collect();
        times.windows(2).map(|w| w[1].saturating_sub(w[0])).max()
    }

    /// Blocks per second over the last `span` of the window.
    fn recent_rate(&self, span_ms: u64) -> f64 {
        let now = now_ms();
        let from = now.saturating_sub(span_ms).max(self.window_ms);
        let n = self
            .window_heights
            .values()
            .filter(|&&at| at >= from)
            .count();
        n as f64 * 1000.0 / (now.saturating_sub(from).max(1)) as f64
    }
}

/// The players' numbers, summed.
#[derive(Debug, Default)]
struct Players {
    connected: usize,
    sent: u64,
    applied: u64,
    refused: BTreeMap<String, u64>,
    cheats: u64,
    cheats_refused: BTreeMap<String, u64>,
    cheats_accepted: u64,
    cheats_unheard: u64,
    kbps: Vec<f64>,
    /// Bytes received by all players: everything, then snapshots, headers and chunks.
    rx: u64,
    split: [u64; 3],
    /// Whole chunks, chunk edits and refused chunks; claims proven and refused; over all
    /// players.
    chunks: [u64; 5],
    /// The longest any player went without a snapshot, and sessions ended in errors.
    longest_freeze_ms: u64,
    disconnects: u64,
    failovers: u64,
    lives_ended: u64,
    /// Players that saw published content come into force, and each switch's lag.
    content_players: usize,
    content_lag_ms: Vec<f64>,
}

/// The game players' stats.
fn game_players(handles: &[BotHandle]) -> Vec<BotStats> {
    handles
        .iter()
        .filter(|h| h.kind == BotKind::Game)
        .map(|h| h.stats.lock().unwrap_or_else(|e| e.into_inner()).clone())
        .collect()
}

fn players(handles: &[BotHandle]) -> Players {
    let mut p = Players::default();
    for h in handles {
        let s: BotStats = h.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
        p.connected += usize::from(s.connected);
        p.sent += s.actions_sent;
        p.applied += s.tally.applied;
        for (r, n) in &s.tally.refused {
            *p.refused.entry(r.to_string()).or_default() += n;
        }
        p.cheats += s.tally.cheats;
        for (r, n) in &s.tally.cheats_refused {
            *p.cheats_refused.entry(r.to_string()).or_default() += n;
        }
        p.cheats_accepted += s.tally.cheats_accepted;
        p.cheats_unheard += s.tally.cheats_unheard + s.cheats_pending;
        p.longest_freeze_ms = p.longest_freeze_ms.max(s.longest_freeze_ms);
        p.disconnects += s.disconnects;
        p.failovers += s.failovers;
        p.lives_ended += s.lives_ended;
        p.content_players += usize::from(!s.content_lag_ms.is_empty());
        p.content_lag_ms
            .extend(s.content_lag_ms.iter().map(|&ms| ms as f64));
        p.kbps.extend(s.kbps());
        p.rx += s.rx_bytes;
        for i in 0..3 {
            p.split[i] += s.split[i];
        }
        for i in 0..5 {
            p.chunks[i] += s.chunks[i];
        }
    }
    p.kbps.sort_by(f64::total_cmp);
    p
}

/// Restarts any validator that exited on its own; fails after too many restarts.
fn supervise(
    validators: &mut [Validator],
    exe: &Path,
    load: u32,
    say: &dyn Fn(String),
) -> Result<()> {
    for v in validators.iter_mut() {
        if let Some(status) = v.exited() {
            let exit = status.code().map_or(NodeExit::Failed, NodeExit::from_code);
            if !exit.restartable() {
                let reason = supervisor::last_error(&v.log_path());
                say(format!(
                    "validator {} exited ({}); not restarting it: {reason}",
                    v.index,
                    exit.label()
                ));
                v.halted = Some(supervisor::Halt { exit, reason });
                continue;
            }
            if v.restarts >= MAX_RESTARTS {
                bail!(
                    "validator {} exited ({status}) after {} restarts; last log lines:\n{}",
                    v.index,
                    v.restarts,
                    log_tail(&v.log_path(), 15)
                );
            }
            v.restarts += 1;
            say(format!(
                "validator {} exited ({status}); restarting it ({}/{MAX_RESTARTS})",
                v.index, v.restarts
            ));
            v.start(exe, load)?;
        }
    }
    Ok(())
}

/// The zone being run: its genesis, validator processes, runtime, dashboard, and whether the run
/// was interrupted.
struct Zone<'a> {
    args: &'a DevnetArgs,
    game: &'a GameParts,
    exe: PathBuf,
    genesis: z3r0_genesis::Genesis,
    validators: Vec<Validator>,
    runtime: tokio::runtime::Runtime,
    board: Arc<dashboard::Dashboard>,
    /// The zone's terrain summary, for the dashboard.
    zone: Value,
    interrupted: Arc<AtomicBool>,
    /// Synthetic inputs per second each validator generates.
    load: u32,
    /// The faults to inject, and the validators they paused.
    faults: fault::Injector,
    /// The stores in RAM, if there: after `validators`, so dropped after they are stopped.
    memory: Option<MemoryStores>,
}

/// The players: their handles, their kinds by short key, and the switch that stops them.
struct Crowd {
    handles: Vec<BotHandle>,
    kinds: BTreeMap<String, &'static str>,
    stop: tokio::sync::watch::Sender<bool>,
}

/// What the measuring phase keeps between samples.
struct Watch {
    measure: Measure,
    window: Instant,
    cpu_start: Vec<f64>,
    applied_history: VecDeque<(Instant, u64)>,
    last_line: Instant,
    blocks_json: Value,
    map_json: Value,
    peak_rss: Vec<f64>,
}

/// The progress line (a spinner on a terminal, plain lines otherwise).
struct Progress(indicatif::ProgressBar);

impl Progress {
    fn new() -> Self {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.enable_steady_tick(Duration::from_millis(200));
        Self(bar)
    }

    fn say(&self, line: String) {
        if self.0.is_hidden() {
            println!("{line}");
        } else {
            self.0.println(line);
        }
    }
}

/// The devnet's world unless told otherwise: four zones, each its own chain.
pub const DEFAULT_ZONES: [u16; 2] = [2, 2];

/// Runs the devnet of the engine alone: see [`run_game`].
pub fn run(args: &DevnetArgs) -> Result<()> {
    run_game(args, &GameParts::default())
}

/// Runs the devnet of a game: genesis, validators, wait, the game's pack, players, measure,
/// report.
pub fn run_game(args: &DevnetArgs, game: &GameParts) -> Result<()> {
    let world = match (args.zones, game.is_empty()) {
        (Some([1, 1]), _) | (None, false) => None,
        (Some(zones), _) => Some(zones),
        (None, true) => Some(DEFAULT_ZONES),
    };
    if let Some(zones) = world {
        return world::run(args, zones, game);
    }
    let mut zone = Zone::start(args, game)?;
    let progress = Progress::new();
    zone.wait_until_finalizing(&progress)?;
    let crowd = zone.spawn_players()?;
    let watch = zone.measure(&crowd, &progress)?;
    progress.0.finish_and_clear();
    zone.finish(&crowd, watch)
}

impl<'a> Zone<'a> {
    /// Genesis (or the existing chain), the dashboard, the interrupt handler and the validator
    /// processes.
    fn start(args: &'a DevnetArgs, game: &'a GameParts) -> Result<Self> {
        let exe = std::env::current_exe().context("locating the z3r0 executable")?;
        let (genesis, memory) = prepare_chain(args, game)?;
        let validators = (0..genesis.validators.len())
            .map(|i| Validator::new(i, args.data.join(format!("validator-{i}"))))
            .collect::<Result<Vec<_>>>()?;
        if let Some(f) = args.faults.iter().find(|f| f.validator >= validators.len()) {
            bail!("--fault {f}: the zone has {} validators", validators.len());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (terrain_png, zone) = terrain(&genesis)?;
        let board = dashboard::Dashboard::new(terrain_png);
        let board_addr = dashboard::serve(&runtime, args.dashboard, board.clone())?;
        println!("dashboard: http://{board_addr}/");
        let interrupted = Arc::new(AtomicBool::new(false));
        on_interrupt(&runtime, interrupted.clone());
        let load = args.load / validators.len().max(1) as u32;
        let mut zone = Self {
            args,
            game,
            exe,
            genesis,
            validators,
            runtime,
            board,
            zone,
            interrupted,
            load,
            faults: fault::Injector::new(&args.faults),
            memory,
        };
        for v in &mut zone.validators {
            // Every player could end up on one validator, and probes come on top.
            v.sessions_per_address = args.bots + args.cheaters + 64;
            v.diverge_at = fault::diverge_height(&args.faults, v.index, zone.genesis.tick_ms);
            v.clock_skew_ms = fault::clock_skew(&args.faults, v.index);
            v.start(&zone.exe, load)?;
        }
        println!(
            "validators: {} processes; logs in {}/validator-*/node.log; players connect to {}",
            zone.validators.len(),
            args.data.display(),
            zone.validators
                .iter()
                .map(|v| v.players.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        Ok(zone)
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    fn supervise(&mut self, progress: &Progress) -> Result<()> {
        supervise(&mut self.validators, &self.exe, self.load, &|l| {
            progress.say(l)
        })
    }

    /// Waits until every validator finalizes a block past the first height it reports.
    fn wait_until_finalizing(&mut self, progress: &Progress) -> Result<()> {
        progress
            .0
            .set_message("waiting for the validators to finalize");
        let started = Instant::now();
        let mut first_heights: Vec<Option<f64>> = vec![None; self.validators.len()];
        loop {
            if self.interrupted() {
                bail!("interrupted before the chain ran");
            }
            self.supervise(progress)?;
            let mut ready = true;
            for (i, v) in self.validators.iter().enumerate() {
                let height = self
                    .runtime
                    .block_on(http_get(v.metrics, "/metrics"))
                    .map(|(_, body)| parse_metrics(&body).height);
                match (height, first_heights[i]) {
                    (Some(h), None) => {
                        first_heights[i] = Some(h);
                        ready = false;
                    }
                    (Some(h), Some(first)) if h > first => {}
                    _ => ready = false,
                }
            }
            if ready {
                break;
            }
            if started.elapsed() > Duration::from_secs(120) {
                bail!(
                    "the validators did not finalize within 2 minutes; their logs end:\n{}",
                    supervisor::log_tails(&self.validators, 8)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        progress.say(format!(
            "chain finalizing after {:.1} s; starting {} players and {} cheaters",
            started.elapsed().as_secs_f64(),
            self.args.bots,
            self.args.cheaters
        ));
        Ok(())
    }

    /// Starts the honest players (two walkers to one builder, or to one game player when the
    /// game has a script) and the cheaters, spread over the validators' edges.
    fn spawn_players(&self) -> Result<Crowd> {
        let keys = self
            .genesis
            .public_keys()
            .map_err(|e| anyhow::anyhow!("genesis keys: {e}"))?;
        let mut client =
            ClientConfig::new(self.validators[0].players, self.genesis.chain_id(), keys);
        client.zone = Some(self.genesis.zone);
        let (stop, bot_stop) = tokio::sync::watch::channel(false);
        let args = self.args;
        let handles: Vec<BotHandle> = (0..args.bots + args.cheaters)
            .map(|i| {
                let kind = if i >= args.bots {
                    BotKind::Cheat
                } else if i % 3 == 2 && self.game.script.is_some() {
                    BotKind::Game
                } else if i % 3 == 2 {
                    BotKind::Build
                } else {
                    BotKind::Wander
                };
                let n = self.validators.len();
                let server = self.validators[i % n].players;
                // The others, from the next one on: a node's players spread when it fails.
                let mut config = client.clone();
                config.fallbacks = (1..n)
                    .map(|k| self.validators[(i + k) % n].players)
                    .collect();
                bots::spawn(
                    self.runtime.handle(),
                    bots::BotSpec {
                        index: i,
                        kind,
                        seed: args.seed,
                        config,
                        server,
                        churn: (!args.churn.is_zero()).then_some(args.churn),
                        script: self.game.script.clone(),
                    },
                    bot_stop.clone(),
                )
            })
            .collect();
        let kinds = handles
            .iter()
            .map(|h| (h.short_key.clone(), kind_name(h.kind)))
            .collect();
        Ok(Crowd {
            handles,
            kinds,
            stop,
        })
    }

    /// Samples the zone every half second until the duration ends or the run is interrupted:
    /// the progress line and the dashboard's state.
    fn measure(&mut self, crowd: &Crowd, progress: &Progress) -> Result<Watch> {
        let mut watch = Watch {
            measure: Measure {
                tails: self
                    .validators
                    .iter()
                    .map(|v| AuditTail::new(v.audit_path()))
                    .collect(),
                ledger: RootLedger::new(self.validators.len()),
                window_ms: now_ms(),
                window_heights: BTreeMap::new(),
                latencies_ms: Vec::new(),
            },
            window: Instant::now(),
            cpu_start: self
                .validators
                .iter_mut()
                .map(|v| v.cpu_seconds())
                .collect(),
            applied_history: VecDeque::new(),
            last_line: Instant::now(),
            blocks_json: Value::Array(Vec::new()),
            map_json: Value::Null,
            peak_rss: vec![0.0f64; self.validators.len()],
        };
        loop {
            let duration = self.args.duration;
            if self.interrupted() || (!duration.is_zero() && watch.window.elapsed() >= duration) {
                return Ok(watch);
            }
            if let Some(why) = self.memory.as_mut().and_then(MemoryStores::running_out) {
                progress.say(why);
                return Ok(watch);
            }
            std::thread::sleep(Duration::from_millis(500));
            self.inject_faults(watch.window.elapsed(), progress);
            self.supervise(progress)?;
            watch.measure.read();
            self.sample(crowd, progress, &mut watch);
        }
    }

    /// Sends the faults' signals that are due `elapsed` after the players started.
    fn inject_faults(&mut self, elapsed: Duration, progress: &Progress) {
        self.faults
            .inject(&self.validators, elapsed, &|l| progress.say(l));
    }

    /// One sample: the validators' rows, the explorer's map and blocks, the players' numbers.
    fn sample(&mut self, crowd: &Crowd, progress: &Progress, watch: &mut Watch) {
        let (rows, up, height) = self.validator_rows(watch);
        *self
            .board
            .explorers
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = up.clone();
        if let Some(node) = up.first().copied() {
            self.read_explorer(node, crowd, watch);
        }
        let p = players(&crowd.handles);
        watch.applied_history.push_back((Instant::now(), p.applied));
        while watch.applied_history.len() > 10 {
            watch.applied_history.pop_front();
        }
        let actions_per_s = match (watch.applied_history.front(), watch.applied_history.back()) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) as f64 / (b.0 - a.0).as_secs_f64(),
            _ => 0.0,
        };
        let finality = watch.measure.finality();
        let bps = watch.measure.recent_rate(5_000);
        let rejected: u64 = p.refused.values().sum();
        let cheats_refused: u64 = p.cheats_refused.values().sum();
        let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.0}"));
        let line = format!(
            "{:>5.0}s  height {height:>6}  {bps:>4.1} blocks/s  finality p50 {} p99 {} ms  {actions_per_s:>5.0} actions/s  players {}/{}  rejected {rejected}  cheats accepted {}",
            watch.window.elapsed().as_secs_f64(),
            ms(finality.p50),
            ms(finality.p99),
            p.connected,
            crowd.handles.len(),
            p.cheats_accepted
        );
        if progress.0.is_hidden() {
            if watch.last_line.elapsed() >= Duration::from_secs(5) {
                println!("{line}");
                watch.last_line = Instant::now();
            }
        } else {
            progress.0.set_message(line);
        }
        let event = json!({
            "elapsed_s": round(watch.window.elapsed().as_secs_f64(), 1),
            "duration_s": self.args.duration.as_secs_f64(),
            "chain": {
                "height": height,
                "blocks_per_s": round(bps, 2),
                "actions_per_s": round(actions_per_s, 1),
                "finality_ms": finality,
                "finality_hist": watch.measure.histogram(),
            },
            "validators": rows,
            "bots": {
                "connected": p.connected,
                "total": crowd.handles.len(),
                "actions_submitted": p.sent,
                "actions_applied": p.applied,
                "rejected": rejected,
                "cheat_sent": p.cheats,
                "cheat_refused": cheats_refused,
                "cheat_accepted": p.cheats_accepted,
            },
            "rejected_by_reason": p.refused,
            "zone": self.zone,
            "map": watch.map_json,
            "blocks": watch.blocks_json,
        });
        self.board.stats.send_replace(Arc::new(event.to_string()));
    }

    /// Each validator's row for the dashboard, the metrics addresses of those up, and the
    /// highest height any reports.
    fn validator_rows(&mut self, watch: &mut Watch) -> (Vec<Value>, Vec<SocketAddr>, f64) {
        let mut rows = Vec::new();
        let mut up = Vec::new();
        let mut height = 0.0f64;
        let elapsed = watch.window.elapsed().as_secs_f64().max(1e-3);
        for (i, v) in self.validators.iter_mut().enumerate() {
            // A paused validator would hold the sample (and the faults' timing) for the
            // scrape's timeout.
            let sample = if v.running() && !self.faults.is_paused(i) {
                self.runtime
                    .block_on(http_get(v.metrics, "/metrics"))
                    .map(|(_, body)| parse_metrics(&body))
            } else {
                None
            };
            let cpu = v.cpu_seconds() - watch.cpu_start[i];
            let rss = v.rss_mb();
            watch.peak_rss[i] = watch.peak_rss[i].max(rss.unwrap_or(0.0));
            if sample.is_some() {
                up.push(v.metrics);
            }
            height = height.max(sample.as_ref().map_or(0.0, |s| s.height));
            rows.push(json!({
                "index": i,
                "up": sample.is_some(),
                "height": sample.as_ref().map(|s| s.height),
                "peers": sample.as_ref().map(|s| s.peers),
                "cpu_cores": round(cpu / elapsed, 2),
                "rss_mb": rss.map(|r| round(r, 1)),
                "restarts": v.restarts,
                "players": v.players.to_string(),
            }));
        }
        (rows, up, height)
    }

    /// The explorer's player map (with each player's kind) and latest blocks, from `node`.
    fn read_explorer(&self, node: SocketAddr, crowd: &Crowd, watch: &mut Watch) {
        if let Some((200, body)) = self.runtime.block_on(http_get(node, "/api/map"))
            && let Ok(mut map) = serde_json::from_str::<Value>(&body)
        {
            if let Some(list) = map.get_mut("players").and_then(Value::as_array_mut) {
                for p in list {
                    let kind = p
                        .get("key")
                        .and_then(Value::as_str)
                        .and_then(|k| crowd.kinds.get(k).copied())
                        .unwrap_or("player");
                    p["kind"] = Value::from(kind);
                }
            }
            watch.map_json = map;
        }
        if let Some((200, body)) = self
            .runtime
            .block_on(http_get(node, "/api/blocks?limit=30"))
            && let Ok(list) = serde_json::from_str::<Value>(&body)
        {
            watch.blocks_json = list;
        }
    }

    /// The end: players first (their last outcomes), then the validators, then the logs; the
    /// summary and the report. Fails if the roots split or a cheat was accepted.
    fn finish(mut self, crowd: &Crowd, mut watch: Watch) -> Result<()> {
        let _ = crowd.stop.send(true);
        std::thread::sleep(Duration::from_millis(1_500));
        let elapsed = watch.window.elapsed().as_secs_f64();
        let p = players(&crowd.handles);
        let cpu: Vec<f64> = self
            .validators
            .iter_mut()
            .enumerate()
            .map(|(i, v)| (v.cpu_seconds() - watch.cpu_start[i]) / elapsed.max(1e-3))
            .collect();
        for (i, v) in self.validators.iter().enumerate() {
            watch.peak_rss[i] = watch.peak_rss[i].max(v.rss_mb().unwrap_or(0.0));
        }
        let restarts: Vec<u32> = self.validators.iter().map(|v| v.restarts).collect();
        let stores = StoresReport::of(self.memory.as_ref());
        // A paused validator cannot stop until it runs again.
        self.faults.resume_all(&self.validators);
        for v in &mut self.validators {
            v.request_stop();
        }
        for v in &mut self.validators {
            v.stop(Duration::from_secs(10));
        }
        self.runtime.shutdown_timeout(Duration::from_secs(1));
        watch.measure.read();
        for v in self.validators.iter().filter(|v| v.diverged()) {
            watch.measure.ledger.exclude(v.index);
        }
        let halted = HaltReport::of(&self.validators);

        let measure = &watch.measure;
        let blocks = measure.window_heights.keys().filter(|&&h| h > 0).count() as u64;
        let agree = measure.ledger.agree();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        let args = self.args;
        let report = Report {
            validators: self.validators.len(),
            bots: args.bots,
            cheaters: args.cheaters,
            duration_s: round(elapsed, 1),
            blocks_finalized: blocks,
            blocks_per_s: round(blocks as f64 / elapsed.max(1e-3), 2),
            finality_ms: measure.finality(),
            actions_submitted: p.sent,
            actions_applied: p.applied,
            actions_rejected: p.refused.clone(),
            cheat_actions_accepted: p.cheats_accepted,
            state_roots_agree: agree,
            bandwidth_kbps_per_client: Spread {
                p50: quantile(&p.kbps, 0.5).map(|v| round(v, 1)),
                max: p.kbps.last().map(|v| round(*v, 1)),
            },
            cpu_cores_per_validator: round(mean(&cpu), 2),
            rss_mb_per_validator: round(mean(&watch.peak_rss), 1),
            faults: args.faults.iter().map(ToString::to_string).collect(),
            longest_block_gap_ms: measure.longest_gap_ms(),
            longest_player_freeze_ms: p.longest_freeze_ms,
            player_disconnects: p.disconnects,
            player_failovers: p.failovers,
            halted,
            content: (!p.content_lag_ms.is_empty()).then(|| ContentReport {
                players_switched: p.content_players,
                switches: p.content_lag_ms.len(),
                lag_ms: Quantiles::of(p.content_lag_ms.clone()),
            }),
            game: (!self.game.is_empty()).then(|| {
                game::GameReport::new(
                    self.game,
                    &self.genesis,
                    game_players(&crowd.handles).iter().map(|s| &s.tally),
                )
            }),
            stores,
        };
        print_summary(
            &report,
            &p,
            &measure.ledger,
            &cpu,
            &watch.peak_rss,
            &restarts,
        );
        if let Some(path) = &args.report {
            let text = serde_json::to_string_pretty(&report)?;
            std::fs::write(path, text + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
            println!("report: {}", path.display());
        }
        if !agree {
            bail!("the validators' state roots do not agree (see above)");
        }
        if p.cheats_accepted > 0 {
            bail!("{} cheat actions were accepted", p.cheats_accepted);
        }
        Ok(())
    }
}

/// Ctrl-C (and SIGTERM on unix) set `flag`: the run ends in order (children are in their own
/// process groups).
fn on_interrupt(runtime: &tokio::runtime::Runtime, flag: Arc<AtomicBool>) {
    runtime.spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        flag.store(true, Ordering::SeqCst);
    });
}

/// One line per entry of `counts` (reasons, actions), under the summary line they detail.
fn print_counts(counts: &BTreeMap<String, u64>, prefix: &str) {
    for (what, n) in counts {
        println!("    {n:>6} × {prefix}{what}");
    }
}

fn print_summary(
    r: &Report,
    p: &Players,
    ledger: &RootLedger,
    cpu: &[f64],
    rss: &[f64],
    restarts: &[u32],
) {
    let ms = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.1} ms"));
    println!();
    println!(
        "devnet summary: {} validators ({}), {} players + {} cheaters, {:.1} s",
        r.validators, r.stores, r.bots, r.cheaters, r.duration_s
    );
    println!(
        "  chain       {} blocks finalized, {:.2} blocks/s; finality p50 {} p99 {} max {}",
        r.blocks_finalized,
        r.blocks_per_s,
        ms(r.finality_ms.p50),
        ms(r.finality_ms.p99),
        ms(r.finality_ms.max)
    );
    println!(
        "  roots       {} (every validator, heights 1..={}; {} disagreements; missing heights per validator {:?})",
        if r.state_roots_agree {
            "agree"
        } else {
            "DO NOT AGREE"
        },
        ledger.common_tip(),
        ledger.disagreements().len(),
        ledger.missing()
    );
    for (height, v, root, first) in ledger.disagreements().iter().take(5) {
        println!("    height {height}: validator {v} has root {root}, another has {first}");
    }
    for h in &r.halted {
        println!(
            "  halted      validator {} ({}), left stopped and out of the roots above: {}",
            h.validator, h.exit, h.reason
        );
    }
    println!(
        "  actions     {} submitted, {} applied, {} rejected",
        r.actions_submitted,
        r.actions_applied,
        r.actions_rejected.values().sum::<u64>()
    );
    print_counts(&r.actions_rejected, "");
    println!(
        "  cheats      {} cheat actions: {} refused, {} accepted, {} unheard",
        p.cheats,
        p.cheats_refused.values().sum::<u64>(),
        r.cheat_actions_accepted,
        p.cheats_unheard
    );
    print_counts(&p.cheats_refused, "");
    if let Some(c) = &r.content {
        println!(
            "  content     {} players saw published content come into force ({} switches), {} / {} / {} after its tick (p50 / p99 / max)",
            c.players_switched,
            c.switches,
            ms(c.lag_ms.p50),
            ms(c.lag_ms.p99),
            ms(c.lag_ms.max)
        );
    }
    if let Some(g) = &r.game {
        g.print();
    }
    let share = |b: u64| 100.0 * b as f64 / p.rx.max(1) as f64;
    println!(
        "  bandwidth   p50 {} max {} kbit/s per client (downlink; snapshots {:.0} %, headers {:.0} %, chunks {:.0} %)",
        r.bandwidth_kbps_per_client
            .p50
            .map_or("n/a".into(), |v| format!("{v:.1}")),
        r.bandwidth_kbps_per_client
            .max
            .map_or("n/a".into(), |v| format!("{v:.1}")),
        share(p.split[0]),
        share(p.split[1]),
        share(p.split[2])
    );
    println!(
        "  chunks      {} sent whole, {} edits, {} refused by the players' checks",
        p.chunks[0], p.chunks[1], p.chunks[2]
    );
    println!(
        "  claims      {} proven to players, {} refused by their checks",
        p.chunks[3], p.chunks[4]
    );
    println!(
        "  faults      {:?}; longest gap between blocks {}; longest player freeze {} ms; {} player disconnects, {} failovers",
        r.faults,
        r.longest_block_gap_ms
            .map_or("n/a".into(), |v| format!("{v} ms")),
        r.longest_player_freeze_ms,
        r.player_disconnects,
        r.player_failovers
    );
    if p.lives_ended > 0 {
        println!(
            "  churn       {} players left and came back with fresh keys",
            p.lives_ended
        );
    }
    println!(
        "  validators  cpu cores {:?}, peak rss MiB {:?}, restarts {:?}",
        cpu.iter().map(|c| round(*c, 2)).collect::<Vec<_>>(),
        rss.iter().map(|c| round(*c, 1)).collect::<Vec<_>>(),
        restarts
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
