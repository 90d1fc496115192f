//! `z3r0 node`: run one validator: of one zone, or of every zone it is seated on in a world.

use anyhow::{Context as _, Result};
use clap::Args;
use std::path::PathBuf;
use z3r0_node::genesis::NodeExit;

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// This validator's config (written by `z3r0 genesis`): a zone validator's, or a world
    /// pool member's (then it runs every zone whose committee it sits on).
    #[arg(long)]
    config: PathBuf,
    /// Synthetic load: signed game inputs per second submitted to this validator (in a world,
    /// its players run east and west across the borders of its zones).
    #[arg(long, default_value_t = 0)]
    load: u32,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Stop when standard input closes (how `z3r0 devnet` stops its validators, and why none
    /// outlives it).
    #[arg(long)]
    stop_on_stdin_close: bool,
    /// Player sessions one IP address may hold at most (a devnet's players all share
    /// loopback).
    #[arg(long, default_value_t = 64)]
    sessions_per_address: usize,
    /// Connections one IP address may open per second, after a burst as large as
    /// `--sessions-per-address`; more are refused before any handshake.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    handshakes_per_address: u32,
    /// Set the data directory aside (renamed, not deleted) and rebuild it from the committee:
    /// what to do when the node reports a damaged store. The keys are kept.
    #[arg(long)]
    resync: bool,
    /// Tests only: lead with blocks that break the rules (a Byzantine validator).
    #[arg(long, hide = true)]
    byzantine: bool,
    /// Tests only: leave the chain's state after this height (a validator that diverges).
    #[arg(long, hide = true)]
    diverge_at: Option<u64>,
    /// Tests and drills: run this node's clock this many milliseconds ahead (negative: behind).
    #[arg(long, hide = true, default_value_t = 0, allow_hyphen_values = true)]
    clock_skew_ms: i64,
    /// Tests and drills: finalized blocks kept below the latest checkpoint (default 16,384);
    /// older blocks are pruned, and a member further behind comes back by state sync.
    #[arg(long, hide = true, value_parser = clap::value_parser!(u64).range(16..))]
    history_blocks: Option<u64>,
}

/// Runs the node. Exit codes ([`NodeExit`]): 0 stopped, 1 failed, 3 damaged or
/// foreign data directory, 4 state diverged from the chain.
pub fn run(args: &NodeArgs, plugins: z3r0_node::Plugins) -> Result<()> {
    let result = z3r0_node::run(&z3r0_node::NodeOptions {
        config: args.config.clone(),
        load_rate: args.load,
        threads: args.threads,
        stop_on_stdin_close: args.stop_on_stdin_close,
        sessions_per_address: args.sessions_per_address,
        handshakes_per_address: args.handshakes_per_address,
        byzantine: args.byzantine,
        resync: args.resync,
        diverge_at: args.diverge_at,
        clock_skew_ms: args.clock_skew_ms,
        history_blocks: args.history_blocks,
        plugins,
    });
    let Err(e) = result else { return Ok(()) };
    let exit = e.exit();
    match exit {
        NodeExit::Storage => eprintln!(
            "error: validator {}: {e}\n{}",
            args.config.display(),
            z3r0_node::resync_advice(&args.config)
        ),
        NodeExit::Diverged => eprintln!(
            "error: validator {}: its state diverged from the chain's: {e}\nRestarting replays the same blocks on the same state; rebuild it from the committee with `z3r0 node --config {} --resync`, and report this as a bug.",
            args.config.display(),
            args.config.display()
        ),
        NodeExit::Stopped | NodeExit::Failed => {
            return Err(e).with_context(|| format!("validator {}", args.config.display()));
        }
    }
    std::process::exit(exit.code())
}
