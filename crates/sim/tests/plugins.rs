//! The plugin seam's guards: a plugin's components live in tables of its own, it may not write
//! the engine's, a refused action changes nothing, and a zone runs a bounded number of plugins.
#![allow(clippy::unwrap_used)]

mod common;

use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt as _, Write};
use std::sync::Arc;
use z3r0_sim::plugin::{GamePlugin, PluginContext, Plugins, Registry};
use z3r0_sim::{Action, Inventory, PlayerKey, Reason, Receipt, Sim, SimConfig, SimError};
use z3r0_voxel::{VoxelPos, blocks};

/// Tries to fill the acting player's inventory (an engine table) with a write of its own.
struct Thief;

impl GamePlugin for Thief {
    fn name(&self) -> &'static str {
        "thief"
    }
    fn register(&self, _: &mut Registry<'_>) -> Result<(), SimError> {
        Ok(())
    }
    fn apply(&self, cx: &mut PluginContext<'_>, _: u8, _: &[u8]) -> Result<(), Reason> {
        let mut full = Inventory::default();
        for _ in 0..64 {
            full.add(z3r0_voxel::blocks::GLASS);
        }
        let e = cx.entity();
        cx.insert(e, full)
    }
}

/// Registers a component in an engine table number.
struct Squatter;

impl GamePlugin for Squatter {
    fn name(&self) -> &'static str {
        "squatter"
    }
    fn register(&self, registry: &mut Registry<'_>) -> Result<(), SimError> {
        registry.component::<Inventory>()
    }
    fn apply(&self, _: &mut PluginContext<'_>, _: u8, _: &[u8]) -> Result<(), Reason> {
        Ok(())
    }
}

/// A plugin component: a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Mark(u64);

impl Write for Mark {
    fn write(&self, buf: &mut impl BufMut) {
        self.0.write(buf);
    }
}

impl EncodeSize for Mark {
    fn encode_size(&self) -> usize {
        8
    }
}

impl Read for Mark {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        Ok(Mark(u64::read(buf)?))
    }
}

impl z3r0_ecs::Component for Mark {
    const TABLE: u16 = z3r0_sim::plugin::PLUGIN_TABLES;
    const NAME: &'static str = "mark";
}

/// Changes everything a plugin may change (its component on the player and on a new entity,
/// a voxel, the inventory), then (kind 0) finds it cannot pay and refuses; kind 1 does not
/// try to pay; kind 2 refuses at once.
struct Gambler;

impl GamePlugin for Gambler {
    fn name(&self) -> &'static str {
        "gambler"
    }
    fn register(&self, registry: &mut Registry<'_>) -> Result<(), SimError> {
        registry.component::<Mark>()
    }
    fn apply(&self, cx: &mut PluginContext<'_>, kind: u8, _: &[u8]) -> Result<(), Reason> {
        if kind == 2 {
            return Err(Reason::NothingInInventory);
        }
        let e = cx.entity();
        let at = cx.body().ok_or(Reason::NotJoined)?.pos;
        let [x, y, z] = at.map(|c| c.div_euclid(1024) as i32);
        cx.insert(e, Mark(1))?;
        let other = cx.spawn();
        cx.insert(other, Mark(2))?;
        cx.edit(VoxelPos::new(x, y + 3, z), blocks::STONE, true)?;
        if kind == 0 {
            // Nothing in the inventory: refused after every change above.
            cx.take_from_inventory(blocks::GLASS)?;
        }
        Ok(())
    }
}

fn small() -> SimConfig {
    common::tiny_zone()
}

#[test]
fn a_plugin_cannot_write_the_engines_components() {
    let mut sim = Sim::genesis_with(small(), Plugins::new(vec![Arc::new(Thief)])).unwrap();
    let player = [7u8; 32];
    let join = Action::Join.encode_to_vec();
    let steal = Action::Plugin {
        plugin: 0,
        kind: 0,
        payload: Vec::new(),
    }
    .encode_to_vec();
    let mut receipts = Vec::new();
    sim.execute_tick(1, [(&player, join.as_slice())], &mut receipts);
    sim.execute_tick(2, [(&player, steal.as_slice())], &mut receipts);
    assert!(receipts.iter().any(|r| matches!(
        r,
        Receipt::Rejected {
            reason: Reason::PluginRefused,
            ..
        }
    )));
    assert_eq!(sim.inventory(&player).unwrap(), &Inventory::default());
}

#[test]
fn a_plugin_registers_only_tables_of_its_own_and_a_zone_runs_a_bounded_number() {
    match Sim::genesis_with(small(), Plugins::new(vec![Arc::new(Squatter)])) {
        Err(SimError::PluginTable { table, .. }) => assert!(table < 1_000),
        other => panic!("{other:?}"),
    }
    let many: Vec<Arc<dyn GamePlugin>> = (0..=z3r0_sim::plugin::MAX_PLUGINS)
        .map(|_| Arc::new(Thief) as Arc<dyn GamePlugin>)
        .collect();
    assert!(matches!(
        Sim::genesis_with(small(), Plugins::new(many)),
        Err(SimError::TooManyPlugins(17))
    ));
}

/// A zone running the gambler, with `player` joined; then `kind` of the gambler's action.
fn gamble(player: &PlayerKey, kind: u8) -> (Sim, Vec<Receipt>) {
    let mut sim = Sim::genesis_with(small(), Plugins::new(vec![Arc::new(Gambler)])).unwrap();
    let join = Action::Join.encode_to_vec();
    let act = Action::Plugin {
        plugin: 0,
        kind,
        payload: Vec::new(),
    }
    .encode_to_vec();
    let mut receipts = Vec::new();
    sim.execute_tick(1, [(player, join.as_slice())], &mut receipts);
    receipts.clear();
    sim.execute_tick(2, [(player, act.as_slice())], &mut receipts);
    (sim, receipts)
}

#[test]
fn a_refused_plugin_action_changes_nothing_but_its_receipt() {
    let player = [9u8; 32];
    let (applied, receipts) = gamble(&player, 1);
    assert!(
        receipts
            .iter()
            .any(|r| matches!(r, Receipt::BlockChanged { .. })),
        "the action changes a voxel when it is not refused: {receipts:?}"
    );
    let (refused, receipts) = gamble(&player, 0);
    let (refused_at_once, _) = gamble(&player, 2);
    assert!(
        receipts.iter().any(|r| matches!(
            r,
            Receipt::Rejected {
                reason: Reason::NothingInInventory,
                ..
            }
        )),
        "{receipts:?}"
    );
    assert!(
        !receipts
            .iter()
            .any(|r| matches!(r, Receipt::BlockChanged { .. } | Receipt::Spawned(_))),
        "no receipt for an edit or a spawn taken back: {receipts:?}"
    );
    assert_ne!(applied.root(), refused.root());
    assert_eq!(
        refused.root(),
        refused_at_once.root(),
        "refused after its changes or before them: the same state"
    );
}
