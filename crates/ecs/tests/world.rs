//! Behaviour of the deterministic store: order, hooks and receipts, commitment, proofs,
//! snapshots, errors.

mod common;

use common::*;
use proptest::prelude::*;
use z3r0_ecs::{
    Alive, Component, EcsError, EntityId, Schedule, SnapshotError, World, verify_absent_record,
    verify_record,
};

#[test]
fn iteration_is_in_entity_id_order_whatever_the_insert_order() {
    let mut w = world();
    let es: Vec<EntityId> = (0..600).map(|_| w.spawn()).collect();
    // Insert in a scrambled order that crosses pages.
    for i in [599usize, 3, 257, 0, 300, 256, 42, 511, 1] {
        w.insert(es[i], Pos(i as i64, 0, 0)).unwrap();
        if i % 2 == 1 {
            w.insert(es[i], Vel(1, 0, 0)).unwrap();
        }
    }
    let order: Vec<u64> = w
        .column::<Pos>()
        .unwrap()
        .iter()
        .map(|(e, _)| e.0)
        .collect();
    assert_eq!(order, [0, 1, 3, 42, 256, 257, 300, 511, 599]);
    let (pos, vel) = w.columns_mut::<Pos, Vel>().unwrap();
    let joined: Vec<u64> = pos.join_mut(vel).map(|(e, _, _)| e.0).collect();
    assert_eq!(joined, [1, 3, 257, 511, 599]);
    let read: Vec<u64> = w
        .column::<Pos>()
        .unwrap()
        .join(w.column::<Vel>().unwrap())
        .map(|(e, _, _)| e.0)
        .collect();
    assert_eq!(read, joined);
}

#[test]
fn hooks_emit_receipts_for_real_changes_only_in_table_then_entity_order() {
    let mut w = world();
    let mut receipts = Vec::new();
    let a = w.spawn();
    let b = w.spawn();
    w.insert(b, Health(50)).unwrap();
    w.insert(a, Health(90)).unwrap();
    w.insert(a, Pos(0, 0, 0)).unwrap();
    w.commit(&mut receipts);
    assert_eq!(
        receipts,
        [
            Receipt::Spawned(a),
            Receipt::Spawned(b),
            Receipt::HealthSet(a, 90),
            Receipt::HealthSet(b, 50),
        ]
    );

    // A write of the same value, an insert removed again, and a read-only borrow: no receipts.
    receipts.clear();
    let root = w.root();
    *w.get_mut::<Health>(a).unwrap() = Health(90);
    w.insert(b, Pos(1, 1, 1)).unwrap();
    w.remove::<Pos>(b).unwrap();
    let _ = w.get_mut::<Pos>(a).unwrap().0;
    assert!(w.has_changes());
    assert_eq!(w.commit(&mut receipts), root);
    assert!(receipts.is_empty());
    assert!(!w.has_changes());

    // A change, a removal reporting the last value, and a despawn removing everything.
    w.get_mut::<Pos>(a).unwrap().0 = 5;
    w.get_mut::<Health>(b).unwrap().0 = 10;
    assert_eq!(w.remove::<Health>(b).unwrap(), Some(Health(10)));
    w.despawn(a).unwrap();
    assert!(!w.is_alive(a));
    assert_eq!(w.get::<Pos>(a), None);
    w.commit(&mut receipts);
    assert_eq!(
        receipts,
        [
            Receipt::Despawned(a),
            Receipt::HealthGone(a, 90),
            Receipt::HealthGone(b, 10),
        ]
    );
    // Pos of `a` changed and was then removed with the entity: the removal wins, and Pos has no
    // removal receipt in this game.
}

#[test]
fn root_depends_on_state_not_history() {
    let mut w1 = world();
    let mut r = Vec::new();
    let es: Vec<_> = (0..10).map(|_| w1.spawn()).collect();
    for (i, &e) in es.iter().enumerate() {
        w1.insert(e, Pos(i as i64, 0, 0)).unwrap();
        w1.commit(&mut r);
    }
    for &e in &es[..5] {
        w1.get_mut::<Pos>(e).unwrap().1 = 7;
        w1.insert(e, Health(3)).unwrap();
    }
    w1.commit(&mut r);
    w1.despawn(es[9]).unwrap();
    let root1 = w1.commit(&mut r);

    // Same final state, reached in one commit and a different insertion order.
    let mut w2 = world();
    let es2: Vec<_> = (0..10).map(|_| w2.spawn()).collect();
    for i in (0..9).rev() {
        let y = if i < 5 { 7 } else { 0 };
        w2.insert(es2[i], Pos(i as i64, y, 0)).unwrap();
        if i < 5 {
            w2.insert(es2[i], Health(3)).unwrap();
        }
    }
    w2.despawn(es2[9]).unwrap();
    assert_eq!(w2.commit(&mut r), root1);

    // A freed id is reused: spawning and despawning it again leaves the root as it was...
    let e = w2.spawn();
    assert_eq!(e, es2[9]);
    w2.despawn(e).unwrap();
    assert_eq!(w2.commit(&mut r), root1);
    // ...while the id counter is state: a new id beyond it changes the root.
    let (a, b) = (w2.spawn(), w2.spawn());
    assert_eq!((a, b), (es2[9], EntityId(10)));
    w2.despawn(a).unwrap();
    w2.despawn(b).unwrap();
    assert_ne!(w2.commit(&mut r), root1);
}

/// Ids are reused, lowest first, once the commit that removed their entity is done: the id
/// space stays as large as the most entities live at once, however many come and go.
#[test]
fn entity_ids_are_reused_after_a_commit() {
    let mut w = world();
    let mut r = Vec::new();
    let es: Vec<_> = (0..4).map(|_| w.spawn()).collect();
    w.commit(&mut r);
    w.despawn(es[2]).unwrap();
    w.despawn(es[0]).unwrap();
    // Not within the commit that removed them.
    assert_eq!(w.spawn(), EntityId(4));
    w.commit(&mut r);
    assert_eq!(w.next_entity(), es[0]);
    assert_eq!(
        (w.spawn(), w.spawn(), w.spawn()),
        (es[0], es[2], EntityId(5))
    );
    w.commit(&mut r);
    // Ten thousand players coming and going, a hundred at a time.
    for _ in 0..100 {
        let batch: Vec<_> = (0..100).map(|_| w.spawn()).collect();
        for e in &batch {
            w.insert(*e, Pos(1, 2, 3)).unwrap();
        }
        w.commit(&mut r);
        for e in batch {
            w.despawn(e).unwrap();
        }
        w.commit(&mut r);
    }
    assert_eq!(
        w.id_space(),
        106,
        "the id space follows the peak, not the history"
    );
    // A restored world reuses the same ids as the original.
    let mut snap = Vec::new();
    w.snapshot(&mut snap).unwrap();
    let mut restored = world();
    restored.restore(&snap).unwrap();
    for _ in 0..3 {
        assert_eq!(restored.spawn(), w.spawn());
    }
}

#[test]
fn a_spawn_taken_back_leaves_the_world_as_it_was() {
    let mut w = world();
    let mut r = Vec::new();
    let es: Vec<_> = (0..3).map(|_| w.spawn()).collect();
    w.insert(es[1], Pos(1, 1, 1)).unwrap();
    w.commit(&mut r);
    w.despawn(es[0]).unwrap();
    w.commit(&mut r);
    r.clear();
    let (root, next) = (w.root(), w.next_entity());
    // A reused id, then a new one, with components, taken back in reverse order.
    let reused = w.spawn_revertible();
    let fresh = w.spawn_revertible();
    let last = w.spawn_revertible();
    assert_eq!((reused.entity, fresh.entity), (es[0], EntityId(3)));
    w.insert(fresh.entity, Pos(2, 2, 2)).unwrap();
    w.insert(reused.entity, Health(9)).unwrap();
    assert!(matches!(w.unspawn(fresh), Err(EcsError::NotLatestSpawn(_))));
    w.unspawn(last).unwrap();
    w.unspawn(fresh).unwrap();
    w.unspawn(reused).unwrap();
    assert!(matches!(w.unspawn(reused), Err(EcsError::NotAlive(_))));
    assert_eq!(w.next_entity(), next);
    assert_eq!(w.commit(&mut r), root, "the same root, the same counter");
    assert!(r.is_empty(), "no receipt for what never was: {r:?}");
    assert_eq!((w.spawn(), w.spawn()), (es[0], EntityId(3)));
}

#[test]
fn record_proofs_verify_against_the_root() {
    let mut w = world();
    let mut r = Vec::new();
    let es: Vec<_> = (0..300).map(|_| w.spawn()).collect();
    for (i, &e) in es.iter().enumerate() {
        w.insert(e, Pos(i as i64, -(i as i64), 3)).unwrap();
    }
    let root = w.commit(&mut r);
    let e = es[123];
    let proof = w.prove::<Pos>(e).unwrap().unwrap();
    verify_record(&proof, &root, e, &Pos(123, -123, 3)).unwrap();
    assert!(verify_record(&proof, &root, e, &Pos(123, -123, 4)).is_err());
    assert!(verify_record(&proof, &root, es[124], &Pos(123, -123, 3)).is_err());
    assert!(w.prove::<Health>(e).unwrap().is_none());
    assert_eq!(
        w.prove::<Unregistered>(e),
        Err(EcsError::Unregistered("unregistered"))
    );
    // After a change, the old proof fails against the new root and a new one verifies.
    w.get_mut::<Pos>(e).unwrap().2 = 9;
    let root2 = w.commit(&mut r);
    assert!(verify_record(&proof, &root2, e, &Pos(123, -123, 3)).is_err());
    let proof2 = w.prove::<Pos>(e).unwrap().unwrap();
    verify_record(&proof2, &root2, e, &Pos(123, -123, 9)).unwrap();
    // A record that is not there is proven absent; once removed, so is this one.
    assert!(w.prove_absent::<Pos>(e).unwrap().is_none());
    let none = w.prove_absent::<Health>(e).unwrap().unwrap();
    verify_absent_record::<Health>(&none, &root2, e).unwrap();
    assert!(verify_absent_record::<Pos>(&none, &root2, e).is_err());
    w.remove::<Pos>(e).unwrap();
    let root3 = w.commit(&mut r);
    let gone = w.prove_absent::<Pos>(e).unwrap().unwrap();
    verify_absent_record::<Pos>(&gone, &root3, e).unwrap();
    assert!(verify_absent_record::<Pos>(&gone, &root2, e).is_err());
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Unregistered;
impl commonware_codec::Write for Unregistered {
    fn write(&self, _: &mut impl bytes::BufMut) {}
}
impl commonware_codec::EncodeSize for Unregistered {
    fn encode_size(&self) -> usize {
        0
    }
}
impl commonware_codec::Read for Unregistered {
    type Cfg = ();
    fn read_cfg(
        _: &mut impl commonware_codec::Buf,
        _: &(),
    ) -> Result<Self, commonware_codec::Error> {
        Ok(Unregistered)
    }
}
impl Component for Unregistered {
    const TABLE: u16 = 99;
    const NAME: &'static str = "unregistered";
}

#[test]
fn typed_errors_for_misuse() {
    let mut w = world();
    assert_eq!(
        w.register::<Pos>(),
        Err(EcsError::AlreadyRegistered { name: "pos" })
    );
    let dead = EntityId(5);
    assert_eq!(w.insert(dead, Pos(0, 0, 0)), Err(EcsError::NotAlive(dead)));
    assert_eq!(w.despawn(dead), Err(EcsError::NotAlive(dead)));
    let e = w.spawn();
    assert_eq!(
        w.insert(e, Unregistered),
        Err(EcsError::Unregistered("unregistered"))
    );
    assert_eq!(
        w.remove::<Alive>(e),
        Err(EcsError::ReservedTable {
            table: 0,
            name: "alive"
        })
    );
    assert!(matches!(
        w.columns_mut::<Pos, Pos>(),
        Err(EcsError::SameColumn("pos"))
    ));
    let mut snap = Vec::new();
    assert_eq!(w.snapshot(&mut snap), Err(EcsError::Uncommitted));
}

/// Applies a scripted mix of operations; the stream may be arbitrary (and hostile): every op
/// either applies or returns a typed error.
#[derive(Debug, Clone)]
enum Op {
    Spawn,
    Despawn(u8),
    SetPos(u8, i64),
    SetVel(u8, i64),
    SetHealth(u8, u8),
    RemovePos(u8),
    RemoveHealth(u8),
    Commit,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Spawn),
        1 => any::<u8>().prop_map(Op::Despawn),
        4 => (any::<u8>(), -5i64..5).prop_map(|(e, v)| Op::SetPos(e, v)),
        2 => (any::<u8>(), -5i64..5).prop_map(|(e, v)| Op::SetVel(e, v)),
        2 => (any::<u8>(), 0u8..=100).prop_map(|(e, v)| Op::SetHealth(e, v)),
        1 => any::<u8>().prop_map(Op::RemovePos),
        1 => any::<u8>().prop_map(Op::RemoveHealth),
        2 => Just(Op::Commit),
    ]
}

fn apply(w: &mut World<Receipt>, op: &Op, receipts: &mut Vec<Receipt>) {
    // Entity ids in ops are taken modulo a little more than what exists, so some are dead.
    let pick = |w: &World<Receipt>, e: u8| EntityId(u64::from(e) % (w.id_space() + 2));
    let _ = match *op {
        Op::Spawn => {
            w.spawn();
            Ok(())
        }
        Op::Despawn(e) => w.despawn(pick(w, e)),
        Op::SetPos(e, v) => {
            let e = pick(w, e);
            match w.get_mut::<Pos>(e) {
                Some(mut p) => {
                    p.0 += v;
                    Ok(())
                }
                None => w.insert(e, Pos(v, 0, 0)).map(drop),
            }
        }
        Op::SetVel(e, v) => w.insert(pick(w, e), Vel(v, v, v)).map(drop),
        Op::SetHealth(e, v) => w.insert(pick(w, e), Health(v)).map(drop),
        Op::RemovePos(e) => w.remove::<Pos>(pick(w, e)).map(drop),
        Op::RemoveHealth(e) => w.remove::<Health>(pick(w, e)).map(drop),
        Op::Commit => {
            w.commit(receipts);
            Ok(())
        }
    };
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Two independent runs of a random op stream agree at every commit; a world restored from a
    /// snapshot taken mid-stream continues to the same roots and receipts; and a world rebuilt
    /// from the final records alone has the same root.
    #[test]
    fn runs_replays_and_restores_agree(ops in prop::collection::vec(op(), 1..200), cut in 0usize..200) {
        let (mut a, mut b) = (world(), world());
        let (mut ra, mut rb) = (Vec::new(), Vec::new());
        let cut = cut % ops.len();
        let mut restored: Option<World<Receipt>> = None;
        let mut rr = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            apply(&mut a, op, &mut ra);
            apply(&mut b, op, &mut rb);
            if let Some(r) = restored.as_mut() {
                apply(r, op, &mut rr);
            }
            if matches!(op, Op::Commit) {
                prop_assert_eq!(a.root(), b.root());
                if let Some(r) = &restored {
                    prop_assert_eq!(r.root(), a.root());
                }
            }
            if i == cut {
                a.commit(&mut ra);
                b.commit(&mut rb);
                let mut snap = Vec::new();
                a.snapshot(&mut snap).unwrap();
                let mut r = world();
                prop_assert_eq!(r.restore(&snap).unwrap(), a.root());
                let mut again = Vec::new();
                r.snapshot(&mut again).unwrap();
                prop_assert_eq!(&again, &snap, "snapshot encoding is canonical");
                rr = ra.clone();
                restored = Some(r);
            }
        }
        let root = a.commit(&mut ra);
        prop_assert_eq!(b.commit(&mut rb), root);
        prop_assert_eq!(&ra, &rb);
        if let Some(mut r) = restored {
            prop_assert_eq!(r.commit(&mut rr), root);
            prop_assert_eq!(&rr, &ra);
        }

        // Rebuild from records only.
        let mut fresh = world();
        for _ in 0..a.id_space() {
            fresh.spawn();
        }
        for i in 0..a.id_space() {
            let e = EntityId(i);
            if !a.is_alive(e) {
                fresh.despawn(e).unwrap();
                continue;
            }
            if let Some(p) = a.get::<Pos>(e) { fresh.insert(e, *p).unwrap(); }
            if let Some(v) = a.get::<Vel>(e) { fresh.insert(e, *v).unwrap(); }
            if let Some(h) = a.get::<Health>(e) { fresh.insert(e, *h).unwrap(); }
        }
        prop_assert_eq!(fresh.commit(&mut Vec::new()), root);
    }

    /// Restoring arbitrary bytes, or a corrupted real snapshot, never panics, and a failed
    /// restore leaves the world exactly as it was.
    #[test]
    fn bad_snapshots_are_rejected_and_lose_nothing(
        ops in prop::collection::vec(op(), 1..60),
        junk in prop::collection::vec(any::<u8>(), 0..200),
        flip in any::<(usize, u8)>(),
        cut in any::<usize>(),
    ) {
        let mut w = world();
        let mut r = Vec::new();
        for op in &ops {
            apply(&mut w, op, &mut r);
        }
        let root = w.commit(&mut r);
        let mut snap = Vec::new();
        w.snapshot(&mut snap).unwrap();

        let mut corrupted = snap.clone();
        let at = flip.0 % corrupted.len();
        corrupted[at] ^= flip.1.max(1);
        let truncated = &snap[..cut % snap.len()];
        for bytes in [&junk[..], &corrupted[..], truncated] {
            let mut target = world();
            let e = target.spawn();
            target.insert(e, Health(1)).unwrap();
            let before = target.commit(&mut Vec::new());
            match target.restore(bytes) {
                Ok(restored) => {
                    // A flip may land in a value and still decode: then it is a valid, different state.
                    let mut again = Vec::new();
                    target.snapshot(&mut again).unwrap();
                    prop_assert_eq!(&again[..], bytes);
                    prop_assert_eq!(target.root(), restored);
                }
                Err(_) => {
                    prop_assert_eq!(target.root(), before);
                    prop_assert_eq!(target.get::<Health>(e), Some(&Health(1)));
                }
            }
        }
        let mut ok = world();
        prop_assert_eq!(ok.restore(&snap).unwrap(), root);
    }
}

#[test]
fn snapshot_errors_name_the_problem() {
    let mut w = world();
    let e = w.spawn();
    w.insert(e, Health(7)).unwrap();
    w.commit(&mut Vec::new());
    let mut snap = Vec::new();
    w.snapshot(&mut snap).unwrap();
    let mut fresh = world();
    assert_eq!(fresh.restore(b"nope"), Err(SnapshotError::Truncated));
    assert_eq!(fresh.restore(b"NOTECS\x01"), Err(SnapshotError::BadMagic));
    let mut bad = snap.clone();
    bad[6] = 9;
    assert_eq!(fresh.restore(&bad), Err(SnapshotError::Version(9)));
    // The health byte is the last one: 101 is out of the component's range.
    let mut bad = snap.clone();
    *bad.last_mut().unwrap() = 101;
    assert!(matches!(
        fresh.restore(&bad),
        Err(SnapshotError::Value { table: 7, .. })
    ));
    let mut bad = snap.clone();
    bad.push(0);
    assert_eq!(fresh.restore(&bad), Err(SnapshotError::TrailingBytes(1)));
    // A huge entity counter would make a restore allocate a huge page directory: refused.
    let mut bad = snap.clone();
    bad[7..15].copy_from_slice(&(1u64 << 40).to_be_bytes());
    assert_eq!(
        fresh.restore(&bad),
        Err(SnapshotError::CounterTooLarge(1 << 40))
    );
    // A world registering other components refuses the snapshot.
    let mut other = World::<Receipt>::new();
    other.register::<Pos>().unwrap();
    assert_eq!(
        other.restore(&snap),
        Err(SnapshotError::TableCount {
            found: 4,
            expected: 2
        })
    );
}

#[test]
fn schedule_runs_systems_in_the_order_added() {
    #[derive(Default)]
    struct S(Vec<&'static str>);
    let mut s = Schedule::<S>::new();
    s.add("input", |s| s.0.push("input"))
        .add("physics", |s| s.0.push("physics"))
        .add("edits", |s| s.0.push("edits"));
    let mut state = S::default();
    s.run(&mut state);
    s.run(&mut state);
    assert_eq!(
        state.0,
        ["input", "physics", "edits", "input", "physics", "edits"]
    );
    assert_eq!(s.names().collect::<Vec<_>>(), ["input", "physics", "edits"]);
}

#[test]
fn components_travel_as_bytes_to_another_world() {
    let mut from = world();
    let e = from.spawn();
    from.insert(e, Pos(1, 2, 3)).unwrap();
    from.insert(e, Vel(-4, 5, -6)).unwrap();
    from.insert(e, Health(77)).unwrap();
    let other = from.spawn();
    from.insert(other, Health(1)).unwrap();
    from.commit(&mut Vec::new());
    // Only the entity's own, from the table asked for up, by table.
    let carried = from.encoded_components(e, Vel::TABLE);
    assert_eq!(
        carried.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        vec![Vel::TABLE, Health::TABLE]
    );
    let fresh = from.spawn();
    assert_eq!(
        from.encoded_components(fresh, 0).len(),
        1,
        "a new entity is alive only"
    );
    let mut to = world();
    let arrived = to.spawn();
    for (table, bytes) in &carried {
        to.insert_encoded(arrived, *table, bytes).unwrap();
    }
    assert_eq!(to.get::<Vel>(arrived), Some(&Vel(-4, 5, -6)));
    assert_eq!(to.get::<Health>(arrived), Some(&Health(77)));
    assert_eq!(to.get::<Pos>(arrived), None);
}

#[test]
fn bytes_that_are_not_a_component_change_nothing() {
    let mut w = world();
    let e = w.spawn();
    w.insert(e, Health(9)).unwrap();
    let dead = w.spawn();
    w.despawn(dead).unwrap();
    w.commit(&mut Vec::new());
    let root = w.root();
    let health = w.encoded_components(e, Health::TABLE).remove(0).1;
    let mut longer = health.clone();
    longer.push(0);
    assert!(matches!(
        w.insert_encoded(e, Health::TABLE, &longer),
        Err(EcsError::Undecodable { table: 7, .. })
    ));
    assert!(matches!(
        w.insert_encoded(e, Vel::TABLE, &health),
        Err(EcsError::Undecodable { .. })
    ));
    assert_eq!(
        w.insert_encoded(e, 999, &health),
        Err(EcsError::NoSuchTable(999))
    );
    assert!(matches!(
        w.insert_encoded(e, Alive::TABLE, &[]),
        Err(EcsError::ReservedTable { table: 0, .. })
    ));
    assert_eq!(
        w.insert_encoded(dead, Health::TABLE, &health),
        Err(EcsError::NotAlive(dead))
    );
    w.commit(&mut Vec::new());
    assert_eq!(w.root(), root, "nothing was written");
    assert_eq!(w.get::<Health>(e), Some(&Health(9)));
}
