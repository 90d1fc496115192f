//! A zone of validators on commonware's deterministic runtime and simulated network: seeded,
//! replayable, with virtual time. Tests and the simulated-region benchmark drive it: links with
//! latency, jitter and loss, partitions, crashes and restarts from each validator's storage.

use crate::application::{EdgeHook, Finalized, Observer, Pacing};
use crate::engine::{self, Channels, Timeouts, Validator, ValidatorSetup, channel};
use commonware_cryptography::{Signer as _, ed25519::PrivateKey, ed25519::PublicKey};
use commonware_p2p::simulated::{self, Link, Network, Oracle};
use commonware_runtime::{Clock, Handle, Quota, Spawner, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use z3r0_chain::{Action, MempoolConfig, Snapshot, StateMachine};

/// Largest message on the simulated network.
const MAX_MESSAGE: u32 = 8 * 1024 * 1024;
const QUOTA: Quota = Quota::per_second(NZU32!(100_000));

/// Finalized blocks one validator reported, in order (restarts append again from where they
/// resume).
pub type Log = Arc<Mutex<Vec<Finalized>>>;

/// Where a running validator is, once it has started.
pub(crate) type ValidatorSlot<M> = Arc<Mutex<Option<Validator<M>>>>;

pub(crate) struct Running<M: StateMachine + Snapshot> {
    pub(crate) task: Handle<()>,
    pub(crate) validator: ValidatorSlot<M>,
}

/// One height of the chain the validators agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainEntry {
    pub height: u64,
    pub digest: [u8; 32],
    pub root: [u8; 32],
}

/// A simulated zone.
pub struct SimNet<M: StateMachine + Snapshot> {
    pub context: deterministic::Context,
    pub oracle: Oracle<PublicKey, deterministic::Context>,
    pub keys: Vec<PrivateKey>,
    pub participants: Set<PublicKey>,
    pub logs: Vec<Log>,
    /// Validators that failed: could not start, or stopped following the chain.
    pub failures: Arc<Mutex<Vec<String>>>,
    /// The simulated chain's id: the rules' default, so a default `Sim` agrees with it.
    pub chain: z3r0_chain::ChainId,
    zone: u32,
    pacing: Pacing,
    timeouts: Timeouts,
    genesis: Box<dyn Fn() -> M + Send>,
    running: Vec<Option<Running<M>>>,
    /// Times each validator has been started, to name its restarted tasks apart.
    starts: Vec<u32>,
    /// Builds each validator's edge hook (by index) when it starts.
    pub edge_hook: Option<Box<dyn Fn(usize) -> EdgeHook<M> + Send>>,
    /// Validators (by index) that propose blocks breaking the rules.
    pub byzantine: std::collections::BTreeMap<usize, crate::byzantine::Byzantine>,
    /// The primary halves of validators started as twins.
    twins: Vec<Running<M>>,
    /// Validators (by index) whose clocks run this many milliseconds ahead (negative: behind).
    pub clock_skew_ms: std::collections::BTreeMap<usize, i64>,
    /// Finalized blocks each validator keeps below its checkpoint (`ValidatorSetup::history`).
    pub history: u64,
}

/// `to`, narrowed to the keys in `side` (`None`: nobody left).
fn only(
    to: &commonware_p2p::Recipients<PublicKey>,
    side: &[PublicKey],
) -> Option<commonware_p2p::Recipients<PublicKey>> {
    use commonware_p2p::Recipients;
    let keep: Vec<PublicKey> = match to {
        Recipients::All => side.to_vec(),
        Recipients::Some(list) => list.iter().filter(|k| side.contains(k)).cloned().collect(),
        Recipients::One(k) => side.iter().filter(|s| *s == k).cloned().collect(),
    };
    (!keep.is_empty()).then_some(Recipients::Some(keep))
}

impl<M: StateMachine + Snapshot> std::fmt::Debug for SimNet<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimNet")
            .field("validators", &self.keys.len())
            .finish_non_exhaustive()
    }
}

/// `n` validator keys (deterministic) and the ordered participant set.
pub fn committee(n: usize) -> (Vec<PrivateKey>, Set<PublicKey>) {
    let keys: Vec<_> = (0..n as u64)
        .map(|i| PrivateKey::from_seed(1_000 + i))
        .collect();
    let participants = Set::from_iter_dedup(keys.iter().map(|k| k.public_key()));
    (keys, participants)
}

impl<M> SimNet<M>
where
    M: StateMachine + Snapshot + Send + 'static,
    M::Receipt: Send,
{
    /// Creates the network and links every pair with `link`; no validator runs yet.
    pub async fn new(
        context: deterministic::Context,
        validators: usize,
        link: Link,
        pacing: Pacing,
        genesis: impl Fn() -> M + Send + 'static,
    ) -> Self {
        let (keys, participants) = committee(validators);
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: MAX_MESSAGE,
                max_peers_per_set: NZUsize!(validators.max(1)),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            participants.iter().cloned(),
        )
        .await;
        network.start();
        let net = Self {
            context,
            oracle,
            logs: (0..validators).map(|_| Log::default()).collect(),
            failures: Arc::default(),
            running: (0..validators).map(|_| None).collect(),
            starts: vec![0; validators],
            keys,
            participants,
            chain: z3r0_chain::ChainId::default(),
            zone: 1,
            pacing,
            timeouts: Timeouts::for_tick(pacing.tick_ms),
            genesis: Box::new(genesis),
            edge_hook: None,
            byzantine: Default::default(),
            clock_skew_ms: Default::default(),
            twins: Vec::new(),
            history: crate::engine::HISTORY,
        };
        net.link_all(link).await;
        net
    }

    pub fn public_key(&self, i: usize) -> PublicKey {
        self.keys[i].public_key()
    }

    /// Sets `link` between every ordered pair of validators.
    pub async fn link_all(&self, link: Link) {
        let n = self.keys.len();
        for a in 0..n {
            for b in 0..n {
                if a != b {
                    self.relink(a, b, Some(link.clone())).await;
                }
            }
        }
    }

    /// Replaces the link from `a` to `b` (`None`: no link, messages are dropped).
    pub async fn relink(&self, a: usize, b: usize, link: Option<Link>) {
        let (pa, pb) = (self.public_key(a), self.public_key(b));
        // Absent links are fine to remove.
        let _ = self.oracle.remove_link(pa.clone(), pb.clone()).await;
        if let Some(link) = link {
            // Cannot fail for known peers; a failure would show up as lost liveness.
            let _ = self.oracle.add_link(pa, pb, link).await;
        }
    }

    /// Cuts every link between `group` and the rest.
    pub async fn partition(&self, group: &[usize]) {
        let n = self.keys.len();
        for a in 0..n {
            for b in 0..n {
                if a != b && group.contains(&a) != group.contains(&b) {
                    self.relink(a, b, None).await;
                }
            }
        }
    }

    /// Starts (or restarts, from its storage) validator `i`. Errors after the network accepted
    /// it land in [`SimNet::failures`].
    pub async fn start(&mut self, i: usize) -> Result<(), String> {
        self.start_on(i, format!("v{i}")).await
    }

    /// Starts validator `i` (which must be down) on empty storage, as a member whose disk was
    /// replaced: it keeps its key and nothing else.
    pub async fn start_wiped(&mut self, i: usize) -> Result<(), String> {
        self.start_on(i, format!("v{i}-wiped{}", self.starts[i]))
            .await
    }

    async fn start_on(&mut self, i: usize, partition: String) -> Result<(), String> {
        let channels = self.register(i).await?;
        let setup = self.setup(i, partition, self.logs[i].clone());
        self.starts[i] += 1;
        let running = self.spawn(i, self.starts[i], setup, channels);
        self.running[i] = Some(running);
        Ok(())
    }

    /// Starts validator `i` as twins: two honest nodes with its key and their own storage, one
    /// talking only to `primary`'s validators, the other only to `secondary`'s. As leader each
    /// proposes its own block and both sign votes: the validator equivocates, with blocks that
    /// are valid. The secondary twin reports to `logs[i]`; the primary's reports are dropped.
    pub async fn start_twins(
        &mut self,
        i: usize,
        primary: &[usize],
        secondary: &[usize],
    ) -> Result<(), String> {
        let keys = |group: &[usize]| -> Vec<PublicKey> {
            group.iter().map(|&j| self.public_key(j)).collect()
        };
        let (a, b) = (Arc::new(keys(primary)), Arc::new(keys(secondary)));
        let channels = self.register(i).await?;
        let context = self.context.child("twins");
        let split = |(sender, receiver): (
            simulated::Sender<PublicKey, deterministic::Context>,
            simulated::Receiver<PublicKey>,
        )| {
            let (a, b) = (a.clone(), b.clone());
            let forward = {
                let (a, b) = (a.clone(), b.clone());
                move |origin: simulated::SplitOrigin,
                      to: &commonware_p2p::Recipients<PublicKey>,
                      _: &_| {
                    let side = match origin {
                        simulated::SplitOrigin::Primary => &a,
                        simulated::SplitOrigin::Secondary => &b,
                    };
                    only(to, side)
                }
            };
            let (send_a, send_b) = sender.split_with(forward);
            let (recv_a, recv_b) =
                receiver.split_with(context.child("split"), move |(from, _): &(PublicKey, _)| {
                    if a.contains(from) {
                        simulated::SplitTarget::Primary
                    } else if b.contains(from) {
                        simulated::SplitTarget::Secondary
                    } else {
                        simulated::SplitTarget::None
                    }
                });
            ((send_a, recv_a), (send_b, recv_b))
        };
        let (votes_a, votes_b) = split(channels.votes);
        let (certificates_a, certificates_b) = split(channels.certificates);
        let (resolver_a, resolver_b) = split(channels.resolver);
        let (broadcast_a, broadcast_b) = split(channels.broadcast);
        let (backfill_a, backfill_b) = split(channels.backfill);
        let (actions_a, actions_b) = split(channels.actions);
        let (sync_a, sync_b) = split(channels.sync);
        let twin_a = Channels {
            votes: votes_a,
            certificates: certificates_a,
            resolver: resolver_a,
            broadcast: broadcast_a,
            backfill: backfill_a,
            actions: actions_a,
            sync: sync_a,
        };
        let twin_b = Channels {
            votes: votes_b,
            certificates: certificates_b,
            resolver: resolver_b,
            broadcast: broadcast_b,
            backfill: backfill_b,
            actions: actions_b,
            sync: sync_b,
        };
        self.starts[i] += 1;
        // Each twin hears only its side of the committee, which is not `f + 1` members for
        // both: as archives they start at once, from their (empty) storage.
        let mut setup = self.setup(i, format!("v{i}a"), Log::default());
        setup.history = crate::engine::ARCHIVE;
        let first = self.spawn(i, self.starts[i], setup, twin_a);
        self.starts[i] += 1;
        let mut setup = self.setup(i, format!("v{i}b"), self.logs[i].clone());
        setup.history = crate::engine::ARCHIVE;
        let second = self.spawn(i, self.starts[i], setup, twin_b);
        self.twins.push(first);
        self.running[i] = Some(second);
        Ok(())
    }

    /// Registers validator `i`'s channels on the network.
    async fn register(
        &self,
        i: usize,
    ) -> Result<
        Channels<
            simulated::Sender<PublicKey, deterministic::Context>,
            simulated::Receiver<PublicKey>,
        >,
        String,
    > {
        let control = self.oracle.control(self.public_key(i));
        let register = async |c| {
            control
                .register(c, QUOTA)
                .await
                .map_err(|e| format!("register channel {c}: {e}"))
        };
        Ok(Channels {
            votes: register(channel::VOTES).await?,
            certificates: register(channel::CERTIFICATES).await?,
            resolver: register(channel::RESOLVER).await?,
            broadcast: register(channel::BROADCAST).await?,
            backfill: register(channel::BACKFILL).await?,
            actions: register(channel::ACTIONS).await?,
            sync: register(channel::SYNC).await?,
        })
    }

    /// Validator `i`'s setup, its storage under `partition`, reporting finalized blocks to `log`.
    fn setup(&self, i: usize, partition: String, log: Log) -> ValidatorSetup<M> {
        let observer: Observer = Arc::new(move |f: &Finalized| {
            log.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(f.clone())
        });
        ValidatorSetup {
            signer: self.keys[i].clone(),
            participants: self.participants.clone(),
            machine: (self.genesis)(),
            mempool: MempoolConfig::for_zone(self.chain, self.zone),
            pacing: self
                .pacing
                .skewed(self.clock_skew_ms.get(&i).copied().unwrap_or(0)),
            timeouts: self.timeouts,
            partition,
            checkpoint_interval: 16,
            history: self.history,
            observer: Some(observer),
            edge: self.edge_hook.as_ref().map(|make| make(i)),
            byzantine: self.byzantine.get(&i).cloned(),
            diverge_at: None,
        }
    }

    /// Runs a validator of `setup` on `channels` as a task.
    fn spawn<S, R>(
        &self,
        i: usize,
        start: u32,
        setup: ValidatorSetup<M>,
        channels: Channels<S, R>,
    ) -> Running<M>
    where
        S: commonware_p2p::Sender<PublicKey = PublicKey>,
        R: commonware_p2p::Receiver<PublicKey = PublicKey>,
    {
        let context = self
            .context
            .child("validator")
            .with_attribute("index", i)
            .with_attribute("start", start);
        spawn_validator(
            context,
            format!("validator {i}"),
            setup,
            channels,
            (
                self.oracle.manager(),
                self.oracle.control(self.public_key(i)),
            ),
            self.failures.clone(),
        )
    }

    /// Starts every validator and waits (virtual time) until each has started: asked its
    /// committee for checkpoints, opened its stores and runs consensus.
    pub async fn start_all(&mut self) -> Result<(), String> {
        for i in 0..self.keys.len() {
            self.start(i).await?;
        }
        self.wait_started().await
    }

    /// Waits (virtual time) until every validator started has asked its committee for
    /// checkpoints, opened its stores and runs consensus: a member that hears from fewer
    /// than `f + 1` others keeps asking for up to about 10 s.
    pub async fn wait_started(&self) -> Result<(), String> {
        let deadline = self.context.current() + Duration::from_secs(30);
        let started = |r: &Running<M>| {
            r.validator
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some()
        };
        while !self
            .running
            .iter()
            .flatten()
            .chain(&self.twins)
            .all(started)
        {
            if self.context.current() >= deadline {
                return Err("validators did not start within 30 s".into());
            }
            self.context.sleep(Duration::from_millis(1)).await;
        }
        Ok(())
    }

    /// Kills validator `i` as a crash would: every task it runs stops; its storage stays.
    pub fn crash(&mut self, i: usize) {
        if let Some(r) = self.running[i].take() {
            r.task.abort();
        }
    }

    /// Runs `f` on validator `i` if it is up.
    pub fn with_validator<T>(&self, i: usize, f: impl FnOnce(&Validator<M>) -> T) -> Option<T> {
        let running = self.running[i].as_ref()?;
        let guard = running.validator.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().map(f)
    }

    /// Height of validator `i`'s last finalized block.
    pub fn height(&self, i: usize) -> u64 {
        let log = self.logs[i].lock().unwrap_or_else(|p| p.into_inner());
        log.last().map_or(0, |f| f.height)
    }

    /// Waits (virtual time) until every validator in `who` reached `height`; false on timeout.
    pub async fn wait_for(&self, who: &[usize], height: u64, timeout: Duration) -> bool {
        let deadline = self.context.current() + timeout;
        loop {
            if who.iter().all(|&i| self.height(i) >= height) {
                return true;
            }
            if self.context.current() >= deadline {
                return false;
            }
            self.context.sleep(Duration::from_millis(10)).await;
        }
    }

    /// Safety: at every height, every validator that finalized it has the same digest and root.
    /// Returns the agreed chain `(height, digest, root)`.
    pub fn agreed_chain(&self) -> Result<Vec<ChainEntry>, String> {
        agreed_chain(self.logs.iter().enumerate())
    }

    /// One round of load: each player submits one action with `payload` (for the next tick, with
    /// its next nonce) to a validator chosen by rotating with `round`.
    pub fn submit_round(&self, players: &[PrivateKey], round: u64, payload: &[u8]) {
        let n = self.keys.len();
        for (p, key) in players.iter().enumerate() {
            let v = (p + round as usize) % n;
            let Some((tick, nonce)) = self.with_validator(v, |val| {
                (val.current_tick(), val.next_nonce(&key.public_key()))
            }) else {
                continue;
            };
            let action = Action {
                player: key.public_key(),
                zone: self.zone,
                tick,
                nonce,
                payload: payload.to_vec().into(),
            };
            self.submit(v, key, action);
        }
    }

    /// Submits `action` signed by `player` to validator `i`'s mempool (if it is up).
    pub fn submit(&self, i: usize, player: &PrivateKey, action: Action) -> bool {
        use commonware_codec::Encode as _;
        let bytes = action.sign(player, &self.chain).encode();
        self.with_validator(i, |v| {
            v.submit(crate::application::Source::Local(0), &bytes)
                .is_ok()
        })
        .unwrap_or(false)
    }
}

/// Runs a validator of `setup` on `channels` as a task of `context`, with the network's peer
/// provider and blocker; `name` names it in [`SimNet::failures`]-style reports to `failures`.
pub(crate) fn spawn_validator<M, S, R>(
    context: deterministic::Context,
    name: String,
    setup: ValidatorSetup<M>,
    channels: Channels<S, R>,
    (peers, blocker): (
        simulated::Manager<PublicKey, deterministic::Context>,
        simulated::Control<PublicKey, deterministic::Context>,
    ),
    failures: Arc<Mutex<Vec<String>>>,
) -> Running<M>
where
    M: StateMachine + Snapshot + Send + 'static,
    M::Receipt: Send,
    S: commonware_p2p::Sender<PublicKey = PublicKey>,
    R: commonware_p2p::Receiver<PublicKey = PublicKey>,
{
    let slot = Arc::new(Mutex::new(None));
    let out = slot.clone();
    let fail = move |e: String| failures.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    let task = context.spawn(move |context| async move {
        let validator = match engine::start(context, setup, peers, blocker, channels).await {
            Ok(v) => v,
            Err(e) => return fail(format!("{name} failed to start: {e}")),
        };
        let finalizer = {
            let mut slot = out.lock().unwrap_or_else(|p| p.into_inner());
            slot.insert(validator).finalizer.take()
        };
        let Some(finalizer) = finalizer else { return };
        if let Ok(Err(e)) = finalizer.await {
            fail(format!("{name} stopped: {e}"));
        }
    });
    Running {
        task,
        validator: slot,
    }
}

/// The chain the validators' logs agree on: at every height, every validator that finalized it
/// has the same digest and root, and none skipped a height. `logs` are (validator, its log).
pub(crate) fn agreed_chain<'a>(
    logs: impl IntoIterator<Item = (usize, &'a Log)>,
) -> Result<Vec<ChainEntry>, String> {
    let mut chain: std::collections::BTreeMap<u64, (usize, [u8; 32], [u8; 32])> =
        Default::default();
    for (i, log) in logs {
        let log = log.lock().unwrap_or_else(|p| p.into_inner());
        let mut last = 0;
        for f in log.iter() {
            if f.height > last + 1 && last != 0 {
                return Err(format!("validator {i} skipped from {last} to {}", f.height));
            }
            last = last.max(f.height);
            match chain.get(&f.height) {
                Some(&(j, d, r)) if d != f.digest || r != f.root => {
                    return Err(format!(
                        "height {}: validator {i} has {:02x?}/{:02x?}, validator {j} has {:02x?}/{:02x?}",
                        f.height, f.digest, f.root, d, r
                    ));
                }
                Some(_) => {}
                None => {
                    chain.insert(f.height, (i, f.digest, f.root));
                }
            }
        }
    }
    Ok(chain
        .into_iter()
        .map(|(height, (_, digest, root))| ChainEntry {
            height,
            digest,
            root,
        })
        .collect())
}

/// A link with `latency` ± `jitter` and the given delivery probability (as a fraction of 1000).
pub fn link(latency_ms: u64, jitter_ms: u64, delivered_per_mille: u32) -> Link {
    Link {
        latency: Duration::from_millis(latency_ms),
        jitter: Duration::from_millis(jitter_ms),
        success_rate: commonware_utils::Probability::from_f64(
            f64::from(delivered_per_mille) / 1000.0,
        )
        .unwrap_or(commonware_utils::probability!(1.0)),
    }
}

/// The game in a zone of 2 × 3 × 2 chunks (quick to generate in test builds).
pub fn small_game() -> z3r0_sim::Sim {
    let config = z3r0_sim::SimConfig {
        chunks_x: (-1, 1),
        chunks_y: (-1, 2),
        chunks_z: (-1, 1),
        ..z3r0_sim::SimConfig::default()
    };
    match z3r0_sim::Sim::genesis(config) {
        Ok(sim) => sim,
        Err(e) => unreachable!("a valid fixed zone: {e}"),
    }
}

/// A delegation by [`crate::byzantine::Byzantine::leader_key`] whose consent another key signed:
/// the Byzantine leader's forged-consent payload.
pub fn forged_consent(chain: &z3r0_chain::ChainId) -> Vec<u8> {
    use commonware_cryptography::Signer as _;
    let account = crate::byzantine::Byzantine::leader_key().public_key();
    let account: [u8; 32] = account.as_ref().try_into().unwrap_or([0; 32]);
    let session = commonware_cryptography::ed25519::PrivateKey::from_seed(0x5e55);
    let impostor = commonware_cryptography::ed25519::PrivateKey::from_seed(0x1e55);
    z3r0_sim::Action::Delegate {
        session: session.public_key().as_ref().try_into().unwrap_or([0; 32]),
        until: 1_000,
        consent: z3r0_sim::session_consent(chain, &impostor, &account, 1_000),
    }
    .encode_to_vec()
}

/// A game input walking forward: what the simulated players send.
pub fn walk() -> Vec<u8> {
    z3r0_sim::Action::Input(z3r0_sim::InputFrame {
        forward: 1,
        strafe: 0,
        yaw: 0,
        pitch: 0,
        flags: 0,
    })
    .encode_to_vec()
}
