//! Block ids and the properties the engine needs from them.

/// A voxel: a block id. `0` is air.
pub type BlockId = u16;

/// The built-in blocks. Ids are part of the consensus format: never renumber them.
pub mod blocks {
    use super::BlockId;
    pub const AIR: BlockId = 0;
    pub const STONE: BlockId = 1;
    pub const DIRT: BlockId = 2;
    pub const GRASS: BlockId = 3;
    pub const SAND: BlockId = 4;
    pub const WATER: BlockId = 5;
    pub const LOG: BlockId = 6;
    pub const LEAVES: BlockId = 7;
    pub const GRAVEL: BlockId = 8;
    pub const SNOW: BlockId = 9;
    pub const GLASS: BlockId = 10;
}

/// How a block interacts with light and with its neighbours' faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Opacity {
    /// Nothing there: no faces, hides nothing.
    Empty,
    /// Hides the faces of any neighbour behind it.
    Opaque,
    /// Drawn, but does not hide neighbours (water, glass); faces between two blocks of the
    /// same transparent kind are not drawn.
    Transparent,
}

#[derive(Debug, Clone, Copy)]
pub struct BlockInfo {
    pub name: &'static str,
    pub opacity: Opacity,
    /// Collides with players.
    pub solid: bool,
    /// Colour for maps and untextured views (sRGB).
    pub color: [u8; 3],
}

const fn info(name: &'static str, opacity: Opacity, solid: bool, color: [u8; 3]) -> BlockInfo {
    BlockInfo {
        name,
        opacity,
        solid,
        color,
    }
}

const BUILTIN: [BlockInfo; 11] = [
    info("air", Opacity::Empty, false, [0, 0, 0]),
    info("stone", Opacity::Opaque, true, [125, 125, 125]),
    info("dirt", Opacity::Opaque, true, [134, 96, 67]),
    info("grass", Opacity::Opaque, true, [96, 160, 64]),
    info("sand", Opacity::Opaque, true, [219, 207, 163]),
    info("water", Opacity::Transparent, false, [48, 92, 196]),
    info("log", Opacity::Opaque, true, [102, 81, 51]),
    info("leaves", Opacity::Opaque, true, [58, 120, 40]),
    info("gravel", Opacity::Opaque, true, [136, 126, 126]),
    info("snow", Opacity::Opaque, true, [240, 244, 250]),
    info("glass", Opacity::Transparent, true, [200, 230, 240]),
];

/// Ids not in the built-in table are valid voxels (mods and assets add blocks later) and
/// behave as plain opaque solids until registered.
const UNKNOWN: BlockInfo = info("unknown", Opacity::Opaque, true, [255, 0, 255]);

const fn class_bits(which: Opacity) -> u64 {
    let mut bits = 0u64;
    let mut i = 0;
    while i < BUILTIN.len() {
        if BUILTIN[i].opacity as u8 == which as u8 {
            bits |= 1 << i;
        }
        i += 1;
    }
    bits
}
const OPAQUE_LOW: u64 = class_bits(Opacity::Opaque);
const TRANSPARENT_LOW: u64 = class_bits(Opacity::Transparent);

/// Branch-free opacity class for meshing: `(opaque, transparent)` as 0/1.
#[inline(always)]
pub fn opacity_bits(id: BlockId) -> (u32, u32) {
    if id < 64 {
        (
            ((OPAQUE_LOW >> id) & 1) as u32,
            ((TRANSPARENT_LOW >> id) & 1) as u32,
        )
    } else {
        (1, 0)
    }
}

pub fn block_info(id: BlockId) -> &'static BlockInfo {
    BUILTIN.get(usize::from(id)).unwrap_or(&UNKNOWN)
}

pub fn opacity(id: BlockId) -> Opacity {
    block_info(id).opacity
}

pub fn is_opaque(id: BlockId) -> bool {
    opacity(id) == Opacity::Opaque
}

pub fn is_transparent(id: BlockId) -> bool {
    opacity(id) == Opacity::Transparent
}
