//! Sub-allocation of large GPU buffers: ranges of elements (quads, chunk slots) handed out by
//! first fit from a free list that coalesces on free, so a buffer is reused as chunks load and
//! unload instead of growing.

use std::collections::BTreeMap;

/// A range allocator over `0..capacity` elements. Pure bookkeeping: the GPU buffer it describes
/// belongs to the caller, who grows it with [`RangeAllocator::grow`] when an allocation fails.
#[derive(Debug, Clone)]
pub struct RangeAllocator {
    capacity: u32,
    /// Free ranges, start → length; never adjacent (coalesced on free).
    free: BTreeMap<u32, u32>,
    /// Live allocations, start → length: a free must name one exactly.
    allocated: BTreeMap<u32, u32>,
    used: u32,
}

/// A freed range that was not allocated, or overlaps free space: a bookkeeping bug in the
/// caller, reported instead of corrupting the free list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("range {start}..{end} is not an allocated range", end = .start + .len)]
pub struct BadFree {
    pub start: u32,
    pub len: u32,
}

impl RangeAllocator {
    pub fn new(capacity: u32) -> Self {
        let mut free = BTreeMap::new();
        if capacity > 0 {
            free.insert(0, capacity);
        }
        Self {
            capacity,
            free,
            allocated: BTreeMap::new(),
            used: 0,
        }
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Elements currently allocated.
    pub fn used(&self) -> u32 {
        self.used
    }

    /// Number of free ranges (1 for an empty allocator: a measure of fragmentation).
    pub fn free_ranges(&self) -> usize {
        self.free.len()
    }

    /// The largest allocation that would succeed now.
    #[cfg(test)]
    pub fn largest_free(&self) -> u32 {
        self.free.values().copied().max().unwrap_or(0)
    }

    /// First fit: the lowest free range that holds `len` elements. `None` when none does.
    pub fn alloc(&mut self, len: u32) -> Option<u32> {
        if len == 0 {
            return None;
        }
        let (&start, &size) = self.free.iter().find(|&(_, &size)| size >= len)?;
        self.free.remove(&start);
        if size > len {
            self.free.insert(start + len, size - len);
        }
        self.used += len;
        self.allocated.insert(start, len);
        Some(start)
    }

    /// Returns `start..start + len` to the free list, merging it with free neighbours.
    pub fn free(&mut self, start: u32, len: u32) -> Result<(), BadFree> {
        let bad = BadFree { start, len };
        if self.allocated.get(&start) != Some(&len) {
            return Err(bad);
        }
        self.allocated.remove(&start);
        let end = start + len;
        let before = self.free.range(..start).next_back().map(|(&s, &l)| (s, l));
        let after = self.free.range(end..).next().map(|(&s, &l)| (s, l));
        let (mut new_start, mut new_len) = (start, len);
        if let Some((s, l)) = before
            && s + l == start
        {
            self.free.remove(&s);
            new_start = s;
            new_len += l;
        }
        if let Some((s, l)) = after
            && s == end
        {
            self.free.remove(&s);
            new_len += l;
        }
        self.free.insert(new_start, new_len);
        self.used -= len;
        Ok(())
    }

    /// Extends the space to `new_capacity` elements (the caller has grown its buffer).
    pub fn grow(&mut self, new_capacity: u32) {
        if new_capacity <= self.capacity {
            return;
        }
        let added = new_capacity - self.capacity;
        let tail = self
            .free
            .iter()
            .next_back()
            .map(|(&s, &l)| (s, l))
            .filter(|&(s, l)| s + l == self.capacity);
        match tail {
            Some((s, l)) => {
                self.free.insert(s, l + added);
            }
            None => {
                self.free.insert(self.capacity, added);
            }
        }
        self.capacity = new_capacity;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_reuses_freed_space_and_coalesces() {
        let mut a = RangeAllocator::new(100);
        let x = a.alloc(10).unwrap();
        let y = a.alloc(20).unwrap();
        let z = a.alloc(30).unwrap();
        assert_eq!((x, y, z), (0, 10, 30));
        a.free(y, 20).unwrap();
        assert_eq!(a.alloc(15), Some(10), "the hole is reused");
        a.free(10, 15).unwrap();
        a.free(x, 10).unwrap();
        a.free(z, 30).unwrap();
        assert_eq!(a.used(), 0);
        assert_eq!(a.free_ranges(), 1, "everything merged back");
        assert_eq!(a.largest_free(), 100);
    }

    #[test]
    fn bad_frees_are_refused_and_change_nothing() {
        let mut a = RangeAllocator::new(64);
        let x = a.alloc(8).unwrap();
        assert!(a.free(x + 8, 8).is_err(), "never allocated");
        assert!(a.free(x, 0).is_err());
        assert!(a.free(60, 8).is_err(), "out of bounds");
        let y = a.alloc(8).unwrap();
        assert!(a.free(x, 4).is_err(), "part of an allocation");
        assert!(a.free(x, 16).is_err(), "two allocations at once");
        a.free(y, 8).unwrap();
        a.free(x, 8).unwrap();
        assert!(a.free(x, 8).is_err(), "double free");
        assert_eq!(a.largest_free(), 64);
    }

    #[test]
    fn grow_extends_the_tail_range() {
        let mut a = RangeAllocator::new(16);
        assert_eq!(a.alloc(16), Some(0));
        assert_eq!(a.alloc(1), None);
        a.grow(32);
        assert_eq!(a.alloc(16), Some(16));
        a.free(0, 16).unwrap();
        a.free(16, 16).unwrap();
        a.grow(48);
        assert_eq!(a.free_ranges(), 1);
        assert_eq!(a.largest_free(), 48);
    }
}
