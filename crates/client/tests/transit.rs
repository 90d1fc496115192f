//! A body in transit between two zones, predicted by its player with the last body the source
//! zone showed: on arrival the prediction matches the body the destination enters, however
//! long the transit took (the destination makes up at most `MAX_TRANSIT_STEPS` ticks of it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../sim/tests/common/two_zones.rs"]
mod two_zones;

use std::sync::Arc;

use two_zones::{EAST, Zone, walk, zone};
use z3r0_client::{Authoritative, Predictor, TOLERANCE, ZoneOf};
use z3r0_sim::handoff::{Record, zone_number};
use z3r0_sim::{Action, Body, PlayerKey, Receipt};
use z3r0_voxel::World;

const ALICE: PlayerKey = [1; 32];

/// The two zones' borders: zone (0, 0) holds chunk column x = -1, zone (1, 0) x = 0.
fn borders() -> ZoneOf {
    Arc::new(|cx, cz| match (cx, cz) {
        (-1, -1..=0) => Some(zone_number(0, 0)),
        (0, -1..=0) => Some(zone_number(1, 0)),
        _ => None,
    })
}

/// What the player holds: both zones' chunks.
fn world(a: &Zone, b: &Zone) -> World {
    let mut world = World::with_capacity(a.sim.voxels.len() + b.sim.voxels.len());
    for sim in [&a.sim, &b.sim] {
        for (p, c) in sim.voxels.chunks() {
            world.insert_chunk(p, c).unwrap();
        }
    }
    world
}

/// Alice sprints east out of zone 0; the predictor holds the source's body of every tick
/// before her exit (the last snapshot that shows her). The exit's tick and its import.
fn sprint_out(a: &mut Zone, predictor: &mut Predictor) -> (u64, Vec<u8>) {
    a.tick(&[(ALICE, Action::Join)], &[]);
    a.tick(&[(ALICE, walk(EAST))], &[]);
    for _ in 0..400 {
        let tick = a.sim.tick() + 1;
        let receipts = a.tick(&[], &[]);
        if receipts
            .iter()
            .any(|r| matches!(r, Receipt::Exited { player, .. } if *player == ALICE))
        {
            let (entity, exit) = a.only_exit();
            assert_eq!(exit.tick, tick);
            return (exit.tick, a.export(Record::Exit(exit), entity));
        }
        predictor.authoritative(Authoritative {
            tick,
            body: *a.sim.body(&ALICE).unwrap(),
            frame: a.sim.control(&ALICE).unwrap().frame,
        });
    }
    panic!("never crossed the border");
}

/// The body zone 1 enters `transit` ticks after the exit's tick, and the player's prediction
/// for that tick.
fn arrival(transit: u64) -> (Body, Option<Body>) {
    let (mut a, mut b) = (zone(0), zone(1));
    let mut predictor = Predictor::new();
    let (exit_tick, import) = sprint_out(&mut a, &mut predictor);
    while b.sim.tick() + 1 < exit_tick + transit {
        b.tick(&[], &[]);
    }
    b.tick(&[], std::slice::from_ref(&import));
    let entered = *b.sim.body(&ALICE).expect("entered");
    let predicted = predictor.predict(
        exit_tick + transit,
        &world(&a, &b),
        &[],
        a.sim.physics(),
        z3r0_voxel::BlockRules::builtin(),
        Some(&borders()),
    );
    (entered, predicted)
}

fn error(a: &Body, b: &Body) -> i64 {
    (0..3).map(|i| (a.pos[i] - b.pos[i]).abs()).max().unwrap()
}

/// However long the transit (within and past what the destination makes up, and past the
/// predictor's horizon), the body arrives where its player predicted it.
#[test]
fn a_body_arrives_where_its_player_predicted_it_after_any_transit() {
    let cap = z3r0_sim::MAX_TRANSIT_STEPS;
    for transit in [1, 10, cap, cap + 1, cap + 2, cap + 8, cap + 20, cap + 60] {
        let (entered, predicted) = arrival(transit);
        let predicted = predicted.unwrap_or_else(|| panic!("transit {transit}: no prediction"));
        let off = error(&entered, &predicted);
        assert!(
            off <= TOLERANCE,
            "transit of {transit} ticks: predicted {:?}, entered at {:?} ({off} units off)",
            predicted.pos,
            entered.pos
        );
    }
}
