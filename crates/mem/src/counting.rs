#![allow(unsafe_code)] // A global allocator is unsafe by definition; it only forwards and counts.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Heap activity seen on one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AllocStats {
    pub allocations: u64,
    pub reallocations: u64,
    pub deallocations: u64,
    pub bytes_allocated: u64,
}

impl AllocStats {
    /// Calls that obtained memory (fresh allocations and reallocations).
    pub fn heap_calls(&self) -> u64 {
        self.allocations + self.reallocations
    }

    fn since(self, earlier: AllocStats) -> AllocStats {
        AllocStats {
            allocations: self.allocations - earlier.allocations,
            reallocations: self.reallocations - earlier.reallocations,
            deallocations: self.deallocations - earlier.deallocations,
            bytes_allocated: self.bytes_allocated - earlier.bytes_allocated,
        }
    }
}

thread_local! {
    // Const-initialised cells without destructors: safe to touch from inside the allocator.
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
    static REALLOCS: Cell<u64> = const { Cell::new(0) };
    static DEALLOCS: Cell<u64> = const { Cell::new(0) };
    static BYTES: Cell<u64> = const { Cell::new(0) };
}

fn bump(counter: &'static std::thread::LocalKey<Cell<u64>>, by: u64) {
    // `try_with` because the allocator runs during thread teardown too.
    let _ = counter.try_with(|c| c.set(c.get().wrapping_add(by)));
}

fn read(counter: &'static std::thread::LocalKey<Cell<u64>>) -> u64 {
    counter.try_with(Cell::get).unwrap_or(0)
}

/// A global allocator that forwards to `A` (the system allocator by default) and counts calls
/// per thread. Install it in a test or bench binary:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: z3r0_mem::CountingAllocator = z3r0_mem::CountingAllocator::system();
/// ```
///
/// Counts are per thread, so other test threads do not disturb a measurement.
#[derive(Debug, Default)]
pub struct CountingAllocator<A = System> {
    inner: A,
}

impl CountingAllocator<System> {
    pub const fn system() -> Self {
        Self { inner: System }
    }
}

impl<A> CountingAllocator<A> {
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

// SAFETY: every method forwards to the wrapped allocator with the caller's arguments unchanged;
// the counting touches only thread-local cells and never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump(&ALLOCS, 1);
        bump(&BYTES, layout.size() as u64);
        // SAFETY: forwarded contract.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump(&ALLOCS, 1);
        bump(&BYTES, layout.size() as u64);
        // SAFETY: forwarded contract.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        bump(&DEALLOCS, 1);
        // SAFETY: forwarded contract.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump(&REALLOCS, 1);
        bump(&BYTES, new_size.saturating_sub(layout.size()) as u64);
        // SAFETY: forwarded contract.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}

/// Totals for the calling thread since it started (all zero unless a [`CountingAllocator`] is
/// the global allocator).
pub fn thread_alloc_stats() -> AllocStats {
    AllocStats {
        allocations: read(&ALLOCS),
        reallocations: read(&REALLOCS),
        deallocations: read(&DEALLOCS),
        bytes_allocated: read(&BYTES),
    }
}

/// Runs `f` and returns what it did to the heap on this thread.
pub fn count_allocations<R>(f: impl FnOnce() -> R) -> (R, AllocStats) {
    let before = thread_alloc_stats();
    let result = f();
    (result, thread_alloc_stats().since(before))
}
