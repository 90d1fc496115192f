//! Relaying handoffs between zones: a replica of the source zone proves its exits (and its
//! acknowledgements of the neighbours' exits) against a certified state root and sends them to
//! the destination's committee; a destination replica keeps the imports it received in an
//! [`ImportPool`] until a block of its zone carries them. Relaying needs no trust: every import
//! carries the certificate and proof its destination checks (see [`z3r0_sim::handoff`]).

use std::collections::BTreeMap;
use z3r0_chain::{Block, FinalityProof, Hash, MAX_BLOCK_IMPORTS, StateMachine};
use z3r0_ecs::{EntityId, MerkleProof};
use z3r0_sim::Sim;
use z3r0_sim::handoff::{Import, Record, SourceHeader};

/// Most imports one replica holds waiting for a block: a handful per neighbour in transit.
pub const MAX_POOLED_IMPORTS: usize = 512;

/// Imports received from neighbouring zones, waiting for a block of this zone. Keyed by what
/// they prove (source, kind, number), so relays of one record by many validators, or at many
/// heights, are held once.
#[derive(Debug, Default)]
pub struct ImportPool {
    imports: BTreeMap<(u32, u8, u64), Vec<u8>>,
}

/// Why the pool did not take an import.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolRefusal {
    #[error("refused: {0}")]
    Invalid(String),
    #[error("nothing to do: the state already has it")]
    NotDue,
    #[error("already held")]
    Duplicate,
    #[error("the pool is full")]
    Full,
}

impl ImportPool {
    /// Checks `bytes` against `state` (the finalized state) and holds it if it is due there.
    pub fn offer<M: StateMachine>(&mut self, state: &M, bytes: Vec<u8>) -> Result<(), PoolRefusal> {
        let key = self.screen(state, &bytes)?;
        state.check_import(&bytes).map_err(PoolRefusal::Invalid)?;
        self.imports.insert(key, bytes);
        Ok(())
    }

    /// The cheap checks of [`ImportPool::offer`]: a record the state has no use for, one
    /// already held, or a full pool, cost no signature checks. A node screens under its zone's
    /// lock, checks the import's certificate with [`StateMachine::import_checker`] without
    /// it, then [`ImportPool::admit`]s it under the lock again.
    pub(crate) fn screen<M: StateMachine>(
        &self,
        state: &M,
        bytes: &[u8],
    ) -> Result<(u32, u8, u64), PoolRefusal> {
        let key = state.import_key(bytes).ok_or(PoolRefusal::NotDue)?;
        if self.imports.contains_key(&key) {
            return Err(PoolRefusal::Duplicate);
        }
        if self.imports.len() >= MAX_POOLED_IMPORTS {
            return Err(PoolRefusal::Full);
        }
        Ok(key)
    }

    /// Holds an import whose certificate checked out, if it passes [`ImportPool::screen`]
    /// against `state` now (the state may have moved on while it was checked).
    pub(crate) fn admit<M: StateMachine>(
        &mut self,
        state: &M,
        bytes: Vec<u8>,
    ) -> Result<(), PoolRefusal> {
        let key = self.screen(state, &bytes)?;
        self.imports.insert(key, bytes);
        Ok(())
    }

    /// The imports for the next block, leaving out the records (keys) in `carried`: each
    /// source's in key order (its acknowledgement, then its exits by number), the sources in
    /// turn, so a busy neighbour does not crowd the others out of a block. Every pooled
    /// import is due in the finalized state (checked when offered, pruned when it moves).
    pub fn propose(&self, carried: &std::collections::BTreeSet<(u32, u8, u64)>) -> Vec<Vec<u8>> {
        let mut by_source: BTreeMap<u32, Vec<&Vec<u8>>> = BTreeMap::new();
        for (key, bytes) in &self.imports {
            if !carried.contains(key) {
                let (source, _, _) = *key;
                by_source.entry(source).or_default().push(bytes);
            }
        }
        let mut out = Vec::new();
        let deepest = by_source.values().map(Vec::len).max().unwrap_or(0);
        for rank in 0..deepest {
            for waiting in by_source.values() {
                if out.len() == MAX_BLOCK_IMPORTS {
                    return out;
                }
                if let Some(bytes) = waiting.get(rank) {
                    out.push((*bytes).clone());
                }
            }
        }
        out
    }

    /// Drops what `state` (newly finalized) no longer needs.
    pub fn prune<M: StateMachine>(&mut self, state: &M) {
        self.imports
            .retain(|_, bytes| state.import_key(bytes).is_some());
    }

    pub fn len(&self) -> usize {
        self.imports.len()
    }

    pub fn is_empty(&self) -> bool {
        self.imports.is_empty()
    }
}

/// Blocks between relays of a record still waiting: a lost message or a destination that was
/// down is served again, without sending every record every block.
pub const RELAY_EVERY: u64 = 20;

/// One record proven in a state, waiting for the certificate of the block that commits it.
#[derive(Debug, Clone)]
struct Proven {
    entity: EntityId,
    proof: MerkleProof,
    record: Record,
}

/// Proofs made in the state after one block: the next block's header commits to that state.
#[derive(Debug)]
struct Pending {
    records_root: Hash,
    chunk_root: Hash,
    proven: Vec<Proven>,
}

/// The source side of handoff for one replica: fed every finalized block with its state and
/// certificate, it gives the imports to send, by destination zone.
#[derive(Debug, Default)]
pub struct Relay {
    pending: Option<Pending>,
    /// Height each record (destination, kind, number) was last proven at.
    last: BTreeMap<(u32, u8, u64), u64>,
}

impl Relay {
    /// Feeds block `block`, final with `finality`, and `state`, the state after it. Returns
    /// (destination, import) pairs to send now.
    pub fn finalized(
        &mut self,
        block: &Block,
        state: &mut Sim,
        finality: Option<&FinalityProof>,
    ) -> Vec<(u32, Vec<u8>)> {
        let out = match (self.pending.take(), finality) {
            (Some(pending), Some(finality)) => Self::complete(block, pending, finality),
            _ => Vec::new(),
        };
        self.prepare(block.height, state);
        out
    }

    /// The imports of the records proven in the parent's state, now that `block` (whose header
    /// commits to that state) is certified.
    fn complete(block: &Block, pending: Pending, finality: &FinalityProof) -> Vec<(u32, Vec<u8>)> {
        let state_root = z3r0_ecs::state_root(&pending.records_root, &pending.chunk_root);
        if block.parent_state_root != state_root {
            return Vec::new();
        }
        let header = SourceHeader {
            parent: block.parent,
            height: block.height,
            tick: block.tick,
            zone: block.zone,
            parent_state_root: block.parent_state_root,
            actions_hash: block.actions_hash(),
            records_root: pending.records_root,
            chunk_root: pending.chunk_root,
        };
        pending
            .proven
            .into_iter()
            .map(|p| {
                let import = Import {
                    header,
                    finality: finality.clone(),
                    entity: p.entity.0,
                    proof: p.proof,
                    record: p.record,
                };
                (import.destination(), import.encode_to_vec())
            })
            .collect()
    }

    /// Proves, in the state after block `height`, every record due for a relay: exits not yet
    /// acknowledged and this zone's links (its acknowledgements), each at most every
    /// [`RELAY_EVERY`] blocks.
    fn prepare(&mut self, height: u64, state: &mut Sim) {
        let mut due: Vec<(EntityId, Record)> = Vec::new();
        for (e, exit) in state.pending_exits() {
            due.push((e, Record::Exit(exit.clone())));
        }
        for (e, link) in state.links() {
            if link.received > 0 {
                due.push((e, Record::Ack(*link)));
            }
        }
        let live: std::collections::BTreeSet<_> = due.iter().map(|(_, r)| key_of(r)).collect();
        // Forget records that are gone (acknowledged, superseded).
        self.last.retain(|k, _| live.contains(k));
        due.retain(|(_, record)| {
            let key = key_of(record);
            let fresh = self
                .last
                .get(&key)
                .is_none_or(|&at| height.saturating_sub(at) >= RELAY_EVERY);
            if fresh {
                self.last.insert(key, height);
            }
            fresh
        });
        if due.is_empty() {
            return;
        }
        let proven = due
            .into_iter()
            .filter_map(|(entity, record)| {
                let proof = state.prove_record(entity, &record)?;
                Some(Proven {
                    entity,
                    proof,
                    record,
                })
            })
            .collect();
        self.pending = Some(Pending {
            records_root: state.ecs.root(),
            chunk_root: state.voxels.chunk_root(),
            proven,
        });
    }
}

/// A record's relay key: (destination, kind, number).
fn key_of(record: &Record) -> (u32, u8, u64) {
    let (kind, number) = record.kind_and_number();
    (record.destination(), kind, number)
}

/// The blake3 hashes of the imports `block` applied: those its receipts do not refuse.
pub fn applied_imports(block: &Block, receipts: &[z3r0_sim::Receipt]) -> Vec<Hash> {
    let refused: std::collections::BTreeSet<Hash> = receipts
        .iter()
        .filter_map(|r| match r {
            z3r0_sim::Receipt::ImportRefused { hash, .. } => Some(*hash),
            _ => None,
        })
        .collect();
    block
        .imports
        .iter()
        .map(|import| *blake3::hash(import).as_bytes())
        .filter(|hash| !refused.contains(hash))
        .collect()
}

/// Tests and drills: what a Byzantine relay sends after each block besides the honest imports
/// (given the block's height and those imports, by destination): (destination, bytes) pairs.
pub type Tamper = Box<dyn FnMut(u64, &[(u32, Vec<u8>)]) -> Vec<(u32, Vec<u8>)> + Send>;

/// The finalizer hook of a replica in a world: relays the zone's exits and acknowledgements to
/// each neighbour's committee (`senders` and `committees` by zone number), with what `tamper`
/// adds (a drill's forgeries), then runs `then` (the edge, the books) on the same block.
pub fn relay_hook<S>(
    mut senders: BTreeMap<u32, S>,
    committees: BTreeMap<u32, Vec<commonware_cryptography::ed25519::PublicKey>>,
    mut tamper: Option<Tamper>,
    mut then: crate::application::EdgeHook<Sim>,
) -> crate::application::EdgeHook<Sim>
where
    S: commonware_p2p::Sender<PublicKey = commonware_cryptography::ed25519::PublicKey>,
{
    let mut relay = Relay::default();
    Box::new(move |block, sim, receipts, finality| {
        let mut send = |to: u32, bytes: Vec<u8>| {
            if let (Some(sender), Some(keys)) = (senders.get_mut(&to), committees.get(&to)) {
                // Best effort: a record not delivered is relayed again (RELAY_EVERY).
                let _ = sender.send(commonware_p2p::Recipients::Some(keys.clone()), bytes, false);
            }
        };
        let honest = relay.finalized(block, sim, finality.as_ref());
        if let Some(tamper) = tamper.as_mut() {
            // Forgeries first: a destination meets them before the honest records.
            for (to, forged) in tamper(block.height, &honest) {
                send(to, forged);
            }
        }
        for (to, import) in honest {
            send(to, import);
        }
        then(block, sim, receipts, finality);
    })
}

/// Takes what arrives on a zone's handoff channel to `offer` (the replica's import pool) until
/// the channel closes. Refusals are expected and dropped: every replica of the source relays
/// the same record, and again until it is acknowledged.
pub async fn intake<R>(mut receiver: R, offer: impl Fn(Vec<u8>))
where
    R: commonware_p2p::Receiver<PublicKey = commonware_cryptography::ed25519::PublicKey>,
{
    while let Ok((_peer, message)) = receiver.recv().await {
        offer(message.as_ref().to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pool holding more imports from one neighbour than a block takes.
    fn pool(low: u64, high: u64) -> ImportPool {
        let mut pool = ImportPool::default();
        for seq in 0..low {
            pool.imports.insert((1, 1, seq), vec![1, seq as u8]);
        }
        for seq in 0..high {
            pool.imports
                .insert((0x0002_0000, 1, seq), vec![2, seq as u8]);
        }
        pool
    }

    #[test]
    fn a_busy_low_numbered_neighbour_does_not_crowd_out_the_others() {
        let proposed = pool(40, 2).propose(&Default::default());
        assert_eq!(proposed.len(), MAX_BLOCK_IMPORTS);
        let high: Vec<&Vec<u8>> = proposed.iter().filter(|i| i[0] == 2).collect();
        assert_eq!(
            high.len(),
            2,
            "the quiet neighbour's exits wait behind the busy one's"
        );
        // Each source's records stay in order: a prefix of what it has waiting.
        let low: Vec<u8> = proposed
            .iter()
            .filter(|i| i[0] == 1)
            .map(|i| i[1])
            .collect();
        assert_eq!(low, (0..30).collect::<Vec<u8>>());
    }
}
