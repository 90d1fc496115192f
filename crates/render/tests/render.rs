//! Rendering on a real adapter (Mesa's lavapipe in CI): golden images, the batched draw-call
//! count, the direct-draw fallback and the pooled chunk buffers.
//!
//! Without any adapter these tests print that they did not run and pass, unless
//! `Z3R0_REQUIRE_GPU=1` (set by `scripts/test`), which turns a missing adapter into a failure.
//! `Z3R0_BLESS=1` rewrites the golden images from the current output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use z3r0_render::{
    Camera, EntityBox, FrameInput, FrameStats, Gpu, GpuOptions, HEADLESS_FORMAT, HeadlessTarget,
    Occupancy, Renderer, RendererConfig, RgbaImage, compare,
};
use z3r0_render::{generate_view, ground_height, pick_block};
use z3r0_voxel::{ChunkMesh, ChunkPos, Face, Quad, blocks};

fn gpu() -> Option<Gpu> {
    match Gpu::headless(&GpuOptions::default()) {
        Ok(gpu) => Some(gpu),
        Err(e) if std::env::var_os("Z3R0_REQUIRE_GPU").is_some() => {
            panic!("Z3R0_REQUIRE_GPU is set but no adapter is usable: {e}")
        }
        Err(e) => {
            eprintln!(
                "\n!!! RENDER TEST NOT RUN: no GPU adapter ({e}).\n!!! Install \
                 mesa-vulkan-drivers (scripts/test does) to run it.\n"
            );
            None
        }
    }
}

const SIZE: (u32, u32) = (256, 144);

struct Scene {
    name: &'static str,
    camera: Camera,
    view_distance: u32,
    entities: Vec<EntityBox>,
    target: Option<[i32; 3]>,
    /// Stand two boxes on the ground ahead and outline the block under the crosshair.
    overlays: bool,
}

fn scenes() -> Vec<Scene> {
    vec![
        // Coast from above: terrain, trees, sand, water, fog, sky.
        Scene {
            name: "coast",
            camera: Camera::new([0.0, 60.0, 0.0], 35.0, -20.0),
            view_distance: 5,
            entities: Vec::new(),
            target: None,
            overlays: false,
        },
        // Grass and trees up close: textures, ambient occlusion, entity boxes, block outline.
        Scene {
            name: "grove",
            camera: Camera::new([90.0, 24.0, 125.0], 35.0, -20.0),
            view_distance: 3,
            entities: Vec::new(),
            target: None,
            overlays: true,
        },
        // Looking along the shore into the distance: water from a low angle.
        Scene {
            name: "shore",
            camera: Camera::new([60.0, 30.0, 40.0], 200.0, -30.0),
            view_distance: 4,
            entities: Vec::new(),
            target: None,
            overlays: false,
        },
    ]
}

fn render_scene(gpu: &Gpu, scene: &Scene, multi_draw: bool) -> (RgbaImage, FrameStats) {
    render_scene_with(gpu, scene, multi_draw, None)
}

/// Renders `scene`; `tiny_pools` starts every pool at one element so uploads grow them.
fn render_scene_with(
    gpu: &Gpu,
    scene: &Scene,
    multi_draw: bool,
    tiny_pools: Option<()>,
) -> (RgbaImage, FrameStats) {
    let n = 32.0;
    let center = (
        (scene.camera.position[0] / n).floor() as i32,
        (scene.camera.position[2] / n).floor() as i32,
    );
    let mut world = generate_view(42, center, scene.view_distance).unwrap();
    let (mut entities, mut target_block) = (scene.entities.clone(), scene.target);
    if scene.overlays {
        let (f, r) = (scene.camera.forward(), scene.camera.right());
        for (ahead, side, color) in [(9.0, -1.5, [0.85, 0.2, 0.2]), (12.0, 2.0, [0.2, 0.45, 0.9])] {
            let p = scene.camera.position;
            let x = p[0] + f64::from(f[0]) * ahead + f64::from(r[0]) * side;
            let z = p[2] + f64::from(f[2]) * ahead + f64::from(r[2]) * side;
            let y = ground_height(&world, x.floor() as i32, z.floor() as i32).unwrap();
            entities.push(EntityBox {
                min: [x - 0.3, f64::from(y), z - 0.3],
                size: [0.6, 1.8, 0.6],
                color,
            });
        }
        target_block = pick_block(&world, scene.camera.position, f, 64.0);
        assert!(
            target_block.is_some(),
            "{}: nothing under the crosshair",
            scene.name
        );
    }
    let mut config = RendererConfig::new(HEADLESS_FORMAT, scene.view_distance);
    if tiny_pools.is_some() {
        config.initial_quads = 1;
        config.initial_chunks = 1;
    }
    let mut renderer = Renderer::new(gpu, config).unwrap();
    renderer.set_multi_draw(multi_draw, gpu);
    renderer.sync_world(gpu, &mut world).unwrap();
    let target = HeadlessTarget::new(gpu, SIZE.0, SIZE.1).unwrap();
    let frame = FrameInput {
        camera: &scene.camera,
        entities: &entities,
        target_block,
        crosshair: true,
        time_s: 0.0,
        overlay: None,
    };
    let stats = target.render(gpu, &mut renderer, &frame).unwrap();
    (target.read(gpu).unwrap(), stats)
}

fn golden_dir() -> PathBuf {
    // Cargo sets the manifest directory when it runs the test too: prefer that to the one the
    // binary was compiled in, since a build cache shared between checkouts may hand this
    // checkout a binary compiled in another.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("tests/golden")
}

/// Per-channel tolerance, and the share of pixels allowed beyond it (rasteriser differences
/// between lavapipe builds and CPUs stay well inside this).
const TOLERANCE: u8 = 10;
const MAX_DIFFERING: f64 = 0.005;

#[test]
fn golden_images_match() {
    let Some(gpu) = gpu() else { return };
    let bless = std::env::var_os("Z3R0_BLESS").is_some();
    let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("render-golden");
    std::fs::create_dir_all(&out_dir).unwrap();
    let mut failures = Vec::new();
    for scene in scenes() {
        let (image, stats) = render_scene(&gpu, &scene, true);
        assert!(stats.chunks_drawn > 0, "{}: nothing drawn", scene.name);
        let golden = golden_dir().join(format!("{}.png", scene.name));
        if bless {
            image.write_png(&golden).unwrap();
            continue;
        }
        let expected = RgbaImage::read_png(&golden)
            .unwrap_or_else(|e| panic!("{e} (run with Z3R0_BLESS=1 to create it)"));
        let actual_path = out_dir.join(format!("{}-actual.png", scene.name));
        let diff_path = out_dir.join(format!("{}-diff.png", scene.name));
        match compare(&expected, &image, TOLERANCE) {
            Some((diff, _)) if diff.fraction() <= MAX_DIFFERING => {}
            Some((diff, diff_image)) => {
                image.write_png(&actual_path).unwrap();
                diff_image.write_png(&diff_path).unwrap();
                failures.push(format!(
                    "{}: {} of {} pixels differ by more than {TOLERANCE} (max {}); actual {} \
                     diff {}",
                    scene.name,
                    diff.differing,
                    diff.total,
                    diff.max_channel_delta,
                    actual_path.display(),
                    diff_path.display()
                ));
            }
            None => {
                image.write_png(&actual_path).unwrap();
                failures.push(format!("{}: size differs from the golden", scene.name));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_comparison_catches_a_changed_picture() {
    let Some(gpu) = gpu() else { return };
    let scene = &scenes()[0];
    let (image, _) = render_scene(&gpu, scene, true);
    // The same scene looking elsewhere must not pass as the golden.
    let moved = Scene {
        camera: Camera::new([0.0, 60.0, 0.0], 45.0, -20.0),
        ..scenes().remove(0)
    };
    let (other, _) = render_scene(&gpu, &moved, true);
    let (diff, _) = compare(&image, &other, TOLERANCE).unwrap();
    assert!(diff.fraction() > 0.2, "{diff:?}");
    let (same, _) = compare(&image, &image, 0).unwrap();
    assert_eq!(same.differing, 0);
}

#[test]
fn the_image_has_sky_above_and_terrain_below() {
    let Some(gpu) = gpu() else { return };
    let (image, stats) = render_scene(&gpu, &scenes()[0], true);
    let top = image.pixel(SIZE.0 / 2, 2);
    assert!(
        top[2] > top[0] && top[2] > 150,
        "sky should be blue-ish: {top:?}"
    );
    // Terrain: the lower middle is not sky coloured.
    let low = image.pixel(SIZE.0 / 4, SIZE.1 - 20);
    assert_ne!(low, top);
    assert!(stats.triangles > 10_000, "{stats:?}");
    // The crosshair sits in the centre and is near white.
    let c = image.pixel(SIZE.0 / 2, SIZE.1 / 2);
    assert!(c.iter().take(3).all(|&v| v > 200), "crosshair: {c:?}");
}

#[test]
fn draw_calls_stay_constant_as_the_view_distance_grows() {
    let Some(gpu) = gpu() else { return };
    if !gpu.caps.indirect_first_instance {
        eprintln!("!!! adapter has no INDIRECT_FIRST_INSTANCE: chunks are drawn one by one");
        return;
    }
    let mut calls = Vec::new();
    for view_distance in [4, 8, 12] {
        let scene = Scene {
            name: "distance",
            camera: Camera::new([0.0, 60.0, 0.0], 35.0, -10.0),
            view_distance,
            entities: vec![EntityBox {
                min: [3.0, 58.0, 8.0],
                size: [0.6, 1.8, 0.6],
                color: [1.0, 0.0, 0.0],
            }],
            target: Some([0, 0, 0]),
            overlays: false,
        };
        let (_, stats) = render_scene(&gpu, &scene, true);
        calls.push((view_distance, stats));
    }
    let (_, near) = calls[0];
    let (_, far) = calls[2];
    assert!(
        far.chunks_drawn > 3 * near.chunks_drawn,
        "{near:?} vs {far:?}"
    );
    assert!(far.indirect_draws > near.indirect_draws);
    for (distance, stats) in &calls {
        // Sky, terrain, entities, water, outline, crosshair.
        assert_eq!(stats.draw_calls, 6, "view distance {distance}: {stats:?}");
    }
}

#[test]
fn direct_draw_fallback_draws_the_same_picture() {
    let Some(gpu) = gpu() else { return };
    if !gpu.caps.indirect_first_instance {
        eprintln!("!!! adapter has no INDIRECT_FIRST_INSTANCE: the fallback is the only path");
        return;
    }
    let scene = &scenes()[1];
    let (batched, batched_stats) = render_scene(&gpu, scene, true);
    let (direct, direct_stats) = render_scene(&gpu, scene, false);
    assert_eq!(batched_stats.triangles, direct_stats.triangles);
    assert!(direct_stats.draw_calls > batched_stats.draw_calls);
    let (diff, _) = compare(&batched, &direct, 2).unwrap();
    assert_eq!(diff.differing, 0, "{diff:?}");
}

#[test]
fn pools_that_grow_while_loading_keep_every_chunk_intact() {
    let Some(gpu) = gpu() else { return };
    let scene = &scenes()[0];
    let (roomy, _) = render_scene(&gpu, scene, true);
    let (grown, _) = render_scene_with(&gpu, scene, true, Some(()));
    let (diff, _) = compare(&roomy, &grown, 0).unwrap();
    assert_eq!(diff.differing, 0, "{diff:?}");
}

#[test]
fn looking_at_the_sky_culls_the_terrain() {
    let Some(gpu) = gpu() else { return };
    let scene = Scene {
        name: "sky",
        camera: Camera::new([0.0, 60.0, 0.0], 0.0, 85.0),
        view_distance: 4,
        entities: Vec::new(),
        target: None,
        overlays: false,
    };
    let (_, stats) = render_scene(&gpu, &scene, true);
    assert!(
        stats.chunks_culled > 10 * stats.chunks_drawn.max(1),
        "{stats:?}"
    );
}

/// A deterministic synthetic mesh of `n` quads.
fn mesh_of(n: usize, seed: u64) -> ChunkMesh {
    let mut mesh = ChunkMesh::default();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let p = [(x % 32) as u32, (x >> 8) as u32 % 32, (x >> 16) as u32 % 32];
        mesh.quads
            .push(Quad::new(p, 1, 1, Face::PosY, blocks::STONE));
    }
    mesh.opaque = [0, 0, 0, n as u32, n as u32, n as u32, n as u32];
    mesh.transparent = [n as u32; 7];
    mesh
}

#[test]
fn chunk_pool_reuses_memory_over_thousands_of_loads_and_unloads() {
    let Some(gpu) = gpu() else { return };
    let mut config = RendererConfig::new(HEADLESS_FORMAT, 8);
    config.initial_quads = 1 << 12;
    config.initial_chunks = 64;
    let mut renderer = Renderer::new(&gpu, config).unwrap();
    let occupancy = Occupancy::default();
    let target = HeadlessTarget::new(&gpu, 64, 64).unwrap();
    let camera = Camera::new([0.0, 40.0, 0.0], 0.0, -30.0);
    let frame = FrameInput {
        camera: &camera,
        entities: &[],
        target_block: None,
        crosshair: false,
        time_s: 0.0,
        overlay: None,
    };
    let positions: Vec<ChunkPos> = (0..2000)
        .map(|i| ChunkPos::new(i % 50 - 25, i / 500, (i / 50) % 10))
        .collect();
    let mut steady_bytes = None;
    for round in 0..4u64 {
        for (i, &pos) in positions.iter().enumerate() {
            let mesh = mesh_of(1 + (i * 7 + round as usize * 13) % 300, i as u64 + round);
            renderer
                .upload_chunk(&gpu, pos, &mesh, &occupancy.words)
                .unwrap();
        }
        // Replace every other mesh with one of a different size, in place.
        for (i, &pos) in positions.iter().enumerate().step_by(2) {
            renderer
                .upload_chunk(&gpu, pos, &mesh_of(1 + i % 97, round), &occupancy.words)
                .unwrap();
        }
        let stats = target.render(&gpu, &mut renderer, &frame).unwrap();
        assert_eq!(stats.chunks_resident, 2000);
        for &pos in &positions {
            assert!(renderer.remove_chunk(pos));
        }
        assert!(!renderer.remove_chunk(positions[0]), "already gone");
        let pool = renderer.pool_stats();
        assert_eq!(pool.chunks, 0);
        assert_eq!(pool.quads_used, 0, "quad ranges leaked: {pool:?}");
        assert_eq!(pool.slots_used, 0, "chunk slots leaked: {pool:?}");
        assert_eq!(
            pool.quad_free_ranges, 1,
            "free space did not coalesce: {pool:?}"
        );
        match steady_bytes {
            None => steady_bytes = Some(pool.gpu_bytes),
            Some(bytes) => assert_eq!(pool.gpu_bytes, bytes, "pools grew after round 0"),
        }
        // An empty frame still renders.
        let empty = target.render(&gpu, &mut renderer, &frame).unwrap();
        assert_eq!(empty.chunks_drawn, 0);
    }
    let pool = renderer.pool_stats();
    assert!(
        pool.grows > 0,
        "the small initial pools had to grow: {pool:?}"
    );
    assert!(pool.slot_capacity >= 2000);
}

#[test]
fn an_empty_mesh_unloads_the_chunk() {
    let Some(gpu) = gpu() else { return };
    let mut renderer = Renderer::new(&gpu, RendererConfig::new(HEADLESS_FORMAT, 4)).unwrap();
    let occupancy = Occupancy::default();
    let pos = ChunkPos::new(1, 2, 3);
    renderer
        .upload_chunk(&gpu, pos, &mesh_of(10, 1), &occupancy.words)
        .unwrap();
    assert!(renderer.chunk(pos).is_some());
    renderer
        .upload_chunk(&gpu, pos, &ChunkMesh::default(), &occupancy.words)
        .unwrap();
    assert!(renderer.chunk(pos).is_none());
    assert_eq!(renderer.pool_stats().quads_used, 0);
}

#[test]
fn edits_remesh_only_what_changed() {
    let Some(gpu) = gpu() else { return };
    let mut world = generate_view(42, (0, 0), 2).unwrap();
    let mut renderer = Renderer::new(&gpu, RendererConfig::new(HEADLESS_FORMAT, 2)).unwrap();
    // A limit per call leaves the rest for the next calls.
    let limited = renderer.sync_world_limited(&gpu, &mut world, 5).unwrap();
    assert_eq!(limited.meshed, 5);
    assert_eq!(limited.left as usize, world.len() - 5);
    let first = renderer.sync_world(&gpu, &mut world).unwrap();
    assert_eq!(first.meshed as usize, world.len() - 5);
    assert_eq!(first.left, 0);
    // Nothing changed: nothing to do.
    let idle = renderer.sync_world(&gpu, &mut world).unwrap();
    assert_eq!((idle.meshed, idle.ao_refreshed), (0, 0));
    // An edit on a vertical edge of a chunk remeshes it and its two face neighbours, and
    // refreshes the AO bits of the diagonal neighbour across that edge.
    let pos = world
        .chunks()
        .map(|(p, _)| p)
        .find(|&p| {
            renderer.chunk(p).is_some()
                && renderer
                    .chunk(ChunkPos::new(p.x + 1, p.y, p.z + 1))
                    .is_some()
        })
        .expect("a chunk with a resident diagonal neighbour");
    let o = pos.origin();
    let voxel = z3r0_voxel::VoxelPos::new(o.x + 31, o.y + 16, o.z + 31);
    let new = if world.voxel(voxel) == Some(blocks::AIR) {
        blocks::STONE
    } else {
        blocks::AIR
    };
    world.set_voxel(voxel, new).unwrap();
    let edit = renderer.sync_world(&gpu, &mut world).unwrap();
    let neighbours = [(1, 0), (0, 1)]
        .iter()
        .filter(|(dx, dz)| world.contains_chunk(ChunkPos::new(pos.x + dx, pos.y, pos.z + dz)))
        .count() as u32;
    assert_eq!(
        edit.meshed,
        1 + neighbours,
        "the chunk and its loaded +x and +z neighbours: {edit:?}"
    );
    assert!(edit.ao_refreshed >= 1, "{edit:?}");
    // Unloading a chunk from the world unloads it from the GPU.
    assert!(renderer.chunk(pos).is_some());
    world.remove_chunk(pos).unwrap();
    renderer.sync_world(&gpu, &mut world).unwrap();
    assert!(renderer.chunk(pos).is_none());
}

#[test]
fn the_overlay_draws_rectangles_and_text_in_one_draw() {
    let Some(gpu) = gpu() else { return };
    let mut renderer = Renderer::new(&gpu, RendererConfig::new(HEADLESS_FORMAT, 2)).unwrap();
    let target = HeadlessTarget::new(&gpu, 128, 64).unwrap();
    // Looking up into the empty sky: everything bright or coloured is the overlay.
    let camera = Camera::new([0.0, 200.0, 0.0], 0.0, 80.0);
    let mut hud = z3r0_render::Overlay::new();
    hud.rect(4.0, 4.0, 20.0, 20.0, [1.0, 0.0, 0.0, 1.0]);
    // '8' at 4 pixels per font pixel: its top row is ".###.".
    hud.text(40.0, 8.0, 4.0, [0.0, 1.0, 0.0, 1.0], "8");
    let plain = FrameInput {
        camera: &camera,
        entities: &[],
        target_block: None,
        crosshair: false,
        time_s: 0.0,
        overlay: None,
    };
    let plain_draws = target
        .render(&gpu, &mut renderer, &plain)
        .unwrap()
        .draw_calls;
    let sky = target.read(&gpu).unwrap();
    let frame = FrameInput {
        overlay: Some(&hud),
        ..plain
    };
    let stats = target.render(&gpu, &mut renderer, &frame).unwrap();
    let image = target.read(&gpu).unwrap();
    assert_eq!(stats.draw_calls, plain_draws + 1);
    assert_eq!(image.pixel(14, 14), [255, 0, 0, 255], "the rectangle");
    // Row 0: column 0 empty, columns 1-3 lit, column 4 empty.
    assert_eq!(
        image.pixel(40 + 2, 8 + 2),
        sky.pixel(40 + 2, 8 + 2),
        "glyph gap"
    );
    assert_eq!(
        image.pixel(40 + 4 + 2, 8 + 2),
        [0, 255, 0, 255],
        "glyph pixel"
    );
    assert_eq!(
        image.pixel(40 + 16 + 2, 8 + 2),
        sky.pixel(40 + 16 + 2, 8 + 2)
    );
    // Row 3 of '8' is ".###." too; row 1 is "#...#": its middle is empty.
    assert_eq!(
        image.pixel(40 + 8 + 2, 8 + 4 + 2),
        sky.pixel(40 + 8 + 2, 8 + 4 + 2)
    );
    assert_eq!(image.pixel(40 + 2, 8 + 4 + 2), [0, 255, 0, 255]);
}

/// Mean colour of the `r`-pixel square around the image's centre.
fn centre_colour(image: &RgbaImage, r: u32) -> [f64; 3] {
    let (cx, cy) = (image.width / 2, image.height / 2);
    let mut sum = [0.0; 3];
    let mut n = 0.0;
    for y in cy - r..=cy + r {
        for x in cx - r..=cx + r {
            let p = image.pixel(x, y);
            for c in 0..3 {
                sum[c] += f64::from(p[c]);
            }
            n += 1.0;
        }
    }
    sum.map(|s| s / n)
}

/// A slab of `block`, forty voxels each way, on the top layer of the loaded chunks of a small
/// generated view, and a camera looking down on it from just above.
fn slab_of(block: u16) -> (z3r0_voxel::World, Camera) {
    let mut world = generate_view(42, (0, 0), 2).unwrap();
    let top = world
        .chunks()
        .filter(|(p, _)| (-1..1).contains(&p.x) && (-1..1).contains(&p.z))
        .map(|(p, _)| p.y)
        .max()
        .unwrap();
    let slab = top * 32 + 31;
    for x in -20..20 {
        for z in -20..20 {
            world
                .set_voxel(z3r0_voxel::VoxelPos::new(x, slab, z), block)
                .unwrap();
        }
    }
    let camera = Camera::new([0.5, f64::from(slab) + 7.0, 0.5], 0.0, -89.0);
    (world, camera)
}

/// Syncs `world` and renders it from `camera`: the chunks meshed, and the centre's colour.
fn sync_and_look(
    gpu: &Gpu,
    renderer: &mut Renderer,
    world: &mut z3r0_voxel::World,
    camera: &Camera,
) -> (u32, [f64; 3]) {
    let stats = renderer.sync_world(gpu, world).unwrap();
    let target = HeadlessTarget::new(gpu, SIZE.0, SIZE.1).unwrap();
    let frame = FrameInput {
        camera,
        entities: &[],
        target_block: None,
        crosshair: false,
        time_s: 0.0,
        overlay: None,
    };
    target.render(gpu, renderer, &frame).unwrap();
    (stats.meshed, centre_colour(&target.read(gpu).unwrap(), 8))
}

fn is_unknown_pattern([r, g, b]: [f64; 3]) -> bool {
    g < r / 2.0 && b > r / 2.0
}

#[test]
fn a_block_of_any_id_gets_its_own_texture() {
    let Some(gpu) = gpu() else { return };
    const LAMP: u16 = 3_999;
    let (mut world, camera) = slab_of(LAMP);
    let mut renderer = Renderer::new(&gpu, RendererConfig::new(HEADLESS_FORMAT, 2)).unwrap();
    // Before: the unknown block's magenta and black.
    let (_, colour) = sync_and_look(&gpu, &mut renderer, &mut world, &camera);
    assert!(is_unknown_pattern(colour), "the unknown block: {colour:?}");
    // After: the new block red.
    let mut textures = z3r0_render::textures::BlockTextures::generated();
    for kind in [
        z3r0_render::textures::FaceKind::Top,
        z3r0_render::textures::FaceKind::Side,
        z3r0_render::textures::FaceKind::Bottom,
    ] {
        assert!(textures.set(LAMP, kind, vec![[230, 20, 20, 255]; 256]));
    }
    renderer.set_block_textures(&gpu, &textures);
    let (_, [r, g, b]) = sync_and_look(&gpu, &mut renderer, &mut world, &camera);
    assert!(
        r > 3.0 * g && r > 3.0 * b,
        "the new block is red: {r} {g} {b}"
    );
}

#[test]
fn content_opacity_remeshes_every_chunk_and_changes_what_is_seen() {
    let Some(gpu) = gpu() else { return };
    const MARKER: u16 = 11;
    let (mut world, camera) = slab_of(MARKER);
    let mut renderer = Renderer::new(&gpu, RendererConfig::new(HEADLESS_FORMAT, 2)).unwrap();
    let (_, colour) = sync_and_look(&gpu, &mut renderer, &mut world, &camera);
    assert!(is_unknown_pattern(colour), "the unknown block: {colour:?}");
    let chunks = world.chunks().count();
    // The content in force makes the block invisible (a barrier): every chunk is meshed
    // again, and the slab is gone from view.
    let mut ops = z3r0_voxel::Opacities::builtin().clone();
    ops.set(MARKER, z3r0_voxel::Opacity::Empty).unwrap();
    renderer.set_opacities(ops.clone());
    let (meshed, colour) = sync_and_look(&gpu, &mut renderer, &mut world, &camera);
    assert_eq!(meshed as usize, chunks, "every chunk meshed again");
    assert!(
        !is_unknown_pattern(colour),
        "the slab is not drawn: {colour:?}"
    );
    // The same table again changes nothing.
    renderer.set_opacities(ops);
    let (meshed, _) = sync_and_look(&gpu, &mut renderer, &mut world, &camera);
    assert_eq!(meshed, 0);
}
