//! A game built on the engine, on its devnet: the plugins and the content its genesis names,
//! and the players that play its actions by its script.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use serde::Serialize;
use z3r0_client::PlayerScript;

/// Writes a game's content pack (its `pack.toml` and files) into an empty directory.
pub type PackWriter = fn(&Path) -> std::io::Result<()>;

/// What a game adds to the engine's devnet (the engine's own devnet has none of it). The
/// devnet runs its validators as the running executable's `node` command, so a game's binary
/// (`z3r0::Engine`) runs its own plugins in them.
#[derive(Debug, Clone, Default)]
pub struct GameParts {
    /// The rule plugins the game's validators run, as `name@version`, in order: a new chain's
    /// genesis names them, and a chain that names others is refused.
    pub plugins: Vec<String>,
    /// The game's content pack: a new chain's genesis content (in force from the start).
    pub pack: Option<PackWriter>,
    /// How the game's players play: with a script, the devnet's builders (every third honest
    /// player) are the game's players instead.
    pub script: Option<Arc<dyn PlayerScript>>,
}

impl GameParts {
    /// Whether this is the engine alone.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty() && self.pack.is_none() && self.script.is_none()
    }

    /// Refuses a chain whose genesis names other plugins than the game runs (its validators
    /// would refuse to start, each with the same complaint), or that a game with a pack did
    /// not make (its zone would lack the game's blocks).
    pub fn check_genesis(&self, genesis: &z3r0_genesis::Genesis) -> Result<()> {
        if let Err(why) = genesis.check_plugin_list(&self.plugins) {
            bail!(
                "{why}; run the chain with the binary that made it, or pass --fresh for a new chain"
            );
        }
        if self.pack.is_some() && genesis.own_content().is_none() {
            bail!(
                "this chain's genesis has the default content, not this game's pack: pass --fresh for a new chain"
            );
        }
        Ok(())
    }

    /// The game's pack for a new chain (or world) in `data`: written into `data/pack` and
    /// checked first, so a pack that fails its checks leaves no chain behind (`data` is
    /// removed). `None` when the game has no pack.
    pub(crate) fn new_chain_pack(&self, data: &Path) -> Result<Option<z3r0_content::Pack>> {
        let pack_dir = data.join("pack");
        self.write_pack(&pack_dir)
            .and_then(|written| written.then(|| check_genesis_pack(&pack_dir)).transpose())
            .inspect_err(|_| {
                let _ = std::fs::remove_dir_all(data);
            })
    }

    /// Writes the game's pack into `dir` (emptied first); `false` when the game has none.
    pub fn write_pack(&self, dir: &Path) -> Result<bool> {
        let Some(write) = self.pack else {
            return Ok(false);
        };
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        write(dir).with_context(|| format!("writing the game's pack to {}", dir.display()))?;
        Ok(true)
    }
}

/// The pack in `pack_dir`, checked as a zone's genesis content (before anything of the zone
/// is written): every error by file and field, the meaning of every built-in block kept (the
/// terrain is made of them), and no larger than a publication (what every node accepts).
pub fn check_genesis_pack(pack_dir: &Path) -> Result<z3r0_content::Pack> {
    let pack = z3r0_content::Pack::load(pack_dir).map_err(|errors| {
        anyhow::anyhow!(
            "{} is not a valid content pack: {errors}",
            pack_dir.display()
        )
    })?;
    pack.manifest()
        .block_rules()
        .extends(z3r0_voxel::BlockRules::builtin())
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: a zone's content must keep every built-in block's meaning: {e}",
                pack_dir.display()
            )
        })?;
    let bytes = pack.manifest().encode().len();
    if bytes > z3r0_sim::content::MAX_PUBLISHED_BYTES {
        bail!(
            "{}: its manifest has {bytes} bytes; a zone's content has at most {}",
            pack_dir.display(),
            z3r0_sim::content::MAX_PUBLISHED_BYTES
        );
    }
    Ok(pack)
}

/// Writes a checked pack's objects (files and canonical manifest) into the content directory
/// beside the genesis at `genesis_path`. Returns the manifest hash, for the genesis's
/// `content`.
pub fn write_genesis_content(
    pack: &z3r0_content::Pack,
    genesis_path: &Path,
) -> Result<z3r0_content::Hash> {
    let dir = z3r0_genesis::content_dir(genesis_path);
    pack.write_objects(&dir)
        .with_context(|| format!("writing the genesis content to {}", dir.display()))
}

/// The game's players in the report: their scripts' actions and what became of them.
#[derive(Debug, Serialize)]
pub struct GameReport {
    pub plugins: Vec<String>,
    /// The game's pack: the genesis's content manifest (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pack: Option<String>,
    pub players: usize,
    pub actions_sent: u64,
    /// By the game's name for each action.
    pub actions_applied: BTreeMap<String, u64>,
    pub actions_refused: BTreeMap<String, u64>,
    /// Sent, but no outcome heard (lost with a session, or in flight at the end).
    pub actions_unheard: u64,
}

impl GameReport {
    /// Sums the game players' stats.
    pub fn new<'a>(
        game: &GameParts,
        genesis: &z3r0_genesis::Genesis,
        players: impl Iterator<Item = &'a z3r0_client::Tally>,
    ) -> Self {
        let mut report = Self {
            plugins: game.plugins.clone(),
            pack: game
                .pack
                .and(genesis.own_content())
                .map(|hash| z3r0_content::hex(&hash)),
            players: 0,
            actions_sent: 0,
            actions_applied: BTreeMap::new(),
            actions_refused: BTreeMap::new(),
            actions_unheard: 0,
        };
        for tally in players {
            report.players += 1;
            report.actions_sent += tally.game_sent;
            report.actions_unheard += tally.game_unheard;
            for (label, n) in &tally.game_applied {
                *report.actions_applied.entry(label.clone()).or_default() += n;
            }
            for (reason, n) in &tally.game_refused {
                *report
                    .actions_refused
                    .entry(reason.to_string())
                    .or_default() += n;
            }
        }
        report
    }

    pub fn print(&self) {
        println!(
            "  game        plugins {:?}; {} players sent {} game actions: {} applied, {} refused, {} unheard",
            self.plugins,
            self.players,
            self.actions_sent,
            self.actions_applied.values().sum::<u64>(),
            self.actions_refused.values().sum::<u64>(),
            self.actions_unheard
        );
        crate::print_counts(&self.actions_applied, "");
        if let Some(pack) = &self.pack {
            println!("    pack {pack}: the genesis's content");
        }
        crate::print_counts(&self.actions_refused, "refused: ");
    }
}

#[cfg(test)]
mod tests {
    use super::GameParts;

    #[test]
    fn a_chain_of_other_plugins_is_refused_before_any_validator_starts() {
        let dir = std::env::temp_dir().join(format!("z3r0-game-genesis-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut genesis = z3r0_genesis::generate(&dir, 1, 9_000, 0, 50).unwrap();
        let doors = GameParts {
            plugins: vec!["doors@1".into()],
            ..GameParts::default()
        };
        let engine = GameParts::default();
        assert!(engine.check_genesis(&genesis).is_ok());
        let err = doors.check_genesis(&genesis).unwrap_err().to_string();
        assert!(
            err.contains("[\"doors@1\"]") && err.contains("--fresh"),
            "{err}"
        );
        genesis.plugins = vec!["doors@1".into()];
        assert!(doors.check_genesis(&genesis).is_ok());
        assert!(engine.check_genesis(&genesis).is_err());
        // A game with a pack refuses a chain made without it (its blocks would be missing).
        let with_pack = GameParts {
            pack: Some(|_| Ok(())),
            ..doors
        };
        let err = with_pack.check_genesis(&genesis).unwrap_err().to_string();
        assert!(err.contains("default content"), "{err}");
        genesis.content = Some("ab".repeat(32));
        assert!(with_pack.check_genesis(&genesis).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
