//! Game rules as plugins: a game built on the engine adds its own actions, components and rules
//! without editing the engine's crates. A [`GamePlugin`] registers its components (ECS tables
//! from [`PLUGIN_TABLES`] up, committed under the state root like the engine's) and applies its
//! actions: `Action::Plugin { plugin, kind, payload }`, where `plugin` is the plugin's place in
//! the list the zone was built with ([`crate::Sim::genesis_with`]) and `kind` and `payload` are
//! the plugin's to define (at most [`MAX_PLUGIN_PAYLOAD`] bytes). The engine's own rules stay
//! the default: movement, edits, claims, sessions and content run before and around them.
//!
//! A plugin is consensus code: every validator of a zone must run the same plugins in the same
//! order, and a plugin must be deterministic (integers, ordered collections, no clock, no
//! randomness), read its payload as hostile bytes, refuse with a [`Reason`] rather than panic,
//! and check cheapest first (a refused action is taken back whole: [`PluginContext`]). Through
//! [`PluginContext`] it reads the acting player's entity, body and inventory, any component and
//! the voxels; it writes only its own components (the engine's tables are refused) and voxels
//! through the engine's checks (reach, line of sight, claims, bodies in the way).

use crate::action::PlayerKey;
use crate::components::{Body, Inventory};
use crate::rules::{Reason, Receipt};
use std::sync::Arc;
use z3r0_ecs::{EntityId, World};
use z3r0_voxel::{BlockId, BlockRules, VoxelPos};

/// The first ECS table number plugins may use; the engine's stay below it.
pub const PLUGIN_TABLES: u16 = 1_000;
/// Most payload bytes one plugin action carries.
pub const MAX_PLUGIN_PAYLOAD: usize = 200;
/// Most plugins one zone runs.
pub const MAX_PLUGINS: usize = 16;

/// A game's rules beyond the engine's.
pub trait GamePlugin: Send + Sync + 'static {
    /// A stable name, for logs and for telling zones' plugin lists apart.
    fn name(&self) -> &'static str;

    /// The version of the plugin's rules: raise it whenever what an action does changes, so
    /// that validators running two builds of one plugin are told apart before they start
    /// (the genesis names each plugin as `name@version`) instead of forking.
    fn version(&self) -> u32 {
        1
    }

    /// Registers the plugin's components ([`Registry::component`]).
    fn register(&self, registry: &mut Registry<'_>) -> Result<(), crate::SimError>;

    /// Applies one of the plugin's actions for the acting player.
    fn apply(&self, cx: &mut PluginContext<'_>, kind: u8, payload: &[u8]) -> Result<(), Reason>;
}

/// Where a plugin registers its components.
#[allow(missing_debug_implementations)]
pub struct Registry<'a> {
    pub(crate) ecs: &'a mut World<Receipt>,
}

impl Registry<'_> {
    /// Registers component `C`, whose table must be at or above [`PLUGIN_TABLES`] (the
    /// engine's are below, now and later) and not another's.
    pub fn component<C: z3r0_ecs::Component>(&mut self) -> Result<(), crate::SimError> {
        if C::TABLE < PLUGIN_TABLES {
            return Err(crate::SimError::PluginTable {
                name: C::NAME,
                table: C::TABLE,
            });
        }
        Ok(self.ecs.register::<C>()?)
    }
}

/// The plugins a zone runs, in order (an action names its plugin by its place here).
#[derive(Clone, Default)]
pub struct Plugins(pub(crate) Arc<[Arc<dyn GamePlugin>]>);

impl Plugins {
    pub fn new(plugins: Vec<Arc<dyn GamePlugin>>) -> Self {
        Self(plugins.into())
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|p| p.name()).collect()
    }

    /// Each plugin as `name@version`, in order: what a genesis names.
    pub fn ids(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|p| format!("{}@{}", p.name(), p.version()))
            .collect()
    }

    pub(crate) fn get(&self, index: u8) -> Option<&Arc<dyn GamePlugin>> {
        self.0.get(usize::from(index))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// Puts `e`'s `C` back as it was (`None`: it had none).
fn restore<C: z3r0_ecs::Component>(sim: &mut crate::Sim, e: EntityId, before: Option<C>) {
    let _ = match before {
        Some(value) => sim.ecs.insert(e, value).map(|_| ()),
        None => sim.ecs.remove::<C>(e).map(|_| ()),
    };
}

/// `PluginRefused` for a component of the engine's.
fn own_table<C: z3r0_ecs::Component>() -> Result<(), Reason> {
    if C::TABLE < PLUGIN_TABLES {
        Err(Reason::PluginRefused)
    } else {
        Ok(())
    }
}

/// One change of a plugin's action, taken back if the action is refused.
pub(crate) type Undo = Box<dyn FnOnce(&mut crate::Sim)>;

/// What a plugin's action may see and change. An action is all or nothing: when the plugin
/// refuses it (returns an error), every change it made (components, entities, voxels, the
/// inventory) is taken back and its receipts dropped, so the state is as if it had been
/// refused before it began; only the refusal's receipt remains.
#[allow(missing_debug_implementations)]
pub struct PluginContext<'a> {
    pub(crate) sim: &'a mut crate::Sim,
    pub(crate) player: PlayerKey,
    pub(crate) entity: EntityId,
    pub(crate) receipts: &'a mut Vec<Receipt>,
    /// How to take back each change so far, oldest first.
    pub(crate) undo: Vec<Undo>,
}

impl PluginContext<'_> {
    /// The acting player's account.
    pub fn player(&self) -> &PlayerKey {
        &self.player
    }

    /// The acting player's entity (a plugin may put its components on it).
    pub fn entity(&self) -> EntityId {
        self.entity
    }

    /// The tick the action applies in.
    pub fn tick(&self) -> u64 {
        self.sim.tick()
    }

    pub fn body(&self) -> Option<&Body> {
        self.sim.ecs.get::<Body>(self.entity)
    }

    pub fn inventory(&self) -> Option<&Inventory> {
        self.sim.ecs.get::<Inventory>(self.entity)
    }

    /// Takes one `block` from the player's inventory (`NothingInInventory` if it has none).
    pub fn take_from_inventory(&mut self, block: BlockId) -> Result<(), Reason> {
        let e = self.entity;
        let mut inv = *self.sim.ecs.get::<Inventory>(e).ok_or(Reason::NotJoined)?;
        if !inv.take(block) {
            return Err(Reason::NothingInInventory);
        }
        let before = self.sim.ecs.insert(e, inv).map_err(|_| Reason::NotJoined)?;
        self.undo.push(Box::new(move |sim| {
            if let Some(before) = before {
                let _ = sim.ecs.insert(e, before);
            }
        }));
        Ok(())
    }

    /// A component of an entity, the engine's included (to read).
    pub fn get<C: z3r0_ecs::Component>(&self, e: EntityId) -> Option<&C> {
        self.sim.ecs.get::<C>(e)
    }

    /// Sets the plugin's component `C` of `e`. The engine's tables (below [`PLUGIN_TABLES`])
    /// are read only to a plugin: its indexes (players, claims, content) are kept by its own
    /// rules, and a write around them would fork replicas that restored from a snapshot from
    /// those that did not. In a zone of a world, a player's entity holds at most
    /// [`crate::handoff::MAX_CARRIED`] plugin components of at most
    /// [`crate::handoff::MAX_CARRIED_BYTES`] each ([`Reason::PlayerStateTooLarge`]): they
    /// travel with its body through borders.
    pub fn insert<C: z3r0_ecs::Component>(&mut self, e: EntityId, value: C) -> Result<(), Reason> {
        own_table::<C>()?;
        self.fits_a_player::<C>(e, &value)?;
        let before = self
            .sim
            .ecs
            .insert(e, value)
            .map_err(|_| Reason::PluginRefused)?;
        self.undo.push(Box::new(move |sim| restore(sim, e, before)));
        Ok(())
    }

    /// Whether `value` may be `e`'s `C` if `e` is a player's in a zone of a world: what an
    /// exit carries is bounded. A zone of its own has no exits, and its chains keep the rules
    /// they were made with.
    fn fits_a_player<C: z3r0_ecs::Component>(&self, e: EntityId, value: &C) -> Result<(), Reason> {
        if self.sim.config().world.is_none()
            || self.sim.ecs.get::<crate::components::Player>(e).is_none()
        {
            return Ok(());
        }
        // The bytes an exit would carry, not the size the plugin says they have.
        let mut bytes = Vec::new();
        value.write(&mut bytes);
        if bytes.len() > crate::handoff::MAX_CARRIED_BYTES {
            return Err(Reason::PlayerStateTooLarge);
        }
        let held = self.sim.ecs.encoded_components(e, PLUGIN_TABLES);
        let new_table = !held.iter().any(|(table, _)| *table == C::TABLE);
        if new_table && held.len() >= crate::handoff::MAX_CARRIED {
            return Err(Reason::PlayerStateTooLarge);
        }
        Ok(())
    }

    /// Removes the plugin's component `C` of `e` (the engine's tables are refused).
    pub fn remove<C: z3r0_ecs::Component>(&mut self, e: EntityId) -> Result<Option<C>, Reason> {
        own_table::<C>()?;
        let before = self
            .sim
            .ecs
            .remove::<C>(e)
            .map_err(|_| Reason::PluginRefused)?;
        let removed = before.clone();
        self.undo.push(Box::new(move |sim| restore(sim, e, before)));
        Ok(removed)
    }

    /// A new entity for the plugin's components.
    pub fn spawn(&mut self) -> EntityId {
        let spawn = self.sim.ecs.spawn_revertible();
        self.undo.push(Box::new(move |sim| {
            let _ = sim.ecs.unspawn(spawn);
        }));
        spawn.entity
    }

    /// The voxel at `pos` (`None`: outside the zone).
    pub fn voxel(&self, pos: VoxelPos) -> Option<BlockId> {
        self.sim.voxels.voxel(pos)
    }

    /// The block rules in force.
    pub fn block_rules(&self) -> &BlockRules {
        self.sim.block_rules()
    }

    /// Replaces the voxel at `pos` with `block` after the checks of a dig or a place by this
    /// player (`placing`: the voxel must be room; else it must hold something): the zone holds
    /// it, it is in reach and in sight, the player may build in its column, and no body stands
    /// there if `block` is solid. `block` must be defined. Gives the engine's `BlockChanged`
    /// receipt.
    pub fn edit(
        &mut self,
        pos: VoxelPos,
        block: BlockId,
        placing: bool,
    ) -> Result<BlockId, Reason> {
        if !self.sim.block_rules().is_defined(block) {
            return Err(Reason::NotABlock);
        }
        let from = self
            .sim
            .edit_checks(&self.player, self.entity, pos, placing)?;
        self.sim.room_for(block, pos)?;
        self.sim
            .voxels
            .set_voxel(pos, block)
            .map_err(|_| Reason::OutOfZone)?;
        self.undo.push(Box::new(move |sim| {
            let _ = sim.voxels.set_voxel(pos, from);
        }));
        self.receipts.push(Receipt::BlockChanged {
            pos,
            from,
            to: block,
            by: self.player,
        });
        Ok(from)
    }
}
