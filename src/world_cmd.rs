//! `z3r0 world`: generate, mesh and map a square region of chunk columns.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;
use z3r0_voxel::{CHUNK_VOLUME, Chunk, ChunkMesh, ChunkPos, Mesher, World, WorldGen, blocks};

#[derive(Debug, clap::Args)]
pub struct WorldArgs {
    /// World seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Half-width of the square region in chunks: radius 8 is 16×16 chunk columns.
    #[arg(long, default_value_t = 8)]
    radius: u32,
    /// Lowest and highest chunk layer (y) to generate.
    #[arg(long, default_value_t = -4, allow_negative_numbers = true)]
    min_y: i32,
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    max_y: i32,
    /// Where to write the top-down colour map (PNG).
    #[arg(long, default_value = "map.png")]
    out: PathBuf,
    /// Skip the map.
    #[arg(long)]
    no_map: bool,
}

pub fn run(args: &WorldArgs) -> Result<()> {
    if args.radius == 0 || args.radius > 64 {
        bail!("--radius must be between 1 and 64 (got {})", args.radius);
    }
    if args.min_y > args.max_y {
        bail!("--min-y ({}) is above --max-y ({})", args.min_y, args.max_y);
    }
    let r = args.radius as i32;
    let layers = (args.max_y - args.min_y + 1) as usize;
    let columns = (2 * r) as usize * (2 * r) as usize;
    let total = columns * layers;
    let generator = WorldGen::new(args.seed);
    let mut world = World::with_capacity(total);

    let started = Instant::now();
    let bar = progress(total as u64, "generating");
    let mut scratch = Box::new([blocks::AIR; CHUNK_VOLUME]);
    let mut chunk = Chunk::default();
    for x in -r..r {
        for z in -r..r {
            let column = generator.column(x, z);
            for y in args.min_y..=args.max_y {
                let pos = ChunkPos::new(x, y, z);
                generator.generate_into(pos, &column, &mut scratch, &mut chunk);
                world.insert_chunk(pos, &chunk)?;
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    let gen_time = started.elapsed();

    let bar = progress(total as u64, "meshing");
    let mut mesher = Mesher::new();
    let mut mesh = ChunkMesh::default();
    let mut mesh_us = Vec::with_capacity(total);
    let (mut quads, mut opaque_quads) = (0usize, 0usize);
    let positions: Vec<ChunkPos> = world.chunks().map(|(p, _)| p).collect();
    for &pos in &positions {
        let hood = world
            .neighborhood(pos)
            .context("chunk vanished while meshing")?;
        let t = Instant::now();
        mesher.mesh(&hood, &mut mesh);
        mesh_us.push(t.elapsed().as_secs_f64() * 1e6);
        quads += mesh.quads.len();
        opaque_quads += mesh.opaque_quads().len();
        bar.inc(1);
    }
    bar.finish_and_clear();

    let root = world.chunk_root();
    let non_air: usize = world.chunks().map(|(_, c)| c.non_air_count()).sum();
    let uniform = world
        .chunks()
        .filter(|(_, c)| c.as_uniform().is_some())
        .count();
    let bytes: usize = world
        .chunks()
        .map(|(_, c)| c.heap_bytes() + std::mem::size_of::<Chunk>())
        .sum();
    let voxels = total * CHUNK_VOLUME;
    mesh_us.sort_by(f64::total_cmp);
    let pct = |p: f64| mesh_us[((mesh_us.len() - 1) as f64 * p).round() as usize];

    println!(
        "world seed {} · {}×{} columns × {} layers (y {}..={})",
        args.seed,
        2 * r,
        2 * r,
        layers,
        args.min_y,
        args.max_y
    );
    println!("  chunks           {total} ({uniform} uniform)");
    println!("  non-air voxels   {non_air} of {voxels}");
    println!(
        "  memory           {bytes} bytes = {:.4} bytes/voxel",
        bytes as f64 / voxels as f64
    );
    println!(
        "  generation       {:.1} ms ({:.1} µs/chunk)",
        gen_time.as_secs_f64() * 1e3,
        gen_time.as_secs_f64() * 1e6 / total as f64
    );
    println!(
        "  quads            {quads} ({opaque_quads} opaque, {} transparent)",
        quads - opaque_quads
    );
    println!(
        "  mesh µs/chunk    p50 {:.1} · p99 {:.1} · max {:.1}",
        pct(0.5),
        pct(0.99),
        pct(1.0)
    );
    println!("  chunk root       {}", hex(&root));

    if !args.no_map {
        write_map(&world, r, args, &args.out)?;
        println!("  map              {}", args.out.display());
    }
    Ok(())
}

fn progress(len: u64, what: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} chunks ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One pixel per column: the colour of the highest non-air block, shaded by height; water is
/// tinted darker with depth.
fn write_map(world: &World, r: i32, args: &WorldArgs, path: &PathBuf) -> Result<()> {
    let (pixels, width, depth) =
        z3r0_render::map_pixels(world, (-r, r), (-r, r), (args.min_y, args.max_y));
    let png = z3r0_render::encode_png_rgb(&pixels, width, depth)?;
    std::fs::write(path, png).with_context(|| format!("cannot write {}", path.display()))
}
