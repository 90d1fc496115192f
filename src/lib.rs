//! The Z3R0 engine's command line, as a library: the `z3r0` binary is [`Engine::main`] with
//! nothing added, and a game built on the engine is a binary of its own that adds its parts
//! (rule plugins, a content pack, its players' script) and gets every command with them. Its
//! `devnet` runs its validators as its own `node` command, so they run its plugins.
//!
//! ```no_run
//! # #[derive(Debug)] struct MyPlugin;
//! # impl z3r0_sim::plugin::GamePlugin for MyPlugin {
//! #     fn name(&self) -> &'static str { "mine" }
//! #     fn register(&self, _: &mut z3r0_sim::plugin::Registry<'_>)
//! #         -> Result<(), z3r0_sim::SimError> { Ok(()) }
//! #     fn apply(&self, _: &mut z3r0_sim::plugin::PluginContext<'_>, _: u8, _: &[u8])
//! #         -> Result<(), z3r0_sim::Reason> { Ok(()) }
//! # }
//! fn main() -> anyhow::Result<()> {
//!     z3r0::Engine::new("my-game")
//!         .plugin(std::sync::Arc::new(MyPlugin))
//!         .main()
//! }
//! ```

mod content_cmd;
mod genesis_cmd;
mod node_cmd;
mod pack_textures;
mod render_cmd;
mod render_window;
mod world_cmd;

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use z3r0_client::PlayerScript;
use z3r0_devnet::{GameParts, PackWriter};
use z3r0_sim::plugin::{GamePlugin, Plugins};

#[derive(Debug, Parser)]
#[command(
    name = "z3r0",
    version,
    about = "Z3R0: a decentralized voxel MMO engine where the chain is the game server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a region of the world, mesh it, print statistics and write a top-down map.
    World(world_cmd::WorldArgs),
    /// Write a zone genesis and per-validator configs and keys for a loopback network.
    Genesis(genesis_cmd::GenesisArgs),
    /// Run a whole zone here: validator processes, players and cheaters, a live dashboard and
    /// a report at the end.
    Devnet(z3r0_devnet::DevnetArgs),
    /// Run one zone validator (consensus, storage, metrics) from its config.
    Node(node_cmd::NodeArgs),
    /// Play in a zone as a player over QUIC (headless, as a bot, with a screenshot).
    Client(z3r0_play::ClientArgs),
    /// Connect synthetic players to a node's QUIC edge and report latency and bandwidth.
    EdgeProbe(z3r0_devnet::probe::ProbeArgs),
    /// Check a content pack and write its content-addressed bundle.
    #[command(subcommand)]
    Content(content_cmd::ContentCommand),
    /// Render a generated world offline to a PNG (or in a window) and print frame statistics.
    Render(render_cmd::RenderArgs),
}

/// The engine's command line with a game's parts.
#[derive(Clone)]
pub struct Engine {
    name: &'static str,
    plugins: Vec<Arc<dyn GamePlugin>>,
    pack: Option<PackWriter>,
    script: Option<Arc<dyn PlayerScript>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("name", &self.name)
            .field("plugins", &self.parts().plugins)
            .field("pack", &self.pack.is_some())
            .field("script", &self.script)
            .finish()
    }
}

impl Default for Engine {
    /// The engine alone: the `z3r0` binary.
    fn default() -> Self {
        Self::new("z3r0")
    }
}

impl Engine {
    /// A game's binary, called `name` in its help.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            plugins: Vec::new(),
            pack: None,
            script: None,
        }
    }

    /// A rule plugin every validator runs, after those added before (an action names its
    /// plugin by this order, and a chain's genesis names the list).
    pub fn plugin(mut self, plugin: Arc<dyn GamePlugin>) -> Self {
        self.plugins.push(plugin);
        self
    }

    /// The game's content pack, written by `write`: the genesis content of the zones its
    /// `genesis` and `devnet` make (unless `genesis --content` names another).
    pub fn pack(mut self, write: fn(&Path) -> std::io::Result<()>) -> Self {
        self.pack = Some(write);
        self
    }

    /// The game's player-side part: how its bots play (a third of a `devnet`'s honest
    /// players, `client --headless --bot game`) and what `use` does in `client`'s window.
    pub fn players(mut self, script: Arc<dyn PlayerScript>) -> Self {
        self.script = Some(script);
        self
    }

    /// Logs to standard error (`RUST_LOG`, `info` by default), parses the command line and
    /// runs the command.
    pub fn main(self) -> Result<()> {
        tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .with_writer(std::io::stderr)
            .init();
        let matches = Cli::command().name(self.name).get_matches();
        let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        self.run(cli.command)
    }

    fn run(self, command: Command) -> Result<()> {
        match command {
            Command::World(args) => world_cmd::run(&args),
            Command::Genesis(args) => genesis_cmd::run(&args, &self.parts().plugins, self.pack),
            Command::Content(command) => content_cmd::run(&command),
            Command::Node(args) => node_cmd::run(&args, Plugins::new(self.plugins)),
            Command::Devnet(args) => z3r0_devnet::run_game(&args, &self.parts()),
            Command::Render(args) => render_cmd::run(&args),
            Command::EdgeProbe(args) => z3r0_devnet::probe::run(&args),
            Command::Client(args) => z3r0_play::run_game(&args, self.script.clone()),
        }
    }

    fn parts(&self) -> GameParts {
        GameParts {
            plugins: Plugins::new(self.plugins.clone()).ids(),
            pack: self.pack,
            script: self.script.clone(),
        }
    }
}
