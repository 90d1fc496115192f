#![allow(dead_code, clippy::unwrap_used)]

pub mod two_zones;

use z3r0_sim::{Action, InputFrame, PlayerKey, Reason, Receipt, Sim, SimConfig};
use z3r0_voxel::{VoxelPos, blocks};

pub const ALICE: PlayerKey = [1; 32];
pub const BOB: PlayerKey = [2; 32];
pub const CAROL: PlayerKey = [3; 32];
/// Arena floor: the first free layer above the stone slab.
pub const FLOOR: i32 = 20;

/// A zone of 2 × 2 × 2 chunks around the origin: quick to generate, enough to play in.
pub fn tiny_zone() -> SimConfig {
    SimConfig {
        chunks_x: (-1, 1),
        chunks_y: (-1, 1),
        chunks_z: (-1, 1),
        ..SimConfig::default()
    }
}

/// The default zone with a flat stone arena (x, z in -12..12, floor at y = 20, open sky).
pub fn arena_with(config: SimConfig) -> Sim {
    let mut s = Sim::genesis(config).unwrap();
    let top = config.chunks_y.1 * 32;
    for x in -12..12 {
        for z in -12..12 {
            s.voxels
                .set_voxel(VoxelPos::new(x, FLOOR - 1, z), blocks::STONE)
                .unwrap();
            for y in FLOOR..top {
                s.voxels
                    .set_voxel(VoxelPos::new(x, y, z), blocks::AIR)
                    .unwrap();
            }
        }
    }
    s
}

pub fn arena() -> Sim {
    arena_with(SimConfig::default())
}

/// Runs the next tick with these actions; returns its receipts.
pub fn tick(sim: &mut Sim, actions: &[(PlayerKey, Action)]) -> Vec<Receipt> {
    let encoded: Vec<(PlayerKey, Vec<u8>)> = actions
        .iter()
        .map(|(k, a)| (*k, a.encode_to_vec()))
        .collect();
    tick_raw(sim, &encoded)
}

pub fn tick_raw(sim: &mut Sim, payloads: &[(PlayerKey, Vec<u8>)]) -> Vec<Receipt> {
    let mut receipts = Vec::new();
    let next = sim.tick() + 1;
    sim.execute_tick(
        next,
        payloads.iter().map(|(k, p)| (k, p.as_slice())),
        &mut receipts,
    );
    receipts
}

/// Idle input for each player (keeps them from timing out).
pub fn idle(players: &[PlayerKey]) -> Vec<(PlayerKey, Action)> {
    players
        .iter()
        .map(|k| (*k, Action::Input(InputFrame::default())))
        .collect()
}

/// An arena with the players joined and standing on the floor.
pub fn joined(players: &[PlayerKey]) -> Sim {
    let mut s = arena();
    let joins: Vec<_> = players.iter().map(|k| (*k, Action::Join)).collect();
    tick(&mut s, &joins);
    for _ in 0..80 {
        tick(&mut s, &idle(players));
    }
    for k in players {
        assert_eq!(
            s.body(k).unwrap().pos[1],
            i64::from(FLOOR) * 1024,
            "settled"
        );
    }
    s
}

pub fn reasons(receipts: &[Receipt], who: PlayerKey) -> Vec<Reason> {
    receipts
        .iter()
        .filter_map(|r| match r {
            Receipt::Rejected { player, reason, .. } if *player == who => Some(*reason),
            _ => None,
        })
        .collect()
}

pub fn input(forward: i8, strafe: i8, yaw: u16, flags: u8) -> Action {
    Action::Input(InputFrame {
        forward,
        strafe,
        yaw,
        pitch: 0,
        flags,
    })
}

/// The voxel a player stands in (feet).
pub fn feet(sim: &Sim, who: &PlayerKey) -> VoxelPos {
    let p = sim.body(who).unwrap().pos;
    VoxelPos::new(
        p[0].div_euclid(1024) as i32,
        p[1].div_euclid(1024) as i32,
        p[2].div_euclid(1024) as i32,
    )
}
