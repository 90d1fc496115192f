//! Memory primitives for Z3R0: pools, per-tick arenas and allocation counting.
//!
//! See the crate README for what each piece is for.

mod arena;
mod counting;
mod pool;

pub use arena::TickArena;
pub use counting::{AllocStats, CountingAllocator, count_allocations, thread_alloc_stats};
pub use pool::{Handle, Pool, PoolError};
