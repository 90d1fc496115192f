//! The zone chain as a commonware application: simplex asks it to propose and verify blocks
//! (through marshal's inline wrapper), and marshal hands it finalized blocks in height order.
//!
//! - `propose` waits for the tick boundary, then builds the block for that tick from the mempool,
//!   on the state after the parent (executed ahead of finality when needed).
//! - `verify` checks a proposal against the state after its parent: structure, tick order, the
//!   parent's state root, nonces and signatures. A proposal for a tick that has not started yet
//!   is held until it starts (less a tick of clock skew), so a leader cannot run the game clock
//!   ahead; consensus times the view out if the wait is too long.
//! - Finalized blocks go to the [`Finalizer`] task, which executes them on the final state,
//!   writes checkpoints, feeds the mempool and the metrics, and acknowledges them to marshal.
// Values here come from actions, blocks, gossip, checkpoints or the genesis: arithmetic and
// indexing are checked, and each allowance states the bound that holds.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use crate::block::{BlockDigest, ZoneBlock};
use crate::executor::{ExecError, Executed, Executor};
use crate::metrics::ZoneMetrics;
use commonware_actor::Feedback;
use commonware_consensus::{
    Reporter,
    marshal::{Update, ancestry::Ancestry},
    simplex::{scheme::ed25519, types::Context},
};
use commonware_cryptography::{Digested, ed25519::PublicKey};
use commonware_runtime::Clock;
use commonware_utils::Acknowledgement as _;
use futures::StreamExt as _;
use futures::channel::mpsc;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::{debug, warn};
use z3r0_chain::FinalityProof;
use z3r0_chain::{Block, Hash, MAX_BLOCK_ACTIONS, Mempool, Snapshot, StateMachine};

/// Where a submitted action came from. Each has its own mempool share and rate window, so the
/// kinds must never share ids: a player's session must not spend a relaying peer's share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A player session on this validator's edge, by session number.
    Session(u64),
    /// A committee member relaying its admitted actions, by position (`None`: not a member).
    Peer(Option<u32>),
    /// The synthetic load generator inside this validator.
    Load,
    /// A caller inside this process (tests, tools), by number.
    Local(u64),
}

/// When ticks start: tick `t` runs from `genesis_ms + t * tick_ms` (unix milliseconds). A block
/// for tick `t` is proposed when tick `t` ends. `tick_ms == 0` means unpaced: blocks as fast as
/// consensus allows, one tick each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    pub genesis_ms: u64,
    pub tick_ms: u64,
}

impl Pacing {
    pub const UNPACED: Pacing = Pacing {
        genesis_ms: 0,
        tick_ms: 0,
    };

    fn millis(time: SystemTime) -> u64 {
        time.duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    /// The tick running at `time` (0 when unpaced or before genesis).
    pub fn tick_at(&self, time: SystemTime) -> u64 {
        match self.tick_ms {
            0 => 0,
            ms => Self::millis(time)
                .saturating_sub(self.genesis_ms)
                .checked_div(ms)
                .unwrap_or(0),
        }
    }

    /// When `tick` starts.
    pub fn start_of(&self, tick: u64) -> SystemTime {
        let ms = self
            .genesis_ms
            .saturating_add(tick.saturating_mul(self.tick_ms))
            .min(LAST_MS);
        // Capped at `LAST_MS`, which every platform's `SystemTime` holds: never the fallback.
        UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .unwrap_or(UNIX_EPOCH)
    }

    /// Whether a proposal for `tick`, child of a block at `parent_tick`, may be verified at
    /// `now`: at once (`None`), once its tick has started less [`MAX_CLOCK_SKEW`], or never.
    /// A proposal more than [`Pacing::max_lead`] ticks ahead is refused at once rather than
    /// held (a tick of `u64::MAX` would park the check for ever and, accepted, leave no tick
    /// for a child).
    pub fn admit(
        &self,
        tick: u64,
        parent_tick: u64,
        now: SystemTime,
    ) -> Result<Option<SystemTime>, TickError> {
        if self.tick_ms == 0 {
            return match parent_tick.checked_add(1) {
                Some(next) if next == tick => Ok(None),
                _ => Err(TickError::Unpaced {
                    tick,
                    parent: parent_tick,
                }),
            };
        }
        let clock = self.tick_at(now);
        if tick > clock.saturating_add(self.max_lead()) {
            return Err(TickError::AheadOfClock { tick, clock });
        }
        Ok(self
            .start_of(tick)
            .checked_sub(MAX_CLOCK_SKEW)
            .filter(|&earliest| earliest > now))
    }

    /// This pacing as a clock `skew_ms` milliseconds ahead (negative: behind) sees it: every
    /// tick starts that much early (tests and drills).
    pub fn skewed(self, skew_ms: i64) -> Self {
        Self {
            genesis_ms: self
                .genesis_ms
                .saturating_add_signed(skew_ms.saturating_neg()),
            ..self
        }
    }

    /// Ticks of [`MAX_CLOCK_SKEW`], rounded down (0 when unpaced).
    pub fn skew_ticks(&self) -> u64 {
        let skew = u64::try_from(MAX_CLOCK_SKEW.as_millis()).unwrap_or(u64::MAX);
        skew.checked_div(self.tick_ms).unwrap_or(0)
    }

    /// Ticks past its own clock a validator holds a proposal for, rather than refusing it: the
    /// skew allowance, a tick for the proposer's own early close, one for a parent that was
    /// itself early.
    pub fn max_lead(&self) -> u64 {
        self.skew_ticks().saturating_add(2)
    }

    /// The tick a leader proposes after a parent at `parent_tick`, its clock reading `now`: the
    /// next tick, unless the clock is past it by more than the skew allowance (ticks went by
    /// with no block), then the clock's tick less the allowance. So one validator's fast clock
    /// cannot push the chain's ticks ahead of the others', and after a stall the chain catches
    /// up (proposing at once, see [`Pacing::close_at`]) to within the allowance.
    pub fn next_tick(&self, parent_tick: u64, now: SystemTime) -> u64 {
        let next = parent_tick.saturating_add(1);
        let skew = self.skew_ticks();
        let clock = self.tick_at(now);
        if clock > next.saturating_add(skew) {
            clock.saturating_sub(skew)
        } else {
            next
        }
    }

    /// When a leader asked at `requested` (by its clock) closes its block for `tick`: when the
    /// tick ends by its clock, but no later than a tick and a half after it was asked (the
    /// parent was notarized just before the ask), so a slow clock costs the chain half a tick,
    /// not its skew. A half, not nothing: after a block that came early (from a fast clock),
    /// the next leader's close comes back halfway to its clock, so the chain's rhythm does not
    /// keep the lead. A chain behind the clock closes at once, whether or not the parent is
    /// final yet (it is executed ahead on the tip, which costs one block's execution): waiting
    /// for the clock's tick to end would keep it behind, and at 16 ms ticks, where a block's
    /// round often takes longer than a tick, it halved the blocks per second.
    pub fn close_at(&self, tick: u64, requested: SystemTime) -> SystemTime {
        let after = |ms: u64| requested.checked_add(Duration::from_millis(ms));
        let by_clock = self.start_of(tick.saturating_add(1));
        let by_rhythm = after(self.tick_ms.saturating_mul(3) / 2).unwrap_or(by_clock);
        by_clock.max(requested).min(by_rhythm)
    }
}

/// Clock error a validator's pacing tolerates, each way: leaders with clocks this far ahead or
/// behind keep the chain one block per tick (see [`Pacing::next_tick`], [`Pacing::close_at`],
/// [`Pacing::admit`]).
pub const MAX_CLOCK_SKEW: Duration = Duration::from_millis(250);

/// The year 9999 in unix milliseconds: later than any tick a validator waits for, and within
/// `SystemTime` on every platform (Windows counts 100 ns steps in a `u64`).
const LAST_MS: u64 = 253_402_300_799_000;

/// Why a proposal's tick is refused before anything else about it is checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TickError {
    #[error("tick {tick} is further past this validator's tick {clock} than clock skew explains")]
    AheadOfClock { tick: u64, clock: u64 },
    #[error("unpaced chain: tick {tick} does not follow its parent's tick {parent} by one")]
    Unpaced { tick: u64, parent: u64 },
}

/// A finalized block as the node saw it (for tests, benchmarks and future subscribers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finalized {
    pub height: u64,
    pub tick: u64,
    pub digest: Hash,
    /// State root after the block.
    pub root: Hash,
    pub actions: usize,
    /// From when this node first proposed or verified the block to its finalization; `None` for
    /// blocks it only learned of when they were final (replay, backfill).
    pub latency: Option<Duration>,
    /// When this node executed it final (runtime clock).
    pub at: SystemTime,
}

/// Receives every finalized block, in height order.
pub type Observer = Arc<dyn Fn(&Finalized) + Send + Sync>;

/// Sees every finalized block right after it executed: the block, the finalized state, its
/// receipts, and the committee's finality certificate when marshal has it. Runs with the zone
/// locked, so it must be quick (the player edge builds its per-block update here).
pub type EdgeHook<M> =
    Box<dyn FnMut(&Block, &mut M, &[<M as StateMachine>::Receipt], Option<FinalityProof>) + Send>;

pub(crate) struct Zone<M: StateMachine + Snapshot> {
    pub executor: Executor<M>,
    pub mempool: Mempool<Source>,
    /// Height and when this node first proposed or verified each unfinalized block.
    pub seen: BTreeMap<Hash, (u64, SystemTime)>,
    /// Records of neighbouring zones waiting for a block.
    pub imports: crate::handoff::ImportPool,
}

/// Shared by the consensus-facing application and the finalizer.
pub(crate) type SharedZone<M> = Arc<Mutex<Zone<M>>>;

pub(crate) fn lock<M: StateMachine + Snapshot>(zone: &SharedZone<M>) -> MutexGuard<'_, Zone<M>> {
    // A panic while holding the lock already stops the node; keep serving what is left.
    zone.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Most blocks this node will execute ahead of finality to check one proposal; a parent deeper
/// than this above the finalized tip waits for finalization to catch up.
const MAX_SPECULATIVE_DEPTH: usize = 256;

pub struct ZoneApp<M: StateMachine + Snapshot> {
    pub(crate) zone: SharedZone<M>,
    pub(crate) pacing: Pacing,
    pub(crate) metrics: ZoneMetrics,
    /// Tests only: corrupts this validator's proposals.
    pub(crate) byzantine: Option<crate::byzantine::Byzantine>,
}

impl<M: StateMachine + Snapshot> std::fmt::Debug for ZoneApp<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneApp")
            .field("pacing", &self.pacing)
            .finish_non_exhaustive()
    }
}

impl<M: StateMachine + Snapshot> Clone for ZoneApp<M> {
    fn clone(&self) -> Self {
        Self {
            zone: self.zone.clone(),
            pacing: self.pacing,
            metrics: self.metrics.clone(),
            byzantine: self.byzantine.clone(),
        }
    }
}

impl<M: StateMachine + Snapshot> ZoneApp<M> {
    /// Makes sure the block `first` (yielded first by `ancestry`, whose later items are its
    /// ancestors) has been executed, executing it and any unexecuted ancestors ahead of finality.
    /// `None` if it cannot be: it conflicts with finality, or it is invalid.
    async fn executed(
        &self,
        first: Digested<ZoneBlock>,
        ancestry: &mut (impl Ancestry<ZoneBlock> + 'static),
    ) -> Option<Arc<Executed>> {
        let mut path = vec![first];
        loop {
            let newest_missing = path.last()?;
            let parent = newest_missing.inner().block().parent;
            {
                let zone = lock(&self.zone);
                let finalized = zone.executor.finalized();
                let done = |d: &Hash| zone.executor.summary(d).cloned();
                if let Some(summary) = path.first().and_then(|b| done(&b.inner().block().digest()))
                {
                    return Some(summary);
                }
                if newest_missing.inner().block().height <= finalized.block.height {
                    // Below or at the finalized height but not executed: not on the final chain.
                    return None;
                }
                if done(&parent).is_some() {
                    break;
                }
            }
            if path.len() >= MAX_SPECULATIVE_DEPTH {
                warn!(depth = path.len(), "parent too far above the finalized tip");
                return None;
            }
            path.push(ancestry.next().await?);
        }
        let mut zone = lock(&self.zone);
        let mut summary = None;
        for block in path.into_iter().rev() {
            match zone
                .executor
                .execute_speculative(block.inner().block().clone())
            {
                Ok(s) => summary = Some(s),
                Err(e) => {
                    warn!(error = %e, "notarized ancestor does not execute");
                    return None;
                }
            }
        }
        summary
    }
}

impl<E, M> commonware_consensus::Application<E> for ZoneApp<M>
where
    E: Clock + Send + 'static,
    M: StateMachine + Snapshot + Send + 'static,
    M::Receipt: Send,
{
    type SigningScheme = ed25519::Scheme;
    type Context = Context<BlockDigest, PublicKey>;
    type Block = ZoneBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (clock, _context): (E, Self::Context),
        mut ancestry: impl Ancestry<ZoneBlock>,
        _input: (),
    ) -> Option<Digested<ZoneBlock>> {
        debug!(at = Pacing::millis(clock.current()), "propose requested");
        let parent = ancestry.next().await?;
        let parent_tick = parent.inner().block().tick;
        let requested = clock.current();
        let tick = self.pacing.next_tick(parent_tick, requested);
        if self.pacing.tick_ms > 0 {
            // The block for `tick` closes when the tick ends.
            let close = self.pacing.close_at(tick, requested);
            debug!(
                tick,
                clock_tick = self.pacing.tick_at(requested),
                close = Pacing::millis(close),
                "closing"
            );
            clock.sleep_until(close).await;
        }
        // The parent was only notarized when asked; by the end of the tick it is usually
        // final, and then needs no execution ahead of finality.
        let parent_summary = self.executed(parent, &mut ancestry).await?;
        debug!(at = Pacing::millis(clock.current()), "parent executed");
        let mut zone = lock(&self.zone);
        let candidates = zone.mempool.propose(tick, MAX_BLOCK_ACTIONS);
        let actions = zone.executor.select_actions(&parent_summary, candidates);
        let mut block = Block {
            parent: parent_summary.digest,
            height: parent_summary.block.height.saturating_add(1),
            tick,
            zone: zone.executor.config().zone,
            parent_state_root: parent_summary.root,
            actions,
            imports: zone
                .imports
                .propose(&zone.executor.carried_imports(&parent_summary)),
        };
        // The mempool verified these signatures on admission.
        let Zone {
            executor, mempool, ..
        } = &mut *zone;
        let corrupted = self
            .byzantine
            .as_ref()
            .is_some_and(|b| b.corrupt(&mut block, &parent_summary));
        let checked = match corrupted {
            true => Ok(()),
            false => executor.check_known(&block, &|a| mempool.holds(a)),
        };
        if let Err(e) = checked {
            // The mempool admitted something the chain would refuse; propose an empty block
            // rather than none, and say so.
            warn!(error = %e, "proposal failed its own checks; proposing it empty");
            block.actions.clear();
        }
        let block = ZoneBlock::new(block);
        zone.seen.insert(
            block.block().digest(),
            (block.block().height, clock.current()),
        );
        self.metrics.proposed.inc();
        debug!(
            at = Pacing::millis(clock.current()),
            height = block.block().height,
            "proposed"
        );
        let digest = commonware_cryptography::Digestible::digest(&block);
        Some(Digested::precomputed(block, digest))
    }

    async fn verify(
        &mut self,
        (clock, _context): (E, Self::Context),
        mut ancestry: impl Ancestry<ZoneBlock>,
    ) -> bool {
        debug!(at = Pacing::millis(clock.current()), "verify requested");
        let Some(block) = ancestry.next().await else {
            return false;
        };
        let Some(parent) = ancestry.next().await else {
            return false;
        };
        let started = clock.current();
        // A node still catching up is asked to verify current views: its clock tells its
        // mempool which ticks players aim at now.
        lock(&self.zone)
            .mempool
            .observe_clock(self.pacing.tick_at(started));
        let tick = block.inner().block().tick;
        match self
            .pacing
            .admit(tick, parent.inner().block().tick, started)
        {
            Ok(None) => {}
            Ok(Some(earliest)) => {
                debug!(tick, "proposal for a future tick: waiting for it");
                clock.sleep_until(earliest).await;
            }
            Err(e) => {
                warn!(height = block.inner().block().height, error = %e, "refusing proposal");
                self.metrics.refused.inc();
                return false;
            }
        }
        let Some(_parent) = self.executed(parent, &mut ancestry).await else {
            return false;
        };
        let mut zone = lock(&self.zone);
        let Zone {
            executor, mempool, ..
        } = &mut *zone;
        let checked = executor.check_known(block.inner().block(), &|a| mempool.holds(a));
        match checked {
            Ok(()) => {
                debug!(
                    at = Pacing::millis(clock.current()),
                    height = block.inner().block().height,
                    "verified"
                );
                zone.seen
                    .entry(block.inner().block().digest())
                    .or_insert((block.inner().block().height, started));
                self.metrics.verified.inc();
                true
            }
            Err(e) => {
                warn!(height = block.inner().block().height, error = %e, "refusing proposal");
                self.metrics.refused.inc();
                false
            }
        }
    }
}

/// Marshal's reporter: forwards finalized blocks (and tips) to the [`Finalizer`] task.
#[derive(Clone, Debug)]
pub struct FinalizedSink {
    pub(crate) sender: mpsc::UnboundedSender<Update<ZoneBlock>>,
}

impl Reporter for FinalizedSink {
    type Activity = Update<ZoneBlock>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        // Marshal delivers at most `max_pending_acks` blocks before they are acknowledged, and
        // tips are consumed as they come, so this channel stays small.
        match self.sender.unbounded_send(activity) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

/// Why a validator stopped following its chain.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot execute finalized block: {0}")]
    Execution(#[from] ExecError),
    #[error("storage: {0}")]
    Storage(String),
    #[error(transparent)]
    Store(#[from] crate::stores::StoreFault),
    #[error("marshal stopped")]
    MarshalStopped,
    #[error("state sync: {0}")]
    StateSync(String),
}

impl NodeError {
    /// Whether this validator's state left its chain's: a block the committee finalized does
    /// not execute here as it did for them. Restarting cannot mend that.
    pub fn diverged(&self) -> bool {
        matches!(self, Self::Execution(_))
    }
}

/// Executes finalized blocks in order; see the module docs.
pub(crate) struct Finalizer<M: StateMachine + Snapshot> {
    pub zone: SharedZone<M>,
    pub metrics: ZoneMetrics,
    pub observer: Option<Observer>,
    pub edge: Option<EdgeHook<M>>,
    pub receipts: Vec<M::Receipt>,
    /// Tests only: the height after which this validator's state leaves its chain's, and the
    /// action, in no block, that makes it leave.
    pub diverge_at: Option<(u64, z3r0_chain::SignedAction)>,
}

impl<M: StateMachine + Snapshot> Finalizer<M> {
    /// Executes one finalized block; `now` is when it was learned final.
    /// `None` for a block executed before (marshal redelivers after a restart).
    pub fn apply(
        &mut self,
        block: &ZoneBlock,
        now: SystemTime,
        finality: Option<FinalityProof>,
    ) -> Result<Option<Finalized>, ExecError> {
        let mut zone = lock(&self.zone);
        if block.block().height <= zone.executor.finalized().block.height {
            // Marshal redelivers after a restart; this block was executed (and reported) before.
            return Ok(None);
        }
        self.receipts.clear();
        debug!(
            at = Pacing::millis(now),
            height = block.block().height,
            "finalizing"
        );
        let summary = zone
            .executor
            .finalize(block.block().clone(), &mut self.receipts)?;
        if let Some(edge) = self.edge.as_mut() {
            edge(
                &summary.block,
                zone.executor.state_mut(),
                &self.receipts,
                finality,
            );
        }
        if let Some((_, action)) = self
            .diverge_at
            .take_if(|(height, _)| *height == summary.block.height)
        {
            zone.executor.diverge(action);
        }
        let tick = summary.block.tick;
        zone.mempool.finalized(tick, &summary.block.actions);
        let Zone {
            executor, imports, ..
        } = &mut *zone;
        imports.prune(executor.state());
        let seen = zone.seen.remove(&summary.digest).map(|(_, t)| t);
        let height = summary.block.height;
        zone.seen.retain(|_, (h, _)| *h > height);
        self.metrics.mempool.set(zone.mempool.len() as i64);
        self.metrics.forks.set(zone.executor.forks() as i64);
        drop(zone);
        let latency = seen.and_then(|t| now.duration_since(t).ok());
        if let Some(l) = latency {
            self.metrics.finality.observe(l.as_secs_f64());
        }
        self.metrics.height.set(height as i64);
        self.metrics
            .actions
            .inc_by(summary.block.actions.len() as u64);
        Ok(Some(self.record(&summary, latency, now)))
    }

    fn record(&self, summary: &Executed, latency: Option<Duration>, at: SystemTime) -> Finalized {
        let f = Finalized {
            height: summary.block.height,
            tick: summary.block.tick,
            digest: summary.digest,
            root: summary.root,
            actions: summary.block.actions.len(),
            latency,
            at,
        };
        if let Some(observer) = &self.observer {
            observer(&f);
        }
        f
    }

    /// Handles one marshal update; blocks are acknowledged once executed.
    pub fn handle(
        &mut self,
        update: Update<ZoneBlock>,
        now: SystemTime,
        finality: Option<FinalityProof>,
    ) -> Result<Option<Finalized>, ExecError> {
        match update {
            Update::Tip(_, height, _) => {
                self.metrics.finalized_tip.set(height.get() as i64);
                Ok(None)
            }
            Update::Block(block, ack) => {
                let f = self.apply(block.inner(), now, finality)?;
                ack.acknowledge();
                Ok(f)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)] // a panic fails the test
mod tests {
    use super::*;

    /// Sources of different kinds with the same number never share a rate window: with the
    /// sources once numbered as `u64`s, session k and peer k were both `(1 << 32) + k`.
    #[test]
    fn a_session_and_a_peer_of_the_same_number_do_not_share_a_rate() {
        use commonware_cryptography::Signer as _;
        let config = z3r0_chain::MempoolConfig {
            peer_rate: 2,
            player_rate: 100,
            ..z3r0_chain::MempoolConfig::for_zone(z3r0_chain::ChainId::default(), 1)
        };
        let mut pool: Mempool<Source> = Mempool::new(config, z3r0_chain::Nonces::default(), 5);
        let signed = |seed: u64| {
            let key = commonware_cryptography::ed25519::PrivateKey::from_seed(seed);
            z3r0_chain::Action {
                player: key.public_key(),
                zone: 1,
                tick: 5,
                nonce: 0,
                payload: vec![1].into(),
            }
            .sign(&key, &z3r0_chain::ChainId::default())
        };
        for seed in 0..2 {
            pool.submit(&Source::Session(0), signed(seed)).unwrap();
        }
        assert_eq!(
            pool.submit(&Source::Session(0), signed(2)),
            Err(z3r0_chain::Rejection::PeerRateLimited)
        );
        // Peer 0 and the load generator have their own windows.
        pool.submit(&Source::Peer(Some(0)), signed(3)).unwrap();
        pool.submit(&Source::Load, signed(4)).unwrap();
    }

    #[test]
    fn a_clock_within_the_skew_allowance_neither_pushes_nor_stalls_ticks() {
        let pacing = Pacing {
            genesis_ms: 1_000,
            tick_ms: 50,
        };
        let skew = MAX_CLOCK_SKEW.as_millis() as u64 / pacing.tick_ms;
        assert_eq!(pacing.skew_ticks(), skew);
        // True time: tick 100 has just ended; the parent is tick 100.
        let now = pacing.start_of(101) + Duration::from_millis(2);
        // A leader whose clock is 200 ms ahead proposes the next tick, not its clock's.
        let ahead = now + Duration::from_millis(200);
        assert_eq!(pacing.next_tick(100, ahead), 101);
        assert_eq!(pacing.next_tick(100, now), 101);
        // After a real stall (ticks passed with no block) the chain's tick catches up to the
        // clock, less the allowance, and then runs as fast as consensus until it is there.
        let later = pacing.start_of(120);
        assert_eq!(pacing.next_tick(100, later), 120 - skew);
        // A leader whose clock is 200 ms behind closes its tick a tick and a half after it was
        // asked, not when its own clock says.
        let behind = now - Duration::from_millis(200);
        assert_eq!(
            pacing.close_at(101, behind),
            behind + Duration::from_millis(75)
        );
        // A leader asked late (the chain behind the clock, after a slow round or a view that
        // timed out) closes at once.
        let late = pacing.start_of(110) + Duration::from_millis(10);
        assert_eq!(pacing.close_at(101, late), late);
        // After a block that came 45 ms early (from a fast clock), the next one comes 20 ms
        // early: the chain's rhythm returns to the clock instead of keeping the lead.
        let early = pacing.start_of(101) + Duration::from_millis(5);
        assert_eq!(
            pacing.close_at(102, early),
            pacing.start_of(103) - Duration::from_millis(20)
        );
        assert_eq!(pacing.close_at(101, now), pacing.start_of(102));
        // A verifier whose clock is 200 ms behind takes an honest proposal at once.
        assert_eq!(pacing.admit(101, 100, behind), Ok(None));
        // One whose clock is 200 ms ahead takes an early proposal (from a leader 200 ms
        // ahead) at once too.
        assert_eq!(
            pacing.admit(101, 100, now - Duration::from_millis(48)),
            Ok(None)
        );
    }

    #[test]
    fn proposals_far_ahead_of_the_clock_are_refused_at_once() {
        let pacing = Pacing {
            genesis_ms: 1_000,
            tick_ms: 50,
        };
        let now = pacing.start_of(100) + Duration::from_millis(10);
        // The current tick, and the next one within the skew allowance: at once.
        assert_eq!(pacing.admit(100, 99, now), Ok(None));
        assert_eq!(pacing.admit(101, 100, now), Ok(None));
        // Further ahead, within the lead: held until it has (nearly) started.
        let lead = pacing.max_lead();
        assert_eq!(
            pacing.admit(100 + lead, 100, now),
            Ok(Some(pacing.start_of(100 + lead) - MAX_CLOCK_SKEW))
        );
        // Past the lead, or the last tick there is: refused, not held.
        for tick in [101 + lead, u64::MAX] {
            assert_eq!(
                pacing.admit(tick, 100, now),
                Err(TickError::AheadOfClock { tick, clock: 100 })
            );
        }
        // Unpaced, a tick follows its parent's by exactly one.
        let unpaced = Pacing::UNPACED;
        assert_eq!(unpaced.admit(8, 7, now), Ok(None));
        for (tick, parent) in [(9, 7), (u64::MAX, 7), (0, u64::MAX)] {
            assert_eq!(
                unpaced.admit(tick, parent, now),
                Err(TickError::Unpaced { tick, parent })
            );
        }
    }
}
