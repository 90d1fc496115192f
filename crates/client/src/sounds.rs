//! Which sounds a frame of the game makes: footsteps of moving players (the local one and those
//! in view), and the player's own digging, placing and claiming the moment they are sent
//! (immediate feedback; a refusal shows as a notice).

use std::collections::BTreeMap;

use z3r0_audio::Sound;

/// Metres walked between two footsteps.
const STRIDE: f64 = 0.7;

#[derive(Debug, Default)]
pub struct SoundCues {
    /// Last position where each entity made a footstep (id; u64::MAX is the local player).
    last_step: BTreeMap<u64, [f64; 3]>,
}

pub const LOCAL: u64 = u64::MAX;

impl SoundCues {
    /// Footsteps for entity `id` now at `pos` (feet, metres): one every stride walked.
    pub fn step(&mut self, id: u64, pos: [f64; 3], out: &mut Vec<(Sound, [f32; 3])>) {
        let last = self.last_step.entry(id).or_insert(pos);
        let d = ((pos[0] - last[0]).powi(2) + (pos[2] - last[2]).powi(2)).sqrt();
        if d >= STRIDE {
            *last = pos;
            out.push((Sound::Footstep, pos.map(|c| c as f32)));
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
            cues.step(7, [i as f64 * 0.1, 0.0, 0.0], &mut out);
        }
        assert_eq!(out.len(), 4, "3 m walked: {out:?}");
        cues.step(7, [3.0, 5.0, 0.0], &mut out);
        assert_eq!(out.len(), 4, "falling is not walking");
    }
}
