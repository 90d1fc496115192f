//! The doors game's player-side part ([`DoorsPlayer`], a `z3r0_client::PlayerScript`). In a
//! window, `use` (F) on a door opens or closes it, and on any other block builds a door in
//! front of it from a log. Its bots walk to the nearest tree, dig its logs, build doors with
//! them a little way off, and open and close the doors within reach.

use z3r0_client::{Game, PlayerScript};
use z3r0_sim::Action;
use z3r0_sim::physics::Aabb;
use z3r0_voxel::{BlockId, VoxelPos, World, blocks};

use crate::{DOOR_CLOSED, DOOR_OPEN, DoorAction, build, toggle};

/// The doors plugin's place in the plugin list of the game's binary (it runs only doors).
pub const DOORS: u8 = 0;
/// How far a player looks for a log to walk to, in voxels (within the chunks a devnet's
/// players stream).
const SEEK: i32 = 24;
/// How far a player reaches for a log or a door, in voxels from its feet: inside the rules'
/// 6 m reach from the eye, with room to spare.
const REACH: i32 = 4;
/// Logs and doors lie near the ground: how far below and above the feet a player looks.
const BELOW: i32 = 3;
const ABOVE: i32 = 6;

/// The doors game's player script.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoorsPlayer;

impl PlayerScript for DoorsPlayer {
    fn act(&self, game: &Game, roll: u64) -> Option<Action> {
        let own = game.own()?;
        let feet = feet(game)?;
        let world = game.world();
        let has_log = game
            .inventory()
            .is_some_and(|inv| inv.count(blocks::LOG) > 0);
        // With a log, build a door; else mostly dig a log, and now and then use a door at
        // hand. Only what the rules would allow from here: their edit checks (reach, line of
        // sight, claims), and no closing a door on itself.
        if has_log
            && let Some(spot) = door_spot(world, feet, roll)
            && game.may_edit(spot, true)
        {
            return Some(build(DOORS, spot));
        }
        let body = Aabb::player(own.pos);
        let mut doors = within(world, feet, REACH, is_door);
        doors.retain(|&door| {
            game.may_edit(door, false)
                && !(world.voxel(door) == Some(DOOR_OPEN) && body.intersects_voxel(door))
        });
        let mut logs = within(world, feet, REACH, |b| b == blocks::LOG);
        logs.retain(|&log| game.may_edit(log, false));
        if !logs.is_empty() && (doors.is_empty() || !roll.is_multiple_of(3)) {
            return pick(&logs, roll).map(Action::Break);
        }
        pick(&doors, roll).map(|door| toggle(DOORS, door))
    }

    fn use_block(&self, game: &Game, target: VoxelPos, before: VoxelPos) -> Option<Action> {
        let has_log = game
            .inventory()
            .is_some_and(|inv| inv.count(blocks::LOG) > 0);
        use_action(game.world(), has_log, target, before)
    }

    fn label(&self, action: &Action) -> String {
        match action {
            Action::Plugin {
                plugin: DOORS,
                kind,
                ..
            } if *kind == DoorAction::Build as u8 => "build a door".into(),
            Action::Plugin {
                plugin: DOORS,
                kind,
                ..
            } if *kind == DoorAction::Toggle as u8 => "open or close a door".into(),
            Action::Break(_) => "dig a log".into(),
            other => Action::kind_name(other.kind()).into(),
        }
    }

    fn heading(&self, game: &Game) -> Option<u16> {
        if game
            .inventory()
            .is_some_and(|inv| inv.count(blocks::LOG) > 0)
        {
            return None;
        }
        let feet = feet(game)?;
        let logs = within(game.world(), feet, SEEK, |b| b == blocks::LOG);
        let log = logs.first()?;
        Some(yaw_towards(feet, *log))
    }
}

/// Using `target` (looked at, `before` in front of its face): a door opens or closes; any
/// other block gets a door in front of it, when the player has a log to build it from.
fn use_action(world: &World, has_log: bool, target: VoxelPos, before: VoxelPos) -> Option<Action> {
    if world.voxel(target).is_some_and(is_door) {
        return Some(toggle(DOORS, target));
    }
    has_log.then(|| build(DOORS, before))
}

/// The voxel the player's feet are in.
fn feet(game: &Game) -> Option<VoxelPos> {
    let own = game.own()?;
    let [x, y, z] = own.pos.map(|c| c.div_euclid(1024) as i32);
    Some(VoxelPos::new(x, y, z))
}

fn is_door(block: BlockId) -> bool {
    block == DOOR_CLOSED || block == DOOR_OPEN
}

/// The voxels near `feet` (horizontally within `radius`, vertically from `BELOW` under to
/// `ABOVE` over) holding a block that `want`s, nearest first.
fn within(
    world: &World,
    feet: VoxelPos,
    radius: i32,
    want: impl Fn(BlockId) -> bool,
) -> Vec<VoxelPos> {
    let mut found = Vec::new();
    for dx in -radius..=radius {
        for dz in -radius..=radius {
            for dy in -BELOW..=ABOVE {
                let pos = VoxelPos::new(feet.x + dx, feet.y + dy, feet.z + dz);
                if world.voxel(pos).is_some_and(&want) {
                    found.push((dx * dx + dy * dy + dz * dz, pos));
                }
            }
        }
    }
    found.sort_by_key(|(d2, _)| *d2);
    found.into_iter().map(|(_, pos)| pos).collect()
}

/// One of the nearest few, by `roll` (a dig refused for the line of sight tries another).
fn pick(near: &[VoxelPos], roll: u64) -> Option<VoxelPos> {
    let few = near.len().min(3);
    (few > 0).then(|| near[(roll % few as u64) as usize])
}

/// An empty voxel on solid ground two steps from the feet (clear of the player's body), the
/// first of the four directions from one `roll` picks.
fn door_spot(world: &World, feet: VoxelPos, roll: u64) -> Option<VoxelPos> {
    const STEPS: [(i32, i32); 4] = [(2, 0), (0, 2), (-2, 0), (0, -2)];
    (0..4).find_map(|i| {
        let (dx, dz) = STEPS[(roll as usize + i) % 4];
        let spot = VoxelPos::new(feet.x + dx, feet.y, feet.z + dz);
        let below = VoxelPos::new(spot.x, spot.y - 1, spot.z);
        let empty = world.voxel(spot) == Some(blocks::AIR);
        let ground = world
            .voxel(below)
            .is_some_and(|b| z3r0_voxel::block_info(b).solid);
        (empty && ground).then_some(spot)
    })
}

/// The yaw from `from` to `to` (a full turn is 65 536; 0 faces +z, 16 384 faces +x). A
/// client's steering, not consensus code: floating point is fine here.
fn yaw_towards(from: VoxelPos, to: VoxelPos) -> u16 {
    let (dx, dz) = (f64::from(to.x - from.x), f64::from(to.z - from.z));
    let turns = dx.atan2(dz) / std::f64::consts::TAU;
    (turns.rem_euclid(1.0) * 65_536.0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use z3r0_voxel::{Chunk, ChunkPos};

    /// Empty chunks around the origin.
    fn air() -> World {
        let mut world = World::with_capacity(8);
        for x in -1..=0 {
            for z in -1..=0 {
                world
                    .insert_chunk(ChunkPos::new(x, 0, z), &Chunk::uniform(blocks::AIR))
                    .unwrap();
            }
        }
        world
    }

    #[test]
    fn a_player_heads_towards_what_it_seeks() {
        let o = VoxelPos::new(0, 0, 0);
        assert_eq!(yaw_towards(o, VoxelPos::new(0, 0, 5)), 0);
        assert_eq!(yaw_towards(o, VoxelPos::new(5, 0, 0)), 16_384);
        assert_eq!(yaw_towards(o, VoxelPos::new(0, 0, -5)), 32_768);
        assert_eq!(yaw_towards(o, VoxelPos::new(-5, 0, 0)), 49_152);
    }

    #[test]
    fn a_door_goes_on_solid_ground_clear_of_the_player() {
        let mut world = air();
        let feet = VoxelPos::new(0, 10, 0);
        for x in -3..=3 {
            for z in -3..=3 {
                world
                    .set_voxel(VoxelPos::new(x, 9, z), blocks::STONE)
                    .unwrap();
            }
        }
        // East has no ground: the next direction is taken.
        world
            .set_voxel(VoxelPos::new(2, 9, 0), blocks::AIR)
            .unwrap();
        assert_eq!(door_spot(&world, feet, 0), Some(VoxelPos::new(0, 10, 2)));
        assert_eq!(door_spot(&world, feet, 2), Some(VoxelPos::new(-2, 10, 0)));
    }

    #[test]
    fn using_a_door_opens_it_and_using_a_block_builds_one_from_a_log() {
        let mut world = air();
        let (door, wall, front) = (
            VoxelPos::new(1, 10, 1),
            VoxelPos::new(3, 10, 1),
            VoxelPos::new(2, 10, 1),
        );
        world.set_voxel(door, DOOR_OPEN).unwrap();
        world.set_voxel(wall, blocks::STONE).unwrap();
        assert_eq!(
            use_action(&world, false, door, front),
            Some(toggle(DOORS, door))
        );
        assert_eq!(
            use_action(&world, true, wall, front),
            Some(build(DOORS, front))
        );
        assert_eq!(
            use_action(&world, false, wall, front),
            None,
            "no log, no door"
        );
    }

    #[test]
    fn the_nearest_logs_come_first() {
        let mut world = air();
        let feet = VoxelPos::new(0, 10, 0);
        world
            .set_voxel(VoxelPos::new(3, 10, 0), blocks::LOG)
            .unwrap();
        world
            .set_voxel(VoxelPos::new(1, 11, 0), blocks::LOG)
            .unwrap();
        world
            .set_voxel(VoxelPos::new(9, 10, 0), blocks::LOG)
            .unwrap();
        let logs = within(&world, feet, REACH, |b| b == blocks::LOG);
        assert_eq!(logs, vec![VoxelPos::new(1, 11, 0), VoxelPos::new(3, 10, 0)]);
        assert_eq!(pick(&logs, 3), Some(VoxelPos::new(3, 10, 0)));
        assert_eq!(pick(&[], 3), None);
    }
}
