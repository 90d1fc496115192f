//! One validator, wired from commonware parts: simplex consensus (ed25519 votes), marshal
//! (ordered finalized blocks, backfill, block and certificate archives), buffered broadcast of
//! proposals, and the zone application. Runtime-agnostic: the same code runs on the tokio runtime
//! with authenticated p2p and in the deterministic runtime with the simulated network.

use crate::application::{
    EdgeHook, FinalizedSink, Finalizer, NodeError, Observer, Pacing, SharedZone, Zone, ZoneApp,
    lock,
};
use crate::block::ZoneBlock;
use crate::executor::Executor;
use crate::metrics::ZoneMetrics;
use crate::statesync;
use crate::stores::{Store, StoreFault};
use commonware_broadcast::buffered;
use commonware_consensus::{
    marshal::{
        self, Identifier, Update,
        core::Actor as MarshalActor,
        resolver::p2p as marshal_resolver,
        standard::{Inline, Standard},
    },
    simplex::{
        self,
        config::{ForwardPolicy, SkipBudget, SkipPolicy},
        elector::RoundRobin,
        scheme::ed25519,
    },
    types::{Epoch, FixedEpocher, Height, ViewDelta},
};
use commonware_cryptography::{
    Digestible as _, Sha256, Signer as _, certificate::ConstantProvider,
    certificate::Verifier as _, ed25519::PrivateKey, ed25519::PublicKey,
};
use commonware_p2p::{Blocker, Provider, Receiver, Sender};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Handle, Metrics, Spawner, Storage, buffer::paged::CacheRef};
use commonware_storage::{
    archive::{immutable, prunable},
    metadata::{self, Metadata},
};
use commonware_utils::{NZDuration, NZU16, NZU64, NZUsize, ordered::Set, sequence::U64};
use futures::StreamExt as _;
use futures::channel::mpsc;
use std::collections::BTreeMap;
use std::num::{NonZeroU64, NonZeroUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{error, info, warn};
use z3r0_chain::{Mempool, MempoolConfig, Snapshot, StateMachine};

pub use z3r0_chain::CONSENSUS_NAMESPACE;

/// Finalized blocks a production validator keeps below its latest checkpoint: about 14
/// minutes at 20 ticks a second. A member down for longer comes back by state sync.
pub const HISTORY: u64 = 16_384;

/// A validator's history when it is an archive: it keeps every finalized block, and catches
/// up by backfill from genesis, never from a checkpoint (which would leave a hole).
pub const ARCHIVE: u64 = u64::MAX;

/// Rate of state-sync requests taken from one peer: a few asks and one chunk at a time need
/// little, and each chunk answered costs up to 256 KiB of upload.
pub const SYNC_QUOTA: commonware_runtime::Quota =
    commonware_runtime::Quota::per_second(commonware_utils::NZU32!(32));

/// The zone runs one epoch: the validator set is fixed by genesis (PoA).
const EPOCH_LENGTH: NonZeroU64 = NZU64!(u64::MAX);

/// Consensus timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long to wait for the leader's proposal.
    pub leader: Duration,
    /// How long to wait for a notarization before voting to skip the view.
    pub certification: Duration,
    /// How often to rebroadcast a nullify vote while stuck.
    pub retry: Duration,
    /// A leader not heard from for this long has its views skipped at once, not waited out
    /// (simplex's skip policy; must exceed `certification` and `retry`).
    pub inactive: Duration,
    /// Backfill request timeout.
    pub fetch: Duration,
}

impl Timeouts {
    /// Tuned for a tick of `tick_ms` (0: unpaced): the leader waits up to a tick for the
    /// boundary, so the proposal timeout is two ticks plus network slack; an absent leader costs
    /// a few ticks, not alto's seconds.
    pub fn for_tick(tick_ms: u64) -> Self {
        let tick = Duration::from_millis(tick_ms);
        let leader = 2 * tick + Duration::from_millis(100);
        Self {
            leader,
            certification: 2 * leader,
            retry: leader,
            inactive: 3 * leader,
            fetch: Duration::from_millis(500),
        }
    }
}

/// The (sender, receiver) pairs of one validator's network channels.
#[derive(Debug)]
pub struct Channels<S, R> {
    pub votes: (S, R),
    pub certificates: (S, R),
    pub resolver: (S, R),
    pub broadcast: (S, R),
    pub backfill: (S, R),
    /// Action gossip between validators.
    pub actions: (S, R),
    /// State sync: checkpoints offered to the committee (`statesync`).
    pub sync: (S, R),
}

/// Channel numbers on the p2p network.
pub mod channel {
    pub const VOTES: u64 = 0;
    pub const CERTIFICATES: u64 = 1;
    pub const RESOLVER: u64 = 2;
    pub const BROADCAST: u64 = 3;
    pub const BACKFILL: u64 = 4;
    pub const ACTIONS: u64 = 5;
    /// Imports for a zone in a world: neighbours' relays send its exits and
    /// acknowledgements there.
    pub const HANDOFF: u64 = 6;
    /// State sync: checkpoints for members that start behind the committee's history.
    pub const SYNC: u64 = 7;

    /// Channel `base` of zone `zone` when one network carries many zones: the zone's number
    /// above the low byte, so zone 0 keeps the single-zone numbers and zones never share one.
    pub fn of_zone(zone: u32, base: u64) -> u64 {
        (u64::from(zone) << 8) | (base & 0xff)
    }
}

/// Everything a validator needs besides its runtime and network.
pub struct ValidatorSetup<M: StateMachine> {
    pub signer: PrivateKey,
    pub participants: Set<PublicKey>,
    /// The zone's genesis state.
    pub machine: M,
    pub mempool: MempoolConfig,
    pub pacing: Pacing,
    pub timeouts: Timeouts,
    /// Prefix of this validator's storage partitions.
    pub partition: String,
    /// Write a state checkpoint every this many finalized blocks.
    pub checkpoint_interval: u64,
    /// Finalized blocks (and certificates) kept below the latest checkpoint; older ones are
    /// pruned. Peers further behind than this start from a checkpoint (`statesync`).
    /// [`ARCHIVE`]: keep every block, and never start from a checkpoint.
    pub history: u64,
    pub observer: Option<Observer>,
    /// Sees each finalized block with the state and its certificate (the player edge).
    pub edge: Option<EdgeHook<M>>,
    /// Tests only: this validator proposes blocks that break the rules.
    pub byzantine: Option<crate::byzantine::Byzantine>,
    /// Tests only: this validator's state leaves its chain's after this height, by executing
    /// this action in no block.
    pub diverge_at: Option<(u64, z3r0_chain::SignedAction)>,
}

impl<M: StateMachine> std::fmt::Debug for ValidatorSetup<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorSetup")
            .field("partition", &self.partition)
            .field("pacing", &self.pacing)
            .finish_non_exhaustive()
    }
}

/// A running validator.
pub struct Validator<M: StateMachine + Snapshot> {
    pub public_key: PublicKey,
    /// The chain whose actions this validator accepts.
    pub chain: z3r0_chain::ChainId,
    pub(crate) zone: Arc<Mutex<Zone<M>>>,
    pub(crate) outbox: crate::gossip::Outbox,
    pub metrics: ZoneMetrics,
    /// Resolves when the finalizer stops: an error means this validator cannot follow the chain.
    pub finalizer: Option<Handle<Result<(), NodeError>>>,
    pub consensus: Handle<()>,
    /// The height of the checkpoint this validator started from (0: genesis): its own, or
    /// the committee's if it state-synced.
    pub resumed_height: u64,
    /// The height of the checkpoint this validator found in its own storage (0: none). Its
    /// audit log reaches this height; after a state sync it starts past it.
    pub stored_height: u64,
    pub(crate) marshal: MarshalMailbox,
}

impl<M: StateMachine + Snapshot> std::fmt::Debug for Validator<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("public_key", &self.public_key)
            .finish_non_exhaustive()
    }
}

impl<M: StateMachine + Snapshot> Validator<M> {
    /// Offers an action (canonical bytes) from a client to this validator's mempool; once
    /// admitted it is relayed to the rest of the committee.
    pub fn submit(
        &self,
        from: crate::application::Source,
        bytes: &[u8],
    ) -> Result<(), z3r0_chain::Rejection> {
        match z3r0_chain::SignedAction::decode(bytes) {
            Ok(action) => self.submit_action(from, action),
            Err(e) => {
                self.metrics.rejected.inc();
                Err(z3r0_chain::Rejection::Malformed(e.to_string()))
            }
        }
    }

    /// [`Validator::submit`] for an action already decoded (the player edge decodes inputs to
    /// check who signed them).
    pub fn submit_action(
        &self,
        from: crate::application::Source,
        action: z3r0_chain::SignedAction,
    ) -> Result<(), z3r0_chain::Rejection> {
        // Cheap refusals first; the signature is checked outside the zone lock: consensus and
        // the finalizer share that lock, and a flood of inputs must not hold it for ed25519.
        if let Err(refused) = lock(&self.zone).mempool.precheck(&from, &action) {
            self.metrics.rejected.inc();
            return Err(refused);
        }
        let signed = action.verify_endorsed(&self.chain, M::endorsement);
        self.offer(&mut lock(&self.zone), from, action, signed)
    }

    /// [`Validator::submit_action`] for several actions from one source: their signatures are
    /// checked in one batch verification (about half the cost of one by one), then each is
    /// offered to the mempool. One result per action, in order. `rng` draws the batch
    /// coefficients and must be unpredictable to whoever made the actions.
    pub fn submit_batch(
        &self,
        from: crate::application::Source,
        actions: Vec<z3r0_chain::SignedAction>,
        rng: &mut impl rand_core::CryptoRng,
    ) -> Vec<Result<(), z3r0_chain::Rejection>> {
        let forged = z3r0_chain::verify_all_endorsed(rng, &self.chain, &actions, M::endorsement);
        let mut zone = lock(&self.zone);
        actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| self.offer(&mut zone, from, action, !forged.contains(&i)))
            .collect()
    }

    /// Offers an action whose signature was checked (`signed`: it is valid) to the mempool,
    /// relays it to the committee if admitted, and counts the outcome.
    fn offer(
        &self,
        zone: &mut crate::application::Zone<M>,
        from: crate::application::Source,
        action: z3r0_chain::SignedAction,
        signed: bool,
    ) -> Result<(), z3r0_chain::Rejection> {
        let result = if signed {
            zone.mempool
                .submit_verified(&from, action.clone())
                .map(|()| self.outbox.push(action))
        } else {
            Err(z3r0_chain::Rejection::BadSignature)
        };
        match result {
            Ok(()) => self.metrics.submitted.inc(),
            Err(_) => self.metrics.rejected.inc(),
        };
        result
    }

    /// Runs `f` on the finalized state and the last finalized block's summary, with the zone
    /// locked (keep it short).
    pub fn with_finalized<T>(&self, f: impl FnOnce(&mut M, &crate::executor::Executed) -> T) -> T {
        let mut zone = lock(&self.zone);
        let summary = zone.executor.finalized().clone();
        f(zone.executor.state_mut(), &summary)
    }

    /// Offers an import from a neighbouring zone (a relayed exit or acknowledgement): held
    /// for this zone's next blocks if the finalized state needs it and it checks out. Its
    /// certificate (a quorum of signatures) is checked without the zone's lock, so a flood of
    /// forged relays does not hold up the zone's blocks.
    pub fn offer_import(&self, bytes: Vec<u8>) -> Result<(), crate::handoff::PoolRefusal> {
        let checker = {
            let zone = lock(&self.zone);
            zone.imports.screen(zone.executor.state(), &bytes)?;
            zone.executor.state().import_checker()
        };
        checker(&bytes).map_err(crate::handoff::PoolRefusal::Invalid)?;
        let mut zone = lock(&self.zone);
        let crate::application::Zone {
            executor, imports, ..
        } = &mut *zone;
        imports.admit(executor.state(), bytes)
    }

    /// Imports waiting for a block.
    pub fn imports_len(&self) -> usize {
        lock(&self.zone).imports.len()
    }

    /// Whether this validator still stores the finalized block at `height` (history older
    /// than [`ValidatorSetup::history`] is pruned).
    pub fn has_block(&self, height: u64) -> impl std::future::Future<Output = bool> + use<M> {
        let marshal = self.marshal.clone();
        async move {
            marshal
                .get_block(Identifier::Height(Height::new(height)))
                .await
                .is_some()
        }
    }

    /// Pending actions in the mempool.
    pub fn mempool_len(&self) -> usize {
        lock(&self.zone).mempool.len()
    }

    /// The current tick of the mempool (one past the last finalized block's tick).
    pub fn current_tick(&self) -> u64 {
        lock(&self.zone).mempool.current_tick()
    }

    /// The next unused nonce of `player`: after the last finalized block and its actions waiting in the mempool.
    pub fn next_nonce(&self, player: &PublicKey) -> u64 {
        lock(&self.zone).mempool.next_unused_nonce(player)
    }
}

/// The committee's finalization certificate in the light client's form: the encoded proposal
/// (ending with the block digest) and each signer's index and signature.
fn finality_proof(
    f: &simplex::types::Finalization<ed25519::Scheme, crate::block::BlockDigest>,
) -> z3r0_chain::FinalityProof {
    use commonware_codec::Encode as _;
    let signatures = f
        .certificate
        .signers
        .iter()
        .zip(&f.certificate.signatures)
        .filter_map(|(who, sig)| {
            let index = u16::try_from(who.get()).ok()?;
            let bytes: [u8; 64] = sig.get()?.encode().as_ref().try_into().ok()?;
            Some((index, bytes))
        })
        .collect();
    z3r0_chain::FinalityProof {
        proposal: f.proposal.encode().to_vec(),
        signatures,
    }
}

const PAGE_SIZE: std::num::NonZeroU16 = NZU16!(4096);
const PAGE_CACHE: NonZeroUsize = NZUsize!(1024);
const IO_BUFFER: NonZeroUsize = NZUsize!(64 * 1024);
const MAILBOX: NonZeroUsize = NZUsize!(1024);

/// Blocks per archive section for a history of `history` blocks: pruning removes whole
/// sections, so a section is at most half the history (1,024 blocks for [`HISTORY`]).
fn archive_section(history: u64) -> NonZeroU64 {
    NonZeroU64::new((history / 2).clamp(16, 1024).next_power_of_two()).unwrap_or(NZU64!(1024))
}

/// Views per section of marshal's cache of notarized blocks for a history of `history`
/// blocks: at most half the history too (4,096 for [`HISTORY`]).
fn cache_section(history: u64) -> NonZeroU64 {
    NonZeroU64::new((history / 2).clamp(16, 4096).next_power_of_two()).unwrap_or(NZU64!(4096))
}

/// The archives' and the cache's section sizes, recorded beside the checkpoint.
const SECTIONS_KEY: u64 = 2;

/// Blocks per archive section and views per cache section: fixed for a storage's life (items
/// are found by their index over the section size), so those it was first written with,
/// recorded beside the checkpoint; for a storage without them, those of `history`, recorded
/// now. A validator restarted with another history prunes by its storage's sections.
async fn storage_sections<E>(
    checkpoints: Checkpoints<E>,
    history: u64,
) -> Result<(Checkpoints<E>, (NonZeroU64, NonZeroU64)), NodeError>
where
    E: Clock + Storage + Metrics,
{
    if let Some(bytes) = checkpoints.get(&U64::new(SECTIONS_KEY)) {
        let sections = decode_sections(bytes).ok_or_else(|| {
            StoreFault::new(Store::Checkpoint, "its archive section sizes do not decode")
        })?;
        return Ok((checkpoints, sections));
    }
    let sections = (archive_section(history), cache_section(history));
    let mut bytes = sections.0.get().to_be_bytes().to_vec();
    bytes.extend_from_slice(&sections.1.get().to_be_bytes());
    let checkpoints = checkpoints
        .put_sync(U64::new(SECTIONS_KEY), bytes)
        .await
        .map_err(|e| StoreFault::new(Store::Checkpoint, e))?;
    Ok((checkpoints, sections))
}

/// Section sizes as [`storage_sections`] records them: two big-endian `u64`s, each a power of
/// two within the bounds this build writes.
fn decode_sections(bytes: &[u8]) -> Option<(NonZeroU64, NonZeroU64)> {
    let (archive, cache) = bytes.split_first_chunk::<8>()?;
    let cache: [u8; 8] = cache.try_into().ok()?;
    let within = |n: u64, max: u64| (n.is_power_of_two() && (16..=max).contains(&n)).then_some(n);
    Some((
        NonZeroU64::new(within(u64::from_be_bytes(*archive), 1024)?)?,
        NonZeroU64::new(within(u64::from_be_bytes(cache), 4096)?)?,
    ))
}

type Checkpoints<E> = Metadata<E, U64, Vec<u8>>;
const CHECKPOINT_KEY: u64 = 0;
/// The finalization certificate of the checkpoint's block: what a state-synced start, and any
/// start after it, anchors marshal on.
const CERTIFICATE_KEY: u64 = 1;

/// Starts a validator on `context` with the given network. Blocks finalized before a restart are
/// recovered from the checkpoint and marshal's archive before consensus resumes.
pub async fn start<E, M, C, B, S, R>(
    mut context: E,
    mut setup: ValidatorSetup<M>,
    peers: C,
    blocker: B,
    channels: Channels<S, R>,
) -> Result<Validator<M>, NodeError>
where
    E: Spawner
        + Metrics
        + Clock
        + Storage
        + rand_core::CryptoRng
        + commonware_runtime::Supervisor
        + Send
        + 'static,
    M: StateMachine + Snapshot + Send + 'static,
    M::Receipt: Send,
    C: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let public_key = setup.signer.public_key();
    // Payloads are checked by the machine that will execute them, whatever the caller set.
    setup.mempool.payload = M::check_payload;
    setup.mempool.endorsements = M::endorsement;
    let prefix = setup.partition.clone();
    let page_cache = CacheRef::new(PAGE_SIZE, PAGE_CACHE);
    let metrics = ZoneMetrics::register(&context.child("zone"));

    let checkpoints: Checkpoints<E> = Metadata::init(
        context.child("checkpoints"),
        metadata::Config {
            partition: format!("{prefix}-checkpoints"),
            codec_config: ((0..).into(), ()),
        },
    )
    .await
    .map_err(|e| StoreFault::new(Store::Checkpoint, e))?;
    let (checkpoints, (section, cache_section)) =
        storage_sections(checkpoints, setup.history).await?;
    // Votes and certificates are signed for this chain only.
    let scheme = ed25519::Scheme::signer(
        &setup.mempool.chain.namespace(CONSENSUS_NAMESPACE),
        setup.participants.clone(),
        setup.signer.clone(),
    )
    .ok_or_else(|| NodeError::Storage("this validator is not in the genesis set".into()))?;
    let (zone, genesis_block, stored_height) =
        load_state(&mut context, setup.mempool, &setup.machine, &checkpoints)?;
    // The stored checkpoint is offered from the start (the whole committee may be restarting)
    // and its certificate anchors marshal.
    let stored_floor = stored_certificate(&checkpoints, &scheme)?;
    let shelf = statesync::Shelf::default();
    if let (Some(finalization), Some(bytes)) =
        (&stored_floor, checkpoints.get(&U64::new(CHECKPOINT_KEY)))
    {
        shelf.put(stored_height, bytes.clone(), finalization.clone());
    }
    let sync_peers = statesync::Peers {
        me: public_key.clone(),
        committee: setup.participants.clone(),
        scheme: scheme.clone(),
    };
    let mut client = statesync::start(
        context.child("state_sync"),
        shelf.clone(),
        sync_peers.clone(),
        channels.sync,
        blocker.clone(),
    );
    let genesis_state = setup
        .machine
        .fork()
        .map_err(|e| NodeError::Storage(e.to_string()))?;
    let mempool = setup.mempool;
    let mut check: Checker<E, M> = Box::new(move |rng, offer, bytes| {
        check_synced(rng, (mempool, &genesis_state), offer, bytes)
    });
    // An archive keeps every block: it backfills from genesis, never from a checkpoint.
    let synced = if setup.history == ARCHIVE {
        None
    } else {
        statesync::catch_up(
            &mut context,
            &mut client,
            &sync_peers,
            (stored_height, setup.history / 2),
            &mut check,
        )
        .await
    };
    let (zone, floor, checkpoints, resumed_height) = match synced {
        Some(synced) => {
            let height = synced.offer.height;
            let finalization = synced.offer.finalization.clone();
            let (zone, checkpoints) = install_synced(
                synced,
                mempool,
                checkpoints,
                (&shelf, setup.observer.as_ref(), context.current()),
            )
            .await?;
            let zone = Arc::new(Mutex::new(zone));
            (zone, Some(finalization), checkpoints, height)
        }
        None => (zone, stored_floor, checkpoints, stored_height),
    };
    let resync = Resync {
        client,
        peers: sync_peers,
        check,
        mempool,
        next_try: context.current(),
    };
    let storage = StorageSetup {
        prefix: prefix.clone(),
        page_cache: page_cache.clone(),
        section,
        cache_section,
    };
    crate::stores::check_consensus_journal(
        context.child("journal_check"),
        &format!("{prefix}-simplex"),
        &scheme,
        page_cache.clone(),
        IO_BUFFER,
    )
    .await?;
    let genesis = ZoneBlock::from_arc(genesis_block);
    let genesis_digest = genesis.digest();
    let network = MarshalNetwork {
        public_key: public_key.clone(),
        peers,
        committee: setup.participants.clone(),
        blocker: blocker.clone(),
        backfill: channels.backfill,
        broadcast: channels.broadcast,
    };
    let marshal = start_marshal(&context, &storage, network, &scheme, (genesis, floor)).await?;

    // Blocks marshal already delivered (and we acknowledged) after the checkpoint: replay them
    // from its archive so the state is where marshal thinks it is. (Marshal must be running to
    // answer; the blocks it delivers meanwhile wait in the channel.)
    let mut finalizer = Finalizer {
        zone: zone.clone(),
        metrics: metrics.clone(),
        observer: setup.observer.clone(),
        edge: setup.edge,
        receipts: Vec::new(),
        diverge_at: setup.diverge_at,
    };
    replay_delivered(
        &mut finalizer,
        &marshal.mailbox,
        resumed_height,
        marshal.processed,
        context.current(),
    )
    .await?;

    // The finalizer task: executes finalized blocks, checkpoints, acknowledges.
    let policy = CheckpointPolicy {
        interval: setup.checkpoint_interval.max(1),
        history: setup.history,
        shelf,
    };
    let mailbox = marshal.mailbox.clone();
    let marshal_handle = marshal.mailbox.clone();
    let updates = marshal.updates;
    let finalizer = context.child("finalizer").spawn(move |clock| {
        run_finalizer(
            clock,
            (finalizer, resync),
            updates,
            mailbox,
            (checkpoints, resumed_height),
            policy,
        )
    });

    let app = ZoneApp {
        zone: zone.clone(),
        pacing: setup.pacing,
        metrics: metrics.clone(),
        byzantine: setup.byzantine.clone(),
    };
    let consensus = start_consensus(
        &context,
        &storage,
        ConsensusParts {
            scheme,
            blocker: blocker.clone(),
            app,
            marshal: marshal.mailbox,
            genesis: genesis_digest,
            timeouts: setup.timeouts,
        },
        (channels.votes, channels.certificates, channels.resolver),
    );
    let outbox = crate::gossip::Outbox::default();
    crate::gossip::start(
        context.child("gossip"),
        zone.clone(),
        outbox.clone(),
        setup.participants.clone(),
        metrics.clone(),
        channels.actions,
        blocker,
    );
    Ok(Validator {
        public_key,
        chain: setup.mempool.chain,
        zone,
        outbox,
        metrics,
        finalizer: Some(finalizer),
        consensus,
        resumed_height,
        stored_height,
        marshal: marshal_handle,
    })
}

/// Where a validator's partitions live, and the page cache they share.
struct StorageSetup {
    prefix: String,
    page_cache: CacheRef,
    /// Blocks per archive section.
    section: NonZeroU64,
    /// Views per section of marshal's cache of notarized blocks, which it prunes to recent
    /// views by whole sections: at most half the history too, so a member cut off for longer
    /// than the history finds its blocks in no peer's cache either (4,096 for [`HISTORY`]).
    cache_section: NonZeroU64,
}

/// What marshal needs from the network: the peers, the blocker and its two channels.
struct MarshalNetwork<C, B, S, R> {
    public_key: PublicKey,
    peers: C,
    /// The zone's committee: the only peers backfill asks.
    committee: Set<PublicKey>,
    blocker: B,
    backfill: (S, R),
    broadcast: (S, R),
}

/// Marshal, running: its mailbox, the height its processed floor was at when it started, and
/// the finalized blocks it delivers.
struct RunningMarshal {
    mailbox: MarshalMailbox,
    processed: u64,
    updates: mpsc::UnboundedReceiver<Update<ZoneBlock>>,
}

/// Starts marshal (finalized-block archives, proposal broadcast, backfill from peers) from
/// genesis or where its archives left off.
async fn start_marshal<E, C, B, S, R>(
    context: &E,
    storage: &StorageSetup,
    network: MarshalNetwork<C, B, S, R>,
    scheme: &ed25519::Scheme,
    (genesis, floor): (ZoneBlock, Option<statesync::ZoneFinalization>),
) -> Result<RunningMarshal, NodeError>
where
    E: Spawner + Metrics + Clock + Storage + rand_core::CryptoRng + Send + 'static,
    C: Provider<PublicKey = PublicKey>,
    B: Blocker<PublicKey = PublicKey>,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let prefix = &storage.prefix;
    let (resolver_sender, resolver) = marshal_resolver::init(
        context.child("marshal_resolver"),
        marshal_resolver::Config {
            public_key: network.public_key.clone(),
            peer_provider: crate::scoped::CommitteePeers::new(
                network.peers.clone(),
                network.committee,
                context.child("marshal_peers"),
            ),
            blocker: network.blocker,
            mailbox_size: MAILBOX,
            fetch_timeout: NZDuration!(Duration::from_millis(500)),
            fetch_retry_delay: Duration::from_millis(50),
            priority_requests: false,
            priority_responses: false,
        },
        network.backfill,
    );
    let (broadcast_engine, buffer) = buffered::Engine::new(
        context.child("broadcast"),
        buffered::Config {
            public_key: network.public_key,
            mailbox_size: MAILBOX,
            deque_size: 16,
            priority: true,
            codec_config: (),
            peer_provider: network.peers,
            strategy: Sequential,
        },
    );
    broadcast_engine.start(network.broadcast);
    let archive = |name| crate::stores::ArchiveSetup {
        prefix: prefix.clone(),
        name,
        page_cache: storage.page_cache.clone(),
        section: storage.section,
    };
    let finalizations = prunable::Archive::init(
        context.child("finalizations"),
        archive("finalizations").prunable(scheme.certificate_codec_config()),
    )
    .await
    .map_err(|e| StoreFault::new(Store::FinalizationArchive, e))?;
    let finalizations = if crate::stores::has_unprunable(context, &archive("finalizations")).await {
        let old = immutable::Archive::init(
            context.child("unprunable_finalizations"),
            archive("finalizations").unprunable(scheme.certificate_codec_config()),
        )
        .await
        .map_err(|e| StoreFault::new(Store::FinalizationArchive, e))?;
        crate::stores::move_archive(
            old,
            finalizations,
            Store::FinalizationArchive,
            |f: &statesync::ZoneFinalization| f.proposal.payload,
        )
        .await?
    } else {
        finalizations
    };
    crate::stores::check_archive(
        &finalizations,
        Store::FinalizationArchive,
        |f: &simplex::types::Finalization<
            ed25519::Scheme,
            commonware_cryptography::blake3::Digest,
        >| { f.proposal.payload },
    )
    .await?;
    let blocks = prunable::Archive::init(context.child("blocks"), archive("blocks").prunable(()))
        .await
        .map_err(|e| StoreFault::new(Store::BlockArchive, e))?;
    let blocks = if crate::stores::has_unprunable(context, &archive("blocks")).await {
        let old = immutable::Archive::init(
            context.child("unprunable_blocks"),
            archive("blocks").unprunable(()),
        )
        .await
        .map_err(|e| StoreFault::new(Store::BlockArchive, e))?;
        crate::stores::move_archive(old, blocks, Store::BlockArchive, |b: &Arc<ZoneBlock>| {
            b.digest()
        })
        .await?
    } else {
        blocks
    };
    crate::stores::check_archive(&blocks, Store::BlockArchive, |b: &Arc<ZoneBlock>| {
        b.digest()
    })
    .await?;
    let genesis_digest = genesis.digest();
    let (actor, mailbox, floor) = MarshalActor::<_, Standard<ZoneBlock>, _, _, _, _, _>::init(
        context.child("marshal"),
        finalizations,
        blocks,
        marshal::Config {
            provider: ConstantProvider::new(scheme.clone()),
            epocher: FixedEpocher::new(EPOCH_LENGTH),
            // A state-synced validator starts at its checkpoint's block; marshal's own progress
            // wins over the genesis anchor after the first run.
            start: match floor {
                Some(finalization) => marshal::Start::Floor(finalization),
                None => marshal::Start::Genesis(commonware_cryptography::Digested::precomputed(
                    genesis,
                    genesis_digest,
                )),
            },
            partition_prefix: format!("{prefix}-marshal"),
            mailbox_size: MAILBOX,
            view_retention: ViewDelta::new(64),
            prunable_items_per_section: storage.cache_section,
            page_cache: storage.page_cache.clone(),
            replay_buffer: IO_BUFFER,
            key_write_buffer: IO_BUFFER,
            value_write_buffer: IO_BUFFER,
            block_codec_config: (),
            max_repair: NZUsize!(64),
            max_pending_acks: NZUsize!(16),
            strategy: Sequential,
        },
    )
    .await;
    let (sender, updates) = mpsc::unbounded::<Update<ZoneBlock>>();
    actor.start(
        FinalizedSink { sender },
        buffer,
        (resolver_sender, resolver),
    );
    Ok(RunningMarshal {
        mailbox,
        processed: floor.processed().map_or(0, |p| p.height().get()),
        updates,
    })
}

/// What the consensus engine runs on besides the runtime and its channels.
struct ConsensusParts<B, M: StateMachine + Snapshot> {
    scheme: ed25519::Scheme,
    blocker: B,
    app: ZoneApp<M>,
    marshal: MarshalMailbox,
    genesis: <ZoneBlock as commonware_cryptography::Digestible>::Digest,
    timeouts: Timeouts,
}

/// Starts simplex on the application (proposing and verifying blocks through marshal), with
/// the setup's timeouts and skip policy.
fn start_consensus<E, B, M, S, R>(
    context: &E,
    storage: &StorageSetup,
    parts: ConsensusParts<B, M>,
    (votes, certificates, resolver): ((S, R), (S, R), (S, R)),
) -> Handle<()>
where
    E: Spawner + Metrics + Clock + Storage + rand_core::CryptoRng + Send + 'static,
    B: Blocker<PublicKey = PublicKey>,
    M: StateMachine + Snapshot + Send + 'static,
    M::Receipt: Send,
    S: Sender<PublicKey = PublicKey>,
    R: Receiver<PublicKey = PublicKey>,
{
    let inline = Inline::new(
        context.child("inline"),
        parts.app,
        parts.marshal,
        FixedEpocher::new(EPOCH_LENGTH),
    );
    let timeouts = parts.timeouts;
    let engine = simplex::Engine::new(
        context.child("simplex"),
        simplex::Config {
            scheme: parts.scheme,
            elector: RoundRobin::<Sha256>::default(),
            blocker: parts.blocker,
            automaton: inline.clone(),
            relay: inline.clone(),
            reporter: inline,
            strategy: Sequential,
            partition: format!("{}-simplex", storage.prefix),
            mailbox_size: MAILBOX,
            epoch: Epoch::zero(),
            floor: simplex::config::Floor::Genesis(parts.genesis),
            replay_buffer: IO_BUFFER,
            write_buffer: IO_BUFFER,
            page_cache: storage.page_cache.clone(),
            leader_timeout: timeouts.leader,
            certification_timeout: timeouts.certification,
            timeout_retry: timeouts.retry,
            view_retention: ViewDelta::new(64),
            skip: SkipPolicy::Enabled {
                timeout: timeouts.inactive,
                budget: SkipBudget::Participants,
            },
            fetch_timeout: NZDuration!(Duration::from_millis(500)),
            fetch_retry_delay: Duration::from_millis(50),
            forward: ForwardPolicy::Disabled,
            track_historical_votes: false,
        },
    );
    engine.start(votes, certificates, resolver)
}

/// When the finalizer checkpoints, what it offers, and what history it keeps.
struct CheckpointPolicy {
    interval: u64,
    history: u64,
    shelf: statesync::Shelf,
}

impl CheckpointPolicy {
    /// Whether a validator at `height` is behind the blocks the committee keeps while the
    /// chain's tip is at `tip` (the history past the peers' last checkpoint): backfill cannot
    /// bring it back, only a state sync. An archive is never behind.
    fn behind_history(&self, height: u64, tip: u64) -> bool {
        // Peers prune at their checkpoints, which trail the tip by up to an interval.
        let kept = self.history.saturating_add(self.interval);
        self.history != ARCHIVE && tip > height.saturating_add(kept)
    }
}

/// Loads and checks a fetched checkpoint onto the genesis state ([`check_synced`]).
type Checker<E, M> = Box<dyn FnMut(&mut E, &statesync::Offer, &[u8]) -> Option<Executor<M>> + Send>;

/// What a running validator needs to state-sync in place when it falls behind the history
/// (cut off for longer while running): its sync client, its committee, and its checker.
struct Resync<S, E, M: StateMachine + Snapshot> {
    client: statesync::Client<S>,
    peers: statesync::Peers,
    check: Checker<E, M>,
    mempool: MempoolConfig,
    /// No new attempt before then (after one that fetched nothing).
    next_try: std::time::SystemTime,
}

/// Between attempts to sync in place that fetched nothing (no member far enough ahead, or
/// none heard): each attempt asks the whole committee.
const RESYNC_RETRY: Duration = Duration::from_secs(10);

/// Brings a running validator that fell behind the history up to the committee's latest
/// checkpoint: fetched and checked as at start, stored as its own, swapped in for the
/// zone's state, and set as marshal's floor (marshal delivers blocks from it on). Returns
/// the checkpoint store and the synced height, if it synced.
async fn sync_in_place<E, M, S>(
    context: &mut E,
    (zone, observer, metrics): (&SharedZone<M>, Option<&Observer>, &ZoneMetrics),
    resync: &mut Resync<S, E, M>,
    marshal_mailbox: &MarshalMailbox,
    policy: &CheckpointPolicy,
    checkpoints: Checkpoints<E>,
) -> Result<(Checkpoints<E>, Option<u64>), NodeError>
where
    E: Clock + Storage + Metrics + rand_core::CryptoRng,
    M: StateMachine + Snapshot,
    S: Sender<PublicKey = PublicKey>,
{
    if context.current() < resync.next_try {
        return Ok((checkpoints, None));
    }
    let height = lock(zone).executor.finalized().block.height;
    warn!(height, "behind the committee's history: state-syncing");
    let Resync {
        client,
        peers,
        check,
        mempool,
        next_try,
    } = resync;
    let synced =
        statesync::catch_up(context, client, peers, (height, policy.history / 2), check).await;
    let Some(synced) = synced else {
        *next_try = context.current() + RESYNC_RETRY;
        return Ok((checkpoints, None));
    };
    let height = synced.offer.height;
    let finalization = synced.offer.finalization.clone();
    let (synced_zone, checkpoints) = install_synced(
        synced,
        *mempool,
        checkpoints,
        (&policy.shelf, observer, context.current()),
    )
    .await?;
    // Pending actions and imports were for the old state: players and relays send again.
    // The old state is dropped after the lock is released: consensus and sessions wait on it.
    let old = std::mem::replace(&mut *lock(zone), synced_zone);
    drop(old);
    marshal_mailbox.set_floor(finalization);
    metrics.height.set(height as i64);
    metrics.state_syncs.inc();
    Ok((checkpoints, Some(height)))
}

/// The state of a checkpoint fetched by state sync, if its block is the certified one and
/// its state matches its recorded root; `None` (with the reason logged) otherwise.
fn check_synced<M>(
    rng: &mut impl rand_core::CryptoRng,
    (mempool, genesis): (MempoolConfig, &M),
    offer: &statesync::Offer,
    bytes: &[u8],
) -> Option<Executor<M>>
where
    M: StateMachine + Snapshot,
{
    let executor = match Executor::resume(mempool, genesis, bytes, rng) {
        Ok(executor) => executor,
        Err(e) => {
            warn!(error = %e, height = offer.height, "state sync: the checkpoint does not load");
            return None;
        }
    };
    let block = &executor.finalized().block;
    if block.height != offer.height || block.digest() != offer.finalization.proposal.payload.0 {
        warn!(
            height = offer.height,
            "state sync: the checkpoint's block is not the certified one"
        );
        return None;
    }
    Some(executor)
}

/// Stores a checked state-sync checkpoint and its certificate as this validator's own,
/// offers it in turn, and reports its block to the observer (the audit log then starts at
/// the checkpoint). Returns the zone at that state and the checkpoint store.
async fn install_synced<E, M>(
    synced: statesync::Synced<Executor<M>>,
    mempool: MempoolConfig,
    checkpoints: Checkpoints<E>,
    (shelf, observer, now): (&statesync::Shelf, Option<&Observer>, std::time::SystemTime),
) -> Result<(Zone<M>, Checkpoints<E>), NodeError>
where
    E: Clock + Storage + Metrics,
    M: StateMachine + Snapshot,
{
    let executor = synced.checked;
    let summary = executor.finalized().clone();
    // Logged before it is checkpointed, as every block is: a stored checkpoint above the
    // audit log's end means a log cut short.
    if let Some(observer) = observer {
        observer(&crate::application::Finalized {
            height: summary.block.height,
            tick: summary.block.tick,
            digest: summary.digest,
            root: summary.root,
            actions: summary.block.actions.len(),
            latency: None,
            at: now,
        });
    }
    let checkpoints = store_checkpoint(
        checkpoints,
        synced.bytes.clone(),
        Some(&synced.offer.finalization),
    )
    .await?;
    info!(
        height = summary.block.height,
        "state synced from the committee"
    );
    shelf.put(synced.offer.height, synced.bytes, synced.offer.finalization);
    Ok((fresh_zone(mempool, executor), checkpoints))
}

/// Writes a checkpoint and its block's certificate (when marshal had it) in one sync.
async fn store_checkpoint<E>(
    mut checkpoints: Checkpoints<E>,
    bytes: Vec<u8>,
    finalization: Option<&statesync::ZoneFinalization>,
) -> Result<Checkpoints<E>, NodeError>
where
    E: Clock + Storage + Metrics,
{
    use commonware_codec::Encode as _;
    match finalization {
        Some(f) => checkpoints.put(U64::new(CERTIFICATE_KEY), f.encode().to_vec()),
        None => checkpoints.remove(&U64::new(CERTIFICATE_KEY)),
    };
    checkpoints
        .put_sync(U64::new(CHECKPOINT_KEY), bytes)
        .await
        .map_err(|e| NodeError::Storage(e.to_string()))
}

/// The certificate of the stored checkpoint's block, if one was stored with it.
fn stored_certificate<E>(
    checkpoints: &Checkpoints<E>,
    scheme: &ed25519::Scheme,
) -> Result<Option<statesync::ZoneFinalization>, NodeError>
where
    E: Clock + Storage + Metrics,
{
    use commonware_codec::Decode as _;
    let Some(bytes) = checkpoints.get(&U64::new(CERTIFICATE_KEY)) else {
        return Ok(None);
    };
    statesync::ZoneFinalization::decode_cfg(
        commonware_codec::Copying(bytes.as_slice()),
        &scheme.certificate_codec_config(),
    )
    .map(Some)
    .map_err(|e| StoreFault::new(Store::Checkpoint, format_args!("its certificate: {e}")).into())
}

/// Marshal's handle as the finalizer uses it.
type MarshalMailbox = marshal::core::Mailbox<ed25519::Scheme, Standard<ZoneBlock>>;

/// The zone's state at start: from the last checkpoint, or genesis. Returns the shared zone,
/// the genesis block and the height the state is at.
fn load_state<E, M>(
    context: &mut E,
    mempool: MempoolConfig,
    machine: &M,
    checkpoints: &Checkpoints<E>,
) -> Result<(SharedZone<M>, Arc<z3r0_chain::Block>, u64), NodeError>
where
    E: Spawner + Metrics + Clock + Storage + rand_core::CryptoRng,
    M: StateMachine + Snapshot,
{
    // The runtime's randomness is this validator's own (the OS's, or a simulation's seed).
    let genesis_executor = Executor::new(
        mempool,
        machine
            .fork()
            .map_err(|e| NodeError::Storage(e.to_string()))?,
        context,
    );
    let genesis_block = genesis_executor.finalized().block.clone();
    let executor = match checkpoints.get(&U64::new(CHECKPOINT_KEY)) {
        Some(bytes) => Executor::resume(mempool, machine, bytes, context)
            .map_err(|e| StoreFault::new(Store::Checkpoint, e))?,
        None => genesis_executor,
    };
    let resumed_height = executor.finalized().block.height;
    info!(height = resumed_height, "state loaded");
    Ok((zone_of(mempool, executor), genesis_block, resumed_height))
}

/// The shared zone around `executor`'s finalized state, with an empty mempool.
fn zone_of<M: StateMachine + Snapshot>(
    mempool: MempoolConfig,
    executor: Executor<M>,
) -> SharedZone<M> {
    Arc::new(Mutex::new(fresh_zone(mempool, executor)))
}

/// The zone at `executor`'s finalized state, with nothing pending.
fn fresh_zone<M: StateMachine + Snapshot>(
    mempool: MempoolConfig,
    executor: Executor<M>,
) -> Zone<M> {
    let nonces = executor.finalized().nonces.clone();
    let current_tick = executor.finalized().block.tick + 1;
    Zone {
        executor,
        mempool: Mempool::new(mempool, nonces, current_tick),
        seen: BTreeMap::new(),
        imports: crate::handoff::ImportPool::default(),
    }
}

/// Blocks marshal already delivered (and we acknowledged) after the checkpoint at `from`, up
/// to `to`: replayed from its archive so the state is where marshal thinks it is. (Marshal
/// must be running to answer; the blocks it delivers meanwhile wait in the channel.)
async fn replay_delivered<M>(
    finalizer: &mut Finalizer<M>,
    mailbox: &MarshalMailbox,
    from: u64,
    to: u64,
    now: std::time::SystemTime,
) -> Result<(), NodeError>
where
    M: StateMachine + Snapshot,
{
    for height in from + 1..=to {
        let block = mailbox
            .get_block(Identifier::Height(Height::new(height)))
            .await
            .ok_or_else(|| {
                // Marshal recorded it delivered, so its archive lost it (a damaged tail).
                StoreFault::new(
                    Store::BlockArchive,
                    format_args!("finalized block {height} was delivered but is missing"),
                )
            })?;
        finalizer.apply(block.inner(), now, None)?;
    }
    if to > from {
        info!(from, to, "replayed finalized blocks");
    }
    Ok(())
}

/// The finalizer task: executes finalized blocks as marshal delivers them (with their
/// certificates when an edge listens), checkpoints every `interval` blocks, acknowledges;
/// state-syncs in place if the chain's tip runs past the history.
async fn run_finalizer<E, M, S>(
    mut clock: E,
    (mut finalizer, mut resync): (Finalizer<M>, Resync<S, E, M>),
    mut updates: mpsc::UnboundedReceiver<Update<ZoneBlock>>,
    marshal_mailbox: MarshalMailbox,
    (mut checkpoints, mut last_checkpoint): (Checkpoints<E>, u64),
    policy: CheckpointPolicy,
) -> Result<(), NodeError>
where
    E: Clock + Storage + Metrics + rand_core::CryptoRng,
    M: StateMachine + Snapshot,
    S: Sender<PublicKey = PublicKey>,
{
    while let Some(update) = updates.next().await {
        if let Update::Tip(_, tip, _) = &update {
            let height = lock(&finalizer.zone).executor.finalized().block.height;
            if policy.behind_history(height, tip.get()) {
                let synced;
                let parts = (
                    &finalizer.zone,
                    finalizer.observer.as_ref(),
                    &finalizer.metrics,
                );
                (checkpoints, synced) = sync_in_place(
                    &mut clock,
                    parts,
                    &mut resync,
                    &marshal_mailbox,
                    &policy,
                    checkpoints,
                )
                .await?;
                last_checkpoint = synced.unwrap_or(last_checkpoint);
            }
        }
        // The certificate travels to light clients with the block, when anyone listens.
        let finality = match &update {
            Update::Block(block, _) if finalizer.edge.is_some() => marshal_mailbox
                .get_finalization(Height::new(block.inner().block().height))
                .await
                .map(|f| finality_proof(&f)),
            _ => None,
        };
        let done = match finalizer.handle(update, clock.current(), finality) {
            Ok(done) => done,
            Err(e) => {
                error!(error = %e, "stopping: cannot follow the finalized chain");
                return Err(NodeError::Execution(e));
            }
        };
        let Some(done) = done else { continue };
        // Checkpoints fall on multiples of the interval, so the committee's offers match.
        if done.height >= last_checkpoint + policy.interval && done.height % policy.interval == 0 {
            let bytes = lock(&finalizer.zone).executor.checkpoint()?;
            let height = Height::new(done.height);
            let finalization = marshal_mailbox.get_finalization(height).await;
            checkpoints =
                store_checkpoint(checkpoints, bytes.clone(), finalization.as_ref()).await?;
            last_checkpoint = done.height;
            if let Some(finalization) = finalization {
                policy.shelf.put(done.height, bytes, finalization);
            }
            // A restart replays from the checkpoint: blocks below it are only history.
            marshal_mailbox.prune(Height::new(done.height.saturating_sub(policy.history)));
        }
    }
    Err(NodeError::MarshalStopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_section_sizes_round_trip_and_bad_ones_are_refused() {
        let record = |archive: u64, cache: u64| {
            let mut bytes = archive.to_be_bytes().to_vec();
            bytes.extend_from_slice(&cache.to_be_bytes());
            bytes
        };
        for history in [16, 32, 1_000, HISTORY, 1 << 40] {
            let (archive, cache) = (archive_section(history), cache_section(history));
            assert_eq!(
                decode_sections(&record(archive.get(), cache.get())),
                Some((archive, cache))
            );
        }
        for (archive, cache) in [(0, 16), (16, 0), (24, 16), (2048, 16), (16, 8192), (8, 16)] {
            assert_eq!(decode_sections(&record(archive, cache)), None);
        }
        assert_eq!(decode_sections(&record(16, 16)[..15]), None);
        assert_eq!(decode_sections(&[record(16, 16), vec![0]].concat()), None);
    }
}
