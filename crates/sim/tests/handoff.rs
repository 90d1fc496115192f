//! Certified handoff between two zones of a world, at the rules' level: bodies leave through
//! exit records, enter their neighbour from imports certified by the source committee, once
//! and in order, and the source forgets an exit only when the destination's state shows it
//! entered.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::two_zones::{WEST, Zone, committee_keys, walk, walk_out, zone};
use common::{ALICE, BOB};
use z3r0_chain::ChainId;
use z3r0_sim::handoff::{Exit, Import, ImportError, Record, zone_number};
use z3r0_sim::{Action, ImportRefusal, Receipt, Sim, SimConfig};
use z3r0_voxel::blocks;

#[test]
fn a_body_walks_across_and_enters_its_neighbour_once_with_what_it_carried() {
    let (mut a, mut b) = (zone(0), zone(1));
    let receipts = walk_out(&mut a, ALICE, 5);
    assert!(receipts.contains(&Receipt::Exited {
        player: ALICE,
        to: zone_number(1, 0),
        seq: 0
    }));
    assert!(
        a.sim.player(&ALICE).is_none(),
        "the source no longer has the body"
    );
    let (entity, exit) = a.only_exit();
    assert_eq!(exit.inventory.count(blocks::STONE), 5);
    assert!(exit.body.pos[0] >= 0, "its centre is across the border");

    let import = a.export(Record::Exit(exit.clone()), entity);
    b.sim.neighbours().verify(&import).unwrap();
    let receipts = b.tick(&[], std::slice::from_ref(&import));
    assert!(receipts.contains(&Receipt::Entered {
        player: ALICE,
        from: zone_number(0, 0),
        seq: 0,
        lost: 0
    }));
    let body = *b.sim.body(&ALICE).unwrap();
    assert_eq!(
        [body.pos[1], body.pos[2]],
        [exit.body.pos[1], exit.body.pos[2]]
    );
    assert_eq!(b.sim.inventory(&ALICE).unwrap().count(blocks::STONE), 5);
    // It keeps walking east in the new zone: its controls came along.
    b.tick(&[], &[]);
    assert!(b.sim.body(&ALICE).unwrap().pos[0] > body.pos[0]);

    // The same exit again, relayed at another height: refused, nothing duplicated.
    let again = a.export(Record::Exit(exit.clone()), entity);
    assert_eq!(
        b.sim.import_key(&again),
        None,
        "a pool would not even hold it"
    );
    let receipts = b.tick(&[], &[again]);
    assert!(receipts.iter().any(|r| matches!(
        r,
        Receipt::ImportRefused {
            reason: ImportRefusal::AlreadyEntered,
            ..
        }
    )));
    assert_eq!(b.sim.inventory(&ALICE).unwrap().count(blocks::STONE), 5);
}

/// An exit whose certified body stands outside the destination's columns (a source that
/// draws the border elsewhere, or a bug there) still enters, just inside the border, and the
/// exits after it on the same link are not held up behind it.
#[test]
fn a_body_certified_outside_the_zone_enters_inside_it_and_the_link_goes_on() {
    let (mut a, mut b) = (zone(0), zone(1));
    walk_out(&mut a, ALICE, 2);
    let (entity, _) = a.exits()[0];
    // Five voxels back on the source's side.
    a.sim.ecs.get_mut::<Exit>(entity).unwrap().body.pos[0] = -5 * 1024;
    a.tick(&[], &[]); // commits the record
    let (entity, exit) = a.only_exit();
    let first = a.export(Record::Exit(exit.clone()), entity);
    walk_out(&mut a, BOB, 0);
    let (bob_entity, bob_exit) = a
        .exits()
        .into_iter()
        .find(|(_, x)| x.player == BOB)
        .unwrap();
    let second = a.export(Record::Exit(bob_exit.clone()), bob_entity);

    let receipts = b.tick(&[], &[first, second]);
    for (player, seq) in [(ALICE, 0), (BOB, 1)] {
        assert!(
            receipts.contains(&Receipt::Entered {
                player,
                from: zone_number(0, 0),
                seq,
                lost: 0
            }),
            "{receipts:?}"
        );
    }
    let body = *b.sim.body(&ALICE).unwrap();
    assert!(body.pos[0] >= 0, "inside the border: {:?}", body.pos);
    assert_eq!(body.pos[2], exit.body.pos[2]);
    assert_eq!(b.sim.inventory(&ALICE).unwrap().count(blocks::STONE), 2);
    assert_eq!(b.link().unwrap().1.received, 2);
    // A body inside the columns, however near their edge, enters where it stood.
    let config = *b.sim.config();
    for inside in [
        [0, 9, 3],
        [32 * 1024 - 1, 9, -32 * 1024],
        [700, 9, 32 * 1024 - 1],
    ] {
        assert_eq!(config.nearest_inside(inside), inside);
    }
    assert_eq!(
        config.nearest_inside([-1, 9, 32 * 1024]),
        [0, 9, 32 * 1024 - 1]
    );
}

#[test]
fn the_source_forgets_an_exit_only_when_the_destination_shows_it_entered() {
    let (mut a, mut b) = (zone(0), zone(1));
    walk_out(&mut a, ALICE, 1);
    let (entity, exit) = a.only_exit();
    let import = a.export(Record::Exit(exit.clone()), entity);
    b.tick(&[], &[import]);
    let (link_entity, link) = b.link().unwrap();
    assert_eq!(link.received, 1);
    let ack = b.export(Record::Ack(link), link_entity);
    assert!(a.sim.import_key(&ack).is_some());
    a.tick(&[], std::slice::from_ref(&ack));
    assert!(a.exits().is_empty(), "acknowledged exits are deleted");
    assert_eq!(a.link().unwrap().1.acked, 1);
    let receipts = a.tick(&[], &[ack]);
    assert!(receipts.iter().any(|r| matches!(
        r,
        Receipt::ImportRefused {
            reason: ImportRefusal::Stale,
            ..
        }
    )));
}

#[test]
fn exits_enter_in_order_whatever_order_the_block_gives() {
    let (mut a, mut b) = (zone(0), zone(1));
    walk_out(&mut a, ALICE, 0);
    walk_out(&mut a, BOB, 2);
    let exits = a.exits();
    assert_eq!(exits.iter().map(|(_, x)| x.seq).collect::<Vec<_>>(), [0, 1]);
    let first = a.export(Record::Exit(exits[0].1.clone()), exits[0].0);
    let second = a.export(Record::Exit(exits[1].1.clone()), exits[1].0);
    // The second alone must wait for the first.
    let receipts = b.tick(&[], std::slice::from_ref(&second));
    assert!(receipts.iter().any(|r| matches!(
        r,
        Receipt::ImportRefused {
            reason: ImportRefusal::OutOfOrder,
            ..
        }
    )));
    assert!(b.sim.player(&BOB).is_none());
    // Both, second first: the rules sort them.
    b.tick(&[], &[second, first]);
    assert!(b.sim.player(&ALICE).is_some() && b.sim.player(&BOB).is_some());
    assert_eq!(b.sim.inventory(&BOB).unwrap().count(blocks::STONE), 2);
}

#[test]
fn forged_foreign_and_misaddressed_imports_are_refused_before_any_state_is_read() {
    let (mut a, b) = (zone(0), zone(1));
    walk_out(&mut a, ALICE, 3);
    let (entity, exit) = a.only_exit();
    let verify = |import: &Import| {
        b.sim
            .neighbours()
            .verify(&import.encode_to_vec())
            .map(|_| ())
    };

    // Signed by a committee that is not zone 0's (here zone 1's own).
    let (b_keys, a_chain) = (committee_keys(1), a.chain);
    let foreign = a.certify(Record::Exit(exit.clone()), entity, &b_keys, a_chain, 3);
    assert!(matches!(verify(&foreign), Err(ImportError::Finality(_))));
    // Zone 0's committee, but votes for another chain.
    let a_keys = a.keys.clone();
    let other_chain = a.certify(
        Record::Exit(exit.clone()),
        entity,
        &a_keys,
        ChainId([9; 32]),
        3,
    );
    assert!(matches!(
        verify(&other_chain),
        Err(ImportError::Finality(_))
    ));
    // Too few signers for a quorum of four.
    let short = a.certify(Record::Exit(exit.clone()), entity, &a_keys, a_chain, 2);
    assert!(matches!(verify(&short), Err(ImportError::Finality(_))));
    // More items than the exit carried: the proof no longer matches the root.
    let mut richer = a.certify(Record::Exit(exit.clone()), entity, &a_keys, a_chain, 3);
    let Record::Exit(mut fake) = richer.record else {
        unreachable!()
    };
    fake.inventory.add(blocks::GLASS);
    richer.record = Record::Exit(fake);
    assert!(matches!(verify(&richer), Err(ImportError::Proof(_))));
    // A record for a zone that is not this one.
    let mut elsewhere = a.certify(Record::Exit(exit.clone()), entity, &a_keys, a_chain, 3);
    let Record::Exit(mut away) = elsewhere.record else {
        unreachable!()
    };
    away.to = zone_number(5, 5);
    elsewhere.record = Record::Exit(away);
    assert!(matches!(
        verify(&elsewhere),
        Err(ImportError::NotForUs { .. })
    ));
    // From a zone that is no neighbour.
    let mut stranger = a.certify(Record::Exit(exit.clone()), entity, &a_keys, a_chain, 3);
    stranger.header.zone = zone_number(0, 7);
    assert!(matches!(
        verify(&stranger),
        Err(ImportError::NotANeighbour(_))
    ));
    // Bytes that are not an import.
    assert!(matches!(
        b.sim.neighbours().verify(&[1, 2, 3]),
        Err(ImportError::Decode(_))
    ));
    // The genuine one passes.
    let genuine = a.certify(Record::Exit(exit.clone()), entity, &a_keys, a_chain, 3);
    verify(&genuine).unwrap();

    // A block carrying forgeries applies none of them.
    let mut b = b;
    let receipts = b.tick(&[], &[foreign.encode_to_vec(), richer.encode_to_vec()]);
    let refused = receipts
        .iter()
        .filter(|r| {
            matches!(
                r,
                Receipt::ImportRefused {
                    reason: ImportRefusal::Unverified,
                    ..
                }
            )
        })
        .count();
    assert_eq!(refused, 2);
    assert!(b.sim.player(&ALICE).is_none());
}

#[test]
fn the_edge_of_the_world_is_still_a_wall() {
    let mut a = zone(0);
    a.tick(&[(ALICE, Action::Join)], &[]);
    a.tick(&[(ALICE, walk(WEST))], &[]);
    for _ in 0..300 {
        let receipts = a.tick(&[], &[]);
        assert!(!receipts.iter().any(|r| matches!(r, Receipt::Exited { .. })));
    }
    let x = a.sim.body(&ALICE).unwrap().pos[0];
    assert!(x >= -32 * 1024, "the body stays inside the world: x = {x}");
}

#[test]
fn a_zone_of_no_world_takes_no_imports() {
    let (mut a, _) = (zone(0), ());
    walk_out(&mut a, ALICE, 0);
    let (entity, exit) = a.only_exit();
    let import = a.export(Record::Exit(exit.clone()), entity);
    let lone = Sim::genesis(SimConfig::default()).unwrap();
    assert!(lone.neighbours().verify(&import).is_err());
    assert_eq!(lone.import_key(&import), None);
}

#[test]
fn a_zone_restored_from_a_checkpoint_still_knows_its_neighbours() {
    use z3r0_chain::{Snapshot as _, StateMachine as _};
    let (mut a, mut b) = (zone(0), zone(1));
    walk_out(&mut a, ALICE, 2);
    let (entity, exit) = a.only_exit();
    let import = a.export(Record::Exit(exit.clone()), entity);
    // Commits the arena's floor, laid outside the rules.
    b.tick(&[], &[]);
    // A validator restarting from a checkpoint restores its state from bytes: its neighbours
    // are configuration, not state, and must come along, or it refuses what its peers apply.
    let mut bytes = Vec::new();
    b.sim.snapshot(&mut bytes).unwrap();
    let restored = b.sim.restore(&bytes).unwrap();
    assert_eq!(restored.root(), b.sim.root());
    restored.check_import(&import).unwrap();
    assert!(restored.import_key(&import).is_some());
    // The checker a node uses outside its zone's lock answers as the state does, and keeps
    // answering after the state moved on (it holds the neighbours, not the state).
    let checker = restored.import_checker();
    checker(&import).unwrap();
    let mut bent = import.clone();
    let last = bent.len() - 1;
    bent[last] ^= 1;
    assert_eq!(checker(&bent), restored.check_import(&bent));
    assert!(checker(&bent).is_err());
    drop(restored);
    checker(&import).unwrap();
}

#[test]
fn time_in_transit_does_not_count_as_idleness() {
    let (mut a, mut b) = (zone(0), zone(1));
    walk_out(&mut a, ALICE, 4);
    let (entity, exit) = a.only_exit();
    let import = a.export(Record::Exit(exit.clone()), entity);
    // The destination ran on far past the player's timeout before the exit reached it.
    let timeout = b.sim.config().timeout_ticks;
    for _ in 0..timeout + 50 {
        b.tick(&[], &[]);
    }
    let receipts = b.tick(&[], &[import]);
    assert!(
        !receipts
            .iter()
            .any(|r| matches!(r, Receipt::TimedOut { player } if *player == ALICE)),
        "entered and timed out in the same block"
    );
    assert_eq!(b.sim.inventory(&ALICE).unwrap().count(blocks::STONE), 4);
}

#[test]
fn pools_hold_only_exits_near_the_next_one_due() {
    let mut a = zone(0);
    let b = zone(1);
    walk_out(&mut a, ALICE, 0);
    let (entity, exit) = a.only_exit();
    let (keys, chain) = (a.keys.clone(), a.chain);
    let at = |seq: u64, a: &mut Zone| {
        let mut import = a.certify(Record::Exit(exit.clone()), entity, &keys, chain, 3);
        import.record = Record::Exit(Exit {
            seq,
            ..exit.clone()
        });
        import.encode_to_vec()
    };
    // The next one due and those a block could still enter after it are worth holding; one
    // far ahead would take a pool's room from the exit everything waits for.
    assert!(b.sim.import_key(&at(0, &mut a)).is_some());
    assert!(b.sim.import_key(&at(31, &mut a)).is_some());
    assert_eq!(b.sim.import_key(&at(32, &mut a)), None);
    assert_eq!(b.sim.import_key(&at(10_000, &mut a)), None);
}

/// A body is in no zone while its exit travels (about two ticks and a finality). It goes on
/// under the frame it left with, as it would have on one chain: entering `k` ticks later puts
/// it where entering at once and walking `k` ticks would have, so the player's prediction,
/// which never stopped, needs no correction on arrival.
#[test]
fn a_body_makes_up_the_ticks_it_spent_in_transit() {
    let mut a = zone(0);
    walk_out(&mut a, ALICE, 0);
    let (entity, exit) = a.only_exit();
    let import = a.export(Record::Exit(exit.clone()), entity);
    // Two copies of the destination, on the world's clock: one enters the body on the tick
    // after the exit, the other four ticks later.
    let arrive = |delay: u64| {
        let mut b = zone(1);
        while b.sim.tick() < exit.tick + delay {
            b.tick(&[], &[]);
        }
        b.tick(&[], std::slice::from_ref(&import));
        while b.sim.tick() < exit.tick + 5 {
            b.tick(&[], &[]);
        }
        *b.sim.body(&ALICE).unwrap()
    };
    let (at_once, late) = (arrive(0), arrive(4));
    assert!(at_once.pos[0] > exit.body.pos[0], "it walked on east");
    assert_eq!(
        late, at_once,
        "entered late, it is where it would have been"
    );
}

/// Making up transit is bounded: a body that waited longer than
/// [`z3r0_sim::MAX_TRANSIT_STEPS`] ticks makes up only that many (each is a physics step a
/// block pays for), and one whose destination's clock is behind its exit makes up none.
#[test]
fn a_body_makes_up_at_most_the_bounded_number_of_ticks() {
    let mut a = zone(0);
    walk_out(&mut a, ALICE, 0);
    let (entity, exit) = a.only_exit();
    let import = a.export(Record::Exit(exit.clone()), entity);
    // The body as it entered at the exit's tick plus `delay` + 1 (that tick's own step
    // included), on a destination whose clock is `behind` the exit's.
    let entered = |delay: u64, behind: u64| {
        let mut b = zone(1);
        while b.sim.tick() + behind < exit.tick + delay {
            b.tick(&[], &[]);
        }
        b.tick(&[], std::slice::from_ref(&import));
        *b.sim.body(&ALICE).unwrap()
    };
    let cap = z3r0_sim::MAX_TRANSIT_STEPS;
    assert_eq!(
        entered(cap, 0),
        entered(cap + 20, 0),
        "no more than the cap"
    );
    assert_ne!(entered(cap - 10, 0), entered(cap, 0), "up to the cap");
    // Behind the exit's clock: nothing to make up, the tick's own step only.
    let early = entered(0, 5);
    assert_eq!(
        early,
        entered(0, 0),
        "one step, as on the tick after the exit"
    );
}
