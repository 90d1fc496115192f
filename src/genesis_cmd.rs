//! `z3r0 genesis`: keys and configuration for a loopback validator network: one zone, or with
//! `--zones` a world of many, whose committees are drawn from the validators as a pool.

use anyhow::{Context as _, Result, bail};
use clap::Args;
use std::path::PathBuf;
use z3r0_devnet::PackWriter;

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
    /// A world of this grid of zones (`XxZ`, e.g. `2x2`): writes `world.toml`, whose
    /// validators form a pool that each zone's committee is drawn from.
    #[arg(long, value_parser = parse_grid)]
    zones: Option<[u16; 2]>,
    /// With `--zones`: validators on each zone's committee.
    #[arg(long, default_value_t = 4, requires = "zones")]
    committee: usize,
    /// The zone's (or with `--zones`, every zone's) own content at genesis: a content pack's
    /// directory, checked, its files and manifest written beside the genesis (`content/`,
    /// which every validator needs with the genesis). Default: the default pack, or a game
    /// binary's own.
    #[arg(long)]
    content: Option<PathBuf>,
}

/// `XxZ`, both at least 1.
fn parse_grid(s: &str) -> Result<[u16; 2], String> {
    let (x, z) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("{s:?}: expected XxZ, e.g. 2x2"))?;
    let axis = |v: &str| {
        v.trim()
            .parse::<u16>()
            .ok()
            .filter(|&n| n >= 1)
            .ok_or_else(|| format!("{s:?}: {v:?} is not a zone count from 1 to 65535"))
    };
    Ok([axis(x)?, axis(z)?])
}

/// Writes the genesis; a zone's names `plugins`, the rule plugins of the binary that runs it,
/// and its content (`--content`, else the game's `pack` written into `OUT/pack`).
pub fn run(args: &GenesisArgs, plugins: &[String], pack: Option<PackWriter>) -> Result<()> {
    for name in ["genesis.toml", "world.toml"] {
        let path = args.out.join(name);
        if path.exists() {
            bail!(
                "{} already exists; refusing to overwrite a genesis and its keys",
                path.display()
            );
        }
    }
    // The content first: a pack that fails its checks leaves no genesis behind.
    let pack_dir = match (&args.content, pack) {
        (Some(dir), _) => Some(dir.clone()),
        (None, Some(write)) => {
            let dir = args.out.join("pack");
            write(&dir).with_context(|| format!("writing the game's pack to {}", dir.display()))?;
            Some(dir)
        }
        (None, None) => None,
    };
    let checked = pack_dir
        .as_deref()
        .map(z3r0_devnet::check_genesis_pack)
        .transpose()?;
    if let Some(zones) = args.zones {
        return world(args, zones, plugins, checked.as_ref());
    }
    let genesis_path = args.out.join("genesis.toml");
    let mut genesis = z3r0_node::generate(
        &args.out,
        args.validators,
        args.base_port,
        args.zone,
        args.tick_ms,
    )
    .context("writing the genesis")?;
    if let Some(pack) = &checked {
        let hash = z3r0_devnet::write_genesis_content(pack, &genesis_path)?;
        genesis.content = Some(z3r0_node::genesis::to_hex(&hash));
    }
    genesis.plugins = plugins.to_vec();
    genesis.save(&genesis_path).context("writing the genesis")?;
    println!(
        "zone {} · {} validators · tick {} ms · plugins {:?}",
        genesis.zone,
        genesis.validators.len(),
        genesis.tick_ms,
        genesis.plugins
    );
    println!("  genesis  {}", genesis_path.display());
    if let Some(dir) = &pack_dir {
        println!(
            "  content  {} from {} (beside the genesis in {}: give every validator both)",
            genesis.content.as_deref().unwrap_or_default(),
            dir.display(),
            z3r0_node::genesis::content_dir(&genesis_path).display()
        );
    }
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

/// Writes a world and prints each zone's extent and committee.
fn world(
    args: &GenesisArgs,
    zones: [u16; 2],
    plugins: &[String],
    pack: Option<&z3r0_content::Pack>,
) -> Result<()> {
    let world_path = args.out.join("world.toml");
    let mut spec = z3r0_node::genesis::world::WorldSpec::new(
        args.validators,
        args.base_port,
        zones,
        args.committee,
    );
    spec.tick_ms = args.tick_ms;
    spec.plugins = plugins.to_vec();
    if let Some(pack) = pack {
        let hash = z3r0_devnet::write_genesis_content(pack, &world_path)?;
        spec.content = Some(z3r0_node::genesis::to_hex(&hash));
    }
    let world = z3r0_node::genesis::world::generate(&args.out, &spec)
        .context("writing the world genesis")?;
    println!(
        "world {} · {}×{} zones · {} validators in the pool · {} per committee · tick {} ms · plugins {:?}",
        &z3r0_node::genesis::to_hex(&world.world_id().0)[..16],
        zones[0],
        zones[1],
        world.pool.len(),
        world.committee_size,
        world.tick_ms,
        world.plugins
    );
    println!("  world  {}", world_path.display());
    if let Some(content) = &world.content {
        println!(
            "  content  {content} (beside the world in {}: give every validator both)",
            z3r0_node::genesis::content_dir(&world_path).display()
        );
    }
    for zone in world.zone_ids() {
        let (xs, zs) = world.zone_columns(zone)?;
        let committee = world.committee(zone)?;
        let seats: Vec<String> = committee.iter().map(|i| format!("validator-{i}")).collect();
        println!(
            "  zone {zone}  chunks x {}..{} z {}..{}  committee {}",
            xs[0],
            xs[1],
            zs[0],
            zs[1],
            seats.join(" ")
        );
    }
    println!(
        "  run each with: z3r0 node --config {}",
        args.out.join("validator-<i>/config.toml").display()
    );
    Ok(())
}
