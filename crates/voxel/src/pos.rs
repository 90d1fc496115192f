//! World, chunk and chunk-local coordinates.

use bytes::{Buf as _, BufMut};
use commonware_codec::{Buf, Error as CodecError, FixedSize, Read, Write};

/// log2 of the chunk edge.
pub const CHUNK_BITS: u32 = 5;
/// Chunk edge in voxels.
pub const CHUNK_SIZE: usize = 1 << CHUNK_BITS;
/// Voxels per chunk.
pub const CHUNK_VOLUME: usize = CHUNK_SIZE * CHUNK_SIZE * CHUNK_SIZE;
const MASK: i32 = CHUNK_SIZE as i32 - 1;

/// Position of a chunk in chunk units. Cubic chunks: `y` is unbounded like `x` and `z`.
///
/// The derived order (x, then y, then z) is the canonical order for iteration and commitments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ChunkPos {
    pub x: i32,
    pub y: i32,
    pub z: i32,
}

impl ChunkPos {
    pub const fn new(x: i32, y: i32, z: i32) -> Self {
        Self { x, y, z }
    }

    /// World position of the chunk's minimum corner. Chunk coordinates come from voxel
    /// coordinates (`>> 5`), so this cannot overflow for any chunk that holds a voxel.
    pub fn origin(self) -> VoxelPos {
        VoxelPos::new(
            self.x.wrapping_shl(CHUNK_BITS),
            self.y.wrapping_shl(CHUNK_BITS),
            self.z.wrapping_shl(CHUNK_BITS),
        )
    }

    /// Neighbour across `face` (saturating at the edge of the i32 world).
    pub fn neighbor(self, face: Face) -> Self {
        let [dx, dy, dz] = face.normal();
        Self::new(
            self.x.saturating_add(dx),
            self.y.saturating_add(dy),
            self.z.saturating_add(dz),
        )
    }
}

impl Write for ChunkPos {
    fn write(&self, buf: &mut impl BufMut) {
        buf.put_i32(self.x);
        buf.put_i32(self.y);
        buf.put_i32(self.z);
    }
}

impl FixedSize for ChunkPos {
    const SIZE: usize = 12;
}

impl Read for ChunkPos {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        if buf.remaining() < Self::SIZE {
            return Err(CodecError::EndOfBuffer);
        }
        Ok(Self::new(buf.get_i32(), buf.get_i32(), buf.get_i32()))
    }
}

/// Position of a voxel in world units (1 voxel = 1 m).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VoxelPos {
    pub x: i32,
    pub y: i32,
    pub z: i32,
}

impl VoxelPos {
    pub const fn new(x: i32, y: i32, z: i32) -> Self {
        Self { x, y, z }
    }

    pub fn chunk(self) -> ChunkPos {
        ChunkPos::new(
            self.x >> CHUNK_BITS,
            self.y >> CHUNK_BITS,
            self.z >> CHUNK_BITS,
        )
    }

    pub fn local(self) -> LocalPos {
        LocalPos::new(
            (self.x & MASK) as u8,
            (self.y & MASK) as u8,
            (self.z & MASK) as u8,
        )
    }
}

/// Position inside a chunk, each coordinate in `0..32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LocalPos {
    x: u8,
    y: u8,
    z: u8,
}

impl LocalPos {
    /// Coordinates are masked into `0..32`.
    pub const fn new(x: u8, y: u8, z: u8) -> Self {
        let m = MASK as u8;
        Self {
            x: x & m,
            y: y & m,
            z: z & m,
        }
    }

    pub const fn x(self) -> u8 {
        self.x
    }
    pub const fn y(self) -> u8 {
        self.y
    }
    pub const fn z(self) -> u8 {
        self.z
    }

    /// Linear index: x fastest, then z, then y (a horizontal layer is contiguous).
    pub const fn index(self) -> usize {
        voxel_index(self.x as usize, self.y as usize, self.z as usize)
    }

    pub const fn from_index(i: usize) -> Self {
        Self::new(
            (i & 31) as u8,
            ((i >> 10) & 31) as u8,
            ((i >> 5) & 31) as u8,
        )
    }

    /// True on any of the chunk's six boundary layers.
    pub const fn on_border(self) -> bool {
        let m = MASK as u8;
        self.x == 0 || self.x == m || self.y == 0 || self.y == m || self.z == 0 || self.z == m
    }
}

/// Linear index of chunk-local `(x, y, z)`, each in `0..32`.
#[inline(always)]
pub const fn voxel_index(x: usize, y: usize, z: usize) -> usize {
    (y << (2 * CHUNK_BITS)) | (z << CHUNK_BITS) | x
}

/// The six faces of a cube, in the order meshes list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Face {
    PosX = 0,
    NegX = 1,
    PosY = 2,
    NegY = 3,
    PosZ = 4,
    NegZ = 5,
}

impl Face {
    pub const ALL: [Face; 6] = [
        Face::PosX,
        Face::NegX,
        Face::PosY,
        Face::NegY,
        Face::PosZ,
        Face::NegZ,
    ];

    pub const fn normal(self) -> [i32; 3] {
        match self {
            Face::PosX => [1, 0, 0],
            Face::NegX => [-1, 0, 0],
            Face::PosY => [0, 1, 0],
            Face::NegY => [0, -1, 0],
            Face::PosZ => [0, 0, 1],
            Face::NegZ => [0, 0, -1],
        }
    }

    /// 0 = x, 1 = y, 2 = z.
    pub const fn axis(self) -> usize {
        self as usize / 2
    }

    pub const fn is_positive(self) -> bool {
        (self as usize).is_multiple_of(2)
    }

    pub const fn opposite(self) -> Face {
        Face::ALL[(self as usize) ^ 1]
    }

    pub const fn from_index(i: u8) -> Option<Face> {
        if (i as usize) < 6 {
            Some(Face::ALL[i as usize])
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn voxel_to_chunk_and_local_handles_negatives() {
        let p = VoxelPos::new(-1, 32, -33);
        assert_eq!(p.chunk(), ChunkPos::new(-1, 1, -2));
        assert_eq!(p.local(), LocalPos::new(31, 0, 31));
        assert_eq!(p.chunk().origin(), VoxelPos::new(-32, 32, -64));
    }

    #[test]
    fn local_index_round_trips() {
        for i in [0, 1, 31, 32, 1023, 1024, CHUNK_VOLUME - 1] {
            assert_eq!(LocalPos::from_index(i).index(), i);
        }
        assert_eq!(LocalPos::new(1, 2, 3).index(), 2 * 1024 + 3 * 32 + 1);
    }

    #[test]
    fn faces() {
        for f in Face::ALL {
            assert_eq!(f.opposite().opposite(), f);
            let n = f.normal();
            let o = f.opposite().normal();
            assert_eq!([n[0] + o[0], n[1] + o[1], n[2] + o[2]], [0, 0, 0]);
            assert_eq!(n[f.axis()].abs(), 1);
        }
    }
}
