//! The plugin seam's guards: a plugin's components live in tables of its own, it may not write
//! the engine's, and a zone runs a bounded number of plugins.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use z3r0_sim::plugin::{GamePlugin, PluginContext, Plugins, Registry};
use z3r0_sim::{Action, Inventory, Reason, Receipt, Sim, SimConfig, SimError};

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
