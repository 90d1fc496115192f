//! `z3r0 node`: one validator process on the tokio runtime, with authenticated p2p between the
//! genesis committee, a Prometheus endpoint, an audit log of finalized blocks and an optional
//! synthetic load generator.

use crate::application::{Finalized, Observer, Pacing};
use crate::block::MAX_BLOCK_BYTES;
use crate::datadir::{self, DataDirError};
use crate::engine::{self, Channels, Timeouts, ValidatorSetup, channel};
use crate::explorer::Explorer;
use crate::genesis::{Genesis, ValidatorConfig};
use commonware_codec::Encode as _;
use commonware_cryptography::{ChaCha20Poly1305, Signer as _, ed25519::PrivateKey};
use commonware_p2p::{Address, AddressableManager as _, authenticated::lookup};
use commonware_runtime::{
    Clock as _, Metrics as _, Quota, Runner as _, Spawner as _, Supervisor as _,
};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use commonware_utils::{
    NZU32, NZUsize, TryCollect as _,
    ordered::{Map, Set},
};
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{error, info, warn};
use z3r0_chain::{Action, MempoolConfig, SignedAction};
use z3r0_genesis::NodeExit;
use z3r0_sim::Sim;

/// Namespace of p2p handshakes between validators.
const P2P_NAMESPACE: &[u8] = b"z3r0/p2p/v1";
const QUOTA: Quota = Quota::per_second(NZU32!(2_000));
/// How often a validator pings each peer (the connection's heartbeat).
const PEER_PING: Duration = Duration::from_millis(250);
/// A connection that delivers nothing for this long (six missed pings) is closed and redialled.
const PEER_SILENCE: Duration = Duration::from_millis(1_500);
/// How long one dial may take: a dial into a cut network fails fast and is tried again.
const PEER_DIAL_TIMEOUT: Duration = Duration::from_secs(1);

/// What `z3r0 node` runs.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    pub config: PathBuf,
    /// Synthetic load: signed actions per second submitted to this validator (0: none).
    pub load_rate: u32,
    /// Runtime worker threads.
    pub threads: usize,
    /// Stop when standard input closes: a supervisor (the devnet) holds its end, so the node
    /// stops when told to and when the supervisor dies, however it dies.
    pub stop_on_stdin_close: bool,
    /// Player sessions one IP address may hold at most.
    pub sessions_per_address: usize,
    /// Connections one IP address may open per second once its burst is spent.
    pub handshakes_per_address: u32,
    /// Tests only: lead with blocks that break the rules ([`crate::byzantine`]).
    pub byzantine: bool,
    /// Set the data directory aside and rebuild it from peers (the keys are kept).
    pub resync: bool,
    /// Tests only: this validator's state leaves its chain's after this height.
    pub diverge_at: Option<u64>,
    /// Tests and drills: this validator's clock runs this many milliseconds ahead of true
    /// time (negative: behind), for everything it paces by (proposing, verifying ticks).
    pub clock_skew_ms: i64,
    /// Finalized blocks kept below the latest checkpoint (default [`crate::engine::HISTORY`]);
    /// tests and drills shorten it to see pruning and state sync within seconds. An
    /// archive's section size follows it, so a data directory keeps the value it began with.
    pub history_blocks: Option<u64>,
    /// The game's rules beyond the engine's ([`z3r0_sim::plugin`]): a game's own node binary
    /// sets them; every validator of a zone must run the same. `z3r0 node` runs none.
    pub plugins: z3r0_sim::plugin::Plugins,
}

/// Why a node could not run.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Config(#[from] crate::genesis::ConfigError),
    #[error("{0}")]
    Genesis(String),
    #[error(transparent)]
    Node(#[from] crate::application::NodeError),
    #[error("{0}")]
    Runtime(String),
    #[error("audit log {path}: {source}")]
    AuditLog {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    DataDir(#[from] DataDirError),
}

impl ProcessError {
    /// How the process ends for this error.
    pub fn exit(&self) -> NodeExit {
        match self {
            Self::DataDir(_) => NodeExit::Storage,
            Self::Node(e) if e.diverged() => NodeExit::Diverged,
            _ => NodeExit::Failed,
        }
    }
}

/// Drills: the action, in no block, that makes a validator's state leave its zone's chain (a
/// player who joins on this validator only).
pub(crate) fn diverging_action(chain: &z3r0_chain::ChainId, zone: u32) -> SignedAction {
    let key = PrivateKey::from_seed(0x00d1_5e7e);
    Action {
        player: key.public_key(),
        zone,
        tick: 0,
        nonce: 0,
        payload: z3r0_sim::Action::Join.encode_to_vec().into(),
    }
    .sign(&key, chain)
}

/// The prefix of the validator's storage partitions.
const PARTITION: &str = "zone";

/// Appends a [`crate::genesis::AuditLine`] for every finalized block to `finalized.log` in the
/// storage directory: an audit trail that other tools (the devnet's report, the multi-process
/// test) compare across nodes.
pub(crate) fn audit_log(dir: &Path) -> Result<Observer, ProcessError> {
    let path = dir.join("finalized.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| ProcessError::AuditLog {
            path: path.clone(),
            source,
        })?;
    let file = Arc::new(Mutex::new(std::io::LineWriter::new(file)));
    Ok(Arc::new(move |f: &Finalized| {
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        let at_ms =
            f.at.duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
        let line = crate::genesis::AuditLine {
            height: f.height,
            digest: f.digest,
            root: f.root,
            at_ms: u64::try_from(at_ms).unwrap_or(u64::MAX),
            latency_us: f
                .latency
                .map(|l| u64::try_from(l.as_micros()).unwrap_or(u64::MAX)),
        };
        if let Err(e) = writeln!(file, "{line}") {
            warn!(error = %e, "cannot append to the audit log");
        }
    }))
}

/// The zone's own genesis content (`None`: the default pack's): its manifest, checked against
/// the genesis's hash, and its files put where the edge serves them. `genesis_path` is the
/// file the genesis came from (a world's `world.toml`): the content lies beside it.
pub(crate) fn genesis_content(
    genesis: &Genesis,
    genesis_path: &Path,
    storage_dir: &Path,
) -> Result<Option<Vec<u8>>, ProcessError> {
    let Some(manifest) = genesis.load_content(genesis_path)? else {
        return Ok(None);
    };
    let from = z3r0_genesis::content_dir(genesis_path);
    let held = crate::assets::import_objects(&from, &crate::assets::asset_dir(storage_dir))
        .map_err(|e| ProcessError::Runtime(format!("genesis content {}: {e}", from.display())))?;
    info!(objects = held, "genesis content held");
    Ok(Some(manifest))
}

/// A zone's state at genesis: its rules, the plugins this binary runs (checked against the
/// genesis's list before) and its own content, if any.
pub(crate) fn zone_machine(
    genesis: &Genesis,
    plugins: &z3r0_sim::plugin::Plugins,
    content: Option<&[u8]>,
) -> Result<Sim, ProcessError> {
    match content {
        Some(manifest) => {
            Sim::genesis_with_content(genesis.sim_config(), plugins.clone(), manifest)
        }
        None => Sim::genesis_with(genesis.sim_config(), plugins.clone()),
    }
    .map_err(|e| ProcessError::Genesis(format!("zone {} state: {e}", genesis.zone)))
}

/// Runs a validator until SIGINT/SIGTERM, or until it cannot follow the chain (an error).
pub fn run(options: &NodeOptions) -> Result<(), ProcessError> {
    if z3r0_genesis::is_world_config(&options.config)? {
        return crate::worldnode::run(options);
    }
    let (config, genesis, key) = ValidatorConfig::load(&options.config)?;
    genesis
        .check_plugin_list(&options.plugins.ids())
        .map_err(ProcessError::Genesis)?;
    check_listen(config.p2p_listen, config.metrics, config.player_listen)?;
    let audit_height = open_data_dir(options, &config.storage_dir, &genesis, &key)?;
    // After the data directory is opened (and marked as this chain's): the assets live in it.
    let content = genesis_content(&genesis, &config.genesis, &config.storage_dir)?;
    storage_panics(&config.storage_dir, &options.config);
    let observer = audit_log(&config.storage_dir)?;
    let runtime = runtime_config(&config.storage_dir, options.threads);
    let options = options.clone();
    commonware_runtime::tokio::Runner::new(runtime).start(|context| async move {
        node(context, config, genesis, content, key, observer, options)
            .await
            .and_then(|started| check_audit_height(&started, audit_height))
    })
}

/// Says so plainly if an address is taken, before the runtime starts.
pub(crate) fn check_listen(
    p2p: SocketAddr,
    metrics: SocketAddr,
    players: SocketAddr,
) -> Result<(), ProcessError> {
    for (what, addr) in [("p2p", p2p), ("metrics", metrics)] {
        std::net::TcpListener::bind(addr).map_err(|e| {
            ProcessError::Runtime(format!("cannot listen on the {what} address {addr}: {e}"))
        })?;
    }
    std::net::UdpSocket::bind(players).map_err(|e| {
        ProcessError::Runtime(format!(
            "cannot listen on the player (QUIC) address {players}: {e}"
        ))
    })?;
    Ok(())
}

/// The tokio runtime of a validator process, its stores under `storage_dir/runtime`.
pub(crate) fn runtime_config(
    storage_dir: &Path,
    threads: usize,
) -> commonware_runtime::tokio::Config {
    commonware_runtime::tokio::Config::new()
        .with_storage_directory(storage_dir.join("runtime"))
        // A peer cut off by the network (not closed) is given up after PEER_SILENCE, so it is
        // redialled as soon as the network heals, not when TCP's backed-off retransmission
        // next tries: pings every PEER_PING keep a quiet but live connection from looking dead.
        .with_read_write_timeout(PEER_SILENCE)
        .with_connect_timeout(PEER_DIAL_TIMEOUT)
        .with_worker_threads(threads.max(1))
        .with_catch_panics(false)
}

/// The authenticated, encrypted p2p network of validator `key` listening on `listen`, for
/// `peers` (a peer set of at most that many others).
pub(crate) fn p2p_config(
    key: &PrivateKey,
    listen: SocketAddr,
    peers: &Set<commonware_cryptography::ed25519::PublicKey>,
) -> lookup::Config<
    impl commonware_stream::Upgrader<PublicKey = commonware_cryptography::ed25519::PublicKey> + use<>,
> {
    let handshake = Cups::<_, ChaCha20Poly1305>::new(
        Sake {
            signer: key.clone(),
            synchrony_bound: Duration::from_secs(5),
            max_handshake_age: Duration::from_secs(10),
            version: sake::Version::V1,
        },
        cups::Version::V1,
    );
    let max_message = commonware_p2p::max_message_size(&[MAX_BLOCK_BYTES + 1024, 1 << 20]);
    let mut p2p = lookup::Config::local(
        handshake,
        P2P_NAMESPACE,
        listen,
        commonware_p2p::authenticated::peer_set_limit(peers.iter(), &key.public_key()),
        max_message,
        NZUsize!(4096),
    );
    p2p.peer_connection_cooldown = Duration::from_millis(250);
    p2p.ping_frequency = PEER_PING;
    p2p.dial_frequency = Duration::from_millis(250);
    p2p
}

/// Sets the data directory aside first if asked to, claims it for this chain and validator,
/// and checks its audit log. Returns the last height the audit log records.
fn open_data_dir(
    options: &NodeOptions,
    dir: &Path,
    genesis: &Genesis,
    key: &PrivateKey,
) -> Result<u64, ProcessError> {
    if options.resync
        && let Some(aside) = datadir::set_aside(dir)?
    {
        warn!(
            aside = %aside.display(),
            "data directory set aside; rebuilding it from peers"
        );
    }
    let owner = datadir::Owner {
        chain: z3r0_genesis::to_hex(&genesis.chain_id().0),
        validator: z3r0_genesis::to_hex(key.public_key().as_ref()),
    };
    datadir::claim(dir, &owner)?;
    Ok(datadir::check_audit_log(dir)?)
}

/// What the node reached before it stopped: the checkpoint it found in its own storage, and
/// the data directory.
struct Started {
    resumed_height: u64,
    dir: PathBuf,
}

/// Every finalized block is logged before its checkpoint is written, so an audit log that ends
/// below the checkpoint was cut short.
fn check_audit_height(started: &Started, audit_height: u64) -> Result<(), ProcessError> {
    if started.resumed_height > audit_height {
        return Err(DataDirError::AuditLog {
            path: started.dir.join(datadir::AUDIT_LOG),
            reason: format!(
                "records blocks up to height {audit_height}, but the checkpoint is at height {}: it was cut short",
                started.resumed_height
            ),
        }
        .into());
    }
    Ok(())
}

/// A store found damaged while running ends in a panic inside commonware (marshal, simplex):
/// this says which and what to do, and exits as [`NodeExit::Storage`], not as a crash.
pub(crate) fn storage_panics(dir: &Path, config: &Path) {
    const MARKS: [&str; 8] = [
        "BlobCorrupt",
        "journal error",
        "checksum",
        "ordinal error",
        "freezer error",
        "metadata error",
        "record corrupted",
        "corruption",
    ];
    let (dir, config) = (dir.to_path_buf(), config.to_path_buf());
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if !MARKS.iter().any(|m| message.contains(m)) {
            return default(info);
        }
        let file = datadir::named_blob(message).map_or_else(
            || dir.join(datadir::RUNTIME),
            |(p, b)| dir.join(datadir::RUNTIME).join(p).join(b),
        );
        eprintln!(
            "error: a store in the data directory is damaged: {}: {message}\n{}",
            file.display(),
            resync_advice(&config)
        );
        std::process::exit(NodeExit::Storage.code());
    }));
}

/// What to do about a damaged or foreign data directory.
pub fn resync_advice(config: &Path) -> String {
    format!(
        "The data directory cannot be used as it is. Keep this validator's key and rebuild it from the committee: `z3r0 node --config {} --resync` (the old directory is set aside, not deleted), or point storage_dir at an empty directory.",
        config.display()
    )
}

async fn node(
    context: commonware_runtime::tokio::Context,
    config: ValidatorConfig,
    genesis: Genesis,
    content: Option<Vec<u8>>,
    key: PrivateKey,
    observer: Observer,
    options: NodeOptions,
) -> Result<Started, ProcessError> {
    let me = key.public_key();
    let participants = Set::from_iter_dedup(genesis.public_keys().map_err(ProcessError::Genesis)?);
    let addresses: Map<_, Address> = genesis
        .public_keys()
        .map_err(ProcessError::Genesis)?
        .into_iter()
        .zip(genesis.validators.iter().map(|v| Address::Symmetric(v.p2p)))
        .try_collect()
        .map_err(|_| ProcessError::Genesis("duplicate validator key".into()))?;

    // Authenticated, encrypted p2p between the committee at known addresses.
    let p2p = p2p_config(&key, config.p2p_listen, &participants);
    let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p);
    let _ = oracle.track(0, addresses);
    let channels = Channels {
        votes: network.register(channel::VOTES, QUOTA),
        certificates: network.register(channel::CERTIFICATES, QUOTA),
        resolver: network.register(channel::RESOLVER, QUOTA),
        broadcast: network.register(channel::BROADCAST, QUOTA),
        backfill: network.register(channel::BACKFILL, QUOTA),
        actions: network.register(channel::ACTIONS, QUOTA),
        sync: network.register(channel::SYNC, crate::engine::SYNC_QUOTA),
    };
    let p2p = network.start();

    let explorer = Arc::new(Explorer::default());
    let status = Arc::new(crate::http::NodeStatus::new(
        z3r0_genesis::to_hex(&genesis.chain_id().0),
        genesis.tick_ms,
        genesis.validators.len(),
    ));
    serve_http(&context, config.metrics, explorer.clone(), status.clone());

    // The player edge: sessions read finalized blocks from the feed the finalizer publishes to.
    let feed = z3r0_net::EdgeFeed::new();
    let edge_hook = {
        let mut publish = crate::edge::publisher(feed.clone());
        let (explorer, status) = (explorer.clone(), status.clone());
        let genesis_ms = genesis.genesis_ms;
        let mut manifests =
            crate::assets::ManifestKeeper::new(crate::assets::asset_dir(&config.storage_dir));
        let hook: crate::application::EdgeHook<Sim> =
            Box::new(move |block, sim, receipts, finality| {
                manifests.keep(sim);
                explorer.record(block, sim, receipts);
                let signers = finality.as_ref().map(|f| f.signatures.len());
                status.finalized(block.height, block.tick, genesis_ms, signers);
                status.content(sim.content_manifests());
                publish(block, sim, receipts, finality);
            });
        hook
    };
    // The chain's clock; the edge tells players the genesis's, whatever this node's skew.
    let pacing = Pacing {
        genesis_ms: genesis.genesis_ms,
        tick_ms: genesis.tick_ms,
    };
    let backend = Arc::new(crate::edge::NodeBackend {
        chain: genesis.chain_id(),
        zone: genesis.zone,
        pacing,
        movement: genesis.movement,
        validator: Mutex::new(None),
        proven: Mutex::default(),
    });

    let machine = zone_machine(&genesis, &options.plugins, content.as_deref())?;
    let edge_key = key.clone();
    let setup = ValidatorSetup {
        signer: key,
        participants,
        machine,
        mempool: MempoolConfig::for_tick(genesis.chain_id(), genesis.zone, genesis.tick_ms),
        pacing: pacing.skewed(options.clock_skew_ms),
        timeouts: Timeouts::for_tick(genesis.tick_ms),
        partition: PARTITION.into(),
        checkpoint_interval: 256,
        history: options.history_blocks.unwrap_or(crate::engine::HISTORY),
        observer: Some(observer),
        edge: Some(edge_hook),
        // The forged action would make this key's player leave: a key no one plays.
        byzantine: options.byzantine.then(|| {
            crate::byzantine::Byzantine::new(
                genesis.chain_id(),
                z3r0_sim::Action::Leave.encode_to_vec(),
                crate::simnet::forged_consent(&genesis.chain_id()),
                PrivateKey::from_seed(0x00b1_c7e1),
            )
        }),
        diverge_at: options
            .diverge_at
            .map(|height| (height, diverging_action(&genesis.chain_id(), genesis.zone))),
    };
    let mut validator = engine::start(
        context.child("validator"),
        setup,
        oracle.clone(),
        oracle,
        channels,
    )
    .await
    .map_err(|e| match e {
        crate::application::NodeError::Store(fault) => {
            datadir::store_error(&config.storage_dir, PARTITION, fault).into()
        }
        e => ProcessError::Node(e),
    })?;
    let started = Started {
        resumed_height: validator.stored_height,
        dir: config.storage_dir.clone(),
    };
    info!(public_key = %me, "validator running");
    let finalizer = validator.finalizer.take();
    let validator = Arc::new(validator);
    *backend.validator.lock().unwrap_or_else(|p| p.into_inner()) = Some(validator.clone());
    let mut edge_config = z3r0_net::EdgeConfig::for_tick(config.player_listen, genesis.tick_ms);
    edge_config.max_sessions_per_address = options.sessions_per_address;
    edge_config.handshakes_per_address_per_sec = options.handshakes_per_address;
    let edge = z3r0_net::serve(&edge_key, edge_config, backend, feed)
        .map_err(|e| ProcessError::Runtime(format!("player edge: {e}")))?;
    status.set_edge(edge.stats.clone());
    let store = crate::assets::asset_store(&config.storage_dir, genesis.publisher())
        .map_err(|e| ProcessError::Runtime(format!("asset directory: {e}")))?;
    edge.serve_assets(store);
    info!(addr = %config.player_listen, "serving players over QUIC");

    let load_rate = options.load_rate;
    if load_rate > 0 {
        let v = validator.clone();
        let zone = genesis.zone;
        context.child("load").spawn(move |ctx| async move {
            generate_load(ctx, v, zone, load_rate).await;
        });
    }

    let Some(finalizer) = finalizer else {
        return Ok(started);
    };
    let stop = stop_requested(options.stop_on_stdin_close);
    tokio::select! {
        _ = p2p => Err(ProcessError::Runtime("the p2p network stopped".into())),
        _ = stop => {
            info!("stopping");
            edge.shutdown().await;
            let _ = context.stop(0, Some(Duration::from_secs(5))).await;
            Ok(started)
        }
        result = finalizer => match result {
            Ok(Ok(())) => Ok(started),
            Ok(Err(e)) => {
                error!(error = %e, "validator stopped");
                Err(e.into())
            }
            Err(e) => Err(ProcessError::Runtime(format!("finalizer task: {e}"))),
        }
    }
}

/// Resolves on SIGINT or SIGTERM, or once standard input closes if `on_stdin_close`.
pub(crate) async fn stop_requested(on_stdin_close: bool) {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminated = async {
        match term.as_mut() {
            Some(t) => {
                t.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminated => {},
        _ = stdin_closed(on_stdin_close) => info!("standard input closed"),
    }
}

/// Resolves once standard input reaches its end (never, unless `enabled`).
async fn stdin_closed(enabled: bool) {
    if !enabled {
        return std::future::pending().await;
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // Blocking reads on their own thread: the runtime's workers stay free.
    let spawned = std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin();
            while matches!(std::io::Read::read(&mut stdin, &mut sink), Ok(n) if n > 0) {}
            let _ = tx.send(());
        });
    match spawned {
        Ok(_) => {
            let _ = rx.await;
        }
        Err(e) => {
            warn!(error = %e, "cannot watch standard input");
            std::future::pending::<()>().await;
        }
    }
}

/// Serves the node's HTTP endpoint ([`crate::http`]) on `addr`.
pub(crate) fn serve_http(
    context: &commonware_runtime::tokio::Context,
    addr: SocketAddr,
    explorer: Arc<Explorer>,
    status: Arc<crate::http::NodeStatus>,
) {
    spawn_http(context, addr, move |metrics| {
        crate::http::router(metrics, explorer, status)
    });
}

/// Serves the router `app` makes (given the metrics text) on `addr`.
fn spawn_http(
    context: &commonware_runtime::tokio::Context,
    addr: SocketAddr,
    app: impl FnOnce(crate::http::MetricsText) -> axum::Router + Send + 'static,
) {
    context.child("metrics").spawn(move |ctx| async move {
        // The registry is the runtime's: this task's context renders all of it.
        let registry = Mutex::new(ctx);
        let metrics: crate::http::MetricsText =
            Arc::new(move || registry.lock().map(|ctx| ctx.encode()).unwrap_or_default());
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                error!(%addr, error = %e, "cannot serve metrics");
                return;
            }
        };
        info!(%addr, "metrics at /metrics, health at /health, status and explorer at /api/");
        if let Err(e) = axum::serve(listener, app(metrics)).await {
            error!(%addr, error = %e, "the HTTP endpoint stopped");
        }
    });
}

/// Serves the HTTP endpoint of a validator seated on several zones ([`crate::http`]).
pub(crate) fn serve_http_world(
    context: &commonware_runtime::tokio::Context,
    addr: SocketAddr,
    zones: std::collections::BTreeMap<u32, crate::http::ZonePages>,
) {
    spawn_http(context, addr, move |metrics| {
        crate::http::world_router(metrics, zones)
    });
}

/// Submits `rate` signed game inputs per second to this validator's mempool, from 256 synthetic
/// players of its own (keys derived from its identity), one batch per 10 ms.
async fn generate_load(
    mut context: commonware_runtime::tokio::Context,
    validator: Arc<engine::Validator<Sim>>,
    zone: u32,
    rate: u32,
) {
    use z3r0_sim::{Action as GameAction, InputFrame};
    let seed = u64::from_be_bytes(
        validator.public_key.as_ref()[..8]
            .try_into()
            .unwrap_or([0; 8]),
    );
    let players: Vec<_> = (0..256u64)
        .map(|i| PrivateKey::from_seed(seed.wrapping_add(i)))
        .collect();
    let join = GameAction::Join.encode_to_vec();
    let walk = GameAction::Input(InputFrame {
        forward: 1,
        strafe: 0,
        yaw: 0,
        pitch: 0,
        flags: 0,
    })
    .encode_to_vec();
    let mut next_nonce = vec![None::<u64>; players.len()];
    let mut sent = 0u64;
    let start = context.current();
    let mut player = 0usize;
    loop {
        context.sleep(Duration::from_millis(10)).await;
        let elapsed = context.current().duration_since(start).unwrap_or_default();
        let due = (elapsed.as_millis() as u64).saturating_mul(u64::from(rate)) / 1000;
        let tick = validator.current_tick();
        let mut batch = Vec::new();
        while sent < due {
            let key = &players[player];
            let nonce = next_nonce[player]
                .unwrap_or_else(|| validator.next_nonce(&key.public_key()))
                .max(validator.next_nonce(&key.public_key()));
            let payload = if nonce == 0 { &join } else { &walk };
            let action = Action {
                player: key.public_key(),
                zone,
                tick,
                nonce,
                payload: payload.clone().into(),
            }
            .sign(key, &validator.chain);
            batch.push((player, action));
            sent += 1;
            player = (player + 1) % players.len();
        }
        // As a player's input would arrive: decoded from its bytes (an action that did not
        // decode is dropped with its player, so results and players stay paired).
        let (players_sent, decoded): (Vec<usize>, Vec<_>) = batch
            .iter()
            .filter_map(|(p, a)| {
                let decoded = z3r0_chain::SignedAction::decode(&a.encode()[..]).ok()?;
                Some((*p, decoded))
            })
            .unzip();
        let nonces: Vec<u64> = decoded.iter().map(|a| a.action.nonce).collect();
        let results =
            validator.submit_batch(crate::application::Source::Load, decoded, &mut context);
        for ((player, nonce), result) in players_sent.into_iter().zip(nonces).zip(results) {
            if result.is_ok() {
                next_nonce[player] = Some(nonce + 1);
            }
        }
    }
}
