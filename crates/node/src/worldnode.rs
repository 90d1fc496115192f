//! `z3r0 node` for a pool member of a world: one process with one authenticated p2p network
//! runs a replica (engine, marshal, executor, stores) of every zone whose committee the
//! validator sits on, each zone on channels of its own and its traffic kept inside its
//! committee ([`CommitteeSender`]); it relays its zones' exits to the neighbours' committees
//! and takes theirs in; one QUIC edge serves players of all its zones; metrics carry a `zone`
//! label. Connections grow with the validators it shares a zone (or a border) with, not with
//! the zones it serves.

use crate::application::{EdgeHook, Pacing};
use crate::datadir::{self, DataDirError};
use crate::engine::{self, Channels, Timeouts, Validator, ValidatorSetup, channel};
use crate::explorer::Explorer;
use crate::handoff::{intake, relay_hook};
use crate::http::{NodeStatus, ZonePages};
use crate::process::{
    NodeOptions, ProcessError, audit_log, check_listen, p2p_config, runtime_config,
    serve_http_world, stop_requested, storage_panics,
};
use crate::scoped::CommitteeSender;
use commonware_cryptography::{Signer as _, ed25519::PublicKey};
use commonware_p2p::{Address, AddressableManager as _, authenticated::lookup};
use commonware_runtime::{
    Quota, Runner as _, Spawner as _, Supervisor as _,
    telemetry::metrics::{Counter, MetricsExt as _},
};
use commonware_utils::{
    NZU32, TryCollect as _,
    ordered::{Map, Set},
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{error, info};
use z3r0_chain::MempoolConfig;
use z3r0_genesis::{Genesis, WorldSeat, ZoneId};
use z3r0_sim::Sim;
use z3r0_sim::handoff::Neighbours;

/// Messages one peer may send this process per second on one channel of one zone.
const QUOTA: Quota = Quota::per_second(NZU32!(2_000));

/// One zone this validator serves, as prepared before the runtime starts.
struct ZonePlan {
    id: ZoneId,
    genesis: Genesis,
    /// Its own directory (audit log, ownership marker) under the storage directory.
    dir: PathBuf,
    /// The highest height its audit log records.
    audit_height: u64,
    observer: crate::application::Observer,
    handoffs: HandoffLog,
    /// The world's own content manifest (`None`: the default pack's), the same in every zone.
    content: Option<Arc<[u8]>>,
}

/// Zone `zone`'s directory under a world validator's storage directory.
pub fn zone_dir(storage: &Path, zone: ZoneId) -> PathBuf {
    storage.join(zone_name(zone))
}

/// `zone-X-Z`: a zone's directory, and the prefix of its partitions in the runtime's store
/// (commonware's runtime keeps one storage directory a process, with flat partition names).
fn zone_name(zone: ZoneId) -> String {
    format!("zone-{}-{}", zone.x, zone.z)
}

/// Runs a world validator until SIGINT/SIGTERM, or until one of its zones cannot follow its
/// chain (an error).
pub fn run(options: &NodeOptions) -> Result<(), ProcessError> {
    let seat = WorldSeat::load(&options.config)?;
    let config = seat.config.clone();
    check_listen(config.p2p_listen, config.metrics, config.player_listen)?;
    let zones = seat
        .zones()
        .map_err(|e| ProcessError::Genesis(e.to_string()))?;
    let Some(&first) = zones.first() else {
        return Err(ProcessError::Genesis(format!(
            "pool member {} holds no seat on any zone's committee: it has nothing to run",
            seat.index
        )));
    };
    // Every zone runs the world's plugins: a node that runs others would diverge.
    let first = seat
        .world
        .zone_genesis(first)
        .map_err(|e| ProcessError::Genesis(e.to_string()))?;
    first
        .check_plugin_list(&options.plugins.ids())
        .map_err(ProcessError::Genesis)?;
    let mut plans = prepare_storage(options, &seat, &zones)?;
    // After the data directory is claimed for this world: the assets live in it.
    let content: Option<Arc<[u8]>> =
        crate::process::genesis_content(&first, &seat.config.world, &seat.config.storage_dir)?
            .map(Arc::from);
    for plan in &mut plans {
        plan.content = content.clone();
    }
    storage_panics(&config.storage_dir, &options.config);
    let runtime = runtime_config(&config.storage_dir, options.threads);
    let options = options.clone();
    commonware_runtime::tokio::Runner::new(runtime).start(|context| async move {
        let heights: Vec<(PathBuf, u64)> = plans
            .iter()
            .map(|p| (p.dir.clone(), p.audit_height))
            .collect();
        let resumed = world_node(context, seat, plans, options).await?;
        for ((dir, audit_height), resumed_height) in heights.into_iter().zip(resumed) {
            check_audit(&dir, audit_height, resumed_height)?;
        }
        Ok(())
    })
}

/// Sets the storage directory aside if asked to, claims it for this world and validator, and
/// each zone's directory for its chain; checks each zone's audit log and opens it.
fn prepare_storage(
    options: &NodeOptions,
    seat: &WorldSeat,
    zones: &[ZoneId],
) -> Result<Vec<ZonePlan>, ProcessError> {
    let storage = &seat.config.storage_dir;
    if options.resync
        && let Some(aside) = datadir::set_aside(storage)?
    {
        tracing::warn!(aside = %aside.display(), "data directory set aside; rebuilding it from peers");
    }
    let validator = z3r0_genesis::to_hex(seat.key.public_key().as_ref());
    let claim = |dir: &Path, chain: &z3r0_chain::ChainId| {
        datadir::claim(
            dir,
            &datadir::Owner {
                chain: z3r0_genesis::to_hex(&chain.0),
                validator: validator.clone(),
            },
        )
    };
    claim(storage, &seat.world.world_id())?;
    zones
        .iter()
        .map(|&id| {
            let genesis = seat
                .world
                .zone_genesis(id)
                .map_err(|e| ProcessError::Genesis(e.to_string()))?;
            let dir = zone_dir(storage, id);
            claim(&dir, &genesis.chain_id())?;
            let audit_height = datadir::check_audit_log(&dir)?;
            let observer = audit_log(&dir)?;
            let handoffs = HandoffLog::open(&dir)?;
            Ok(ZonePlan {
                id,
                genesis,
                dir,
                audit_height,
                observer,
                handoffs,
                content: None,
            })
        })
        .collect()
}

/// Every finalized block is logged before its checkpoint is written, so an audit log that ends
/// below the checkpoint was cut short.
fn check_audit(dir: &Path, audit_height: u64, resumed: u64) -> Result<(), ProcessError> {
    if resumed > audit_height {
        return Err(DataDirError::AuditLog {
            path: dir.join(datadir::AUDIT_LOG),
            reason: format!(
                "records blocks up to height {audit_height}, but the checkpoint is at height {resumed}: it was cut short"
            ),
        }
        .into());
    }
    Ok(())
}

/// Pool indices this validator talks to: its zones' committees, and their neighbours'
/// committees (its relays send them exits), itself included.
fn peer_indices(seat: &WorldSeat, zones: &[ZoneId]) -> Result<BTreeSet<usize>, ProcessError> {
    let genesis = |e: z3r0_genesis::WorldError| ProcessError::Genesis(e.to_string());
    let mut peers = BTreeSet::from([seat.index]);
    for &zone in zones {
        peers.extend(seat.world.committee(zone).map_err(genesis)?);
        for (number, _, _) in seat.world.neighbours(zone).map_err(genesis)? {
            peers.extend(
                seat.world
                    .committee(ZoneId::from_number(number))
                    .map_err(genesis)?,
            );
        }
    }
    Ok(peers)
}

/// A zone's `handoffs.log` ([`z3r0_genesis::HandoffLine`]): every exit, entry and refused
/// import as the zone finalized it, for the devnet's handoff latencies and its count of
/// bodies lost or entered twice. Replayed blocks log again, as in the audit log.
#[derive(Clone)]
struct HandoffLog(Arc<Mutex<std::io::LineWriter<std::fs::File>>>);

impl HandoffLog {
    const FILE: &str = "handoffs.log";

    fn open(dir: &Path) -> Result<Self, ProcessError> {
        let path = dir.join(Self::FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|source| ProcessError::AuditLog { path, source })?;
        Ok(Self(Arc::new(Mutex::new(std::io::LineWriter::new(file)))))
    }

    fn write(&self, block: &z3r0_chain::Block, receipts: &[z3r0_sim::Receipt]) {
        use std::io::Write as _;
        let height = block.height;
        let at_ms = now_ms();
        let mut lines: Vec<z3r0_genesis::HandoffLine> =
            crate::handoff::applied_imports(block, receipts)
                .into_iter()
                .map(|hash| z3r0_genesis::HandoffLine::Applied {
                    hash,
                    height,
                    at_ms,
                })
                .collect();
        for r in receipts {
            let line = match *r {
                z3r0_sim::Receipt::Exited { to, seq, .. } => z3r0_genesis::HandoffLine::Exit {
                    to,
                    seq,
                    height,
                    at_ms,
                },
                z3r0_sim::Receipt::Entered {
                    from, seq, lost, ..
                } => z3r0_genesis::HandoffLine::Entry {
                    from,
                    seq,
                    height,
                    at_ms,
                    lost,
                },
                z3r0_sim::Receipt::ImportRefused { .. } => {
                    z3r0_genesis::HandoffLine::Refused { height, at_ms }
                }
                _ => continue,
            };
            lines.push(line);
        }
        if lines.is_empty() {
            return;
        }
        let mut file = self.0.lock().unwrap_or_else(|p| p.into_inner());
        for line in lines {
            if let Err(e) = writeln!(file, "{line}") {
                tracing::warn!(error = %e, "cannot append to the handoff log");
                return;
            }
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Drills: the forgeries a Byzantine relay sends besides each honest import, each logged to
/// `forged.log` in the storage directory (`KIND TO HASH`), which the devnet looks up among the
/// imports blocks applied.
fn forging(
    key: &commonware_cryptography::ed25519::PrivateKey,
    log: Arc<Mutex<std::fs::File>>,
) -> crate::handoff::Tamper {
    let mut forger = crate::forger::Forger::new(key.clone());
    Box::new(move |height, honest| {
        use std::io::Write as _;
        let forged = forger.forge(height, honest);
        let mut file = log.lock().unwrap_or_else(|p| p.into_inner());
        forged
            .into_iter()
            .map(|(kind, to, bytes)| {
                let hash = z3r0_genesis::to_hex(blake3::hash(&bytes).as_bytes());
                let _ = writeln!(file, "{} {to} {hash}", kind.name());
                (to, bytes)
            })
            .collect()
    })
}

/// Handoff counters of one zone (labelled by its context's `zone` attribute).
#[derive(Clone, Debug)]
struct HandoffMetrics {
    exits: Counter,
    entries: Counter,
    refused: Counter,
}

impl HandoffMetrics {
    fn register(context: &impl commonware_runtime::Metrics) -> Self {
        Self {
            exits: context.counter("handoff_exits", "bodies that left the zone (exit records)"),
            entries: context.counter("handoff_entries", "bodies that entered from a neighbour"),
            refused: context.counter(
                "handoff_refused_imports",
                "imports a block carried that the zone refused",
            ),
        }
    }

    fn count(&self, receipts: &[z3r0_sim::Receipt]) {
        for r in receipts {
            match r {
                z3r0_sim::Receipt::Exited { .. } => {
                    self.exits.inc();
                }
                z3r0_sim::Receipt::Entered { .. } => {
                    self.entries.inc();
                }
                z3r0_sim::Receipt::ImportRefused { .. } => {
                    self.refused.inc();
                }
                _ => {}
            }
        }
    }
}

type P2pSender = lookup::Sender<PublicKey, commonware_runtime::tokio::Context>;
type P2pReceiver = lookup::Receiver<PublicKey>;

/// A zone's replica once started: its validator, the feed its edge reads, its pages.
struct Replica {
    id: ZoneId,
    validator: Arc<Validator<Sim>>,
    finalizer: commonware_runtime::Handle<Result<(), crate::application::NodeError>>,
    edge: z3r0_net::ZoneEdge,
    pages: ZonePages,
}

/// The validator's one p2p network, its peer set the committees it shares a zone or a
/// border with ([`peer_indices`]); no channel registered yet.
fn open_network(
    context: &commonware_runtime::tokio::Context,
    seat: &WorldSeat,
    zones: &[ZoneId],
) -> Result<
    (
        lookup::Network<
            commonware_runtime::tokio::Context,
            impl commonware_stream::Upgrader<PublicKey = PublicKey>,
        >,
        lookup::Oracle<PublicKey>,
    ),
    ProcessError,
> {
    let peers = peer_indices(seat, zones)?;
    let keys: Vec<PublicKey> = seat
        .world
        .pool_keys()
        .map_err(|e| ProcessError::Genesis(e.to_string()))?;
    // Committees name pool indices, so each one is in the pool.
    let members: Vec<(PublicKey, std::net::SocketAddr)> = peers
        .iter()
        .filter_map(|&i| Some((keys.get(i)?.clone(), seat.world.pool.get(i)?.p2p)))
        .collect();
    let addresses: Map<PublicKey, Address> = members
        .iter()
        .map(|(k, a)| (k.clone(), Address::Symmetric(*a)))
        .try_collect()
        .map_err(|_| ProcessError::Genesis("duplicate validator key".into()))?;
    let participants = Set::from_iter_dedup(members.into_iter().map(|(k, _)| k));
    let p2p = p2p_config(&seat.key, seat.config.p2p_listen, &participants);
    let (network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p);
    let _ = oracle.track(0, addresses);
    Ok((network, oracle))
}

type ZoneChannels = Channels<CommitteeSender<P2pSender>, P2pReceiver>;

/// Each zone's consensus channels (`of_zone`), their senders kept inside its committee.
fn register_zones(
    network: &mut lookup::Network<
        commonware_runtime::tokio::Context,
        impl commonware_stream::Upgrader<PublicKey = PublicKey>,
    >,
    seat: &WorldSeat,
    plans: &[ZonePlan],
) -> Result<BTreeMap<u32, ZoneChannels>, ProcessError> {
    let me = seat.key.public_key();
    let mut channels = BTreeMap::new();
    for plan in plans {
        let committee = plan.genesis.public_keys().map_err(ProcessError::Genesis)?;
        let mut register = |base| {
            let quota = if base == channel::SYNC {
                crate::engine::SYNC_QUOTA
            } else {
                QUOTA
            };
            let (sender, receiver) =
                network.register(channel::of_zone(plan.id.number(), base), quota);
            (CommitteeSender::new(sender, &committee, &me), receiver)
        };
        let zone_channels = Channels {
            votes: register(channel::VOTES),
            certificates: register(channel::CERTIFICATES),
            resolver: register(channel::RESOLVER),
            broadcast: register(channel::BROADCAST),
            backfill: register(channel::BACKFILL),
            actions: register(channel::ACTIONS),
            sync: register(channel::SYNC),
        };
        channels.insert(plan.id.number(), zone_channels);
    }
    Ok(channels)
}

/// Drills (`--byzantine`): the log of the forgeries this validator's relays send.
fn forged_log(
    seat: &WorldSeat,
    options: &NodeOptions,
) -> Result<Option<Arc<Mutex<std::fs::File>>>, ProcessError> {
    if !options.byzantine {
        return Ok(None);
    }
    tracing::warn!("drill: this validator relays forged handoffs besides the honest ones");
    let path = seat.config.storage_dir.join("forged.log");
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map(|f| Some(Arc::new(Mutex::new(f))))
        .map_err(|source| ProcessError::AuditLog { path, source })
}

async fn world_node(
    context: commonware_runtime::tokio::Context,
    seat: WorldSeat,
    plans: Vec<ZonePlan>,
    options: NodeOptions,
) -> Result<Vec<u64>, ProcessError> {
    let zones: Vec<ZoneId> = plans.iter().map(|p| p.id).collect();
    let (mut network, oracle) = open_network(&context, &seat, &zones)?;
    // Every channel is registered before the network starts.
    let mut channels = register_zones(&mut network, &seat, &plans)?;
    let mut handoff = register_handoff(&seat, &zones, &mut network)?;
    let p2p = network.start();
    handoff.forged = forged_log(&seat, &options)?;
    let mut replicas = Vec::new();
    for plan in plans {
        let zone_channels = channels
            .remove(&plan.id.number())
            .ok_or_else(|| ProcessError::Runtime(format!("zone {} has no channels", plan.id)))?;
        let replica = start_zone(
            &context,
            &seat,
            plan,
            zone_channels,
            &mut handoff,
            &oracle,
            &options,
        )
        .await?;
        replicas.push(replica);
    }
    for replica in &replicas {
        if let Some(receiver) = handoff.receivers.remove(&replica.id.number()) {
            let v = replica.validator.clone();
            context
                .child("handoff_intake")
                .with_attribute("zone", replica.id.number())
                .spawn(move |_| {
                    intake(receiver, move |bytes| {
                        // Refusals are expected: every replica of the source relays each record.
                        let _ = v.offer_import(bytes);
                    })
                });
        }
    }
    let resumed: Vec<u64> = replicas.iter().map(|r| r.validator.stored_height).collect();
    info!(public_key = %seat.key.public_key(), zones = replicas.len(), "validator running");

    let pages: BTreeMap<u32, ZonePages> = replicas
        .iter()
        .map(|r| (r.id.number(), r.pages.clone()))
        .collect();
    serve_http_world(&context, seat.config.metrics, pages);
    let mut edge_config =
        z3r0_net::EdgeConfig::for_tick(seat.config.player_listen, seat.world.tick_ms);
    edge_config.max_sessions_per_address = options.sessions_per_address;
    edge_config.handshakes_per_address_per_sec = options.handshakes_per_address;
    let edge = z3r0_net::serve_zones(
        &seat.key,
        edge_config,
        replicas.iter().map(|r| r.edge.clone()).collect(),
    )
    .map_err(|e| ProcessError::Runtime(format!("player edge: {e}")))?;
    if let Some(first) = replicas.first() {
        first.pages.status.set_edge(edge.stats.clone());
    }
    // A world names no content publisher yet: its edge serves what its directory holds.
    let store = crate::assets::asset_store(&seat.config.storage_dir, None)
        .map_err(|e| ProcessError::Runtime(format!("asset directory: {e}")))?;
    edge.serve_assets(store);
    info!(addr = %seat.config.player_listen, "serving players of every zone over QUIC");

    if options.load_rate > 0 {
        let validators: Vec<(u32, Arc<Validator<Sim>>)> = replicas
            .iter()
            .map(|r| (r.id.number(), r.validator.clone()))
            .collect();
        let rate = options.load_rate;
        context.child("load").spawn(move |ctx| async move {
            crate::worldload::run(ctx, validators, rate).await;
        });
    }

    let finalizers = replicas
        .into_iter()
        .map(|r| {
            let id = r.id;
            Box::pin(async move { (id, r.finalizer.await) })
        })
        .collect::<Vec<_>>();
    tokio::select! {
        _ = p2p => Err(ProcessError::Runtime("the p2p network stopped".into())),
        _ = stop_requested(options.stop_on_stdin_close) => {
            info!("stopping");
            edge.shutdown().await;
            let _ = context.stop(0, Some(Duration::from_secs(5))).await;
            Ok(resumed)
        }
        ((id, result), _, _) = futures::future::select_all(finalizers) => match result {
            Ok(Ok(())) => Ok(resumed),
            Ok(Err(e)) => {
                error!(zone = %id, error = %e, "a zone's validator stopped");
                Err(e.into())
            }
            Err(e) => Err(ProcessError::Runtime(format!("zone {id}'s finalizer task: {e}"))),
        }
    }
}

/// The handoff channels: each zone's own (its intake) and each neighbour's (relays send
/// there), registered once each.
struct Handoff {
    senders: BTreeMap<u32, P2pSender>,
    receivers: BTreeMap<u32, P2pReceiver>,
    /// Drills: where this validator's relays log the forgeries they send (`--byzantine`).
    forged: Option<Arc<Mutex<std::fs::File>>>,
}

fn register_handoff(
    seat: &WorldSeat,
    zones: &[ZoneId],
    network: &mut lookup::Network<
        commonware_runtime::tokio::Context,
        impl commonware_stream::Upgrader<PublicKey = PublicKey>,
    >,
) -> Result<Handoff, ProcessError> {
    let mut numbers = BTreeSet::new();
    for &zone in zones {
        numbers.insert(zone.number());
        for (n, _, _) in seat
            .world
            .neighbours(zone)
            .map_err(|e| ProcessError::Genesis(e.to_string()))?
        {
            numbers.insert(n);
        }
    }
    let mine: BTreeSet<u32> = zones.iter().map(|z| z.number()).collect();
    let mut handoff = Handoff {
        senders: BTreeMap::new(),
        receivers: BTreeMap::new(),
        forged: None,
    };
    for n in numbers {
        let (sender, receiver) = network.register(channel::of_zone(n, channel::HANDOFF), QUOTA);
        handoff.senders.insert(n, sender);
        // A zone this validator does not serve has nothing to take in here.
        if mine.contains(&n) {
            handoff.receivers.insert(n, receiver);
        }
    }
    Ok(handoff)
}

/// Starts the replica of one zone: its state machine knowing its neighbours, its stores under
/// the zone's partition prefix, its finalizer hook (relay, explorer, status, edge feed).
async fn start_zone(
    context: &commonware_runtime::tokio::Context,
    seat: &WorldSeat,
    plan: ZonePlan,
    zone_channels: ZoneChannels,
    handoff: &mut Handoff,
    oracle: &lookup::Oracle<PublicKey>,
    options: &NodeOptions,
) -> Result<Replica, ProcessError> {
    let genesis_error = |e: z3r0_genesis::WorldError| ProcessError::Genesis(e.to_string());
    let number = plan.id.number();
    let neighbours = seat.world.neighbours(plan.id).map_err(genesis_error)?;
    let committees: BTreeMap<u32, Vec<PublicKey>> = neighbours
        .iter()
        .map(|(n, _, keys)| (*n, keys.clone()))
        .collect();
    let senders: BTreeMap<u32, P2pSender> = committees
        .keys()
        .filter_map(|n| Some((*n, handoff.senders.get(n)?.clone())))
        .collect();
    let zone_context = context.child("zone").with_attribute("zone", number);
    let pages = ZonePages {
        explorer: Arc::new(Explorer::default()),
        status: Arc::new(NodeStatus::new(
            z3r0_genesis::to_hex(&plan.genesis.chain_id().0),
            plan.genesis.tick_ms,
            plan.genesis.validators.len(),
        )),
    };
    let feed = z3r0_net::EdgeFeed::new();
    let books = zone_books(
        &zone_context,
        &plan.genesis,
        &pages,
        feed.clone(),
        plan.handoffs.clone(),
    );
    let pacing = Pacing {
        genesis_ms: plan.genesis.genesis_ms,
        tick_ms: plan.genesis.tick_ms,
    };
    let mut machine =
        crate::process::zone_machine(&plan.genesis, &options.plugins, plan.content.as_deref())?;
    machine.set_neighbours(Arc::new(Neighbours::new(number, neighbours).map_err(
        |e| ProcessError::Genesis(format!("zone {} neighbours: {e}", plan.id)),
    )?));
    let chain = plan.genesis.chain_id();
    let tamper = handoff.forged.clone().map(|log| forging(&seat.key, log));
    let setup = ValidatorSetup {
        signer: seat.key.clone(),
        participants: Set::from_iter_dedup(
            plan.genesis.public_keys().map_err(ProcessError::Genesis)?,
        ),
        machine,
        mempool: MempoolConfig::for_tick(chain, number, plan.genesis.tick_ms),
        pacing: pacing.skewed(options.clock_skew_ms),
        timeouts: Timeouts::for_tick(plan.genesis.tick_ms),
        partition: zone_name(plan.id),
        checkpoint_interval: 256,
        history: options.history_blocks.unwrap_or(crate::engine::HISTORY),
        observer: Some(plan.observer),
        edge: Some(relay_hook(senders, committees, tamper, books)),
        byzantine: None,
        // Drills: every replica of this validator leaves its chain after that height.
        diverge_at: options
            .diverge_at
            .map(|height| (height, crate::process::diverging_action(&chain, number))),
    };
    let mut validator = engine::start(
        zone_context.child("validator"),
        setup,
        oracle.clone(),
        oracle.clone(),
        zone_channels,
    )
    .await
    .map_err(|e| match e {
        crate::application::NodeError::Store(fault) => {
            datadir::store_error(&seat.config.storage_dir, &zone_name(plan.id), fault).into()
        }
        e => ProcessError::Node(e),
    })?;
    info!(zone = %plan.id, height = validator.resumed_height, "zone replica running");
    let finalizer = validator
        .finalizer
        .take()
        .ok_or_else(|| ProcessError::Runtime(format!("zone {} has no finalizer", plan.id)))?;
    let validator = Arc::new(validator);
    let backend = Arc::new(crate::edge::NodeBackend {
        chain,
        zone: number,
        pacing,
        movement: plan.genesis.movement,
        validator: Mutex::new(Some(validator.clone())),
        proven: Mutex::default(),
    });
    Ok(Replica {
        id: plan.id,
        validator,
        finalizer,
        edge: z3r0_net::ZoneEdge { backend, feed },
        pages,
    })
}

/// What a zone's finalized blocks update besides the relay: handoff counters and log, the
/// explorer, the status and the players' feed.
fn zone_books(
    context: &commonware_runtime::tokio::Context,
    genesis: &Genesis,
    pages: &ZonePages,
    feed: z3r0_net::EdgeFeed,
    handoffs: HandoffLog,
) -> EdgeHook<Sim> {
    let metrics = HandoffMetrics::register(context);
    let mut publish = crate::edge::publisher(feed);
    let (explorer, status) = (pages.explorer.clone(), pages.status.clone());
    let genesis_ms = genesis.genesis_ms;
    Box::new(move |block, sim, receipts, finality| {
        metrics.count(receipts);
        handoffs.write(block, receipts);
        explorer.record(block, sim, receipts);
        let signers = finality.as_ref().map(|f| f.signatures.len());
        status.finalized(block.height, block.tick, genesis_ms, signers);
        status.content(sim.content_manifests());
        publish(block, sim, receipts, finality);
    })
}
