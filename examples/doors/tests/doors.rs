//! The doors game on a zone: its pack is published on chain, then a player digs a log, builds
//! a door with it, and opens it, through the engine's rules and the game's plugin; two replicas
//! agree on every root, a snapshot keeps the game's component, and a zone without the plugin
//! refuses the game's actions.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::Path;
use std::sync::Arc;
use z3r0_example_doors::{DOOR_CLOSED, DOOR_OPEN, DoorKeeper, DoorsPlugin, build, toggle};
use z3r0_sim::content::ContentPart;
use z3r0_sim::plugin::Plugins;
use z3r0_sim::{Action, BlockAction, PlayerKey, Reason, Receipt, Sim, SimConfig};
use z3r0_voxel::{VoxelPos, blocks};

const PUBLISHER: PlayerKey = [0xC0; 32];
const PLAYER: PlayerKey = [0x0A; 32];
const FLOOR: i32 = 8;
/// The doors plugin's place in the zone's plugin list.
const DOORS: u8 = 0;

fn config() -> SimConfig {
    SimConfig {
        chunks_x: (-1, 1),
        chunks_y: (0, 1),
        chunks_z: (-1, 1),
        publisher: Some(PUBLISHER),
        ..SimConfig::default()
    }
}

fn plugins() -> Plugins {
    Plugins::new(vec![Arc::new(DoorsPlugin)])
}

/// A zone of the game with a flat stone floor under open sky.
fn zone(plugins: Plugins) -> Sim {
    let mut sim = Sim::genesis_with(config(), plugins).unwrap();
    for x in -32..32 {
        for z in -32..32 {
            for y in 0..32 {
                let block = if y < FLOOR {
                    blocks::STONE
                } else {
                    blocks::AIR
                };
                sim.voxels.set_voxel(VoxelPos::new(x, y, z), block).unwrap();
            }
        }
    }
    sim
}

/// Block `tick` with `actions` by `signer`, nonces from `nonce`; its receipts.
fn run(
    sim: &mut Sim,
    tick: u64,
    signer: &PlayerKey,
    actions: &[Action],
    nonce: u64,
) -> Vec<Receipt> {
    let payloads: Vec<Vec<u8>> = actions.iter().map(Action::encode_to_vec).collect();
    let mut receipts = Vec::new();
    sim.execute_block(
        tick,
        payloads.iter().zip(nonce..).map(|(p, nonce)| BlockAction {
            player: signer,
            tick,
            nonce,
            payload: p,
            endorsed: true,
        }),
        &mut receipts,
    );
    receipts
}

fn refusals(receipts: &[Receipt]) -> Vec<Reason> {
    receipts
        .iter()
        .filter_map(|r| match r {
            Receipt::Rejected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect()
}

/// The doors game's manifest: the default pack with the doors' additions.
fn doors_manifest() -> Vec<u8> {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../content/default");
    // Each call its own directory: the tests run at once.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = std::env::temp_dir().join(format!("z3r0-doors-pack-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    z3r0_example_doors::write_pack(&default, &out).unwrap();
    let pack = z3r0_content::Pack::load(&out).unwrap();
    let bytes = pack.manifest().encode();
    std::fs::remove_dir_all(&out).unwrap();
    bytes
}

/// Publishes the game's content to activate at tick 20, the player joins, and a log stands two
/// voxels east of it; returns the tick after and the log's position.
fn set_up(sim: &mut Sim, manifest: &[u8]) -> (u64, VoxelPos) {
    let parts: Vec<Action> = ContentPart::split(manifest, 20)
        .unwrap()
        .into_iter()
        .map(Action::PublishContent)
        .collect();
    let mut tick = 1;
    for (i, chunk) in parts.chunks(4).enumerate() {
        let r = run(sim, tick, &PUBLISHER, chunk, 4 * i as u64);
        assert_eq!(refusals(&r), vec![]);
        tick += 1;
    }
    run(sim, tick, &PLAYER, &[Action::Join], 0);
    while tick < 20 {
        tick += 1;
        run(sim, tick, &PUBLISHER, &[], 0);
    }
    assert!(
        sim.block_rules().is_defined(DOOR_OPEN),
        "the game's blocks are in force"
    );
    let body = sim.body(&PLAYER).unwrap().pos;
    let at = |v: i64| v.div_euclid(1024) as i32;
    let log = VoxelPos::new(at(body[0]) + 2, FLOOR, at(body[2]));
    sim.voxels.set_voxel(log, blocks::LOG).unwrap();
    (tick + 1, log)
}

#[test]
fn a_player_builds_a_door_from_a_log_and_opens_it() {
    let manifest = doors_manifest();
    let mut a = zone(plugins());
    let mut b = zone(plugins());
    let (tick, spot) = set_up(&mut a, &manifest);
    set_up(&mut b, &manifest);
    assert_eq!(a.root(), b.root());

    let steps = [Action::Break(spot), build(DOORS, spot), toggle(DOORS, spot)];
    for (i, action) in steps.iter().enumerate() {
        let t = tick + i as u64;
        let ra = run(
            &mut a,
            t,
            &PLAYER,
            std::slice::from_ref(action),
            1 + i as u64,
        );
        let rb = run(
            &mut b,
            t,
            &PLAYER,
            std::slice::from_ref(action),
            1 + i as u64,
        );
        assert_eq!(refusals(&ra), vec![], "step {i}");
        assert_eq!(ra, rb);
        assert_eq!(a.root(), b.root(), "step {i}");
    }
    assert_eq!(a.voxels.voxel(spot), Some(DOOR_OPEN));
    assert!(
        !a.block_rules().is_solid(DOOR_OPEN),
        "an open door lets bodies through"
    );
    assert_eq!(
        a.inventory(&PLAYER).unwrap().count(blocks::LOG),
        0,
        "the log became the door"
    );
    let keeper = a.ecs.get::<DoorKeeper>(a.player(&PLAYER).unwrap()).copied();
    assert_eq!(keeper, Some(DoorKeeper { toggles: 1 }));

    // The game's component is state: it survives a snapshot, and the root commits to it.
    let mut bytes = Vec::new();
    a.snapshot(&mut bytes).unwrap();
    let restored = Sim::restore_with(config(), plugins(), &bytes).unwrap();
    assert_eq!(restored.root(), a.root());
    let again = toggle(DOORS, spot);
    let t = tick + steps.len() as u64;
    let before = a.root();
    run(&mut a, t, &PLAYER, &[again], 1 + steps.len() as u64);
    assert_eq!(a.voxels.voxel(spot), Some(DOOR_CLOSED));
    assert_ne!(a.root(), before);
}

#[test]
fn the_game_refuses_what_its_rules_do_not_allow() {
    let manifest = doors_manifest();
    let mut sim = zone(plugins());
    let (tick, spot) = set_up(&mut sim, &manifest);
    let far = VoxelPos::new(spot.x + 20, FLOOR, spot.z);
    let cases = [
        // No log yet.
        (build(DOORS, spot), Reason::NothingInInventory),
        // Not a door.
        (toggle(DOORS, spot), Reason::PluginRefused),
        // A payload of the wrong shape, an unknown kind, a plugin the zone does not run.
        (
            Action::Plugin {
                plugin: DOORS,
                kind: 1,
                payload: vec![1, 2, 3],
            },
            Reason::PluginRefused,
        ),
        (
            Action::Plugin {
                plugin: DOORS,
                kind: 9,
                payload: vec![0; 12],
            },
            Reason::PluginRefused,
        ),
        (
            Action::Plugin {
                plugin: 3,
                kind: 0,
                payload: vec![0; 12],
            },
            Reason::NoSuchPlugin,
        ),
    ];
    for (i, (action, reason)) in cases.into_iter().enumerate() {
        let r = run(&mut sim, tick + i as u64, &PLAYER, &[action], 1 + i as u64);
        assert_eq!(refusals(&r), vec![reason], "case {i}");
    }
    // With a log, a door out of reach is refused by the engine's checks, and the log is kept.
    let t = tick + 10;
    run(&mut sim, t, &PLAYER, &[Action::Break(spot)], 20);
    let r = run(&mut sim, t + 1, &PLAYER, &[build(DOORS, far)], 21);
    assert_eq!(refusals(&r), vec![Reason::OutOfReach]);
    assert_eq!(sim.inventory(&PLAYER).unwrap().count(blocks::LOG), 1);

    // A zone without the plugin does not know the game's actions.
    let mut plain = zone(Plugins::default());
    let (tick, spot) = set_up(&mut plain, &manifest);
    let r = run(&mut plain, tick, &PLAYER, &[toggle(DOORS, spot)], 1);
    assert_eq!(refusals(&r), vec![Reason::NoSuchPlugin]);
}

#[test]
fn a_door_never_closes_on_a_body() {
    let manifest = doors_manifest();
    let mut sim = zone(plugins());
    let (tick, spot) = set_up(&mut sim, &manifest);
    run(&mut sim, tick, &PLAYER, &[Action::Break(spot)], 1);
    // The voxel at the player's own feet: room for a door, but the player stands in it.
    let body = sim.body(&PLAYER).unwrap().pos;
    let at = |v: i64| v.div_euclid(1024) as i32;
    let feet = VoxelPos::new(at(body[0]), FLOOR, at(body[2]));
    let r = run(&mut sim, tick + 1, &PLAYER, &[build(DOORS, feet)], 2);
    assert_eq!(refusals(&r), vec![Reason::Occupied]);
    assert_eq!(sim.voxels.voxel(feet), Some(blocks::AIR));
    assert_eq!(
        sim.inventory(&PLAYER).unwrap().count(blocks::LOG),
        1,
        "the log is kept"
    );
    // An open door the player stands in does not close on it.
    sim.voxels.set_voxel(feet, DOOR_OPEN).unwrap();
    let r = run(&mut sim, tick + 2, &PLAYER, &[toggle(DOORS, feet)], 3);
    assert_eq!(refusals(&r), vec![Reason::Occupied]);
    assert_eq!(sim.voxels.voxel(feet), Some(DOOR_OPEN));
}
