//! Procedurally generated default block textures, one texture-array layer per (block, face
//! kind), with mipmaps. Real art arrives with the assets work; until then every built-in block
//! gets a recognisable pattern derived from its map colour.

use z3r0_voxel::{BlockId, Opacities, block_info, blocks};

/// Texture edge in texels.
pub const TEXTURE_SIZE: u32 = 16;
/// Mip levels down to 1×1.
pub const MIP_LEVELS: u32 = 5;
/// Layers per block: top, side, bottom.
pub const KINDS: u32 = 3;
/// Built-in blocks with their own layers; every other id uses the "unknown" layers after them.
pub const TEXTURED_BLOCKS: u32 = 11;
pub const LAYERS: u32 = (TEXTURED_BLOCKS + 1) * KINDS;
/// Most blocks with layers of their own, content included: the unknown block's three layers
/// after them stay within the 256 array layers every adapter offers.
pub const MAX_TEXTURED_BLOCKS: u32 = 256 / KINDS - 1;

/// Which side of a block a layer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceKind {
    Top = 0,
    Side = 1,
    Bottom = 2,
}

/// The texture-array layer of a built-in `block`'s `kind` face in the built-in array.
pub fn layer(block: BlockId, kind: FaceKind) -> u32 {
    layer_in(block, kind, TEXTURED_BLOCKS)
}

/// The layer of `block`'s `kind` face in an array with layers for `blocks` blocks and then the
/// unknown block's (the shader computes the same from the array's size).
fn layer_in(block: BlockId, kind: FaceKind, blocks: u32) -> u32 {
    u32::from(block).min(blocks) * KINDS + kind as u32
}

/// A deterministic per-texel hash in `0..256`.
fn noise(block: u32, kind: u32, x: u32, y: u32, salt: u32) -> i32 {
    let mut h = block
        .wrapping_mul(0x9E37_79B1)
        .wrapping_add(kind.wrapping_mul(0x85EB_CA6B))
        .wrapping_add(x.wrapping_mul(0xC2B2_AE35))
        .wrapping_add(y.wrapping_mul(0x27D4_EB2F))
        .wrapping_add(salt.wrapping_mul(0x1656_67B1));
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^= h >> 12;
    h = h.wrapping_mul(0x297A_2D39);
    h ^= h >> 15;
    (h & 255) as i32
}

fn shade(rgb: [u8; 3], delta: i32) -> [u8; 4] {
    let c = |v: u8| (i32::from(v) + delta).clamp(0, 255) as u8;
    [c(rgb[0]), c(rgb[1]), c(rgb[2]), 255]
}

/// The 16×16 sRGB texels of one layer, row-major.
pub fn texels(block: BlockId, kind: FaceKind) -> Vec<[u8; 4]> {
    let id = u32::from(block).min(TEXTURED_BLOCKS);
    let k = kind as u32;
    let base = if id == TEXTURED_BLOCKS {
        [255, 0, 255]
    } else {
        block_info(block).color
    };
    let dirt = block_info(blocks::DIRT).color;
    let n = TEXTURE_SIZE;
    let mut out = Vec::with_capacity((n * n) as usize);
    for y in 0..n {
        for x in 0..n {
            let r = noise(id, k, x, y, 0);
            let texel = match (block, kind) {
                _ if id == TEXTURED_BLOCKS => {
                    if (x / 4 + y / 4) % 2 == 0 {
                        [255, 0, 255, 255]
                    } else {
                        [20, 20, 20, 255]
                    }
                }
                (blocks::GRASS, FaceKind::Side) => {
                    // Dirt with a ragged fringe of grass along the top edge.
                    let fringe = 3 + (noise(id, k, x, 0, 1) % 3) as u32;
                    if y < fringe {
                        shade(base, (r % 24) - 12)
                    } else {
                        shade(dirt, (r % 30) - 15)
                    }
                }
                (blocks::GRASS, FaceKind::Bottom) => shade(dirt, (r % 30) - 15),
                (blocks::LOG, FaceKind::Top | FaceKind::Bottom) => {
                    // Growth rings around the centre.
                    let (dx, dy) = (x as i32 * 2 - 15, y as i32 * 2 - 15);
                    let ring = ((dx * dx + dy * dy) as f32).sqrt() as i32 / 4;
                    let light = [178, 144, 96];
                    if ring >= 7 {
                        shade(base, (r % 16) - 8)
                    } else {
                        shade(light, if ring % 2 == 0 { 0 } else { -28 } + (r % 10) - 5)
                    }
                }
                (blocks::LOG, _) => {
                    // Vertical bark furrows.
                    let furrow = noise(id, k, x, 0, 2) % 4 == 0;
                    shade(base, if furrow { -30 } else { 0 } + (r % 20) - 10)
                }
                (blocks::LEAVES, _) => {
                    let d = if r < 40 { -45 } else { (r % 40) - 20 };
                    shade(base, d)
                }
                (blocks::WATER, _) => {
                    let wave = ((x + y * 3) % 8 == 0) as i32 * 28;
                    let mut t = shade(base, wave + (r % 12) - 6);
                    t[3] = 170;
                    t
                }
                (blocks::GLASS, _) => {
                    let edge = x == 0 || y == 0 || x == n - 1 || y == n - 1;
                    let streak = x == y + 3 || x == y + 4;
                    if edge {
                        [210, 235, 245, 255]
                    } else if streak {
                        [255, 255, 255, 110]
                    } else {
                        [base[0], base[1], base[2], 40]
                    }
                }
                (blocks::STONE, _) => {
                    let d = if r > 230 { -35 } else { (r % 28) - 14 };
                    shade(base, d)
                }
                (blocks::GRAVEL, _) => {
                    let pebble = noise(id, k, x / 2, y / 2, 3);
                    shade(base, (pebble % 60) - 30 + (r % 10) - 5)
                }
                (blocks::SAND | blocks::SNOW, _) => shade(base, (r % 16) - 8),
                _ => shade(base, (r % 30) - 15),
            };
            out.push(texel);
        }
    }
    out
}

fn to_linear(c: u8) -> f32 {
    let c = f32::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

fn to_srgb(l: f32) -> u8 {
    let c = if l <= 0.003_130_8 {
        l * 12.92
    } else {
        1.055 * l.powf(1.0 / 2.4) - 0.055
    };
    (c * 255.0 + 0.5).clamp(0.0, 255.0) as u8
}

/// Halves a square sRGB image, averaging in linear light (alpha linearly).
pub fn downsample(texels: &[[u8; 4]], size: u32) -> Vec<[u8; 4]> {
    let half = (size / 2).max(1);
    let mut out = Vec::with_capacity((half * half) as usize);
    for y in 0..half {
        for x in 0..half {
            let mut sum = [0.0f32; 4];
            for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let sx = (x * 2 + dx).min(size - 1);
                let sy = (y * 2 + dy).min(size - 1);
                let t = texels[(sy * size + sx) as usize];
                for i in 0..3 {
                    sum[i] += to_linear(t[i]);
                }
                sum[3] += f32::from(t[3]);
            }
            out.push([
                to_srgb(sum[0] / 4.0),
                to_srgb(sum[1] / 4.0),
                to_srgb(sum[2] / 4.0),
                (sum[3] / 4.0 + 0.5) as u8,
            ]);
        }
    }
    out
}

/// The texels of every layer: a block's top, side and bottom, for each block with layers of
/// its own (ids `0..blocks`) and the "unknown" block after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTextures {
    blocks: u32,
    layers: Vec<Vec<[u8; 4]>>,
}

impl BlockTextures {
    /// The built-in textures, generated from the blocks' colours.
    pub fn generated() -> Self {
        Self::with_blocks(TEXTURED_BLOCKS)
    }

    /// Layers for ids `0..blocks` (at least the built-in ones, at most
    /// [`MAX_TEXTURED_BLOCKS`]): the built-in blocks' generated textures, and the unknown
    /// block's pattern for the others until [`BlockTextures::set`] gives them theirs.
    pub fn with_blocks(blocks: u32) -> Self {
        let blocks = blocks.clamp(TEXTURED_BLOCKS, MAX_TEXTURED_BLOCKS);
        let unknown = TEXTURED_BLOCKS as BlockId;
        let mut layers = vec![Vec::new(); ((blocks + 1) * KINDS) as usize];
        for id in 0..=blocks {
            for kind in [FaceKind::Top, FaceKind::Side, FaceKind::Bottom] {
                let source = if id < TEXTURED_BLOCKS {
                    id as BlockId
                } else {
                    unknown
                };
                layers[layer_in(id as BlockId, kind, blocks) as usize] = texels(source, kind);
            }
        }
        Self { blocks, layers }
    }

    /// Blocks with layers of their own (ids below it).
    pub fn blocks(&self) -> u32 {
        self.blocks
    }

    /// Array layers: three per block and three for the unknown block.
    pub fn layer_count(&self) -> u32 {
        self.layers.len() as u32
    }

    /// Replaces `block`'s `kind` face with `texels` (16 × 16, row-major). False, and nothing
    /// changed, if the block has no layer of its own or the size is wrong.
    pub fn set(&mut self, block: BlockId, kind: FaceKind, texels: Vec<[u8; 4]>) -> bool {
        if u32::from(block) >= self.blocks || texels.len() != (TEXTURE_SIZE * TEXTURE_SIZE) as usize
        {
            return false;
        }
        self.layers[layer_in(block, kind, self.blocks) as usize] = texels;
        true
    }

    pub fn get(&self, block: BlockId, kind: FaceKind) -> &[[u8; 4]] {
        &self.layers[layer_in(block, kind, self.blocks) as usize]
    }
}

/// How content makes its blocks look: the texels of their faces, and how they hide each
/// other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockLook {
    pub textures: BlockTextures,
    pub opacities: Opacities,
}

impl BlockLook {
    /// The built-in blocks' look.
    pub fn builtin() -> Self {
        Self {
            textures: BlockTextures::generated(),
            opacities: Opacities::builtin().clone(),
        }
    }
}

/// A `Rgba8UnormSrgb` texture array of `layers` layers (one per block and face kind) and
/// their mips.
pub fn create_block_textures(device: &wgpu::Device, layers: u32) -> wgpu::Texture {
    device.create_texture(&wgpu::TextureDescriptor {
        label: Some("block textures"),
        size: wgpu::Extent3d {
            width: TEXTURE_SIZE,
            height: TEXTURE_SIZE,
            depth_or_array_layers: layers,
        },
        mip_level_count: MIP_LEVELS,
        sample_count: 1,
        dimension: wgpu::TextureDimension::D2,
        format: wgpu::TextureFormat::Rgba8UnormSrgb,
        usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
        view_formats: &[],
    })
}

/// Uploads every layer of `textures` with its mip chain into `texture`.
pub fn write_block_textures(
    queue: &wgpu::Queue,
    texture: &wgpu::Texture,
    textures: &BlockTextures,
) {
    for (z, texels) in textures.layers.iter().enumerate() {
        let mut level = texels.clone();
        let mut size = TEXTURE_SIZE;
        for mip in 0..MIP_LEVELS {
            queue.write_texture(
                wgpu::TexelCopyTextureInfo {
                    texture,
                    mip_level: mip,
                    origin: wgpu::Origin3d {
                        x: 0,
                        y: 0,
                        z: z as u32,
                    },
                    aspect: wgpu::TextureAspect::All,
                },
                bytemuck::cast_slice(&level),
                wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(4 * size),
                    rows_per_image: Some(size),
                },
                wgpu::Extent3d {
                    width: size,
                    height: size,
                    depth_or_array_layers: 1,
                },
            );
            if mip + 1 < MIP_LEVELS {
                level = downsample(&level, size);
                size = (size / 2).max(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_are_distinct_per_block_and_unknown_ids_share_one() {
        assert_eq!(layer(blocks::AIR, FaceKind::Top), 0);
        assert_eq!(layer(blocks::GRASS, FaceKind::Side), 3 * KINDS + 1);
        assert_eq!(layer(500, FaceKind::Top), layer(11, FaceKind::Top));
        assert!(layer(u16::MAX, FaceKind::Bottom) < LAYERS);
        assert_ne!(
            texels(blocks::GRASS, FaceKind::Top),
            texels(blocks::GRASS, FaceKind::Side)
        );
        assert_eq!(texels(blocks::STONE, FaceKind::Top).len(), 256);
    }

    #[test]
    fn downsampling_keeps_the_average_colour() {
        let flat = vec![[128, 64, 32, 200]; 16];
        let half = downsample(&flat, 4);
        assert_eq!(half.len(), 4);
        assert!(half.iter().all(|t| *t == [128, 64, 32, 200]));
        let one = downsample(&[[10, 10, 10, 10]], 1);
        assert_eq!(one, vec![[10, 10, 10, 10]]);
    }
}
