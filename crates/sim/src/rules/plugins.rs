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
        let start = receipts.len();
        let mut cx = crate::plugin::PluginContext {
            sim: self,
            player: *player,
            entity: e,
            receipts,
            undo: Vec::new(),
        };
        let result = plugin.apply(&mut cx, kind, payload);
        if result.is_err() {
            // All or nothing: what the refused action changed is taken back, newest first.
            let undo = std::mem::take(&mut cx.undo);
            cx.receipts.truncate(start);
            for change in undo.into_iter().rev() {
                change(self);
            }
        }
        result
    }

    /// The plugins this zone runs (a restored copy must run the same).
    pub fn plugins(&self) -> &crate::plugin::Plugins {
        &self.plugins
    }
}
