//! What a body meets at a zone border: a zone's rules see the first voxel column of each
//! neighbour (its border strip) as that neighbour's ground, and nobody may edit a strip, so
//! both zones agree on what stands there without asking each other.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::ALICE;
use common::two_zones::{EAST, FLOOR, Zone, committee_keys, config, walk, zone, zone_with};
use std::sync::Arc;
use z3r0_sim::border::{BorderGround, strip_depth};
use z3r0_sim::fixed::UNIT;
use z3r0_sim::physics::HALF_WIDTH;
use z3r0_sim::{Action, Body, Movement, Physics, Reason, Receipt, Sim, SimConfig};
use z3r0_voxel::{VoxelPos, blocks};

fn solid(sim: &Sim, p: VoxelPos) -> bool {
    sim.voxels
        .voxel(p)
        .is_some_and(|b| z3r0_voxel::block_info(b).solid)
}

/// Zone `x` of the fixture's world as the generator made it, from a seed whose terrain
/// rises in cliffs at the border (a third of seeds do).
fn generated(x: u16) -> Zone {
    let c = z3r0_sim::SimConfig {
        seed: 19,
        ..config(x)
    };
    Zone {
        sim: Sim::genesis(c).unwrap(),
        chain: c.chain,
        keys: committee_keys(x),
    }
}

/// The highest solid voxel of column `(x, z)` with two free voxels above it.
fn surface(sim: &Sim, x: i32, z: i32) -> Option<i32> {
    let layers = sim.config().chunks_y;
    (layers.0 * 32..layers.1 * 32 - 2).rev().find(|&y| {
        solid(sim, VoxelPos::new(x, y, z))
            && !solid(sim, VoxelPos::new(x, y + 1, z))
            && !solid(sim, VoxelPos::new(x, y + 2, z))
    })
}

/// A generated world's border where the neighbour's first column rises two voxels or more
/// above the ground beside it: a cliff no body can step up.
#[test]
fn a_body_cannot_walk_through_the_neighbours_ground_at_a_border() {
    let (mut a, b) = (generated(0), generated(1));
    let cliff = (-32..32).find_map(|z| {
        let y = surface(&a.sim, -1, z)?;
        let wall = (1..=2).all(|h| solid(&b.sim, VoxelPos::new(0, y + h, z)));
        wall.then_some((y + 1, z))
    });
    let Some((feet, z)) = cliff else {
        panic!("the fixture's terrain has no cliff at its border: pick another seed")
    };
    a.tick(&[(ALICE, Action::Join)], &[]);
    let e = a.sim.player(&ALICE).unwrap();
    *a.sim.ecs.get_mut::<Body>(e).unwrap() = Body {
        pos: [
            -UNIT / 2,
            i64::from(feet) * UNIT,
            i64::from(z) * UNIT + UNIT / 2,
        ],
        vel: [0; 3],
        state: 1,
    };
    let mut receipts = a.tick(&[(ALICE, walk(EAST))], &[]);
    for _ in 0..60 {
        receipts.extend(a.tick(&[], &[]));
    }
    assert!(
        !receipts.iter().any(|r| matches!(r, Receipt::Exited { .. })),
        "the body went into the neighbour's ground"
    );
    let body = a.sim.body(&ALICE).unwrap();
    assert!(body.pos[0] < 0, "it stops at the cliff's face: {body:?}");
    assert_eq!(body.pos[1], i64::from(feet) * UNIT, "not lifted onto it");
}

/// Each zone's rules see exactly what its neighbour generated in the neighbour's strip, and
/// open ground beyond it.
#[test]
fn a_zone_sees_its_neighbours_border_strip_as_generated() {
    let a = Sim::genesis(config(0)).unwrap();
    let b = Sim::genesis(config(1)).unwrap();
    let mut differs = 0;
    for z in -32..32 {
        for y in -32..64 {
            let (west, east) = (VoxelPos::new(-1, y, z), VoxelPos::new(0, y, z));
            assert_eq!(a.ground(east), b.voxels.voxel(east), "{east:?}");
            assert_eq!(b.ground(west), a.voxels.voxel(west), "{west:?}");
            differs += usize::from(b.voxels.voxel(east) != Some(blocks::AIR));
            assert_eq!(a.ground(VoxelPos::new(1, y, z)), Some(blocks::AIR));
        }
    }
    assert!(differs > 0, "the strip has ground to see");
    // Above and below the layers, and beyond the world, is a wall.
    assert_eq!(a.ground(VoxelPos::new(0, 64, 0)), None);
    assert_eq!(a.ground(VoxelPos::new(-40, FLOOR, 0)), None);
}

/// Digging or placing in a zone's own border strip is refused; a voxel further in is not.
#[test]
fn nobody_edits_a_border_strip() {
    let mut a = zone(0);
    a.tick(&[(ALICE, Action::Join)], &[]);
    let e = a.sim.player(&ALICE).unwrap();
    let z = 0;
    *a.sim.ecs.get_mut::<Body>(e).unwrap() = Body {
        pos: [-3 * UNIT / 2, i64::from(FLOOR) * UNIT, UNIT / 2],
        vel: [0; 3],
        state: 1,
    };
    let rejected = |receipts: &[Receipt]| {
        receipts.iter().find_map(|r| match r {
            Receipt::Rejected { reason, .. } => Some(*reason),
            _ => None,
        })
    };
    let strip = VoxelPos::new(-1, FLOOR - 1, z);
    let inside = VoxelPos::new(-3, FLOOR - 1, z);
    let r = a.tick(&[(ALICE, Action::Break(strip))], &[]);
    assert_eq!(rejected(&r), Some(Reason::AtBorder));
    assert_eq!(a.sim.voxels.voxel(strip), Some(blocks::STONE));
    let r = a.tick(
        &[(
            ALICE,
            Action::Place(VoxelPos::new(-1, FLOOR, z), blocks::STONE),
        )],
        &[],
    );
    assert_eq!(rejected(&r), Some(Reason::AtBorder));
    let r = a.tick(&[(ALICE, Action::Break(inside))], &[]);
    assert_eq!(rejected(&r), None, "{r:?}");
    assert_eq!(a.sim.voxels.voxel(inside), Some(blocks::AIR));
    // The zone's west edge is the world's: no neighbour, no strip.
    assert!(
        !a.sim
            .config()
            .in_border_strip(VoxelPos::new(-32, FLOOR - 1, z))
    );
    assert!(
        a.sim
            .config()
            .in_border_strip(VoxelPos::new(-1, FLOOR - 1, z))
    );
}

/// A strip is as deep as one tick can carry a body's edge past the border: one voxel column
/// at the default speeds from 10 to 60 Hz, more for longer ticks.
#[test]
fn strips_are_as_deep_as_one_tick_can_carry_a_body() {
    let depth = |ms| strip_depth(&Physics::new(&Movement::default(), ms));
    assert_eq!([16, 50, 100, 200, 500, 1000].map(depth), [1, 1, 1, 2, 4, 6]);
    let slow = SimConfig {
        tick_ms: 500,
        ..config(0)
    };
    for (x, strip) in [(-1, true), (-4, true), (-5, false)] {
        assert_eq!(
            slow.in_border_strip(VoxelPos::new(x, FLOOR, 0)),
            strip,
            "{x}"
        );
    }
}

/// At 500 ms ticks a sprint covers 2.8 m a tick: a body one step from a wall in the
/// neighbour's second column stops at the wall's face, as it would in one zone, rather than
/// leaving into it (the source saw only the neighbour's first column before).
#[test]
fn a_long_step_stops_at_the_neighbours_wall_before_it_leaves() {
    let slow = |x| SimConfig {
        tick_ms: 500,
        ..config(x)
    };
    let (mut a, mut b) = (zone_with(slow(0)), zone_with(slow(1)));
    for z in -32..32 {
        for y in FLOOR..FLOOR + 3 {
            b.sim
                .voxels
                .set_voxel(VoxelPos::new(1, y, z), blocks::STONE)
                .unwrap();
        }
    }
    let seen = BorderGround::new(a.sim.config(), |p| b.sim.voxels.voxel(p));
    a.sim.set_border_ground(Arc::new(seen));
    a.tick(&[(ALICE, Action::Join)], &[]);
    let e = a.sim.player(&ALICE).unwrap();
    *a.sim.ecs.get_mut::<Body>(e).unwrap() = Body {
        pos: [-7 * UNIT / 2, i64::from(FLOOR) * UNIT, UNIT / 2],
        vel: [0; 3],
        state: 1,
    };
    a.tick(&[(ALICE, walk(EAST))], &[]);
    for _ in 0..10 {
        a.tick(&[], &[]);
        if let [(_, exit)] = &a.exits()[..] {
            assert!(
                exit.body.pos[0] + HALF_WIDTH <= UNIT,
                "left into the wall: {:?}",
                exit.body
            );
            return;
        }
    }
    panic!("never left");
}
