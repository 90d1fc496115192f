use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// Why a pool operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("pool is full ({capacity} slots in use)")]
    Full { capacity: usize },
    #[error(
        "handle refers to slot {index}, which was freed or reused (handle generation {generation})"
    )]
    Stale { index: u32, generation: u32 },
    #[error("handle refers to slot {index}, outside this pool of {capacity} slots")]
    OutOfRange { index: u32, capacity: usize },
}

/// A generational reference to a value in a [`Pool`].
///
/// A handle stays valid until its slot is freed; afterwards every access with it fails with
/// [`PoolError::Stale`], even once the slot holds a new value.
pub struct Handle<T> {
    index: u32,
    generation: u32,
    _marker: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    /// Slot index, dense in `0..capacity`: usable to index side tables.
    pub fn index(self) -> u32 {
        self.index
    }

    pub fn generation(self) -> u32 {
        self.generation
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}
impl<T> PartialEq for Handle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index && self.generation == other.generation
    }
}
impl<T> Eq for Handle<T> {}
impl<T> Hash for Handle<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.index.hash(state);
        self.generation.hash(state);
    }
}
impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({}v{})", self.index, self.generation)
    }
}

#[derive(Debug, Clone)]
struct Slot<T> {
    /// Even: free; odd: occupied. Bumped on every alloc and free, so a handle's generation
    /// (always odd) matches only while the allocation it came from is alive.
    generation: u32,
    value: T,
}

/// A fixed-capacity pool of pre-constructed values.
///
/// All memory for the slots is allocated by [`Pool::new`]. Allocation hands out a free slot
/// whose value the caller resets in place, so values owning heap buffers (a chunk's voxel
/// words, a mesh's quads) keep those buffers across reuse.
/// Cloning copies every slot and the free list: the copy hands out the same handles, each
/// valid in both (state forks rely on it).
#[derive(Debug, Clone)]
pub struct Pool<T> {
    slots: Box<[Slot<T>]>,
    /// Stack of free slot indices; its capacity is the pool's, so pushes never allocate.
    free: Vec<u32>,
}

impl<T> Pool<T> {
    /// Creates a pool of `capacity` slots, each holding `init()`.
    ///
    /// # Panics
    /// If `capacity` exceeds `u32::MAX` (a configuration error, not a runtime input).
    pub fn new(capacity: usize, mut init: impl FnMut() -> T) -> Self {
        assert!(
            u32::try_from(capacity).is_ok(),
            "pool capacity {capacity} exceeds u32"
        );
        let slots: Box<[Slot<T>]> = (0..capacity)
            .map(|_| Slot {
                generation: 0,
                value: init(),
            })
            .collect();
        // Pop order low-to-high so the pool fills from slot 0: deterministic and cache friendly.
        let free = (0..capacity as u32).rev().collect();
        Self { slots, free }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Number of allocated slots.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes a free slot and lets `reset` prepare the value left there by its previous user.
    pub fn alloc_with(&mut self, reset: impl FnOnce(&mut T)) -> Result<Handle<T>, PoolError> {
        let index = self.free.pop().ok_or(PoolError::Full {
            capacity: self.slots.len(),
        })?;
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        reset(&mut slot.value);
        Ok(Handle {
            index,
            generation: slot.generation,
            _marker: PhantomData,
        })
    }

    /// Takes a free slot and stores `value` in it (dropping the slot's previous value).
    pub fn insert(&mut self, value: T) -> Result<Handle<T>, PoolError> {
        self.alloc_with(|slot| *slot = value)
    }

    /// Returns the slot to the pool. Its value stays in place for the next user.
    pub fn free(&mut self, handle: Handle<T>) -> Result<(), PoolError> {
        self.check(handle)?;
        let slot = &mut self.slots[handle.index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        // A slot whose generation counter would wrap is retired: reusing it could make a very
        // old handle valid again.
        if slot.generation != u32::MAX - 1 {
            self.free.push(handle.index);
        }
        Ok(())
    }

    pub fn get(&self, handle: Handle<T>) -> Result<&T, PoolError> {
        self.check(handle)?;
        Ok(&self.slots[handle.index as usize].value)
    }

    pub fn get_mut(&mut self, handle: Handle<T>) -> Result<&mut T, PoolError> {
        self.check(handle)?;
        Ok(&mut self.slots[handle.index as usize].value)
    }

    pub fn contains(&self, handle: Handle<T>) -> bool {
        self.check(handle).is_ok()
    }

    /// Live values in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Handle<T>, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.generation.is_multiple_of(2))
            .map(|(i, s)| {
                (
                    Handle {
                        index: i as u32,
                        generation: s.generation,
                        _marker: PhantomData,
                    },
                    &s.value,
                )
            })
    }

    fn check(&self, handle: Handle<T>) -> Result<(), PoolError> {
        let slot = self
            .slots
            .get(handle.index as usize)
            .ok_or(PoolError::OutOfRange {
                index: handle.index,
                capacity: self.slots.len(),
            })?;
        if slot.generation != handle.generation || slot.generation.is_multiple_of(2) {
            return Err(PoolError::Stale {
                index: handle.index,
                generation: handle.generation,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_until_full_then_reuse() {
        let mut pool = Pool::new(2, Vec::<u8>::new);
        let a = pool.insert(vec![1]).unwrap();
        let b = pool.insert(vec![2]).unwrap();
        assert_eq!(pool.insert(vec![3]), Err(PoolError::Full { capacity: 2 }));
        assert_eq!(pool.len(), 2);
        pool.free(a).unwrap();
        let c = pool.alloc_with(|v| v.push(9)).unwrap();
        assert_eq!(c.index(), a.index());
        // The reused slot kept the previous user's buffer contents for the reset to handle.
        assert_eq!(pool.get(c).unwrap(), &vec![1, 9]);
        assert_eq!(pool.get(b).unwrap(), &vec![2]);
    }

    #[test]
    fn stale_handles_are_rejected() {
        let mut pool = Pool::new(1, || 0u32);
        let a = pool.insert(5).unwrap();
        pool.free(a).unwrap();
        assert!(matches!(pool.get(a), Err(PoolError::Stale { .. })));
        assert!(
            matches!(pool.free(a), Err(PoolError::Stale { .. })),
            "double free is refused"
        );
        let b = pool.insert(6).unwrap();
        assert_eq!(a.index(), b.index());
        assert!(matches!(pool.get_mut(a), Err(PoolError::Stale { .. })));
        assert_eq!(*pool.get(b).unwrap(), 6);
        assert!(!pool.contains(a));
    }

    #[test]
    fn forged_handle_out_of_range() {
        let pool = Pool::new(1, || 0u32);
        let forged = Handle::<u32> {
            index: 7,
            generation: 1,
            _marker: PhantomData,
        };
        assert_eq!(
            pool.get(forged),
            Err(PoolError::OutOfRange {
                index: 7,
                capacity: 1
            })
        );
    }

    #[test]
    fn slot_is_retired_before_generation_wraps() {
        let mut pool = Pool::new(1, || 0u32);
        // A free slot (even generation) two steps before the counter would wrap.
        pool.slots[0].generation = u32::MAX - 3;
        let a = pool.insert(1).unwrap();
        assert_eq!(a.generation(), u32::MAX - 2);
        pool.free(a).unwrap();
        assert_eq!(
            pool.insert(2),
            Err(PoolError::Full { capacity: 1 }),
            "slot retired"
        );
        assert!(matches!(pool.get(a), Err(PoolError::Stale { .. })));
    }

    #[test]
    fn iter_visits_live_values_in_slot_order() {
        let mut pool = Pool::new(4, || 0u32);
        let hs: Vec<_> = (0..4).map(|i| pool.insert(i * 10).unwrap()).collect();
        pool.free(hs[1]).unwrap();
        let live: Vec<u32> = pool.iter().map(|(_, v)| *v).collect();
        assert_eq!(live, vec![0, 20, 30]);
    }
}
