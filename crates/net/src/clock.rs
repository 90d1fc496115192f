//! The chain's tick as a player can tell it, for aiming inputs.
//!
//! The genesis fixes when each tick starts, but a loaded chain runs behind that clock (up to the
//! pacing's skew allowance before it skips ticks), and the player's own clock may be off. Inputs
//! aimed at the clock's tick then wait in the mempool until the chain gets there: every tick the
//! chain lags is a tick of input latency. So the clock's reading is corrected by the lag the
//! snapshots show: how long after its tick ended each one arrives.

use std::collections::VecDeque;

/// Ticks the estimate may run ahead of the newest finalized tick: snapshots trail the chain by
/// finality plus the one-way delay, and a few may be lost; inputs must still stay within the
/// mempool's lead (20 ticks) after the client's own lead is added.
pub const CLOCK_SLACK: u64 = 14;
/// Snapshot arrivals the lag is taken over. The least delay among them is the chain's lag plus
/// the least finality and transit; the more arrivals, the later a growing lag is seen.
const DELAY_SAMPLES: usize = 8;

/// Which tick a zone's chain is in now.
#[derive(Debug, Clone)]
pub struct ChainClock {
    genesis_ms: u64,
    tick_ms: u64,
    /// The newest finalized tick seen (0: none yet).
    newest: u64,
    /// Milliseconds from the end of a snapshot's tick to its arrival, newest last.
    delays: VecDeque<i64>,
    /// The estimate when the lag last changed: it never goes back, so inputs never aim at a
    /// tick older than one already aimed at.
    floor: u64,
}

impl ChainClock {
    pub fn new(genesis_ms: u64, tick_ms: u64) -> Self {
        Self {
            genesis_ms,
            tick_ms,
            newest: 0,
            delays: VecDeque::with_capacity(DELAY_SAMPLES),
            floor: 0,
        }
    }

    /// When tick 0 started, unix milliseconds.
    pub fn genesis_ms(&self) -> u64 {
        self.genesis_ms
    }

    /// This clock for a session moved to another node: the genesis, not what the old node's
    /// snapshots said. Their ticks are not proven, so a lying node could have pushed the
    /// estimate (and its floor) far ahead; the new node's snapshots set it again.
    pub fn resumed(&self) -> Self {
        Self::new(self.genesis_ms, self.tick_ms)
    }

    /// A snapshot of `tick` arrived at `now_ms` (unix milliseconds).
    pub fn observe(&mut self, tick: u64, now_ms: u64) {
        if tick <= self.newest {
            // An older snapshot says nothing about where the chain is now.
            return;
        }
        self.floor = self.tick(now_ms);
        self.newest = tick;
        if self.tick_ms == 0 {
            return;
        }
        let ended = self
            .genesis_ms
            .saturating_add(tick.saturating_add(1).saturating_mul(self.tick_ms));
        let delay = i64::try_from(now_ms)
            .unwrap_or(i64::MAX)
            .saturating_sub(i64::try_from(ended).unwrap_or(i64::MAX));
        if self.delays.len() == DELAY_SAMPLES {
            self.delays.pop_front();
        }
        self.delays.push_back(delay);
    }

    /// The tick the chain is in at `now_ms`: the clock's, less the lag the snapshots show,
    /// never before the tick after the newest snapshot nor more than [`CLOCK_SLACK`] past it,
    /// and never before an earlier reading. Unpaced chains (no clock) are at the tick after the
    /// newest seen.
    pub fn tick(&self, now_ms: u64) -> u64 {
        let Some(elapsed) = now_ms.checked_sub(self.genesis_ms) else {
            return self.newest.saturating_add(1);
        };
        if self.tick_ms == 0 {
            return self.newest.saturating_add(1);
        }
        if self.newest == 0 {
            return elapsed / self.tick_ms;
        }
        let at = elapsed.saturating_sub(self.lag_ms()) / self.tick_ms;
        let low = self.newest.saturating_add(1);
        at.max(self.floor)
            .clamp(low, low.saturating_add(CLOCK_SLACK))
    }

    /// How far the chain runs behind this clock: the least delay of the recent snapshots, less
    /// half a tick for finality and transit (which an on-time chain takes too).
    fn lag_ms(&self) -> u64 {
        let least = self.delays.iter().copied().min().unwrap_or(0);
        let half_tick = i64::try_from(self.tick_ms / 2).unwrap_or(i64::MAX);
        u64::try_from(least.saturating_sub(half_tick)).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENESIS: u64 = 1_000_000;
    const TICK: u64 = 50;

    /// When tick `t` ends.
    fn end(t: u64) -> u64 {
        GENESIS + (t + 1) * TICK
    }

    #[test]
    fn a_chain_on_time_is_at_the_clocks_tick() {
        let mut clock = ChainClock::new(GENESIS, TICK);
        for t in 100..110 {
            // Finalized and delivered 8 ms after its tick ended.
            clock.observe(t, end(t) + 8);
        }
        assert_eq!(clock.tick(end(109) + 8), 110);
        assert_eq!(clock.tick(end(109) + 40), 110);
        assert_eq!(clock.tick(end(110) + 1), 111);
    }

    #[test]
    fn a_chain_behind_the_clock_is_aimed_at_where_it_is() {
        let mut clock = ChainClock::new(GENESIS, TICK);
        // Five ticks behind: block `t` closes when the clock is at the end of `t + 5`.
        for t in 100..110 {
            clock.observe(t, end(t + 5) + 8);
        }
        // The chain is building 110 now, not the clock's 115.
        assert_eq!(clock.tick(end(114) + 8), 110);
        assert_eq!(clock.tick(end(115) + 8), 111);
    }

    #[test]
    fn the_estimate_never_goes_back_when_the_lag_grows() {
        let mut clock = ChainClock::new(GENESIS, TICK);
        for t in 100..110 {
            clock.observe(t, end(t) + 8);
        }
        let before = clock.tick(end(112));
        // The chain falls three ticks behind.
        clock.observe(110, end(113) + 8);
        let mut last = before;
        for ms in (end(113) + 8..end(120)).step_by(10) {
            let now = clock.tick(ms);
            assert!(now >= last, "{now} after {last}");
            last = now;
        }
    }

    #[test]
    fn a_fast_local_clock_is_corrected_and_a_slow_one_clamped() {
        // This clock reads 400 ms (8 ticks) ahead of the validators'.
        let mut fast = ChainClock::new(GENESIS, TICK);
        for t in 100..110 {
            fast.observe(t, end(t) + 8 + 400);
        }
        assert_eq!(fast.tick(end(109) + 8 + 400), 110);
        // This one reads 400 ms behind: the chain is past its clock, so the tick after the
        // newest snapshot.
        let mut slow = ChainClock::new(GENESIS, TICK);
        for t in 100..110 {
            slow.observe(t, end(t) + 8 - 400);
        }
        assert_eq!(slow.tick(end(109) + 8 - 400), 110);
    }

    #[test]
    fn a_moved_session_keeps_the_genesis_not_a_lying_nodes_ticks() {
        let mut clock = ChainClock::new(GENESIS, TICK);
        // A node claims a snapshot far past the clock.
        clock.observe(1_000_000, end(100));
        assert!(clock.tick(end(100) + 1) > 1_000_000);
        let moved = clock.resumed();
        assert_eq!(moved.genesis_ms(), GENESIS);
        assert_eq!(moved.tick(end(100) + 1), 101);
    }

    #[test]
    fn before_any_snapshot_the_clock_is_all_there_is() {
        let clock = ChainClock::new(GENESIS, TICK);
        assert_eq!(clock.tick(end(41) + 1), 42);
        let unpaced = ChainClock::new(GENESIS, 0);
        assert_eq!(unpaced.tick(end(41)), 1);
    }
}
