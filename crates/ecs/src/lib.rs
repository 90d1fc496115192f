//! Z3R0's deterministic entity-component store: the state every validator commits to and every
//! client predicts with.
//!
//! - Entity ids come from a counter that is part of the committed state; ids are never reused.
//! - [`Column`]s hold one component type each, paged by entity id, so every iteration is in
//!   entity-id order whatever the history of inserts and removals.
//! - Writes are tracked per slot; [`World::commit`] turns the tick's writes into hook calls
//!   ([`Change`]: inserted, changed, removed), which emit receipts, and into an incremental update
//!   of a sparse Merkle tree over canonical records. [`World::prove`] proves one record.
//! - [`World::snapshot`] / [`World::restore`] reproduce the same root.
//! - [`Schedule`]: systems run in one fixed order.
//!
//! Consensus path: no floats, no hash-map iteration, no clocks.

mod column;
mod schedule;
mod snapshot;
mod world;

pub use column::{Column, Iter, IterMut, JoinMut, Mut};
pub use schedule::{Schedule, System};
pub use snapshot::{MAX_ENTITY_COUNTER, SnapshotError};
pub use world::{
    Alive, Change, Component, EcsError, Hook, META_TABLE, Spawn, World, record_key, state_root,
    value_hash, verify_absent_record, verify_record,
};
pub use z3r0_voxel::{AbsenceProof, Hash, MerkleProof, ProofError};

use commonware_codec::{EncodeSize, Error as CodecError, Read, ReadExt as _, Write};

/// An entity: an id from the world's counter, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntityId(pub u64);

impl std::fmt::Display for EntityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "e{}", self.0)
    }
}

impl Write for EntityId {
    fn write(&self, buf: &mut impl bytes::BufMut) {
        self.0.write(buf);
    }
}

impl EncodeSize for EntityId {
    fn encode_size(&self) -> usize {
        8
    }
}

impl Read for EntityId {
    type Cfg = ();
    fn read_cfg(buf: &mut impl commonware_codec::Buf, _: &()) -> Result<Self, CodecError> {
        u64::read(buf).map(EntityId)
    }
}
