//! The rules are in real units: the same inputs over the same time give the same positions at
//! every tick rate, to within one tick of movement.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use z3r0_sim::{Action, PlayerKey, SimConfig, flags};

/// Scenario length after the players settle, and the moments compared.
const PLAY_MS: u64 = 8_000;
const SETTLE_MS: u64 = 1_000;
const CHECKPOINTS_MS: [u64; 8] = [1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000];

/// Each player's inputs at `ms` into the scenario: Alice walks a circle and jumps every two
/// seconds, Bob sprints a tighter circle at part stick, Carol crouches west. (Inputs that
/// flip back and forth would not do: a flip between two ticks lands on the nearest one, and
/// a run of flips can add those roundings up, whatever the rules.)
fn inputs(ms: u64) -> Vec<(PlayerKey, Action)> {
    let turn = |period_ms: u64| ((ms % period_ms) * 65_536 / period_ms) as u16;
    let jump = if ms % 2_000 < 100 { flags::JUMP } else { 0 };
    vec![
        (ALICE, input(100, 0, turn(8_000), jump)),
        (BOB, input(60, 40, turn(6_000), flags::SPRINT)),
        (CAROL, input(127, 0, 49_152, flags::CROUCH)),
    ]
}

struct Run {
    tick_ms: u64,
    /// Each player's feet at every tick of the scenario (index 0: its start).
    path: Vec<[[i64; 3]; 3]>,
}

impl Run {
    fn new(tick_ms: u64) -> Self {
        let mut s = arena_with(SimConfig {
            tick_ms,
            ..SimConfig::default()
        });
        let keys = [ALICE, BOB, CAROL];
        tick(&mut s, &keys.map(|k| (k, Action::Join)));
        for _ in 0..SETTLE_MS / tick_ms {
            tick(&mut s, &idle(&keys));
        }
        let feet = |s: &z3r0_sim::Sim| keys.map(|k| s.body(&k).unwrap().pos);
        let mut path = vec![feet(&s)];
        for t in 0..PLAY_MS / tick_ms + 1 {
            // The stick as it is mid-tick: a change lands on the nearest tick.
            tick(&mut s, &inputs(t * tick_ms + tick_ms / 2));
            path.push(feet(&s));
        }
        Run { tick_ms, path }
    }

    /// Player `who`'s feet `ms` into the scenario, between the ticks around it.
    fn at(&self, ms: u64, who: usize) -> [i64; 3] {
        let k = (ms / self.tick_ms) as usize;
        let frac = (ms % self.tick_ms) as i64;
        let (a, b) = (self.path[k][who], self.path[k + 1][who]);
        std::array::from_fn(|i| a[i] + (b[i] - a[i]) * frac / self.tick_ms as i64)
    }

    /// The highest Alice's feet rose above where she started.
    fn alice_apex(&self) -> i64 {
        let ground = self.path[0][0][1];
        self.path.iter().map(|p| p[0][1] - ground).max().unwrap()
    }
}

#[test]
fn the_same_inputs_cover_the_same_ground_at_20_30_and_60_hz() {
    let reference = Run::new(50);
    let physics = z3r0_sim::Physics::default();
    // One 50 ms tick of sprinting: the coarsest run's own rounding of time.
    let one_tick = physics.sprint * 50 / 1000;
    for tick_ms in [33, 16] {
        let run = Run::new(tick_ms);
        for ms in CHECKPOINTS_MS {
            for (who, name) in ["alice", "bob", "carol"].iter().enumerate() {
                let (a, b) = (reference.at(ms, who), run.at(ms, who));
                let apart = z3r0_sim::fixed::isqrt((a[0] - b[0]).pow(2) + (a[2] - b[2]).pow(2));
                assert!(
                    apart <= one_tick,
                    "{name} at {ms} ms: {tick_ms} ms ticks put her {apart} units from the 50 ms \
                     run ({b:?} vs {a:?}); one tick is {one_tick}"
                );
            }
        }
        // Jumps reach the genesis's jump height at every rate (a coarse run samples its apex
        // less finely: g·dt²/8 is 10 units at 50 ms).
        let (apex, expected) = (run.alice_apex(), reference.alice_apex());
        assert!(
            (apex - expected).abs() <= 12,
            "{tick_ms} ms: apex {apex}, 50 ms: {expected}"
        );
    }
    // The scenario moved them: a test of standing still would prove nothing.
    let start = reference.path[0];
    let end = reference.path.last().unwrap();
    for who in 0..3 {
        assert_ne!(start[who], end[who]);
    }
    assert!(reference.alice_apex() > 1_000, "Alice jumped");
}

#[test]
fn walking_for_ten_seconds_covers_the_same_distance_at_every_rate_from_10_to_60_hz() {
    let physics = z3r0_sim::Physics::default();
    let mut covered = Vec::new();
    for tick_ms in [100, 50, 33, 25, 20, 16] {
        let mut s = arena_with(SimConfig {
            tick_ms,
            ..SimConfig::default()
        });
        tick(&mut s, &[(ALICE, Action::Join)]);
        for _ in 0..SETTLE_MS / tick_ms {
            tick(&mut s, &idle(&[ALICE]));
        }
        let x0 = s.body(&ALICE).unwrap().pos[0];
        // Walk west (away from the arena's far wall) for 2 s, at a fraction of a second's rate.
        let ticks = 2_000 / tick_ms;
        for _ in 0..ticks {
            tick(&mut s, &[(ALICE, input(127, 0, 49_152, 0))]);
        }
        let walked = x0 - s.body(&ALICE).unwrap().pos[0];
        let exact = physics.walk * (ticks * tick_ms) as i64 / 1000;
        // Within the one-unit dither and the trig table's rounding of the heading.
        assert!(
            (walked - exact).abs() <= exact / 200,
            "{tick_ms} ms: walked {walked}, expected {exact}"
        );
        covered.push((tick_ms, walked));
    }
    // 33 ms and 16 ms ticks do not divide 2 s: compare per millisecond walked.
    for (tick_ms, walked) in &covered {
        let per_s = walked * 1000 / ((2_000 / tick_ms) * tick_ms) as i64;
        assert!((per_s - physics.walk).abs() <= 2, "{tick_ms} ms: {per_s}/s");
    }
}
