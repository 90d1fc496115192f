//! `z3r0 genesis`: keys and configuration for a loopback validator network.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct GenesisArgs {
    /// Number of validators in the zone committee.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Directory to write into (created; must not already hold a genesis).
    #[arg(long)]
    out: PathBuf,
    /// First loopback port: p2p ports follow it, then metrics, then the player edge.
    #[arg(long, default_value_t = 9000)]
    base_port: u16,
    /// Zone id.
    #[arg(long, default_value_t = 0)]
    zone: u32,
    /// Tick (block) length in milliseconds.
    #[arg(long, default_value_t = 50)]
    tick_ms: u64,
}

pub fn run(args: &GenesisArgs) -> Result<()> {
    let genesis_path = args.out.join("genesis.toml");
    if genesis_path.exists() {
        bail!(
            "{} already exists; refusing to overwrite a genesis and its keys",
            genesis_path.display()
        );
    }
    let genesis = z3r0_node::generate(
        &args.out,
        args.validators,
        args.base_port,
        args.zone,
        args.tick_ms,
    )
    .context("writing the genesis")?;
    println!(
        "zone {} · {} validators · tick {} ms",
        genesis.zone,
        genesis.validators.len(),
        genesis.tick_ms
    );
    println!("  genesis  {}", genesis_path.display());
    for (i, v) in genesis.validators.iter().enumerate() {
        println!(
            "  validator-{i}  p2p {}  config {}",
            v.p2p,
            args.out
                .join(format!("validator-{i}/config.toml"))
                .display()
        );
    }
    Ok(())
}
