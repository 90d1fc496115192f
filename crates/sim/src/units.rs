//! Movement rules in real units, as a genesis states them (millimetres and seconds), and their
//! per-tick form.
//!
//! A tick rarely divides a second evenly (16 ms is 62.5 Hz), so a rate is never rounded once
//! into a per-tick constant: that error would add up, and the same walk would cover different
//! ground at different tick rates. Instead the amount for tick `t` is
//! `floor(rate × (t+1) × ms / 1000) − floor(rate × t × ms / 1000)`: any run of ticks sums to
//! the exact rate × time, to within one unit, at every tick rate. Velocities are held per
//! second, and a tick moves a body by the mean of its velocity before and after the tick
//! (exact under constant acceleration), so a jump reaches the same apex at 10 Hz and at 60 Hz.

use crate::fixed::{UNIT, isqrt};

/// Movement rules in millimetres and seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct Movement {
    pub walk_mm_s: u32,
    pub sprint_mm_s: u32,
    pub crouch_mm_s: u32,
    pub swim_mm_s: u32,
    pub swim_up_mm_s: u32,
    pub gravity_mm_s2: u32,
    pub water_gravity_mm_s2: u32,
    pub max_fall_mm_s: u32,
    pub max_sink_mm_s: u32,
    /// How high a jump from the ground lifts the feet.
    pub jump_height_mm: u32,
    /// How fast a player in the air changes its horizontal velocity.
    pub air_accel_mm_s2: u32,
}

impl Default for Movement {
    fn default() -> Self {
        Self {
            walk_mm_s: 4_300,
            sprint_mm_s: 5_600,
            crouch_mm_s: 1_300,
            swim_mm_s: 2_000,
            swim_up_mm_s: 2_000,
            gravity_mm_s2: 32_000,
            water_gravity_mm_s2: 8_000,
            max_fall_mm_s: 78_000,
            max_sink_mm_s: 2_000,
            jump_height_mm: 1_250,
            air_accel_mm_s2: 10_000,
        }
    }
}

/// Largest speed a genesis may set (mm/s): far beyond any game, far inside `i64` per tick.
pub const MAX_SPEED_MM_S: u32 = 200_000;
/// Largest acceleration a genesis may set (mm/s²).
pub const MAX_ACCEL_MM_S2: u32 = 1_000_000;
/// Highest jump a genesis may set (mm).
pub const MAX_JUMP_MM: u32 = 20_000;
/// Above any body speed the rules allow (units per second): speeds, falls and the take-off
/// of the highest jump under the strongest gravity all stay within [`MAX_SPEED_MM_S`], about
/// 204,800 units. For checking bodies from outside the rules (a node's snapshot).
pub const MAX_BODY_SPEED: i64 = 1 << 18;
/// Tick lengths the rules accept (ms): 1,000 Hz to 1 Hz.
pub const TICK_MS: std::ops::RangeInclusive<u64> = 1..=1_000;

/// How many values [`Movement`] holds.
pub const MOVEMENT_VALUES: usize = 11;

/// A movement value out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("movement rule {name} = {value} is outside 1..={max}")]
pub struct MovementError {
    pub name: &'static str,
    pub value: u32,
    pub max: u32,
}

impl Movement {
    /// Each value named, with its largest allowed value.
    fn fields(&self) -> [(&'static str, u32, u32); MOVEMENT_VALUES] {
        [
            ("walk_mm_s", self.walk_mm_s, MAX_SPEED_MM_S),
            ("sprint_mm_s", self.sprint_mm_s, MAX_SPEED_MM_S),
            ("crouch_mm_s", self.crouch_mm_s, MAX_SPEED_MM_S),
            ("swim_mm_s", self.swim_mm_s, MAX_SPEED_MM_S),
            ("swim_up_mm_s", self.swim_up_mm_s, MAX_SPEED_MM_S),
            ("gravity_mm_s2", self.gravity_mm_s2, MAX_ACCEL_MM_S2),
            (
                "water_gravity_mm_s2",
                self.water_gravity_mm_s2,
                MAX_ACCEL_MM_S2,
            ),
            ("max_fall_mm_s", self.max_fall_mm_s, MAX_SPEED_MM_S),
            ("max_sink_mm_s", self.max_sink_mm_s, MAX_SPEED_MM_S),
            ("jump_height_mm", self.jump_height_mm, MAX_JUMP_MM),
            ("air_accel_mm_s2", self.air_accel_mm_s2, MAX_ACCEL_MM_S2),
        ]
    }

    /// Checks every value is positive and within its bound, before any rule computes with it.
    pub fn check(&self) -> Result<(), MovementError> {
        for (name, value, max) in self.fields() {
            if !(1..=max).contains(&value) {
                return Err(MovementError { name, value, max });
            }
        }
        Ok(())
    }

    /// The values in a fixed order (the field order), for encodings and the chain's identity.
    pub fn values(&self) -> [u32; MOVEMENT_VALUES] {
        self.fields().map(|(_, v, _)| v)
    }

    /// The inverse of [`Movement::values`] (unchecked: call [`Movement::check`]).
    pub fn from_values(v: [u32; MOVEMENT_VALUES]) -> Self {
        let [
            walk_mm_s,
            sprint_mm_s,
            crouch_mm_s,
            swim_mm_s,
            swim_up_mm_s,
            gravity_mm_s2,
            water_gravity_mm_s2,
            max_fall_mm_s,
            max_sink_mm_s,
            jump_height_mm,
            air_accel_mm_s2,
        ] = v;
        Self {
            walk_mm_s,
            sprint_mm_s,
            crouch_mm_s,
            swim_mm_s,
            swim_up_mm_s,
            gravity_mm_s2,
            water_gravity_mm_s2,
            max_fall_mm_s,
            max_sink_mm_s,
            jump_height_mm,
            air_accel_mm_s2,
        }
    }

    /// [`Movement::values`] as big-endian bytes, for hashing into a chain's identity.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        self.values().iter().flat_map(|v| v.to_be_bytes()).collect()
    }
}

/// Millimetres to fixed-point units (1/1024 m), rounded to nearest.
fn units(mm: u32) -> i64 {
    (i64::from(mm) * UNIT + 500) / 1000
}

/// The movement rules in fixed point per second, for one tick length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Physics {
    tick_ms: i64,
    /// Speeds in units per second.
    pub walk: i64,
    pub sprint: i64,
    pub crouch: i64,
    pub swim: i64,
    pub swim_up: i64,
    pub max_fall: i64,
    pub max_sink: i64,
    /// The take-off speed that lifts the feet by the jump height (units per second).
    pub jump: i64,
    /// Accelerations in units per second².
    pub gravity: i64,
    pub water_gravity: i64,
    pub air_accel: i64,
}

impl Default for Physics {
    /// The default rules at the default 50 ms tick.
    fn default() -> Self {
        Self::new(&Movement::default(), 50)
    }
}

impl Physics {
    /// `movement` (checked) at ticks of `tick_ms` (clamped to [`TICK_MS`]).
    pub fn new(movement: &Movement, tick_ms: u64) -> Self {
        let m = movement;
        let gravity = units(m.gravity_mm_s2);
        Self {
            tick_ms: tick_ms.clamp(*TICK_MS.start(), *TICK_MS.end()) as i64,
            walk: units(m.walk_mm_s),
            sprint: units(m.sprint_mm_s),
            crouch: units(m.crouch_mm_s),
            swim: units(m.swim_mm_s),
            swim_up: units(m.swim_up_mm_s),
            max_fall: units(m.max_fall_mm_s),
            max_sink: units(m.max_sink_mm_s),
            // v² = 2gh, exact for the mean-velocity step.
            jump: isqrt(2 * gravity * units(m.jump_height_mm)),
            gravity,
            water_gravity: units(m.water_gravity_mm_s2),
            air_accel: units(m.air_accel_mm_s2),
        }
    }

    pub fn tick_ms(&self) -> u64 {
        self.tick_ms as u64
    }

    /// The farthest a body moves horizontally in one tick (units): the rules cap horizontal
    /// speed at the sprint, and a tick moves by the mean of two velocities, rounded.
    pub fn max_step(&self) -> i64 {
        (self.sprint * self.tick_ms + 999) / 1000 + 1
    }

    /// What `rate` (per second) amounts to in tick `tick`; see the module docs.
    pub fn per_tick(&self, rate: i64, tick: u64) -> i64 {
        self.share(rate, tick, 1000)
    }

    /// How far a body moves in tick `tick` whose velocity goes from `v0` to `v1` (units per
    /// second) over it: by their mean.
    pub fn displacement(&self, v0: i64, v1: i64, tick: u64) -> i64 {
        self.share(v0 + v1, tick, 2000)
    }

    /// `floor(q·(k+1)·ms/den) − floor(q·k·ms/den)` with `k = tick mod den`: shifting `k` by
    /// `den` adds `q·ms` to both floors, so the result depends only on `tick mod den`.
    fn share(&self, q: i64, tick: u64, den: i64) -> i64 {
        let k = (tick % den as u64) as i64;
        let at = |k: i64| (q * k * self.tick_ms).div_euclid(den);
        at(k + 1) - at(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_sums_exactly_over_any_run_of_ticks_at_any_tick_length() {
        for ms in [10u64, 16, 25, 33, 50, 100] {
            let p = Physics::new(&Movement::default(), ms);
            for start in [0u64, 999, 123_456_789] {
                let ticks = 10_000 / ms; // ten seconds
                let sum: i64 = (start..start + ticks).map(|t| p.per_tick(p.walk, t)).sum();
                let exact = p.walk * (ticks * ms) as i64 / 1000;
                assert!(
                    (sum - exact).abs() <= 1,
                    "{ms} ms from {start}: {sum} vs {exact}"
                );
            }
        }
    }

    #[test]
    fn negative_rates_dither_the_same_way() {
        let p = Physics::new(&Movement::default(), 16);
        let sum: i64 = (0..625).map(|t| p.per_tick(-p.sprint, t)).sum();
        assert_eq!(sum, -p.sprint * 10);
    }

    #[test]
    fn the_jump_speed_lifts_the_feet_by_the_jump_height() {
        let p = Physics::default();
        let h = units(Movement::default().jump_height_mm);
        // v²/2g, within a unit of the isqrt's rounding.
        assert!((p.jump * p.jump / (2 * p.gravity) - h).abs() <= 1);
    }

    #[test]
    fn values_round_trip_in_field_order() {
        let m = Movement {
            jump_height_mm: 999,
            ..Movement::default()
        };
        assert_eq!(Movement::from_values(m.values()), m);
        assert_eq!(m.values()[9], 999);
    }

    #[test]
    fn values_out_of_range_are_named() {
        let mut m = Movement::default();
        assert_eq!(m.check(), Ok(()));
        m.gravity_mm_s2 = 0;
        assert_eq!(m.check().unwrap_err().name, "gravity_mm_s2");
        m = Movement {
            sprint_mm_s: MAX_SPEED_MM_S + 1,
            ..Movement::default()
        };
        assert_eq!(m.check().unwrap_err().name, "sprint_mm_s");
    }
}
