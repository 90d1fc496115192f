//! Top-down maps of a voxel world (`z3r0 world`'s map.png, the devnet dashboard's terrain):
//! one pixel per voxel column, coloured by its top block, shaded by height, blued by water.

use crate::RenderError;
use z3r0_voxel::worldgen::{MAX_SURFACE, MIN_SURFACE};
use z3r0_voxel::{BlockId, CHUNK_SIZE, ChunkPos, World, block_info, blocks, voxel_index};

/// A top-down picture of chunk columns `cx` in `xs.0..xs.1`, `cz` in `zs.0..zs.1` (chunk layers
/// `ys.0..=ys.1`): RGB pixels, one per voxel column, row by row from the lowest `z`; and its
/// width and depth.
pub fn map_pixels(
    world: &World,
    xs: (i32, i32),
    zs: (i32, i32),
    ys: (i32, i32),
) -> (Vec<u8>, usize, usize) {
    let width = (xs.1 - xs.0).max(0) as usize * CHUNK_SIZE;
    let depth = (zs.1 - zs.0).max(0) as usize * CHUNK_SIZE;
    let mut pixels = vec![0u8; width * depth * 3];
    let bottom_y = ys.0 * CHUNK_SIZE as i32;
    for cx in xs.0..xs.1 {
        for cz in zs.0..zs.1 {
            for lz in 0..CHUNK_SIZE {
                for lx in 0..CHUNK_SIZE {
                    let (mut water_depth, mut found): (i32, Option<(BlockId, i32)>) = (0, None);
                    'down: for cy in (ys.0..=ys.1).rev() {
                        let Some(c) = world.chunk(ChunkPos::new(cx, cy, cz)) else {
                            continue;
                        };
                        if c.as_uniform() == Some(blocks::AIR) {
                            continue;
                        }
                        for ly in (0..CHUNK_SIZE).rev() {
                            let id = c.get_index(voxel_index(lx, ly, lz));
                            let y = cy * CHUNK_SIZE as i32 + ly as i32;
                            if id == blocks::WATER {
                                water_depth += 1;
                            } else if id != blocks::AIR {
                                found = Some((id, y));
                                break 'down;
                            }
                        }
                    }
                    let (id, y) = found.unwrap_or((blocks::AIR, bottom_y));
                    let mut rgb = block_info(id).color.map(f32::from);
                    let span = (MAX_SURFACE - MIN_SURFACE).max(1) as f32;
                    let shade = 0.65 + 0.5 * ((y - MIN_SURFACE) as f32 / span).clamp(0.0, 1.0);
                    rgb = rgb.map(|c| c * shade);
                    if water_depth > 0 {
                        let water = block_info(blocks::WATER).color.map(f32::from);
                        let a = (0.45 + water_depth as f32 / 24.0).min(0.9);
                        for i in 0..3 {
                            rgb[i] = rgb[i] * (1.0 - a)
                                + water[i] * a * (1.0 - (water_depth as f32 / 80.0).min(0.5));
                        }
                    }
                    let px = (cx - xs.0) as usize * CHUNK_SIZE + lx;
                    let pz = (cz - zs.0) as usize * CHUNK_SIZE + lz;
                    let o = (pz * width + px) * 3;
                    for i in 0..3 {
                        pixels[o + i] = rgb[i].clamp(0.0, 255.0) as u8;
                    }
                }
            }
        }
    }
    (pixels, width, depth)
}

/// An 8-bit RGB PNG file's bytes.
pub fn encode_png_rgb(pixels: &[u8], width: usize, height: usize) -> Result<Vec<u8>, RenderError> {
    let fail = |e: png::EncodingError| RenderError::Image {
        path: "(in memory)".into(),
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(fail)?;
    writer.write_image_data(pixels).map_err(fail)?;
    writer.finish().map_err(fail)?;
    Ok(out)
}
