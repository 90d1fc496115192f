//! Interpolation of remote entities: they are shown a little in the past (about one tick plus
//! the observed jitter), between the two snapshots around that moment, so they move smoothly
//! at display rate although snapshots come 20 times a second and some are lost.

use std::collections::{BTreeMap, VecDeque};

use z3r0_net::EntityState;

#[derive(Debug, Default)]
pub struct Interpolator {
    /// (tick, entities) of recent snapshots, oldest first.
    history: VecDeque<(u64, BTreeMap<u64, EntityState>)>,
}

/// A remote entity as drawn this frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shown {
    pub id: u64,
    /// Metres.
    pub pos: [f64; 3],
    /// Turns (0..1).
    pub yaw: f64,
}

impl Interpolator {
    pub fn push(&mut self, tick: u64, entities: &BTreeMap<u64, EntityState>) {
        self.history.push_back((tick, entities.clone()));
        while self.history.len() > 16 {
            self.history.pop_front();
        }
    }

    /// Forgets entity `id` in every snapshot held (the player's own body, in the history of a
    /// zone it left: it is not someone else to show there).
    pub fn forget(&mut self, id: u64) {
        for (_, entities) in &mut self.history {
            entities.remove(&id);
        }
    }

    pub fn newest(&self) -> Option<u64> {
        self.history.back().map(|(t, _)| *t)
    }

    /// Entities at `time` (in ticks, fractional), clamped to the snapshots held.
    pub fn at(&self, time: f64) -> Vec<Shown> {
        let Some((first, _)) = self.history.front() else {
            return Vec::new();
        };
        let time = time.max(*first as f64);
        let after = self
            .history
            .iter()
            .position(|(t, _)| *t as f64 >= time)
            .unwrap_or(self.history.len() - 1);
        let (t1, b) = &self.history[after];
        let (t0, a) = if after > 0 {
            &self.history[after - 1]
        } else {
            &self.history[after]
        };
        let span = (*t1 as f64 - *t0 as f64).max(1.0);
        let w = ((time - *t0 as f64) / span).clamp(0.0, 1.0);
        b.iter()
            .map(|(&id, s1)| {
                let s0 = a.get(&id).unwrap_or(s1);
                let (p0, p1) = (s0.metres(), s1.metres());
                let dyaw = f64::from(s1.yaw.wrapping_sub(s0.yaw) as i8) / 256.0;
                Shown {
                    id,
                    pos: [0, 1, 2].map(|i| p0[i] + (p1[i] - p0[i]) * w),
                    yaw: f64::from(s0.yaw) / 256.0 + dyaw * w,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: i64) -> BTreeMap<u64, EntityState> {
        [(
            1,
            EntityState {
                pos: [x, 0, 0],
                ..Default::default()
            },
        )]
        .into_iter()
        .collect()
    }

    #[test]
    fn positions_blend_between_snapshots_and_bridge_a_lost_one() {
        let mut i = Interpolator::default();
        i.push(10, &at(0));
        i.push(11, &at(64));
        // Tick 12 was lost.
        i.push(13, &at(192));
        let half = i.at(10.5)[0].pos[0];
        assert!((half - 0.5).abs() < 1e-9, "{half}");
        let bridged = i.at(12.0)[0].pos[0];
        assert!((bridged - 2.0).abs() < 1e-9, "{bridged}");
        assert_eq!(i.at(99.0)[0].pos[0], 3.0, "clamped to the newest");
    }
}
