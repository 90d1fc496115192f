//! The player's edits between sending and the chain's word: shown early, held back, or
//! applied by a block whose proven chunk has not come yet.

use std::collections::BTreeMap;

use z3r0_voxel::{BlockId, ChunkPos, VoxelPos, World};

use crate::predict::PendingEdit;

/// Edits shown early, and edits held back, kept at most (the oldest are dropped).
const MAX_IN_FLIGHT: usize = 64;
/// Applied edits remembered until a chunk proven after them comes, at most.
const MAX_APPLIED: usize = 256;
/// Ticks after its target tick that an edit shown early stays shown without a word from the
/// chain (the mempool drops actions 20 ticks old): its datagram or its receipt was lost.
pub(super) const UNDECIDED_AFTER: u64 = 24;

#[derive(Debug, Default)]
pub(super) struct Edits {
    /// Edits shown locally before the chain decides, by nonce.
    pending: BTreeMap<u64, PendingEdit>,
    /// The player's edits the chain applied, by voxel: the height of the block that did and
    /// the block now there. A chunk proven before that height does not have them yet, and they
    /// are kept over it until one proven at or after it comes.
    applied: BTreeMap<VoxelPos, (u64, BlockId)>,
    /// Edits sent but not shown (the client expects a refusal), by nonce: where, which tick.
    held_back: BTreeMap<u64, (VoxelPos, u64)>,
}

impl Edits {
    /// An edit shown at once.
    pub(super) fn show(&mut self, nonce: u64, edit: PendingEdit) {
        self.pending.insert(nonce, edit);
        while self.pending.len() > MAX_IN_FLIGHT {
            self.pending.pop_first();
        }
    }

    /// An edit sent but not shown: the client expects the chain to refuse it.
    pub(super) fn hold_back(&mut self, nonce: u64, pos: VoxelPos, tick: u64) {
        self.held_back.insert(nonce, (pos, tick));
        while self.held_back.len() > MAX_IN_FLIGHT {
            self.held_back.pop_first();
        }
    }

    /// Edits shown early, oldest first (nonces rise with send order).
    pub(super) fn pending(&self) -> Vec<PendingEdit> {
        self.pending.values().copied().collect()
    }

    pub(super) fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// The chain decided on the edit with `nonce`: refused, or applied by the block at
    /// `height`. A refused edit shown early is undone in `world`. Returns whether an edit
    /// held back was applied after all (prediction ran without it).
    pub(super) fn settle(
        &mut self,
        world: &mut World,
        nonce: u64,
        refused: bool,
        height: Option<u64>,
    ) -> bool {
        if let Some(edit) = self.pending.remove(&nonce) {
            match (refused, height) {
                (true, _) => {
                    let _ = world.set_voxel(edit.pos, edit.before);
                }
                (false, Some(height)) => {
                    self.applied.insert(edit.pos, (height, edit.to));
                    while self.applied.len() > MAX_APPLIED {
                        self.applied.pop_first();
                    }
                }
                (false, None) => {}
            }
        }
        match self.held_back.remove(&nonce) {
            Some((pos, tick)) if !refused => {
                tracing::debug!(?pos, tick, "an edit not shown early was applied");
                true
            }
            _ => false,
        }
    }

    /// Undoes edits shown early that the chain never decided on by `tick` (their action or its
    /// receipt was lost): the chain has the voxel as it was.
    pub(super) fn expire_undecided(&mut self, world: &mut World, tick: u64) {
        for nonce in self.undecided(tick) {
            if let Some(edit) = self.pending.remove(&nonce)
                && world.voxel(edit.pos) == Some(edit.to)
            {
                let _ = world.set_voxel(edit.pos, edit.before);
            }
        }
    }

    /// Edits shown early that the chain has not decided on by `tick`, long after their target
    /// tick.
    fn undecided(&self, tick: u64) -> Vec<u64> {
        self.pending
            .iter()
            .filter(|(_, e)| e.tick.saturating_add(UNDECIDED_AFTER) < tick)
            .map(|(&n, _)| n)
            .collect()
    }

    /// The player's own edits to keep shown over chunk `pos` proven after block `height`:
    /// those the chain applied after that height (forgotten once a chunk proven at or after it
    /// comes), and those not decided yet.
    pub(super) fn keep_over(&mut self, pos: ChunkPos, height: u64) -> Vec<(VoxelPos, BlockId)> {
        self.applied
            .retain(|p, (at, _)| p.chunk() != pos || *at > height);
        self.applied
            .iter()
            .filter(|(p, _)| p.chunk() == pos)
            .map(|(p, (_, to))| (*p, *to))
            .chain(
                self.pending
                    .values()
                    .filter(|e| e.pos.chunk() == pos)
                    .map(|e| (e.pos, e.to)),
            )
            .collect()
    }

    /// The session moved to another zone's chain, which numbers actions anew: the edits still
    /// undecided are undone in `world` (the zone left behind proves what became of them in its
    /// chunks) and forgotten, so no new nonce settles an old edit.
    pub(super) fn abandon(&mut self, world: &mut World) {
        for edit in std::mem::take(&mut self.pending).into_values() {
            if world.voxel(edit.pos) == Some(edit.to) {
                let _ = world.set_voxel(edit.pos, edit.before);
            }
        }
        self.held_back.clear();
    }

    /// The chunk at `pos` is no longer held.
    pub(super) fn forget_chunk(&mut self, pos: ChunkPos) {
        self.applied.retain(|q, _| q.chunk() != pos);
    }
}

#[cfg(test)]
mod tests {
    use z3r0_voxel::{VoxelPos, World, blocks};

    use super::{Edits, PendingEdit, UNDECIDED_AFTER};

    fn edit(pos: VoxelPos, before: u16, to: u16, tick: u64) -> PendingEdit {
        PendingEdit {
            pos,
            before,
            to,
            tick,
        }
    }

    #[test]
    fn edits_undecided_long_after_their_tick_expire() {
        let mut edits = Edits::default();
        let at = VoxelPos::new(0, 0, 0);
        edits.show(1, edit(at, blocks::STONE, blocks::AIR, 100));
        edits.show(2, edit(at, blocks::STONE, blocks::AIR, 110));
        assert!(edits.undecided(100 + UNDECIDED_AFTER).is_empty());
        assert_eq!(edits.undecided(101 + UNDECIDED_AFTER), vec![1]);
        assert_eq!(edits.undecided(200), vec![1, 2]);
    }

    #[test]
    fn own_edits_stay_over_chunks_proven_before_them() {
        let dug = VoxelPos::new(3, 40, 5);
        let placed = VoxelPos::new(4, 41, 5);
        let elsewhere = VoxelPos::new(100, 40, 5);
        let chunk = dug.chunk();
        let mut world = World::with_capacity(4);
        let mut edits = Edits::default();
        edits.show(5, edit(dug, blocks::STONE, blocks::AIR, 9));
        edits.show(6, edit(elsewhere, blocks::STONE, blocks::AIR, 9));
        edits.show(7, edit(placed, blocks::AIR, blocks::STONE, 12));
        // The dig and the edit elsewhere were applied by block 10.
        assert!(!edits.settle(&mut world, 5, false, Some(10)));
        assert!(!edits.settle(&mut world, 6, false, Some(10)));
        // Proven after block 8: the dig (block 10) is not in it yet, nor the pending place.
        let keep = edits.keep_over(chunk, 8);
        assert_eq!(keep, vec![(dug, blocks::AIR), (placed, blocks::STONE)]);
        // Proven after block 10: it has the dig, which is forgotten; the place stays.
        let keep = edits.keep_over(chunk, 10);
        assert_eq!(keep, vec![(placed, blocks::STONE)]);
        assert!(!edits.applied.contains_key(&dug));
        // Another chunk's edit is untouched.
        assert!(edits.applied.contains_key(&elsewhere));
        assert_ne!(elsewhere.chunk(), chunk);
    }

    #[test]
    fn a_held_back_edit_the_chain_applied_is_reported() {
        let mut world = World::with_capacity(4);
        let mut edits = Edits::default();
        let at = VoxelPos::new(1, 2, 3);
        edits.hold_back(1, at, 10);
        edits.hold_back(2, at, 11);
        assert!(edits.settle(&mut world, 1, false, Some(12)));
        assert!(!edits.settle(&mut world, 2, true, None));
        assert!(
            !edits.settle(&mut world, 1, false, Some(12)),
            "settled once"
        );
    }
}
