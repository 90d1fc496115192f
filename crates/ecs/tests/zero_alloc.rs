//! A steady-state tick (move every entity, change some health, commit with hooks) makes no
//! heap allocations once buffers have warmed up.

mod common;

use common::*;
use z3r0_mem::{CountingAllocator, count_allocations};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

#[test]
fn steady_state_tick_allocates_nothing() {
    let mut w = world();
    let mut receipts = Vec::with_capacity(4096);
    for i in 0..1000 {
        let e = w.spawn();
        w.insert(e, Pos(i, 0, 0)).unwrap();
        w.insert(e, Vel(1, 0, -1)).unwrap();
        w.insert(e, Health(100)).unwrap();
    }
    w.commit(&mut receipts);
    let mut tick = |t: i64, receipts: &mut Vec<Receipt>| {
        receipts.clear();
        let (pos, vel) = w.columns_mut::<Pos, Vel>().unwrap();
        for (_, mut p, v) in pos.join_mut(vel) {
            p.0 += v.0;
            p.2 += v.2;
        }
        let health = w.column_mut::<Health>().unwrap();
        for (e, mut h) in health.iter_mut() {
            if e.0 % 10 == t as u64 % 10 {
                h.0 = (h.0 + 1) % 100;
            }
        }
        w.commit(receipts)
    };
    for t in 0..5 {
        tick(t, &mut receipts);
    }
    let (_, stats) = count_allocations(|| {
        for t in 5..25 {
            tick(t, &mut receipts);
        }
    });
    assert!(receipts.len() >= 1000, "hooks ran: {}", receipts.len());
    assert_eq!(stats.heap_calls(), 0, "{stats:?}");
}
