//! `z3r0 content`: content packs (blocks, items, textures, sounds as data).

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use z3r0_content::{Pack, hex};

#[derive(Debug, Subcommand)]
pub enum ContentCommand {
    /// Check a pack (every error, by file and field) and write its content-addressed bundle:
    /// `objects/<blake3>` per file and a `pack.toml` naming them.
    Build(BuildArgs),
    /// Publish a pack's manifest on a zone's chain, signed by the genesis's content publisher:
    /// every validator switches to it at its activation tick.
    Publish(z3r0_devnet::publish::PublishArgs),
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The pack's directory (holding `pack.toml`).
    dir: PathBuf,
    /// Where to write the bundle (default: `DIR/bundle`); only checks the pack if `--check`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Check the pack and print its hash without writing a bundle.
    #[arg(long)]
    check: bool,
}

pub fn run(command: &ContentCommand) -> Result<()> {
    match command {
        ContentCommand::Build(args) => build(args),
        ContentCommand::Publish(args) => z3r0_devnet::publish::publish(args).map(|_| ()),
    }
}

fn build(args: &BuildArgs) -> Result<()> {
    let pack = match Pack::load(&args.dir) {
        Ok(pack) => pack,
        Err(errors) => bail!(
            "{} is not a valid content pack: {errors}",
            args.dir.display()
        ),
    };
    let bytes: u64 = pack
        .hashes
        .keys()
        .filter_map(|name| std::fs::metadata(args.dir.join(name)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "pack {} v{}: {} blocks, {} items, {} files ({:.1} KiB)",
        pack.file.pack.name,
        pack.file.pack.version,
        pack.file.blocks.len(),
        pack.file.items.len(),
        pack.hashes.len(),
        bytes as f64 / 1024.0
    );
    if !args.check {
        let out = args.out.clone().unwrap_or_else(|| args.dir.join("bundle"));
        pack.write_bundle(&out)
            .with_context(|| format!("writing the bundle to {}", out.display()))?;
        println!("  bundle {}", out.display());
    }
    println!("  manifest {}", hex(&pack.manifest_hash()));
    Ok(())
}
