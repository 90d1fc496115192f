//! Procedurally generated default block textures, one texture-array layer per (block, face
//! kind), with mipmaps. Real art arrives with the assets work; until then every built-in block
//! gets a recognisable pattern derived from its map colour.

use z3r0_voxel::{BlockId, MAX_BLOCK_IDS, Opacities, block_info, blocks};

/// Texture edge in texels.
pub const TEXTURE_SIZE: u32 = 16;
/// Mip levels down to 1×1.
pub const MIP_LEVELS: u32 = 5;
/// Layers per block: top, side, bottom.
pub const KINDS: u32 = 3;
/// Built-in blocks with their own layers; the "unknown" block's layers follow theirs.
pub const TEXTURED_BLOCKS: u32 = 11;
/// Most array layers, content's distinct faces included: the 256 every adapter offers.
pub const MAX_LAYERS: u32 = 256;
/// Entries of the block-to-layer table: three for each block id a world may define, then the
/// unknown block's three, which ids past the table read.
pub const TABLE_ENTRIES: usize = (MAX_BLOCK_IDS + 1) * KINDS as usize;

/// Which side of a block a layer shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaceKind {
    Top = 0,
    Side = 1,
    Bottom = 2,
}

/// The table entry of `block`'s `kind` face (ids past the table read the unknown block's, as
/// the shader does).
fn entry(block: BlockId, kind: FaceKind) -> usize {
    usize::from(block).min(MAX_BLOCK_IDS) * KINDS as usize + kind as usize
}

const ALL_KINDS: [FaceKind; 3] = [FaceKind::Top, FaceKind::Side, FaceKind::Bottom];

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

/// The texture array's layers, each face once, and which layer each block's faces show: the
/// built-in blocks' layers first (block `id`'s face `kind` at `id * 3 + kind`), the unknown
/// block's three after them, then content's faces as they are set. Any block id may have
/// faces of its own; what is bounded is the number of distinct faces ([`MAX_LAYERS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockTextures {
    layers: Vec<Vec<[u8; 4]>>,
    /// The layer of each block's faces, by [`entry`]; [`TABLE_ENTRIES`] long.
    table: Vec<u32>,
}

/// The unknown block's first layer: after the built-in blocks'.
const UNKNOWN_LAYER: u32 = TEXTURED_BLOCKS * KINDS;

impl BlockTextures {
    /// The built-in textures, generated from the blocks' colours; every other id shows the
    /// unknown block's pattern.
    pub fn generated() -> Self {
        let layers = (0..=TEXTURED_BLOCKS)
            .flat_map(|id| ALL_KINDS.map(|kind| texels(id as BlockId, kind)))
            .collect();
        let table = (0..TABLE_ENTRIES as u32)
            .map(|e| match e / KINDS {
                id if id < TEXTURED_BLOCKS => e,
                _ => UNKNOWN_LAYER + e % KINDS,
            })
            .collect();
        Self { layers, table }
    }

    /// Array layers: each distinct face once.
    pub fn layer_count(&self) -> u32 {
        self.layers.len() as u32
    }

    /// The layer `block`'s `kind` face shows.
    pub fn layer(&self, block: BlockId, kind: FaceKind) -> u32 {
        self.table[entry(block, kind)]
    }

    /// The block-to-layer table the shader reads: [`TABLE_ENTRIES`] layers, three per id.
    pub fn table(&self) -> &[u32] {
        &self.table
    }

    /// Gives `block`'s `kind` face `texels` (16 × 16, row-major): a face already in the array
    /// is shared, a layer only this face showed is rewritten, and otherwise a layer is added.
    /// False, and nothing changed, if the id is past the table, the size is wrong, or the
    /// array has no layer left.
    pub fn set(&mut self, block: BlockId, kind: FaceKind, texels: Vec<[u8; 4]>) -> bool {
        if usize::from(block) >= MAX_BLOCK_IDS
            || texels.len() != (TEXTURE_SIZE * TEXTURE_SIZE) as usize
        {
            return false;
        }
        let at = entry(block, kind);
        let current = self.table[at];
        if self.layers[current as usize] == texels {
            // Already shown (glass's faces are alike: each keeps the layer it has).
            return true;
        }
        if let Some(same) = self.layers.iter().position(|l| *l == texels) {
            self.table[at] = same as u32;
            return true;
        }
        let unknown = (UNKNOWN_LAYER..UNKNOWN_LAYER + KINDS).contains(&current);
        let shared = self.table.iter().filter(|&&l| l == current).count() > 1;
        if !unknown && !shared {
            self.layers[current as usize] = texels;
            return true;
        }
        if self.layer_count() >= MAX_LAYERS {
            return false;
        }
        self.layers.push(texels);
        self.table[at] = self.layer_count() - 1;
        true
    }

    pub fn get(&self, block: BlockId, kind: FaceKind) -> &[[u8; 4]] {
        &self.layers[self.layer(block, kind) as usize]
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
        let t = BlockTextures::generated();
        assert_eq!(t.layer(blocks::AIR, FaceKind::Top), 0);
        assert_eq!(t.layer(blocks::GRASS, FaceKind::Side), 3 * KINDS + 1);
        assert_eq!(t.layer(500, FaceKind::Top), t.layer(11, FaceKind::Top));
        assert_eq!(t.layer(u16::MAX, FaceKind::Bottom), UNKNOWN_LAYER + 2);
        assert_eq!(t.layer_count(), (TEXTURED_BLOCKS + 1) * KINDS);
        assert_eq!(t.table().len(), TABLE_ENTRIES);
        assert_ne!(
            texels(blocks::GRASS, FaceKind::Top),
            texels(blocks::GRASS, FaceKind::Side)
        );
        assert_eq!(texels(blocks::STONE, FaceKind::Top).len(), 256);
    }

    fn solid(v: u8) -> Vec<[u8; 4]> {
        vec![[v, 255 - v, v / 2, 255]; 256]
    }

    #[test]
    fn any_block_id_gets_faces_and_each_distinct_face_takes_one_layer() {
        let mut t = BlockTextures::generated();
        let built_in = t.layer_count();
        // A high id and a low one with the same face share its layer.
        assert!(t.set(4_000, FaceKind::Top, solid(1)));
        assert!(t.set(12, FaceKind::Top, solid(1)));
        assert_eq!(t.layer(4_000, FaceKind::Top), t.layer(12, FaceKind::Top));
        assert_eq!(t.layer_count(), built_in + 1);
        assert_eq!(t.get(4_000, FaceKind::Top), solid(1));
        assert_eq!(
            t.get(4_000, FaceKind::Side),
            t.get(500, FaceKind::Side),
            "unknown"
        );
        // A face only one block shows is rewritten in place; a built-in one too.
        assert!(t.set(12, FaceKind::Top, solid(2)));
        assert!(t.set(4_000, FaceKind::Top, solid(3)));
        assert_eq!(t.layer_count(), built_in + 2);
        // Setting a face to what it shows changes nothing, even where another layer is alike.
        let glass_side = t.layer(blocks::GLASS, FaceKind::Side);
        assert!(t.set(
            blocks::GLASS,
            FaceKind::Side,
            texels(blocks::GLASS, FaceKind::Top)
        ));
        assert_eq!(t.layer(blocks::GLASS, FaceKind::Side), glass_side);
        assert!(t.set(blocks::STONE, FaceKind::Top, solid(4)));
        assert_eq!(
            t.layer(blocks::STONE, FaceKind::Top),
            blocks::STONE as u32 * KINDS
        );
        assert_eq!(
            t.get(500, FaceKind::Top),
            texels(11, FaceKind::Top),
            "unknown kept"
        );
        // Past the table, or a wrong size: refused.
        assert!(!t.set(4_096, FaceKind::Top, solid(5)));
        assert!(!t.set(13, FaceKind::Top, vec![[0; 4]; 3]));
        // The array is full at MAX_LAYERS distinct faces; shared ones still fit.
        let mut id = 100;
        let unique = |id: BlockId| {
            let mut face = solid((id % 251) as u8);
            face[0][3] = (id / 251) as u8;
            face
        };
        while t.layer_count() < MAX_LAYERS {
            assert!(t.set(id, FaceKind::Side, unique(id)));
            id += 1;
        }
        assert!(!t.set(id, FaceKind::Side, unique(id)));
        assert!(t.set(id, FaceKind::Side, solid(3)), "an existing face fits");
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
