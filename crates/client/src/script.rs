//! A game's player-side part: [`PlayerScript`], how the game's bots play and what a player's
//! `use` control does in a window.

use z3r0_sim::Action;
use z3r0_voxel::VoxelPos;

use crate::game::Game;

/// A game's player-side part. Bots (a devnet's game players, `client --headless --bot game`)
/// walk, jump, sign, send and count outcomes, and ask the script what the game's player does;
/// a player in a window asks it what using a block does.
pub trait PlayerScript: Send + Sync + std::fmt::Debug {
    /// A bot's action of this turn (one every 500 ms), if any: a dig or a place (shown at
    /// once and settled by the chain, like a player's), or any other action, a plugin's
    /// included. `roll` is the bot's seeded random number for the turn.
    fn act(&self, game: &Game, roll: u64) -> Option<Action>;

    /// Where a bot walks, as a yaw (a full turn is 65 536; 0 is +z, 16 384 is +x), or `None`
    /// to wander like the engine's walkers. Asked on the bot's turns (every 500 ms).
    fn heading(&self, game: &Game) -> Option<u16> {
        let _ = game;
        None
    }

    /// What reports call `action` (a bot's outcomes are counted by it).
    fn label(&self, action: &Action) -> String {
        match action {
            Action::Plugin { plugin, kind, .. } => format!("plugin {plugin} kind {kind}"),
            other => Action::kind_name(other.kind()).into(),
        }
    }

    /// What the `use` control (F, the pad's west button) does with the block looked at,
    /// `target`, `before` being the voxel in front of the face looked at: the action to send,
    /// if any (the engine's own controls dig, place and claim).
    fn use_block(&self, game: &Game, target: VoxelPos, before: VoxelPos) -> Option<Action> {
        let _ = (game, target, before);
        None
    }
}
