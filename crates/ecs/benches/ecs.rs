//! ECS benchmarks: iteration and add/remove next to `hecs` in the same run (the shapes of
//! ecs_bench_suite's simple_iter and add_remove), and the commitment cost per changed record.
//!
//! Run: `cargo bench -p z3r0-ecs`.
#![allow(clippy::unwrap_used, missing_debug_implementations)]

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use z3r0_ecs::{Component, World};

/// A component of `N` integers (the suite uses float vectors and a matrix; consensus state is
/// integer, so the same sizes in i64/i32).
macro_rules! vector_component {
    ($name:ident, $t:ty, $n:literal, $table:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        struct $name([$t; $n]);
        impl Write for $name {
            fn write(&self, buf: &mut impl BufMut) {
                for v in self.0 {
                    v.write(buf);
                }
            }
        }
        impl EncodeSize for $name {
            fn encode_size(&self) -> usize {
                $n * size_of::<$t>()
            }
        }
        impl Read for $name {
            type Cfg = ();
            fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
                let mut v = [0; $n];
                for x in &mut v {
                    *x = <$t>::read(buf)?;
                }
                Ok(Self(v))
            }
        }
        impl Component for $name {
            const TABLE: u16 = $table;
            const NAME: &'static str = stringify!($name);
        }
    };
}

vector_component!(Transform, i32, 16, 1);
vector_component!(Position, i64, 3, 2);
vector_component!(Rotation, i64, 3, 3);
vector_component!(Velocity, i64, 3, 4);
vector_component!(A, i64, 1, 5);
vector_component!(B, i64, 1, 6);

const ENTITIES: usize = 10_000;

fn ours_iter_world() -> World {
    let mut w = World::new();
    w.register::<Transform>().unwrap();
    w.register::<Position>().unwrap();
    w.register::<Rotation>().unwrap();
    w.register::<Velocity>().unwrap();
    for _ in 0..ENTITIES {
        let e = w.spawn();
        w.insert(e, Transform::default()).unwrap();
        w.insert(e, Position([0, 0, 0])).unwrap();
        w.insert(e, Rotation::default()).unwrap();
        w.insert(e, Velocity([1, 2, 3])).unwrap();
    }
    w.commit(&mut Vec::new());
    w
}

fn hecs_iter_world() -> hecs::World {
    let mut w = hecs::World::new();
    w.spawn_batch((0..ENTITIES).map(|_| {
        (
            Transform::default(),
            Position([0, 0, 0]),
            Rotation::default(),
            Velocity([1, 2, 3]),
        )
    }));
    w
}

fn bench_iter(c: &mut Criterion) {
    let mut g = c.benchmark_group("simple_iter");
    g.throughput(Throughput::Elements(ENTITIES as u64));
    let mut ours = ours_iter_world();
    g.bench_function("z3r0", |b| {
        b.iter(|| {
            let (pos, vel) = ours.columns_mut::<Position, Velocity>().unwrap();
            pos.join_mut_each(vel, |_, mut p, v| {
                for k in 0..3 {
                    p.0[k] += v.0[k];
                }
            })
        })
    });
    // The external iterator, for a plain `for` loop.
    g.bench_function("z3r0_for_loop", |b| {
        b.iter(|| {
            let (pos, vel) = ours.columns_mut::<Position, Velocity>().unwrap();
            for (_, mut p, v) in pos.join_mut(vel) {
                for k in 0..3 {
                    p.0[k] += v.0[k];
                }
            }
        })
    });
    let mut peer = hecs_iter_world();
    g.bench_function("hecs", |b| {
        b.iter(|| {
            for (p, v) in peer.query_mut::<(&mut Position, &Velocity)>() {
                for k in 0..3 {
                    p.0[k] += v.0[k];
                }
            }
        })
    });
    g.finish();
}

fn bench_add_remove(c: &mut Criterion) {
    let mut g = c.benchmark_group("add_remove");
    g.throughput(Throughput::Elements(ENTITIES as u64));
    g.bench_function("z3r0", |b| {
        b.iter_batched(
            || {
                let mut w = World::<()>::new();
                w.register::<A>().unwrap();
                w.register::<B>().unwrap();
                let es: Vec<_> = (0..ENTITIES)
                    .map(|_| {
                        let e = w.spawn();
                        w.insert(e, A([0])).unwrap();
                        e
                    })
                    .collect();
                w.commit(&mut Vec::new());
                (w, es)
            },
            |(mut w, es)| {
                for &e in &es {
                    w.insert(e, B([0])).unwrap();
                }
                for &e in &es {
                    w.remove::<B>(e).unwrap();
                }
                (w, es)
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("hecs", |b| {
        b.iter_batched(
            || {
                let mut w = hecs::World::new();
                let es: Vec<_> = (0..ENTITIES).map(|_| w.spawn((A([0]),))).collect();
                (w, es)
            },
            |(mut w, es)| {
                for &e in &es {
                    w.insert_one(e, B([0])).unwrap();
                }
                for &e in &es {
                    w.remove_one::<B>(e).unwrap();
                }
                (w, es)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn bench_commit(c: &mut Criterion) {
    let mut g = c.benchmark_group("commit");
    for (records, changed) in [(100_000usize, 1_000usize), (100_000, 10_000)] {
        let mut w = World::<()>::new();
        w.register::<Position>().unwrap();
        let es: Vec<_> = (0..records)
            .map(|i| {
                let e = w.spawn();
                w.insert(e, Position([i as i64, 0, 0])).unwrap();
                e
            })
            .collect();
        w.commit(&mut Vec::new());
        let mut receipts = Vec::new();
        let mut step = 0i64;
        g.throughput(Throughput::Elements(changed as u64));
        g.bench_function(format!("{changed}_of_{records}_records"), |b| {
            b.iter(|| {
                step += 1;
                let pos = w.column_mut::<Position>().unwrap();
                for &e in es.iter().step_by(records / changed) {
                    if let Some(mut p) = pos.get_mut(e) {
                        p.0[1] = step;
                    }
                }
                black_box(w.commit(&mut receipts));
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_iter, bench_add_remove, bench_commit);
criterion_main!(benches);
