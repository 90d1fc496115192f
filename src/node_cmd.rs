//! `z3r0 node`: run one zone validator.

use anyhow::{Context as _, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// This validator's config (written by `z3r0 genesis`).
    #[arg(long)]
    config: PathBuf,
    /// Synthetic load: signed game inputs per second submitted to this validator.
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
    /// Tests only: lead with blocks that break the rules (a Byzantine validator).
    #[arg(long, hide = true)]
    byzantine: bool,
}

pub fn run(args: &NodeArgs) -> Result<()> {
    z3r0_node::run(&z3r0_node::NodeOptions {
        config: args.config.clone(),
        load_rate: args.load,
        threads: args.threads,
        stop_on_stdin_close: args.stop_on_stdin_close,
        sessions_per_address: args.sessions_per_address,
        byzantine: args.byzantine,
    })
    .with_context(|| format!("validator {}", args.config.display()))
}
