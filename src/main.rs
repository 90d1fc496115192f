//! `z3r0`: the command-line entry point of the Z3R0 engine.

mod content_cmd;
mod genesis_cmd;
mod node_cmd;
mod pack_textures;
mod render_cmd;
mod render_window;
mod world_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};

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

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::World(args) => world_cmd::run(&args),
        Command::Genesis(args) => genesis_cmd::run(&args),
        Command::Content(command) => content_cmd::run(&command),
        Command::Node(args) => node_cmd::run(&args),
        Command::Devnet(args) => z3r0_devnet::run(&args),
        Command::Render(args) => render_cmd::run(&args),
        Command::EdgeProbe(args) => z3r0_devnet::probe::run(&args),
        Command::Client(args) => z3r0_play::run(&args),
    }
}
