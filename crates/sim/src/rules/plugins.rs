//! Dispatching plugin actions (see [`crate::plugin`]).

use super::*;

impl Sim {
    /// One action of plugin number `plugin` for `player` (entity `e`).
    pub(super) fn apply_plugin(
        &mut self,
        player: &PlayerKey,
        e: EntityId,
        plugin: u8,
        kind: u8,
        payload: &[u8],
        receipts: &mut Vec<Receipt>,
    ) -> Result<(), Reason> {
        let plugin = self
            .plugins
            .get(plugin)
            .cloned()
            .ok_or(Reason::NoSuchPlugin)?;
        let mut cx = crate::plugin::PluginContext {
            sim: self,
            player: *player,
            entity: e,
            receipts,
        };
        plugin.apply(&mut cx, kind, payload)
    }

    /// The plugins this zone runs (a restored copy must run the same).
    pub fn plugins(&self) -> &crate::plugin::Plugins {
        &self.plugins
    }

    /// The names of the plugins this zone runs, in order.
    pub fn plugin_names(&self) -> Vec<&'static str> {
        self.plugins.names()
    }
}
