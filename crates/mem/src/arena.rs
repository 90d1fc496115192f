use bumpalo::Bump;

/// Scratch memory that lives for exactly one tick.
///
/// Everything allocated during a tick is released at once by [`TickArena::reset`]. bumpalo keeps
/// its largest block across resets, so once the arena has grown to a tick's working set, later
/// ticks allocate nothing from the global allocator.
#[derive(Debug, Default)]
pub struct TickArena {
    bump: Bump,
    tick: u64,
    high_water: usize,
}

impl TickArena {
    /// An arena with `bytes` pre-allocated, so even the first ticks do not grow it.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            bump: Bump::with_capacity(bytes),
            tick: 0,
            high_water: 0,
        }
    }

    /// The allocator for the current tick. Values allocated here must not outlive the tick:
    /// the borrow checker enforces it, because [`TickArena::reset`] takes `&mut self`.
    pub fn bump(&self) -> &Bump {
        &self.bump
    }

    /// Ends the current tick: frees everything allocated in it.
    pub fn reset(&mut self) {
        self.high_water = self.high_water.max(self.bump.allocated_bytes());
        self.bump.reset();
        self.tick += 1;
    }

    /// Number of completed ticks.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// Bytes reserved by the arena's blocks right now.
    pub fn allocated_bytes(&self) -> usize {
        self.bump.allocated_bytes()
    }

    /// The most bytes any tick has reserved.
    pub fn high_water_bytes(&self) -> usize {
        self.high_water.max(self.bump.allocated_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bumpalo::collections::Vec as BumpVec;

    #[test]
    fn reset_releases_tick_data_and_keeps_capacity() {
        let mut arena = TickArena::with_capacity(1 << 16);
        for tick in 0..3u64 {
            let mut v = BumpVec::new_in(arena.bump());
            v.extend(0..1000u64);
            assert_eq!(v.iter().sum::<u64>(), 499_500);
            let x = arena.bump().alloc(tick);
            assert_eq!(*x, tick);
            drop(v);
            arena.reset();
        }
        assert_eq!(arena.tick(), 3);
        assert!(arena.allocated_bytes() >= 1 << 16);
        assert!(arena.high_water_bytes() >= 8000);
    }
}
