//! A set of loaded chunks with voxel edits, dirty tracking and the chunk commitment.

use crate::block::BlockId;
use crate::chunk::Chunk;
use crate::commit::{ChunkProof, Hash, SparseMerkleTree, chunk_key};
use crate::mesh::Neighborhood;
use crate::pos::{CHUNK_SIZE, ChunkPos, Face, VoxelPos};
use std::collections::{BTreeMap, BTreeSet};
use z3r0_mem::{Handle, Pool, PoolError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorldError {
    #[error("chunk {0:?} is not loaded")]
    ChunkNotLoaded(ChunkPos),
    #[error("chunk {0:?} is already loaded")]
    ChunkAlreadyLoaded(ChunkPos),
    #[error("world is full: {capacity} chunks loaded")]
    Full { capacity: usize },
}

/// Loaded chunks, stored in a fixed-capacity pool and indexed by position in canonical order.
///
/// Every edit is recorded twice: in the content-dirty set (consumed by the commitment) and in the
/// mesh-dirty set, which also names the neighbours whose meshes see an edited border voxel.
/// Cloning copies everything, dirty sets and commitment included (a fork of the state).
#[derive(Debug, Clone)]
pub struct World {
    pool: Pool<Chunk>,
    index: BTreeMap<ChunkPos, Handle<Chunk>>,
    changed: BTreeSet<ChunkPos>,
    remesh: BTreeSet<ChunkPos>,
    removed: BTreeSet<ChunkPos>,
    commitment: SparseMerkleTree,
    hash_scratch: Vec<u8>,
}

impl World {
    /// A world that can hold up to `capacity` chunks (memory is reserved lazily per chunk).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            pool: Pool::new(capacity, Chunk::default),
            index: BTreeMap::new(),
            changed: BTreeSet::new(),
            remesh: BTreeSet::new(),
            removed: BTreeSet::new(),
            commitment: SparseMerkleTree::new(),
            hash_scratch: Vec::new(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.pool.capacity()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Loads `chunk` at `pos`.
    pub fn insert_chunk(&mut self, pos: ChunkPos, chunk: &Chunk) -> Result<(), WorldError> {
        if self.index.contains_key(&pos) {
            return Err(WorldError::ChunkAlreadyLoaded(pos));
        }
        let handle = self
            .pool
            .alloc_with(|slot| slot.copy_from(chunk))
            .map_err(|e| match e {
                PoolError::Full { capacity } => WorldError::Full { capacity },
                // Allocation only fails when full.
                _ => WorldError::Full {
                    capacity: self.pool.capacity(),
                },
            })?;
        self.index.insert(pos, handle);
        self.removed.remove(&pos);
        self.changed.insert(pos);
        self.mark_remesh_with_neighbors(pos);
        Ok(())
    }

    /// Unloads the chunk at `pos`; its slot (and buffers) go back to the pool.
    pub fn remove_chunk(&mut self, pos: ChunkPos) -> Result<(), WorldError> {
        let handle = self
            .index
            .remove(&pos)
            .ok_or(WorldError::ChunkNotLoaded(pos))?;
        let _ = self.pool.free(handle);
        self.changed.remove(&pos);
        self.remesh.remove(&pos);
        self.removed.insert(pos);
        for face in Face::ALL {
            let n = pos.neighbor(face);
            if self.index.contains_key(&n) {
                self.remesh.insert(n);
            }
        }
        Ok(())
    }

    pub fn chunk(&self, pos: ChunkPos) -> Option<&Chunk> {
        self.index.get(&pos).and_then(|&h| self.pool.get(h).ok())
    }

    /// The chunk at `pos` with its loaded face neighbours, ready for meshing.
    pub fn neighborhood(&self, pos: ChunkPos) -> Option<Neighborhood<'_>> {
        let center = self.chunk(pos)?;
        let neighbors = Face::ALL.map(|f| self.chunk(pos.neighbor(f)));
        Some(Neighborhood { center, neighbors })
    }

    pub fn contains_chunk(&self, pos: ChunkPos) -> bool {
        self.index.contains_key(&pos)
    }

    /// Loaded chunks in canonical (position) order.
    pub fn chunks(&self) -> impl Iterator<Item = (ChunkPos, &Chunk)> {
        self.index
            .iter()
            .filter_map(|(&p, &h)| self.pool.get(h).ok().map(|c| (p, c)))
    }

    /// The voxel at `pos`, or `None` when its chunk is not loaded.
    pub fn voxel(&self, pos: VoxelPos) -> Option<BlockId> {
        self.chunk(pos.chunk()).map(|c| c.get(pos.local()))
    }

    /// Sets a voxel and returns the previous id.
    pub fn set_voxel(&mut self, pos: VoxelPos, id: BlockId) -> Result<BlockId, WorldError> {
        let cpos = pos.chunk();
        let handle = *self
            .index
            .get(&cpos)
            .ok_or(WorldError::ChunkNotLoaded(cpos))?;
        let chunk = self
            .pool
            .get_mut(handle)
            .map_err(|_| WorldError::ChunkNotLoaded(cpos))?;
        let local = pos.local();
        let old = chunk.set(local, id);
        if old != id {
            self.changed.insert(cpos);
            self.remesh.insert(cpos);
            if local.on_border() {
                let last = (CHUNK_SIZE - 1) as u8;
                let touching = [
                    (local.x() == last, Face::PosX),
                    (local.x() == 0, Face::NegX),
                    (local.y() == last, Face::PosY),
                    (local.y() == 0, Face::NegY),
                    (local.z() == last, Face::PosZ),
                    (local.z() == 0, Face::NegZ),
                ];
                for (hit, face) in touching {
                    let n = cpos.neighbor(face);
                    if hit && self.index.contains_key(&n) {
                        self.remesh.insert(n);
                    }
                }
            }
        }
        Ok(old)
    }

    fn mark_remesh_with_neighbors(&mut self, pos: ChunkPos) {
        self.remesh.insert(pos);
        for face in Face::ALL {
            let n = pos.neighbor(face);
            if self.index.contains_key(&n) {
                self.remesh.insert(n);
            }
        }
    }

    /// Chunks whose content changed since the last [`World::chunk_root`].
    pub fn changed_chunks(&self) -> impl Iterator<Item = ChunkPos> + '_ {
        self.changed.iter().copied()
    }

    /// Takes the set of chunks needing a new mesh (edited, loaded, or next to one that was).
    pub fn take_remesh(&mut self) -> BTreeSet<ChunkPos> {
        std::mem::take(&mut self.remesh)
    }

    /// Moves the chunks needing a new mesh into `out` (cleared first) without allocating a set.
    pub fn drain_remesh_into(&mut self, out: &mut Vec<ChunkPos>) {
        out.clear();
        while let Some(p) = self.remesh.pop_first() {
            out.push(p);
        }
    }

    /// The Merkle root over all loaded chunks (key: chunk position, value: blake3 of the canonical
    /// encoding). Only chunks changed since the previous call are rehashed.
    pub fn chunk_root(&mut self) -> Hash {
        while let Some(pos) = self.removed.pop_first() {
            self.commitment.remove(&chunk_key(pos));
        }
        while let Some(pos) = self.changed.pop_first() {
            if let Some(&h) = self.index.get(&pos)
                && let Ok(chunk) = self.pool.get(h)
            {
                let hash = chunk.hash_with(&mut self.hash_scratch);
                self.commitment.insert(chunk_key(pos), hash);
            }
        }
        self.commitment.root()
    }

    /// A proof of the chunk at `pos` against [`World::chunk_root`].
    pub fn prove_chunk(&mut self, pos: ChunkPos) -> Option<ChunkProof> {
        self.chunk_root();
        let proof = self.commitment.prove(&chunk_key(pos))?;
        Some(ChunkProof { pos, proof })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::blocks::*;
    use crate::commit::ProofError;

    fn fresh_root(world: &World) -> Hash {
        let mut w = World::with_capacity(world.capacity());
        for (p, c) in world.chunks() {
            w.insert_chunk(p, c).unwrap();
        }
        w.chunk_root()
    }

    #[test]
    fn edits_track_dirty_chunks_and_border_neighbours() {
        let mut w = World::with_capacity(8);
        for x in 0..2 {
            w.insert_chunk(ChunkPos::new(x, 0, 0), &Chunk::uniform(STONE))
                .unwrap();
        }
        w.chunk_root();
        w.take_remesh();
        assert_eq!(w.set_voxel(VoxelPos::new(5, 5, 5), AIR), Ok(STONE));
        assert_eq!(
            w.changed_chunks().collect::<Vec<_>>(),
            vec![ChunkPos::new(0, 0, 0)]
        );
        assert_eq!(
            w.take_remesh().into_iter().collect::<Vec<_>>(),
            vec![ChunkPos::new(0, 0, 0)]
        );
        w.set_voxel(VoxelPos::new(31, 5, 5), AIR).unwrap();
        let remesh: Vec<_> = w.take_remesh().into_iter().collect();
        assert_eq!(remesh, vec![ChunkPos::new(0, 0, 0), ChunkPos::new(1, 0, 0)]);
        assert_eq!(w.voxel(VoxelPos::new(31, 5, 5)), Some(AIR));
        assert_eq!(w.voxel(VoxelPos::new(0, 99, 0)), None);
        assert_eq!(
            w.set_voxel(VoxelPos::new(0, 99, 0), AIR),
            Err(WorldError::ChunkNotLoaded(ChunkPos::new(0, 3, 0)))
        );
    }

    #[test]
    fn incremental_root_equals_fresh_root() {
        let mut w = World::with_capacity(64);
        for x in -2..2 {
            for z in -2..2 {
                w.insert_chunk(ChunkPos::new(x, 0, z), &Chunk::uniform(DIRT))
                    .unwrap();
            }
        }
        let r0 = w.chunk_root();
        w.set_voxel(VoxelPos::new(-40, 3, 7), GRASS).unwrap();
        let r1 = w.chunk_root();
        assert_ne!(r0, r1);
        assert_eq!(r1, fresh_root(&w));
        // Undo: same content, same root as before.
        w.set_voxel(VoxelPos::new(-40, 3, 7), DIRT).unwrap();
        assert_eq!(w.chunk_root(), r0);
        w.remove_chunk(ChunkPos::new(0, 0, 0)).unwrap();
        let r2 = w.chunk_root();
        assert_eq!(r2, fresh_root(&w));
        w.insert_chunk(ChunkPos::new(0, 0, 0), &Chunk::uniform(DIRT))
            .unwrap();
        assert_eq!(w.chunk_root(), r0);
    }

    #[test]
    fn chunk_proofs_verify_against_root() {
        let mut w = World::with_capacity(16);
        for y in 0..4 {
            w.insert_chunk(ChunkPos::new(0, y, 0), &Chunk::uniform(y as BlockId))
                .unwrap();
        }
        w.set_voxel(VoxelPos::new(1, 33, 1), LOG).unwrap();
        let root = w.chunk_root();
        let pos = ChunkPos::new(0, 1, 0);
        let proof = w.prove_chunk(pos).unwrap();
        let chunk = w.chunk(pos).unwrap().clone();
        assert_eq!(proof.verify(&root, &chunk), Ok(()));
        let mut tampered = chunk.clone();
        tampered.set_index(0, SAND);
        assert_eq!(
            proof.verify(&root, &tampered),
            Err(ProofError::RootMismatch)
        );
        let moved = ChunkProof {
            pos: ChunkPos::new(0, 2, 0),
            ..proof
        };
        assert_eq!(moved.verify(&root, &chunk), Err(ProofError::RootMismatch));
    }

    #[test]
    fn capacity_is_enforced() {
        let mut w = World::with_capacity(1);
        w.insert_chunk(ChunkPos::new(0, 0, 0), &Chunk::default())
            .unwrap();
        assert_eq!(
            w.insert_chunk(ChunkPos::new(0, 0, 0), &Chunk::default()),
            Err(WorldError::ChunkAlreadyLoaded(ChunkPos::new(0, 0, 0)))
        );
        assert_eq!(
            w.insert_chunk(ChunkPos::new(1, 0, 0), &Chunk::default()),
            Err(WorldError::Full { capacity: 1 })
        );
        w.remove_chunk(ChunkPos::new(0, 0, 0)).unwrap();
        w.insert_chunk(ChunkPos::new(1, 0, 0), &Chunk::default())
            .unwrap();
    }
}
