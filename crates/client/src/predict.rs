//! Client-side prediction of the local player with the validators' own movement code, and
//! reconciliation when the authoritative state for a tick arrives.
//!
//! The chain applies an input frame in the block of the tick it targets, and a frame stays in
//! force until the next one. So the client runs ahead of the last finalized tick by its input
//! lead (half the round trip plus a margin), sends each frame for the tick it predicts, and
//! predicts with `z3r0-sim`'s movement code on the chunks it holds (its own digs and places
//! counted from the tick they target, as the chain applies them). When a snapshot brings the
//! exact body and frame in force at tick `A`, the client compares that with what it predicted
//! for `A` (the error is the rubber-banding a player would see), then replays its unconfirmed
//! frames from the authoritative state. Small corrections are smoothed out over a few frames
//! instead of snapping.

use std::collections::BTreeMap;

use z3r0_sim::{Body, InputFrame, MAX_TRANSIT_STEPS, Physics, step_in_view};
use z3r0_voxel::{BlockId, VoxelPos, World};

use crate::ZoneOf;

/// The authoritative state at one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authoritative {
    pub tick: u64,
    pub body: Body,
    /// The frame in force at `tick` (it keeps moving the body until a newer frame lands).
    pub frame: InputFrame,
}

/// What reconciling one authoritative state found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reconciled {
    pub tick: u64,
    /// Distance between the prediction for `tick` and the authority, in 1/1024 m (max norm);
    /// `None` when nothing had been predicted for that tick.
    pub error: Option<i64>,
}

/// Corrections at or below this (1/1024 m, about 1 cm) are not counted: that is the accuracy
/// the client promises with legal inputs.
pub const TOLERANCE: i64 = 10;
/// A correction shown is halved in this time (four frames at 60 Hz).
pub const SMOOTHING_HALF_LIFE_S: f64 = 0.067;
/// Most ticks predicted past the authoritative state.
const MAX_HORIZON: u64 = 64;

/// The last tick a body that left its zone in tick `exit` moves in before it enters the next
/// one: the destination makes up at most [`MAX_TRANSIT_STEPS`] ticks of transit, then steps
/// the tick it enters in. Predicted on past that, a long transit (a slow neighbour) would
/// end in a correction of every tick beyond.
fn transit_ends(exit: u64) -> u64 {
    exit.saturating_add(MAX_TRANSIT_STEPS).saturating_add(1)
}

/// An edit the player's world shows before the chain has applied it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingEdit {
    pub pos: VoxelPos,
    /// What the voxel was before, and what the edit makes it.
    pub before: BlockId,
    pub to: BlockId,
    /// The tick the edit's action targets: the chain applies it then, before that tick's
    /// movement.
    pub tick: u64,
}

#[derive(Debug, Default, Clone)]
pub struct Predictor {
    base: Option<Authoritative>,
    /// Frames sent, by the tick they target, not yet covered by an authoritative state.
    sent: BTreeMap<u64, InputFrame>,
    /// Predicted bodies by tick, for error measurement (bounded).
    predicted: BTreeMap<u64, Body>,
    /// Display smoothing: offset (1/1024 m) from the prediction to what is shown, decaying.
    offset: [f64; 3],
    pub corrections: u64,
    pub reconciliations: u64,
    pub max_error: i64,
}

fn distance(a: &Body, b: &Body) -> i64 {
    (0..3)
        .map(|i| (a.pos[i] - b.pos[i]).abs())
        .max()
        .unwrap_or(0)
}

impl Predictor {
    pub fn new() -> Self {
        Self::default()
    }

    /// The last authoritative state.
    pub fn base(&self) -> Option<&Authoritative> {
        self.base.as_ref()
    }

    /// Records that `frame` was sent for `tick`. Predictions made for it and later ticks
    /// before it was sent (a frame drawn just after the tick began) are forgotten: the first
    /// prediction that counts is one with this frame.
    pub fn sent(&mut self, tick: u64, frame: InputFrame) {
        self.sent.insert(tick, frame);
        self.predicted.retain(|&t, _| t < tick);
    }

    /// The frame the client believes is in force at `tick`.
    fn frame_at(&self, tick: u64) -> Option<InputFrame> {
        let base = self.base?;
        let sent = self.sent.range(..=tick).next_back().map(|(_, f)| *f);
        Some(sent.unwrap_or(base.frame))
    }

    /// The predicted body at `tick` (at or after the base), stepping from the authoritative
    /// state through the frames sent since. `world` shows the player's pending edits (oldest
    /// first in `pending`); each counts from the tick it targets. `physics`: the zone's
    /// movement rules; `rules`: its block rules in force. In a world, `borders` says which
    /// zone owns each chunk column: a body predicted out of its zone is in transit, and moves
    /// only as far as the destination will make up. `None` before any authoritative state, or
    /// past the horizon.
    pub fn predict(
        &mut self,
        tick: u64,
        world: &World,
        pending: &[PendingEdit],
        physics: &Physics,
        rules: &z3r0_voxel::BlockRules,
        borders: Option<&ZoneOf>,
    ) -> Option<Body> {
        let base = self.base?;
        if tick < base.tick {
            return None;
        }
        let zone = |body: &Body| {
            let chunk = z3r0_net::chunk_of(body.pos);
            borders.and_then(|b| b(chunk.x, chunk.z))
        };
        let home = zone(&base.body);
        let mut body = base.body;
        let mut moves_until = u64::MAX;
        for t in base.tick + 1..=tick {
            if t > moves_until {
                break;
            }
            // Far past the last authoritative state the guess is worthless (and costly).
            if t - base.tick > MAX_HORIZON {
                return None;
            }
            let frame = self.frame_at(t)?;
            // At tick `t` a voxel is what the first edit not yet applied found there.
            let voxel = |p: VoxelPos| {
                pending
                    .iter()
                    .find(|e| e.pos == p && e.tick > t)
                    .map_or_else(|| world.voxel(p), |e| Some(e.before))
            };
            body = step_in_view(&voxel, rules, &body, &frame, physics, t).0;
            if moves_until == u64::MAX && zone(&body).is_some_and(|z| Some(z) != home) {
                moves_until = transit_ends(t);
            }
        }
        // Remember the first prediction made for each tick: a later one has more information.
        self.predicted.entry(tick).or_insert(body);
        while self.predicted.len() > 256 {
            self.predicted.pop_first();
        }
        Some(body)
    }

    /// Takes the authoritative state of `state.tick`; returns how far off the prediction was.
    /// Older states than the base are ignored (snapshots are applied in order anyway).
    pub fn authoritative(&mut self, state: Authoritative) -> Reconciled {
        if self.base.is_some_and(|b| state.tick <= b.tick) {
            return Reconciled {
                tick: state.tick,
                error: None,
            };
        }
        let error = self
            .predicted
            .get(&state.tick)
            .map(|p| distance(p, &state.body));
        if let (Some(e), Some(p)) = (error, self.predicted.get(&state.tick)) {
            self.max_error = self.max_error.max(e);
            if e > TOLERANCE {
                self.corrections += 1;
                // Show the old prediction and ease into the corrected one.
                for i in 0..3 {
                    self.offset[i] += (p.pos[i] - state.body.pos[i]) as f64;
                }
            }
        }
        self.reconciliations += 1;
        self.base = Some(state);
        self.sent = self.sent.split_off(&(state.tick + 1));
        self.predicted = self.predicted.split_off(&(state.tick + 1));
        Reconciled {
            tick: state.tick,
            error,
        }
    }

    /// The smoothing offset to add to the predicted position in a frame shown `elapsed_s`
    /// seconds after the last one (1/1024 m); it halves every [`SMOOTHING_HALF_LIFE_S`], at
    /// any frame rate.
    pub fn smoothing(&mut self, elapsed_s: f64) -> [f64; 3] {
        let keep = 0.5f64.powf(elapsed_s.max(0.0) / SMOOTHING_HALF_LIFE_S);
        for c in &mut self.offset {
            *c *= keep;
            if c.abs() < 1.0 {
                *c = 0.0;
            }
        }
        self.offset
    }
}
