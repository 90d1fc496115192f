//! Which sounds a frame of the game makes: footsteps of moving players (the local one and those
//! in view), the player's own digging, placing and claiming the moment they are sent
//! (immediate feedback; a refusal shows as a notice), and other players' edits when the chain's
//! proven chunk edits bring them.

use std::collections::BTreeMap;

use z3r0_audio::Sound;

use z3r0_client::BlockChange;
use z3r0_voxel::BlockId;

/// A sound to play: what, where (metres), and the block it is of (its own sound if the
/// content gives it one: the dug block's, the placed one's, the one walked on).
pub type Cue = (Sound, [f32; 3], Option<BlockId>);

/// Metres walked between two footsteps.
const STRIDE: f64 = 0.7;

#[derive(Debug, Default)]
pub struct SoundCues {
    /// Last position where each entity made a footstep (id; u64::MAX is the local player).
    last_step: BTreeMap<u64, [f64; 3]>,
}

pub const LOCAL: u64 = u64::MAX;

impl SoundCues {
    /// Footsteps for entity `id` now at `pos` (feet, metres) on block `under`: one every
    /// stride walked.
    pub fn step(&mut self, id: u64, pos: [f64; 3], under: Option<BlockId>, out: &mut Vec<Cue>) {
        let last = self.last_step.entry(id).or_insert(pos);
        let d = ((pos[0] - last[0]).powi(2) + (pos[2] - last[2]).powi(2)).sqrt();
        if d >= STRIDE {
            *last = pos;
            out.push((Sound::Footstep, pos.map(|c| c as f32), under));
        }
    }

    /// Sounds of voxels the chain changed: a dig where a block became air or water, a
    /// placement where one appeared.
    pub fn block_changes(
        &mut self,
        changes: impl IntoIterator<Item = BlockChange>,
        out: &mut Vec<Cue>,
    ) {
        use z3r0_voxel::blocks::{AIR, WATER};
        for c in changes {
            let at = [c.pos.x, c.pos.y, c.pos.z].map(|v| v as f32 + 0.5);
            let empty = |b| b == AIR || b == WATER;
            let (sound, block) = match (empty(c.from), empty(c.to)) {
                (false, true) => (Sound::Break, c.from),
                (true, false) => (Sound::Place, c.to),
                _ => continue,
            };
            out.push((sound, at, Some(block)));
        }
    }

    /// Forgets entities no longer in view.
    pub fn retain(&mut self, alive: impl Fn(u64) -> bool) {
        self.last_step.retain(|&id, _| id == LOCAL || alive(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_footstep_per_stride() {
        let mut cues = SoundCues::default();
        let mut out = Vec::new();
        for i in 0..=30 {
            cues.step(7, [i as f64 * 0.1, 0.0, 0.0], None, &mut out);
        }
        assert_eq!(out.len(), 4, "3 m walked: {out:?}");
        cues.step(7, [3.0, 5.0, 0.0], None, &mut out);
        assert_eq!(out.len(), 4, "falling is not walking");
    }

    #[test]
    fn edits_by_others_dig_and_place_where_they_happen() {
        use z3r0_voxel::{VoxelPos, blocks};
        let change = |from, to| BlockChange {
            pos: VoxelPos::new(1, 2, 3),
            from,
            to,
        };
        let mut out = Vec::new();
        SoundCues::default().block_changes(
            [
                change(blocks::STONE, blocks::AIR),
                change(blocks::WATER, blocks::DIRT),
                change(blocks::DIRT, blocks::STONE),
            ],
            &mut out,
        );
        assert_eq!(
            out,
            vec![
                (Sound::Break, [1.5, 2.5, 3.5], Some(blocks::STONE)),
                (Sound::Place, [1.5, 2.5, 3.5], Some(blocks::DIRT))
            ]
        );
    }
}
