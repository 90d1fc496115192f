//! Block execution for a validator: the finalized state, plus speculative execution of blocks that
//! are notarized but not yet final.
//!
//! Block `h` carries the state root after block `h - 1` (see `z3r0_chain::block`), so checking a
//! proposal needs the state after its parent. Simplex lets a leader build on a parent that is only
//! notarized, and a notarized block is not always finalized before its child is proposed; waiting
//! for finality there could stall the chain. So the executor keeps two replicas of the state:
//!
//! - `finalized`: the state after the last finalized block; it only ever moves forward;
//! - `tip`: the state after some notarized descendant of it, executed ahead of finality.
//!
//! Every executed block leaves an [`Executed`] summary (its root and the nonces after it), which
//! is all a child proposal is checked against. When the next parent is not the tip (a fork, rare),
//! the tip is forked afresh from the finalized state and replays the path. A block executed ahead
//! runs twice (once ahead, once final: the final execution is what checkpoints and receipts come
//! from). At a paced tick a block is usually final before its child is proposed or verified, so it
//! executes once, on the finalized state; the tip is then forked only when a child comes first.
// Values here come from actions, blocks, gossip, checkpoints or the genesis: arithmetic and
// indexing are checked, and each allowance states the bound that holds.
#![warn(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use z3r0_chain::{
    Block, BlockActionsError, BlockError, Hash, MAX_BLOCK_ACTIONS, MempoolConfig, NonceRecord,
    Nonces, SignedAction, Snapshot, StateMachine, check_block_actions_known,
};

/// The outcome of executing one block.
#[derive(Debug)]
pub struct Executed {
    pub block: Arc<Block>,
    pub digest: Hash,
    /// State root after this block: what its child must carry.
    pub root: Hash,
    /// Next nonces after this block: what its child's actions are checked against.
    pub nonces: Nonces,
}

/// Why a block cannot be built on or executed.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Structure(#[from] BlockError),
    #[error("actions at height {height}: {source}")]
    Actions {
        height: u64,
        source: BlockActionsError,
    },
    #[error("parent {0:02x?} has not been executed")]
    UnknownParent(Hash),
    #[error("finalized block at height {height} does not extend the finalized tip at height {tip}")]
    NotNext { height: u64, tip: u64 },
    #[error(
        "divergent execution at height {height}: speculative root {speculative:02x?}, final root {finalized:02x?}"
    )]
    Divergent {
        height: u64,
        speculative: Hash,
        finalized: Hash,
    },
    #[error("state snapshot: {0}")]
    Snapshot(String),
    #[error("bad checkpoint: {0}")]
    BadCheckpoint(&'static str),
    #[error("import {index} at height {height}: {reason}")]
    Import {
        height: u64,
        index: usize,
        reason: String,
    },
}

struct Replica<M> {
    machine: M,
    summary: Arc<Executed>,
}

/// Executes blocks against the state machine `M`; see the module docs.
pub struct Executor<M: StateMachine + Snapshot> {
    config: MempoolConfig,
    finalized: Replica<M>,
    /// `None` until the first speculative execution, and after a fork made it stale.
    tip: Option<Replica<M>>,
    /// Executed blocks at or above the finalized height, by digest.
    summaries: BTreeMap<Hash, Arc<Executed>>,
    /// Blocks that passed [`Executor::check`], by digest, with their height. A digest commits to
    /// the parent, so a block checked once is valid wherever it is executed: signatures are
    /// verified once per block, not at proposal, ahead-of-finality and final execution each.
    checked: BTreeMap<Hash, u64>,
    receipts: Vec<M::Receipt>,
    /// Draws batch-verification coefficients. Seeded from this validator's own randomness, never
    /// from block data: a proposer who knows the coefficients can make a forged signature and a
    /// compensating one cancel in the batch equation.
    coefficients: ChaCha20Rng,
    /// Forks of the finalized state made for the tip.
    forks: u64,
}

impl<M: StateMachine + Snapshot> std::fmt::Debug for Executor<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("finalized_height", &self.finalized.summary.block.height)
            .field("speculative", &self.summaries.len())
            .finish()
    }
}

fn snapshot_error(e: impl std::fmt::Display) -> ExecError {
    ExecError::Snapshot(e.to_string())
}

/// The genesis block of a zone whose initial state is `machine`.
pub fn genesis_block<M: StateMachine>(zone: u32, machine: &M) -> Block {
    Block::genesis(zone, machine.root())
}

const CHECKPOINT_MAGIC: &[u8; 8] = b"z3r0ckp2";
/// Checkpoints before nonce records carried their newest tick: still read, each record taken
/// as of the checkpoint's block (kept one `max_age` more, then pruned as usual).
const CHECKPOINT_MAGIC_V1: &[u8; 8] = b"z3r0ckp1";

impl<M: StateMachine + Snapshot> Executor<M> {
    /// Starts from genesis: `machine` is the zone's initial state. `entropy` seeds the batch
    /// coefficients: the validator's own randomness (OS randomness, or a simulation's seed).
    pub fn new(config: MempoolConfig, machine: M, entropy: &mut impl CryptoRng) -> Self {
        let block = genesis_block(config.zone, &machine);
        let summary = Arc::new(Executed {
            digest: block.digest(),
            root: machine.root(),
            block: Arc::new(block),
            nonces: Nonces::default(),
        });
        Self::from_parts(config, machine, summary, entropy)
    }

    fn from_parts(
        config: MempoolConfig,
        machine: M,
        summary: Arc<Executed>,
        entropy: &mut impl CryptoRng,
    ) -> Self {
        let mut summaries = BTreeMap::new();
        summaries.insert(summary.digest, summary.clone());
        Self {
            config,
            finalized: Replica { machine, summary },
            tip: None,
            summaries,
            checked: Default::default(),
            receipts: Vec::new(),
            coefficients: ChaCha20Rng::from_rng(entropy),
            forks: 0,
        }
    }

    /// Forks of the finalized state made so far to execute ahead of finality.
    pub fn forks(&self) -> u64 {
        self.forks
    }

    pub fn config(&self) -> &MempoolConfig {
        &self.config
    }

    /// The last finalized block's summary.
    pub fn finalized(&self) -> &Arc<Executed> {
        &self.finalized.summary
    }

    /// The finalized state.
    pub fn state(&self) -> &M {
        &self.finalized.machine
    }

    /// The finalized state, for queries that need `&mut` only to refresh caches (a chunk proof
    /// rehashes dirty paths). Changing the state through it would fork this validator.
    pub fn state_mut(&mut self) -> &mut M {
        &mut self.finalized.machine
    }

    /// The summary of an executed block at or above the finalized height.
    pub fn summary(&self, digest: &Hash) -> Option<&Arc<Executed>> {
        self.summaries.get(digest)
    }

    /// Checks `block` as a child of an executed parent: structure, the parent's root, and its
    /// actions against the nonces after the parent (signatures batch-verified).
    pub fn check(&mut self, block: &Block) -> Result<(), ExecError> {
        self.check_known(block, &|_| false)
    }

    /// [`Executor::check`], skipping signatures `verified` says were verified before (actions
    /// this validator's mempool admitted).
    pub fn check_known(
        &mut self,
        block: &Block,
        verified: &dyn Fn(&SignedAction) -> bool,
    ) -> Result<(), ExecError> {
        self.check_digest(block, &block.digest(), verified)
    }

    fn check_digest(
        &mut self,
        block: &Block,
        digest: &Hash,
        verified: &dyn Fn(&SignedAction) -> bool,
    ) -> Result<(), ExecError> {
        if self.checked.contains_key(digest) {
            return Ok(());
        }
        let parent = self
            .summaries
            .get(&block.parent)
            .ok_or(ExecError::UnknownParent(block.parent))?;
        // Imports are checked against the neighbours the machine names, which no block
        // changes: the finalized state answers for every branch.
        for (index, import) in block.imports.iter().enumerate() {
            self.finalized
                .machine
                .check_import(import)
                .map_err(|reason| ExecError::Import {
                    height: block.height,
                    index,
                    reason,
                })?;
        }
        Self::check_against(
            &self.config,
            parent,
            block,
            verified,
            &mut self.coefficients,
        )?;
        self.checked.insert(*digest, block.height);
        Ok(())
    }

    fn check_against(
        config: &MempoolConfig,
        parent: &Executed,
        block: &Block,
        verified: &dyn Fn(&SignedAction) -> bool,
        coefficients: &mut ChaCha20Rng,
    ) -> Result<(), ExecError> {
        block.check_follows(&parent.block)?;
        if block.parent_state_root != parent.root {
            return Err(BlockError::StateRoot {
                height: parent.block.height,
                claimed: block.parent_state_root,
                computed: parent.root,
            }
            .into());
        }
        check_block_actions_known(
            config,
            &parent.nonces,
            block.tick,
            &block.actions,
            MAX_BLOCK_ACTIONS,
            coefficients,
            verified,
        )
        .map_err(|source| ExecError::Actions {
            height: block.height,
            source,
        })
    }

    /// Executes a notarized block ahead of finality (its parent must have been executed) and
    /// returns its summary; a block executed before returns the same summary.
    pub fn execute_speculative(&mut self, block: Arc<Block>) -> Result<Arc<Executed>, ExecError> {
        let digest = block.digest();
        if let Some(done) = self.summaries.get(&digest) {
            return Ok(done.clone());
        }
        self.check_digest(&block, &digest, &|_| false)?;
        self.move_tip_to(block.parent)?;
        let tip = self
            .tip
            .as_mut()
            .ok_or(ExecError::UnknownParent(block.parent))?;
        let summary = Self::apply(
            &mut tip.machine,
            &tip.summary,
            block,
            digest,
            &mut self.receipts,
            self.config.max_age,
        );
        tip.summary = summary.clone();
        self.receipts.clear();
        self.summaries.insert(digest, summary.clone());
        Ok(summary)
    }

    /// Makes the tip replica hold the state after `target` (an executed block).
    fn move_tip_to(&mut self, target: Hash) -> Result<(), ExecError> {
        if self
            .tip
            .as_ref()
            .is_some_and(|t| t.summary.digest == target)
        {
            return Ok(());
        }
        // Path from the finalized block to `target`, newest first.
        let mut path = Vec::new();
        let mut at = target;
        while at != self.finalized.summary.digest {
            let s = self
                .summaries
                .get(&at)
                .ok_or(ExecError::UnknownParent(at))?;
            path.push(s.clone());
            at = s.block.parent;
        }
        self.forks = self.forks.saturating_add(1);
        let mut tip = Replica {
            machine: self.finalized.machine.fork().map_err(snapshot_error)?,
            summary: self.finalized.summary.clone(),
        };
        for s in path.into_iter().rev() {
            let again = Self::apply(
                &mut tip.machine,
                &tip.summary,
                s.block.clone(),
                s.digest,
                &mut self.receipts,
                self.config.max_age,
            );
            debug_assert_eq!(again.root, s.root);
            tip.summary = s;
        }
        self.receipts.clear();
        self.tip = Some(tip);
        Ok(())
    }

    fn apply(
        machine: &mut M,
        parent: &Executed,
        block: Arc<Block>,
        digest: Hash,
        receipts: &mut Vec<M::Receipt>,
        max_age: u64,
    ) -> Arc<Executed> {
        let root = machine.execute(block.tick, &block.actions, &block.imports, receipts);
        let mut nonces = parent.nonces.clone();
        nonces.apply(block.tick, &block.actions, max_age);
        Arc::new(Executed {
            block,
            digest,
            root,
            nonces,
        })
    }

    /// Executes the next finalized block on the finalized state. Receipts are appended to
    /// `receipts`. An error here means this validator cannot follow the chain: the caller stops.
    pub fn finalize(
        &mut self,
        block: Arc<Block>,
        receipts: &mut Vec<M::Receipt>,
    ) -> Result<Arc<Executed>, ExecError> {
        let tip_height = self.finalized.summary.block.height;
        if tip_height.checked_add(1) != Some(block.height)
            || block.parent != self.finalized.summary.digest
        {
            return Err(ExecError::NotNext {
                height: block.height,
                tip: tip_height,
            });
        }
        let digest = block.digest();
        self.check_digest(&block, &digest, &|_| false)?;
        // A block not executed ahead is executed once, here. The tip replica it leaves behind
        // is dropped by `prune`, and the next block needing execution ahead forks the
        // finalized state again: cheaper than keeping the tip alive by executing every block
        // twice, since finality usually comes before the child is proposed or verified.
        let summary = Self::apply(
            &mut self.finalized.machine,
            &self.finalized.summary,
            block,
            digest,
            receipts,
            self.config.max_age,
        );
        if let Some(ahead) = self.summaries.get(&digest)
            && ahead.root != summary.root
        {
            return Err(ExecError::Divergent {
                height: summary.block.height,
                speculative: ahead.root,
                finalized: summary.root,
            });
        }
        let summary = self.summaries.entry(digest).or_insert(summary).clone();
        self.finalized.summary = summary.clone();
        self.prune();
        Ok(summary)
    }

    /// Tests only: makes this validator's finalized state differ from its chain's, as a bug in
    /// the rules or a flipped bit in memory would: `action` is executed on it, in no block.
    pub fn diverge(&mut self, action: SignedAction) {
        let tick = self.finalized.summary.block.tick;
        self.finalized
            .machine
            .execute(tick, &[action], &[], &mut self.receipts);
        self.receipts.clear();
    }

    /// Forgets executed blocks that can no longer be built on: below the finalized height, or
    /// not descending from the finalized block.
    fn prune(&mut self) {
        let root = self.finalized.summary.digest;
        let height = self.finalized.summary.block.height;
        self.summaries
            .retain(|d, s| *d == root || s.block.height > height);
        // Children come after parents in height order, so one pass in height order suffices.
        let mut by_height: Vec<_> = self
            .summaries
            .values()
            .map(|s| (s.block.height, s.digest, s.block.parent))
            .collect();
        by_height.sort_unstable();
        let mut live = std::collections::BTreeSet::from([root]);
        for (_, digest, parent) in by_height {
            if live.contains(&parent) {
                live.insert(digest);
            }
        }
        self.summaries.retain(|d, _| live.contains(d));
        self.checked.retain(|_, h| *h > height);
        if self
            .tip
            .as_ref()
            .is_some_and(|t| !live.contains(&t.summary.digest))
        {
            self.tip = None;
        }
    }

    /// Picks actions for a child of `parent` at `tick` from `candidates` (a mempool proposal):
    /// drops those the parent's branch already used and keeps each player's nonces increasing.
    pub fn select_actions(
        &self,
        parent: &Executed,
        candidates: Vec<SignedAction>,
    ) -> Vec<SignedAction> {
        let mut next: BTreeMap<_, u64> = BTreeMap::new();
        candidates
            .into_iter()
            .filter(|a| {
                let player = &a.action.player;
                let expected = next
                    .get(player)
                    .copied()
                    .unwrap_or_else(|| parent.nonces.next(player));
                // A nonce with no successor is refused by every verifier: never proposed.
                let Ok(after) = z3r0_chain::nonce_after(a.action.nonce) else {
                    return false;
                };
                if a.action.nonce < expected {
                    return false;
                }
                next.insert(player.clone(), after);
                true
            })
            .collect()
    }

    /// The records (by [`StateMachine::import_key`]) a child of `parent` must not carry again:
    /// those a block of `parent`'s branch not final yet already carried, in whatever copy (relays with other certificates
    /// make other bytes): the pool keeps them until that block is final, and a second copy
    /// would only be refused, after every replica checked its certificate again. Records are
    /// told apart by what they prove ([`StateMachine::import_key`]).
    pub fn carried_imports(&self, parent: &Executed) -> std::collections::BTreeSet<(u32, u8, u64)> {
        let state = &self.finalized.machine;
        let mut carried = std::collections::BTreeSet::new();
        let mut at = parent;
        // The branch past the finalized block is what execution ran ahead on: a few blocks.
        while at.digest != self.finalized.summary.digest {
            carried.extend(at.block.imports.iter().filter_map(|i| state.import_key(i)));
            match self.summaries.get(&at.block.parent) {
                Some(p) => at = p,
                None => break,
            }
        }
        carried
    }

    /// The finalized state as checkpoint bytes: the finalized block, the nonces, the machine.
    pub fn checkpoint(&self) -> Result<Vec<u8>, ExecError> {
        let s = &self.finalized.summary;
        let mut out = Vec::new();
        out.extend_from_slice(CHECKPOINT_MAGIC);
        let block = s.block.encode_to_vec();
        out.extend_from_slice(&(block.len() as u64).to_be_bytes());
        out.extend_from_slice(&block);
        out.extend_from_slice(&s.root);
        out.extend_from_slice(&(s.nonces.len() as u64).to_be_bytes());
        for (player, record) in s.nonces.iter() {
            out.extend_from_slice(player.as_ref());
            out.extend_from_slice(&record.next.to_be_bytes());
            out.extend_from_slice(&record.tick.to_be_bytes());
        }
        self.finalized
            .machine
            .snapshot(&mut out)
            .map_err(snapshot_error)?;
        Ok(out)
    }

    /// Resumes from [`Executor::checkpoint`] bytes; `genesis` is the zone's initial state (it
    /// supplies the machine's configuration), `entropy` as in [`Executor::new`]. Bad bytes give
    /// an error, never a panic.
    pub fn resume(
        config: MempoolConfig,
        genesis: &M,
        bytes: &[u8],
        entropy: &mut impl CryptoRng,
    ) -> Result<Self, ExecError> {
        let bad = ExecError::BadCheckpoint;
        let (mut rest, v1) = match bytes.strip_prefix(CHECKPOINT_MAGIC.as_slice()) {
            Some(rest) => (rest, false),
            None => bytes
                .strip_prefix(CHECKPOINT_MAGIC_V1.as_slice())
                .map(|rest| (rest, true))
                .ok_or(bad("not a checkpoint"))?,
        };
        let mut take = |n: usize| -> Result<&[u8], ExecError> {
            if rest.len() < n {
                return Err(bad("truncated"));
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let be64 = |b: &[u8]| b.iter().fold(0u64, |a, &x| a << 8 | u64::from(x));
        let block_len = usize::try_from(be64(take(8)?)).map_err(|_| bad("block length"))?;
        let block = Block::decode(take(block_len)?).map_err(|_| bad("block"))?;
        let root: Hash = take(32)?.try_into().map_err(|_| bad("root"))?;
        let count = be64(take(8)?);
        let mut entries = Vec::new();
        for _ in 0..count {
            let key = take(32)?;
            let player = commonware_codec::Decode::decode_cfg(commonware_codec::Copying(key), &())
                .map_err(|_| bad("player key"))?;
            let next = be64(take(8)?);
            let tick = if v1 { block.tick } else { be64(take(8)?) };
            entries.push((player, NonceRecord { next, tick }));
        }
        let machine = genesis.restore(rest).map_err(snapshot_error)?;
        if machine.root() != root {
            return Err(bad("state does not match its recorded root"));
        }
        let summary = Arc::new(Executed {
            digest: block.digest(),
            block: Arc::new(block),
            root,
            nonces: Nonces::from_entries(entries),
        });
        Ok(Self::from_parts(config, machine, summary, entropy))
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)] // a panic fails the test
mod tests {
    use super::*;
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
    use z3r0_chain::{Action, ChainId, Counters};

    const CHAIN: ChainId = ChainId([7; 32]);

    fn action(key: &PrivateKey, nonce: u64, tick: u64, add: u64) -> SignedAction {
        Action {
            player: key.public_key(),
            zone: 7,
            tick,
            nonce,
            payload: add.to_be_bytes().to_vec().into(),
        }
        .sign(key, &CHAIN)
    }

    fn child(parent: &Executed, tick: u64, actions: Vec<SignedAction>) -> Arc<Block> {
        Arc::new(Block {
            parent: parent.digest,
            height: parent.block.height + 1,
            tick,
            zone: 7,
            parent_state_root: parent.root,
            actions,
            imports: Vec::new(),
        })
    }

    /// This validator's own randomness (fixed here so a failure replays).
    fn entropy() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(0x00e7_0001)
    }

    fn executor() -> Executor<Counters> {
        Executor::new(
            MempoolConfig::for_zone(CHAIN, 7),
            Counters::default(),
            &mut entropy(),
        )
    }

    #[test]
    fn speculative_then_final_agree_and_forks_replay() {
        let key = PrivateKey::from_seed(1);
        let mut ex = executor();
        let g = ex.finalized().clone();
        let a = child(&g, 1, vec![action(&key, 0, 1, 5)]);
        let sa = ex.execute_speculative(a.clone()).unwrap();
        let b = child(&sa, 2, vec![action(&key, 1, 2, 7)]);
        ex.check(&b).unwrap();
        let sb = ex.execute_speculative(b.clone()).unwrap();
        // A competing child of `a` (a fork at height 2) rebuilds the tip from the finalized state.
        let b2 = child(&sa, 3, vec![action(&key, 1, 3, 100)]);
        let sb2 = ex.execute_speculative(b2.clone()).unwrap();
        assert_ne!(sb.root, sb2.root);
        let c = child(&sb, 4, vec![]);
        ex.check(&c).unwrap();
        ex.execute_speculative(c.clone()).unwrap();

        let mut receipts = Vec::new();
        ex.finalize(a, &mut receipts).unwrap();
        ex.finalize(b, &mut receipts).unwrap();
        assert_eq!(
            ex.state()
                .get(key.public_key().as_ref().try_into().unwrap()),
            12
        );
        assert_eq!(ex.finalized().root, sb.root);
        // The losing fork is gone; the winning branch is still there.
        assert!(ex.summary(&sb2.digest).is_none());
        assert!(ex.summary(&c.digest()).is_some());
        assert_eq!(receipts.len(), 2);
        // Finalizing a block never seen ahead keeps it buildable on.
        let mut fresh = executor();
        let g = fresh.finalized().clone();
        let a = child(&g, 1, vec![]);
        fresh.finalize(a.clone(), &mut receipts).unwrap();
        fresh.check(&child(fresh.finalized(), 2, vec![])).unwrap();
    }

    /// Counters that count their forks and block executions.
    #[derive(Clone, Default)]
    struct Counted {
        inner: Counters,
        forks: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        executions: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Counted {
        fn forks(&self) -> usize {
            self.forks.load(std::sync::atomic::Ordering::Relaxed)
        }
        fn executions(&self) -> usize {
            self.executions.load(std::sync::atomic::Ordering::Relaxed)
        }
    }

    impl StateMachine for Counted {
        type Receipt = z3r0_chain::CounterReceipt;
        fn check_payload(payload: &[u8]) -> Result<(), String> {
            Counters::check_payload(payload)
        }
        fn root(&self) -> Hash {
            self.inner.root()
        }
        fn execute(
            &mut self,
            tick: u64,
            actions: &[SignedAction],
            imports: &[Vec<u8>],
            r: &mut Vec<Self::Receipt>,
        ) -> Hash {
            self.executions
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.execute(tick, actions, imports, r)
        }
    }

    impl Snapshot for Counted {
        type Error = z3r0_chain::CountersSnapshotError;
        fn snapshot(&self, out: &mut Vec<u8>) -> Result<(), Self::Error> {
            self.inner.snapshot(out)
        }
        fn restore(&self, bytes: &[u8]) -> Result<Self, Self::Error> {
            Ok(Self {
                inner: self.inner.restore(bytes)?,
                ..self.clone()
            })
        }
        fn fork(&self) -> Result<Self, Self::Error> {
            self.forks
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(self.clone())
        }
    }

    /// A proposer who knows the batch coefficients (once drawn from the parent's state root)
    /// can sign an action for any victim without its key, covered by one of its own.
    #[test]
    fn a_forged_pair_that_passes_a_predictable_batch_is_refused() {
        use z3r0_chain::{ACTION_NAMESPACE, BlockActionsError, Rejection, forge};
        let g = executor().finalized().clone();
        let victim = PrivateKey::from_seed(5).public_key();
        let accomplice = forge::Accomplice::from_seed(1);
        let predictable = || ChaCha20Rng::from_seed(g.root);
        let z = forge::predict_coefficients(&mut predictable(), 2);
        let act = |add: u64| Action {
            player: victim.clone(),
            zone: 7,
            tick: 1,
            nonce: 0,
            payload: add.to_be_bytes().to_vec().into(),
        };
        let (forged, cover) = forge::forged_pair(
            &CHAIN.namespace(ACTION_NAMESPACE),
            act(1_000),
            act(1),
            &accomplice,
            z[0],
            z[1],
        );
        assert!(
            !forged.verify(&CHAIN) && !cover.verify(&CHAIN),
            "neither is valid alone"
        );
        let actions = vec![forged, cover];
        // Coefficients the proposer can predict let the pair through.
        assert!(z3r0_chain::verify_all(&mut predictable(), &CHAIN, &actions).is_empty());
        let block = child(&g, 1, actions);
        // Every honest validator draws its own coefficients and refuses the block, on every
        // path that checks one.
        for seed in 0..4 {
            let mut ex = Executor::new(
                MempoolConfig::for_zone(CHAIN, 7),
                Counters::default(),
                &mut ChaCha20Rng::seed_from_u64(seed),
            );
            let err = ex.check(&block).unwrap_err();
            assert!(
                matches!(
                    err,
                    ExecError::Actions {
                        source: BlockActionsError::Invalid {
                            index: 0,
                            reason: Rejection::BadSignature
                        },
                        ..
                    }
                ),
                "validator {seed}: {err}"
            );
            assert!(ex.execute_speculative(block.clone()).is_err());
            assert!(ex.finalize(block.clone(), &mut Vec::new()).is_err());
            assert_eq!(ex.finalized().block.height, 0, "nothing was executed");
        }
    }

    #[test]
    fn blocks_final_before_their_children_execute_once() {
        let counted = Counted::default();
        let mut ex = Executor::new(
            MempoolConfig::for_zone(CHAIN, 7),
            counted.clone(),
            &mut entropy(),
        );
        let key = PrivateKey::from_seed(3);
        let mut receipts = Vec::new();
        let mut parent = ex.finalized().clone();
        // The paced common case: each block is final before its child is proposed.
        for tick in 1..=10 {
            let block = child(&parent, tick, vec![action(&key, tick - 1, tick, 1)]);
            ex.check(&block).unwrap();
            parent = ex.finalize(block, &mut receipts).unwrap();
        }
        assert_eq!((counted.executions(), counted.forks()), (10, 0));
        // A child proposed before its parent is final: the parent runs ahead on a fork of the
        // finalized state, then once more when final; the tip follows without another fork.
        let ahead = child(&parent, 11, vec![action(&key, 10, 11, 1)]);
        let summary = ex.execute_speculative(ahead.clone()).unwrap();
        let next = child(&summary, 12, vec![]);
        ex.execute_speculative(next.clone()).unwrap();
        assert_eq!((counted.executions(), counted.forks()), (12, 1));
        ex.finalize(ahead, &mut receipts).unwrap();
        ex.finalize(next, &mut receipts).unwrap();
        assert_eq!((counted.executions(), counted.forks()), (14, 1));
        assert_eq!(ex.forks(), 1, "the executor counts its forks too");
        assert_eq!(
            ex.state()
                .inner
                .get(key.public_key().as_ref().try_into().unwrap()),
            11
        );
    }

    #[test]
    fn bad_children_are_refused_with_reasons() {
        let key = PrivateKey::from_seed(2);
        let mut ex = executor();
        let g = ex.finalized().clone();
        let mut wrong_root = (*child(&g, 1, vec![])).clone();
        wrong_root.parent_state_root = [9; 32];
        assert!(matches!(
            ex.check(&wrong_root),
            Err(ExecError::Structure(BlockError::StateRoot { .. }))
        ));
        let a = child(&g, 1, vec![action(&key, 0, 1, 1)]);
        let sa = ex.execute_speculative(a).unwrap();
        // Replaying nonce 0 on the branch that already used it.
        let replay = child(&sa, 2, vec![action(&key, 0, 1, 1)]);
        assert!(matches!(ex.check(&replay), Err(ExecError::Actions { .. })));
        let mut forged = action(&key, 1, 2, 1);
        forged.action.payload = 99u64.to_be_bytes().to_vec().into();
        assert!(matches!(
            ex.check(&child(&sa, 2, vec![forged])),
            Err(ExecError::Actions { .. })
        ));
        let orphan = Block {
            parent: [1; 32],
            ..(*child(&sa, 2, vec![])).clone()
        };
        assert!(matches!(
            ex.check(&orphan),
            Err(ExecError::UnknownParent(_))
        ));
        // Finalizing out of order is refused.
        let mut receipts = Vec::new();
        let skip = child(&sa, 2, vec![]);
        assert!(matches!(
            ex.finalize(skip, &mut receipts),
            Err(ExecError::NotNext { .. })
        ));
    }

    #[test]
    fn select_actions_skips_nonces_the_branch_used() {
        let key = PrivateKey::from_seed(3);
        let mut ex = executor();
        let g = ex.finalized().clone();
        let sa = ex
            .execute_speculative(child(&g, 1, vec![action(&key, 0, 1, 1)]))
            .unwrap();
        let picked = ex.select_actions(
            &sa,
            vec![
                action(&key, 0, 1, 1),
                action(&key, 1, 2, 1),
                action(&key, 2, 2, 1),
            ],
        );
        assert_eq!(
            picked.iter().map(|a| a.action.nonce).collect::<Vec<_>>(),
            vec![1, 2]
        );
        // A candidate with nonce u64::MAX (no successor) is never proposed; it used to
        // overflow the proposer's next-nonce arithmetic.
        let picked = ex.select_actions(
            &sa,
            vec![action(&key, u64::MAX, 2, 1), action(&key, 1, 2, 1)],
        );
        assert_eq!(
            picked.iter().map(|a| a.action.nonce).collect::<Vec<_>>(),
            vec![1]
        );
    }

    #[test]
    fn checkpoint_resumes_to_the_same_state_and_rejects_garbage() {
        let key = PrivateKey::from_seed(4);
        let mut ex = executor();
        let g = ex.finalized().clone();
        let mut receipts = Vec::new();
        let s = ex
            .finalize(child(&g, 1, vec![action(&key, 0, 1, 3)]), &mut receipts)
            .unwrap();
        let bytes = ex.checkpoint().unwrap();
        let resumed =
            Executor::resume(*ex.config(), &Counters::default(), &bytes, &mut entropy()).unwrap();
        assert_eq!(resumed.finalized().root, s.root);
        assert_eq!(resumed.finalized().digest, s.digest);
        assert_eq!(resumed.finalized().nonces, s.nonces);
        // A checkpoint written before nonce records carried their tick still resumes.
        let mut v1 = CHECKPOINT_MAGIC_V1.to_vec();
        let block = s.block.encode_to_vec();
        v1.extend_from_slice(&(block.len() as u64).to_be_bytes());
        v1.extend_from_slice(&block);
        v1.extend_from_slice(&s.root);
        v1.extend_from_slice(&1u64.to_be_bytes());
        v1.extend_from_slice(key.public_key().as_ref());
        v1.extend_from_slice(&1u64.to_be_bytes());
        ex.state().snapshot(&mut v1).unwrap();
        let old =
            Executor::resume(*ex.config(), &Counters::default(), &v1, &mut entropy()).unwrap();
        assert_eq!(old.finalized().nonces, s.nonces);
        for cut in [0, 8, 20, bytes.len() - 1] {
            assert!(
                Executor::resume(
                    *ex.config(),
                    &Counters::default(),
                    &bytes[..cut],
                    &mut entropy()
                )
                .is_err()
            );
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(
            Executor::resume(*ex.config(), &Counters::default(), &flipped, &mut entropy()).is_err()
        );
    }
}
