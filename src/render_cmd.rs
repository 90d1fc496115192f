//! `z3r0 render`: render a generated world offline (no node) to a PNG, or in a window, and
//! print frame statistics.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use z3r0_render::{
    Camera, EntityBox, FrameInput, FrameStats, Gpu, GpuOptions, HEADLESS_FORMAT, HeadlessTarget,
    Renderer, RendererConfig,
};
use z3r0_render::{generate_view, ground_height, pick_block};
use z3r0_voxel::CHUNK_SIZE;

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// World seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Camera as X,Y,Z,YAW,PITCH (world units and degrees; yaw 0 looks along +z, 90 along +x).
    #[arg(long, default_value = "0,60,0,35,-20", allow_hyphen_values = true)]
    camera: String,
    /// Image size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720")]
    pub size: String,
    /// View distance in chunks (the radius of generated columns).
    #[arg(long, default_value_t = 8)]
    pub view_distance: u32,
    /// Output PNG (headless).
    #[arg(long, default_value = "shot.png")]
    out: PathBuf,
    /// Frames to render; statistics are the median over them (the first compiles pipelines).
    #[arg(long, default_value_t = 1)]
    pub frames: u32,
    /// Draw a few entity boxes and target the block under the crosshair, to show the overlays.
    #[arg(long)]
    demo_overlays: bool,
    /// Open a window instead of writing a PNG (needs a display).
    #[arg(long)]
    window: bool,
    /// Show a content pack's textures (a directory with `pack.toml`) instead of the built-in
    /// ones.
    #[arg(long)]
    pub content: Option<PathBuf>,
    /// With --window and --content: reload the pack's textures when its files change.
    #[arg(long, requires = "content", requires = "window")]
    pub watch: bool,
    /// With --window: wait for the display's vertical sync.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub vsync: bool,
}

pub fn parse_camera(s: &str) -> Result<Camera> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let [x, y, z, yaw, pitch] = parts.as_slice() else {
        bail!("--camera wants X,Y,Z,YAW,PITCH (five numbers), got {s:?}");
    };
    let num = |v: &str, what: &str| -> Result<f64> {
        let n: f64 = v
            .parse()
            .with_context(|| format!("--camera {what} {v:?} is not a number"))?;
        if !n.is_finite() {
            bail!("--camera {what} must be finite");
        }
        Ok(n)
    };
    let position = [num(x, "X")?, num(y, "Y")?, num(z, "Z")?];
    let limit = f64::from(z3r0_voxel::worldgen::WORLD_LIMIT_CHUNKS) * CHUNK_SIZE as f64;
    if position.iter().any(|c| c.abs() >= limit) {
        bail!("--camera position is outside the world (|coordinate| < {limit})");
    }
    let pitch = num(pitch, "PITCH")?;
    if !(-90.0..=90.0).contains(&pitch) {
        bail!("--camera PITCH must be within -90..=90 degrees, got {pitch}");
    }
    Ok(Camera::new(position, num(yaw, "YAW")? as f32, pitch as f32))
}

pub use z3r0_play::parse_size;

pub fn run(args: &RenderArgs) -> Result<()> {
    let camera = parse_camera(&args.camera)?;
    let size = parse_size(&args.size)?;
    if args.view_distance == 0 || args.view_distance > 32 {
        bail!(
            "--view-distance must be between 1 and 32 chunks, got {}",
            args.view_distance
        );
    }
    if args.frames == 0 {
        bail!("--frames must be at least 1");
    }
    let n = CHUNK_SIZE as f64;
    let center = (
        (camera.position[0] / n).floor() as i32,
        (camera.position[2] / n).floor() as i32,
    );
    let started = Instant::now();
    let mut world = generate_view(args.seed, center, args.view_distance)
        .context("generating the world around the camera")?;
    let generated = started.elapsed();
    println!(
        "world seed {} · {} chunks within {} chunks of the camera · generated in {:.0} ms",
        args.seed,
        world.len(),
        args.view_distance,
        generated.as_secs_f64() * 1e3
    );

    let overlays = if args.demo_overlays {
        demo_overlays(&world, &camera)
    } else {
        (Vec::new(), None)
    };

    if args.window {
        return crate::render_window::run(args, camera, world, overlays);
    }

    let gpu = Gpu::headless(&GpuOptions::default())?;
    println!("adapter {}", gpu.describe());
    let mut renderer = Renderer::new(
        &gpu,
        RendererConfig::new(HEADLESS_FORMAT, args.view_distance),
    )?;
    if let Some(dir) = &args.content {
        renderer.set_block_look(&gpu, &crate::pack_textures::load(dir)?);
        println!("textures from {}", dir.display());
    }
    let sync = renderer.sync_world(&gpu, &mut world)?;
    // Time the staged copies on their own: submit them and wait for the GPU.
    let upload = Instant::now();
    renderer.flush(&gpu);
    gpu.wait_idle()?;
    let upload_ms = upload.elapsed().as_secs_f64() * 1e3;
    let pool = renderer.pool_stats();
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    println!(
        "meshed {} chunks · {} quads · mesh + AO {:.0} ms · upload {:.1} MiB in {upload_ms:.1} ms \
         ({:.0} MiB/s) · GPU pools {:.1} MiB ({} quads, {} chunk slots)",
        sync.meshed,
        sync.quads,
        sync.cpu_ms,
        mib(pool.uploaded_bytes),
        mib(pool.uploaded_bytes) / (upload_ms / 1e3).max(1e-9),
        mib(pool.gpu_bytes),
        pool.quad_capacity,
        pool.slot_capacity
    );
    let target = HeadlessTarget::new(&gpu, size.0, size.1)?;
    let frame = FrameInput {
        camera: &camera,
        entities: &overlays.0,
        target_block: overlays.1,
        crosshair: true,
        time_s: 0.0,
        overlay: None,
    };
    let mut all = Vec::with_capacity(args.frames as usize);
    for _ in 0..args.frames {
        let wall = Instant::now();
        let stats = target.render(&gpu, &mut renderer, &frame)?;
        all.push((stats, wall.elapsed().as_secs_f64() * 1e3));
    }
    let image = target.read(&gpu)?;
    image.write_png(&args.out)?;
    print_stats(&all);
    println!("wrote {}", args.out.display());
    Ok(())
}

/// Median statistics over frames (a single frame prints as is).
pub fn print_stats(frames: &[(FrameStats, f64)]) {
    let Some((last, _)) = frames.last() else {
        return;
    };
    let median = |mut v: Vec<f64>| -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let wall = median(frames.iter().map(|f| f.1).collect());
    let cpu = median(frames.iter().map(|f| f.0.cpu_ms).collect());
    let gpu: Vec<f64> = frames.iter().filter_map(|f| f.0.gpu_ms).collect();
    println!(
        "frame: {} draw calls ({} indirect draws) · {} triangles · chunks {} drawn / {} culled \
         of {} · {} entities",
        last.draw_calls,
        last.indirect_draws,
        last.triangles,
        last.chunks_drawn,
        last.chunks_culled,
        last.chunks_resident,
        last.entities
    );
    let gpu = if gpu.is_empty() {
        "n/a (no timestamp queries)".to_string()
    } else {
        format!("{:.2} ms", median(gpu))
    };
    println!(
        "time over {} frame(s), median: CPU {cpu:.2} ms · GPU {gpu} · wall (submit to idle) \
         {wall:.2} ms",
        frames.len()
    );
}

/// A few boxes standing on the ground in front of the camera, and the block under the
/// crosshair, so `--demo-overlays` shows every overlay the client draws.
fn demo_overlays(world: &z3r0_voxel::World, camera: &Camera) -> (Vec<EntityBox>, Option<[i32; 3]>) {
    let (f, r) = (camera.forward(), camera.right());
    let target = pick_block(world, camera.position, f, 64.0);
    let colours = [[0.85, 0.2, 0.2], [0.2, 0.45, 0.9], [0.95, 0.8, 0.2]];
    let boxes = colours
        .into_iter()
        .enumerate()
        .filter_map(|(i, color)| {
            let (ahead, side) = (8.0 + 4.0 * i as f64, (i as f64 - 1.0) * 3.0);
            let x = camera.position[0] + f64::from(f[0]) * ahead + f64::from(r[0]) * side;
            let z = camera.position[2] + f64::from(f[2]) * ahead + f64::from(r[2]) * side;
            let ground = ground_height(world, x.floor() as i32, z.floor() as i32)?;
            Some(EntityBox {
                min: [x - 0.3, f64::from(ground), z - 0.3],
                size: [0.6, 1.8, 0.6],
                color,
            })
        })
        .collect();
    (boxes, target)
}
