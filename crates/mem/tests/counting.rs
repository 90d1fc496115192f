//! The counting allocator installed for real, as tests of other crates use it.

use z3r0_mem::{CountingAllocator, Pool, TickArena, count_allocations};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

#[test]
fn counts_heap_activity_of_the_closure() {
    let (v, stats) = count_allocations(|| {
        let mut v = Vec::<u64>::with_capacity(4);
        v.extend([1, 2, 3, 4, 5]); // forces one reallocation
        v
    });
    assert_eq!(v.len(), 5);
    assert_eq!(stats.allocations, 1);
    assert_eq!(stats.reallocations, 1);
    assert!(stats.bytes_allocated >= 40);
    drop(v);
}

#[test]
fn steady_state_pool_and_arena_loop_allocates_nothing() {
    let mut pool = Pool::new(64, || Vec::<u32>::with_capacity(256));
    let mut arena = TickArena::with_capacity(1 << 20);
    let mut handles = Vec::with_capacity(64);
    let mut run_tick = |pool: &mut Pool<Vec<u32>>, arena: &mut TickArena| {
        for i in 0..64u32 {
            let h = pool
                .alloc_with(|v| {
                    v.clear();
                    v.extend(0..200 + i);
                })
                .unwrap();
            handles.push(h);
        }
        let scratch = arena.bump().alloc_slice_fill_copy(10_000, 7u32);
        let total: u64 = scratch.iter().map(|&x| u64::from(x)).sum();
        assert_eq!(total, 70_000);
        for h in handles.drain(..) {
            pool.free(h).unwrap();
        }
        arena.reset();
    };
    // Warm-up: freed slots come back in reverse order, so two ticks let every slot reach the
    // largest size any tick asks of it.
    run_tick(&mut pool, &mut arena);
    run_tick(&mut pool, &mut arena);
    let ((), stats) = count_allocations(|| {
        for _ in 0..100 {
            run_tick(&mut pool, &mut arena);
        }
    });
    assert_eq!(stats.heap_calls(), 0, "steady state allocated: {stats:?}");
}

#[test]
fn counting_is_per_thread() {
    let ((), stats) = count_allocations(|| {
        std::thread::spawn(|| {
            let v: Vec<u8> = vec![0; 1 << 20];
            v.len()
        })
        .join()
        .unwrap();
    });
    // Spawning allocates on this thread (the thread handle), but the 1 MiB buffer was
    // allocated on the child thread and is not counted here.
    assert!(stats.bytes_allocated < 1 << 20, "{stats:?}");
}
