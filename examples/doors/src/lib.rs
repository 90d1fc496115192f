//! Doors: a small game on the Z3R0 engine, built without editing the engine's crates.
//!
//! - **Content** (`pack-additions.toml`, appended to a copy of the default pack by
//!   [`write_pack`]): two blocks, a closed door (solid) and an open one (not solid), and a door
//!   item. Published on a zone's chain with `z3r0 content publish`, they are in force from
//!   their activation tick.
//! - **Rules** ([`DoorsPlugin`], a `z3r0_sim::plugin::GamePlugin`): two actions. `Build` takes
//!   a log from the player's inventory and puts a closed door in an empty voxel; `Toggle`
//!   opens a closed door or closes an open one. Both go through the engine's edit checks
//!   (reach, line of sight, claims), so a door can only be built and used where the player
//!   could build. Each player's toggles are counted in a component of the plugin's own
//!   ([`DoorKeeper`], table 1000), committed under the state root like the engine's.
//!
//! A client sends them as `Action::Plugin { plugin, kind, payload }` ([`build`], [`toggle`]),
//! `plugin` being the doors plugin's place in the zone's plugin list.

mod player;

pub use player::{DOORS, DoorsPlayer};

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use std::path::Path;
use z3r0_ecs::Component;
use z3r0_sim::plugin::{GamePlugin, PluginContext, Registry};
use z3r0_sim::{Action, Reason, SimError};
use z3r0_voxel::{BlockId, VoxelPos, blocks};

/// The closed door's block id (in `pack-additions.toml`).
pub const DOOR_CLOSED: BlockId = 20;
/// The open door's block id.
pub const DOOR_OPEN: BlockId = 21;

/// The doors plugin's actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum DoorAction {
    /// Build a closed door at a position, from a log.
    Build = 0,
    /// Open or close the door at a position.
    Toggle = 1,
}

/// The doors game's rules.
#[derive(Debug, Clone, Copy, Default)]
pub struct DoorsPlugin;

/// How many doors a player opened or closed (on the player's entity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DoorKeeper {
    pub toggles: u64,
}

impl Write for DoorKeeper {
    fn write(&self, buf: &mut impl BufMut) {
        self.toggles.write(buf);
    }
}

impl EncodeSize for DoorKeeper {
    fn encode_size(&self) -> usize {
        8
    }
}

impl Read for DoorKeeper {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(DoorKeeper {
            toggles: u64::read(buf)?,
        })
    }
}

impl Component for DoorKeeper {
    const TABLE: u16 = z3r0_sim::plugin::PLUGIN_TABLES;
    const NAME: &'static str = "door_keeper";
}

/// A position on the wire: x, y, z as big-endian `i32`s, and nothing after.
fn read_pos(payload: &[u8]) -> Result<VoxelPos, Reason> {
    let bytes: &[u8; 12] = payload.try_into().map_err(|_| Reason::PluginRefused)?;
    let coord = |i: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&bytes[i * 4..i * 4 + 4]);
        i32::from_be_bytes(b)
    };
    Ok(VoxelPos::new(coord(0), coord(1), coord(2)))
}

fn write_pos(pos: VoxelPos) -> Vec<u8> {
    [pos.x, pos.y, pos.z]
        .iter()
        .flat_map(|c| c.to_be_bytes())
        .collect()
}

impl GamePlugin for DoorsPlugin {
    fn name(&self) -> &'static str {
        "doors"
    }

    fn register(&self, registry: &mut Registry<'_>) -> Result<(), SimError> {
        registry.component::<DoorKeeper>()
    }

    fn apply(&self, cx: &mut PluginContext<'_>, kind: u8, payload: &[u8]) -> Result<(), Reason> {
        // Cheapest first: the kind and the payload's shape, then the world.
        let pos = read_pos(payload)?;
        match kind {
            k if k == DoorAction::Build as u8 => build_door(cx, pos),
            k if k == DoorAction::Toggle as u8 => toggle_door(cx, pos),
            _ => Err(Reason::PluginRefused),
        }
    }
}

fn build_door(cx: &mut PluginContext<'_>, pos: VoxelPos) -> Result<(), Reason> {
    if cx.inventory().is_none_or(|inv| inv.count(blocks::LOG) == 0) {
        return Err(Reason::NothingInInventory);
    }
    // The edit's checks come first: a refused build keeps the log.
    cx.edit(pos, DOOR_CLOSED, true)?;
    cx.take_from_inventory(blocks::LOG)
}

fn toggle_door(cx: &mut PluginContext<'_>, pos: VoxelPos) -> Result<(), Reason> {
    let next = match cx.voxel(pos) {
        Some(DOOR_CLOSED) => DOOR_OPEN,
        Some(DOOR_OPEN) => DOOR_CLOSED,
        _ => return Err(Reason::PluginRefused),
    };
    let e = cx.entity();
    let toggles = cx.get::<DoorKeeper>(e).map_or(0, |k| k.toggles) + 1;
    cx.edit(pos, next, false)?;
    cx.insert(e, DoorKeeper { toggles })
}

/// The action that builds a door at `pos`, for the plugin at place `plugin`.
pub fn build(plugin: u8, pos: VoxelPos) -> Action {
    Action::Plugin {
        plugin,
        kind: DoorAction::Build as u8,
        payload: write_pos(pos),
    }
}

/// The action that opens or closes the door at `pos`.
pub fn toggle(plugin: u8, pos: VoxelPos) -> Action {
    Action::Plugin {
        plugin,
        kind: DoorAction::Toggle as u8,
        payload: write_pos(pos),
    }
}

/// Writes the doors game's content pack into `out`: a copy of the default pack (`default`, the
/// engine's `content/default`) with `pack-additions.toml` appended and the version raised.
pub fn write_pack(default: &Path, out: &Path) -> std::io::Result<()> {
    copy_dir(default, out)?;
    let manifest = std::fs::read_to_string(default.join("pack.toml"))?;
    let additions = include_str!("../pack-additions.toml");
    let manifest = manifest.replacen("version = 1", "version = 2", 1);
    std::fs::write(out.join("pack.toml"), format!("{manifest}\n{additions}"))
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(&path, to.join(entry.file_name()))?;
        }
    }
    Ok(())
}
