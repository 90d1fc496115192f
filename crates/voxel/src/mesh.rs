//! Binary greedy meshing of a chunk into compact 8-byte quads.
//!
//! Visibility is computed 32 faces at a time on bit masks: each row of 32 voxels becomes a
//! `u32` of "opaque" bits (and one of "transparent" bits), and a face is visible where a voxel's
//! bit is set and its neighbour's is not. Neighbour chunks supply the rows just outside the chunk,
//! so faces on chunk borders are culled correctly. Visible faces of each slice are then merged
//! greedily into rectangles of one block id.

use crate::block::{BlockId, Opacities};
use crate::chunk::Chunk;
use crate::pos::{CHUNK_SIZE, Face, voxel_index};

const N: usize = CHUNK_SIZE;
/// Padded row count: one extra row on each side for the neighbours.
const P: usize = N + 2;

/// One rectangle of faces, 8 bytes:
///
/// | bits  | field |
/// |-------|-------|
/// | 0-5   | x of the quad's minimum corner (0..=32) |
/// | 6-11  | y |
/// | 12-17 | z |
/// | 18-22 | width - 1 (along the face's `u` axis) |
/// | 23-27 | height - 1 (along the face's `v` axis) |
/// | 28-30 | face (see [`Face`]) |
/// | 32-47 | block id |
///
/// The corner lies on the face's plane: for a positive face the plane is the far side of the
/// voxel (`x + 1` for `PosX`). Axes: X faces span (u = z, v = y); Y faces (u = x, v = z);
/// Z faces (u = x, v = y).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quad(pub u64);

impl Quad {
    #[inline]
    pub fn new(pos: [u32; 3], w: u32, h: u32, face: Face, block: BlockId) -> Self {
        Quad(
            u64::from(pos[0])
                | u64::from(pos[1]) << 6
                | u64::from(pos[2]) << 12
                | u64::from(w - 1) << 18
                | u64::from(h - 1) << 23
                | (face as u64) << 28
                | u64::from(block) << 32,
        )
    }
    pub fn pos(self) -> [u32; 3] {
        [
            (self.0 & 63) as u32,
            (self.0 >> 6 & 63) as u32,
            (self.0 >> 12 & 63) as u32,
        ]
    }
    pub fn width(self) -> u32 {
        (self.0 >> 18 & 31) as u32 + 1
    }
    pub fn height(self) -> u32 {
        (self.0 >> 23 & 31) as u32 + 1
    }
    pub fn face(self) -> Face {
        Face::from_index((self.0 >> 28 & 7) as u8).unwrap_or(Face::PosX)
    }
    pub fn block(self) -> BlockId {
        (self.0 >> 32) as BlockId
    }
    /// Axis index (0 = x, 1 = y, 2 = z) of the quad's width and height.
    pub const fn axes(face: Face) -> (usize, usize) {
        match face {
            Face::PosX | Face::NegX => (2, 1),
            Face::PosY | Face::NegY => (0, 2),
            Face::PosZ | Face::NegZ => (0, 1),
        }
    }
}

impl std::fmt::Debug for Quad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Quad({:?} at {:?} {}x{} block {})",
            self.face(),
            self.pos(),
            self.width(),
            self.height(),
            self.block()
        )
    }
}

/// The six face neighbours of a chunk, indexed by [`Face`]. A missing neighbour counts as air
/// (its border faces are drawn until it loads and the chunk is remeshed).
#[derive(Debug, Clone, Copy)]
pub struct Neighborhood<'a> {
    pub center: &'a Chunk,
    pub neighbors: [Option<&'a Chunk>; 6],
}

impl<'a> Neighborhood<'a> {
    pub fn alone(center: &'a Chunk) -> Self {
        Self {
            center,
            neighbors: [None; 6],
        }
    }
}

/// A chunk's mesh: opaque quads grouped by face, then transparent quads grouped by face.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkMesh {
    pub quads: Vec<Quad>,
    /// `quads[opaque[f]..opaque[f + 1]]` are the opaque quads of face `f`.
    pub opaque: [u32; 7],
    /// `quads[transparent[f]..transparent[f + 1]]` are the transparent quads of face `f`.
    pub transparent: [u32; 7],
}

impl ChunkMesh {
    pub fn clear(&mut self) {
        self.quads.clear();
        self.opaque = [0; 7];
        self.transparent = [0; 7];
    }
    pub fn opaque_quads(&self) -> &[Quad] {
        &self.quads[..self.opaque[6] as usize]
    }
    pub fn transparent_quads(&self) -> &[Quad] {
        &self.quads[self.transparent[0] as usize..]
    }
    pub fn triangles(&self) -> usize {
        self.quads.len() * 2
    }
}

/// Reusable meshing state: after the first call, meshing allocates only if a mesh outgrows
/// the output buffer's capacity.
#[derive(Debug)]
pub struct Mesher {
    /// Opaque bits along x, row `(y + 1) * P + (z + 1)` for y, z in -1..=32.
    opaque_x: Box<[u32; P * P]>,
    transparent_x: Box<[u32; P * P]>,
    /// Opaque bits along z, row `y * P + (x + 1)` for y in 0..32, x in -1..=32.
    opaque_z: Box<[u32; N * P]>,
    transparent_z: Box<[u32; N * P]>,
    /// Rows of the centre chunk as unpacked (y * 32 + z), before padding.
    rows_o: Box<[u32; N * N]>,
    rows_t: Box<[u32; N * N]>,
    /// Transparent ids differ somewhere in the neighbourhood (water beside glass): faces between
    /// transparent voxels then need id comparisons.
    mixed_transparent: bool,
    has_transparent: bool,
    /// How the content in force classes each block id.
    opacities: Box<Opacities>,
}

impl Default for Mesher {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn ox(y: isize, z: isize) -> usize {
    ((y + 1) as usize) * P + (z + 1) as usize
}
#[inline]
fn oz(y: usize, x: isize) -> usize {
    y * P + (x + 1) as usize
}

/// Transposes a 32×32 bit matrix: bit `c` of row `r` moves to bit `r` of row `c`.
fn transpose32(a: &mut [u32; 32]) {
    let mut j = 16;
    let mut m: u32 = 0x0000_ffff;
    while j != 0 {
        let mut k = 0;
        while k < 32 {
            let t = ((a[k] >> j) ^ a[k + j]) & m;
            a[k] ^= t << j;
            a[k + j] ^= t;
            k = (k + j + 1) & !j;
        }
        j >>= 1;
        m ^= m << j;
    }
}

impl Mesher {
    pub fn new() -> Self {
        Self {
            opaque_x: Box::new([0; P * P]),
            transparent_x: Box::new([0; P * P]),
            opaque_z: Box::new([0; N * P]),
            transparent_z: Box::new([0; N * P]),
            rows_o: Box::new([0; N * N]),
            rows_t: Box::new([0; N * N]),
            mixed_transparent: false,
            has_transparent: false,
            opacities: Box::new(Opacities::builtin().clone()),
        }
    }

    /// Meshes by `opacities` from now on (content that adds blocks came into force).
    pub fn set_opacities(&mut self, opacities: Opacities) {
        *self.opacities = opacities;
    }

    pub fn opacities(&self) -> &Opacities {
        &self.opacities
    }

    /// Meshes `hood.center` into `out` (cleared first).
    pub fn mesh(&mut self, hood: &Neighborhood<'_>, out: &mut ChunkMesh) {
        self.load(hood);
        self.mesh_loaded(hood, out);
    }

    /// First stage: builds the visibility masks from the packed chunks. Block ids are not
    /// unpacked; the merge stage reads the few it needs from the packed indices.
    pub fn load(&mut self, hood: &Neighborhood<'_>) {
        let ops = &*self.opacities;
        hood.center
            .all_row_masks(ops, &mut self.rows_o, &mut self.rows_t);
        // Faces between two transparent voxels need id comparisons only if the neighbourhood holds
        // more than one transparent id; decided from palettes (conservative, and cheap).
        let mut transparent_id: Option<BlockId> = None;
        let mut mixed = false;
        let chunks = std::iter::once(hood.center).chain(hood.neighbors.iter().flatten().copied());
        for id in chunks.flat_map(Chunk::palette_ids) {
            if ops.bits(id).1 == 1 {
                match transparent_id {
                    None => transparent_id = Some(id),
                    Some(t) if t != id => mixed = true,
                    _ => {}
                }
            }
        }

        // Centre rows along x, then their transposes (rows along z) one y-layer at a time. A
        // layer of all-clear or all-set bits is its own transpose (air, solid rock, and the
        // transparent masks of most layers).
        let layers = |rows: &[u32; N * N], x_rows: &mut [u32; P * P], z_rows: &mut [u32; N * P]| {
            for y in 0..N {
                let mut layer = [0u32; N];
                layer.copy_from_slice(&rows[y * N..][..N]);
                x_rows[ox(y as isize, 0)..][..N].copy_from_slice(&layer);
                // All bits clear or all set: the transpose is the same layer.
                let (all, any) = layer
                    .iter()
                    .fold((u32::MAX, 0), |(a, o), &r| (a & r, o | r));
                if any != 0 && all != u32::MAX {
                    transpose32(&mut layer);
                }
                z_rows[oz(y, 0)..][..N].copy_from_slice(&layer);
            }
        };
        layers(&self.rows_o, &mut self.opaque_x, &mut self.opaque_z);
        layers(
            &self.rows_t,
            &mut self.transparent_x,
            &mut self.transparent_z,
        );

        // Neighbour rows; missing neighbours are air.
        let n = &hood.neighbors;
        // Each neighbour's palette classes once, not once per row.
        let classes = n.map(|c| c.map(|c| c.opacity_classes(ops)));
        for k in 0..N {
            let ki = k as isize;
            let row = |f: Face, y: usize, z: usize| match (n[f as usize], &classes[f as usize]) {
                (Some(c), Some(cl)) => c.row_masks_with(y, z, cl, ops),
                _ => (0, 0),
            };
            let col = |f: Face, x: usize, y: usize| match (n[f as usize], &classes[f as usize]) {
                (Some(c), Some(cl)) => c.column_masks_with(x, y, cl, ops),
                _ => (0, 0),
            };
            let (neg_y, pos_y) = (row(Face::NegY, N - 1, k), row(Face::PosY, 0, k));
            let (neg_z, pos_z) = (row(Face::NegZ, k, N - 1), row(Face::PosZ, k, 0));
            let (neg_x, pos_x) = (col(Face::NegX, N - 1, k), col(Face::PosX, 0, k));
            // Rows along x just below/above the chunk (z = k) and just in front/behind (y = k).
            for (idx, (o, t)) in [
                (ox(-1, ki), neg_y),
                (ox(N as isize, ki), pos_y),
                (ox(ki, -1), neg_z),
                (ox(ki, N as isize), pos_z),
            ] {
                self.opaque_x[idx] = o;
                self.transparent_x[idx] = t;
            }
            // Rows along z just left/right of the chunk (y = k).
            for (idx, (o, t)) in [(oz(k, -1), neg_x), (oz(k, N as isize), pos_x)] {
                self.opaque_z[idx] = o;
                self.transparent_z[idx] = t;
            }
        }
        self.has_transparent = transparent_id.is_some();
        self.mixed_transparent = mixed;
    }

    /// Block id at chunk-local coordinates in -1..=32 (neighbours outside; missing ones are air).
    fn id_padded(&self, hood: &Neighborhood<'_>, x: isize, y: isize, z: isize) -> BlockId {
        let inside = |v: isize| (0..N as isize).contains(&v);
        if inside(x) && inside(y) && inside(z) {
            return hood
                .center
                .get_index(voxel_index(x as usize, y as usize, z as usize));
        }
        let (face, lx, ly, lz) = if x < 0 {
            (Face::NegX, N as isize - 1, y, z)
        } else if x >= N as isize {
            (Face::PosX, 0, y, z)
        } else if y < 0 {
            (Face::NegY, x, N as isize - 1, z)
        } else if y >= N as isize {
            (Face::PosY, x, 0, z)
        } else if z < 0 {
            (Face::NegZ, x, y, N as isize - 1)
        } else {
            (Face::PosZ, x, y, 0)
        };
        hood.neighbors[face as usize].map_or(0, |c| {
            c.get_index(voxel_index(lx as usize, ly as usize, lz as usize))
        })
    }

    /// Second stage: visible-face masks per slice, merged greedily into `out`. `hood` must be
    /// the neighbourhood last passed to [`Mesher::load`].
    /// It does not change the loaded state, so one load can be meshed repeatedly.
    pub fn mesh_loaded(&self, hood: &Neighborhood<'_>, out: &mut ChunkMesh) {
        out.clear();
        for face in Face::ALL {
            out.opaque[face as usize] = out.quads.len() as u32;
            self.mesh_face(hood, face, false, out);
        }
        out.opaque[6] = out.quads.len() as u32;
        for face in Face::ALL {
            out.transparent[face as usize] = out.quads.len() as u32;
            if self.has_transparent {
                self.mesh_face(hood, face, true, out);
            }
        }
        out.transparent[6] = out.quads.len() as u32;
    }

    /// Dispatches to the face kernel specialised for one axis, direction and pass.
    fn mesh_face(
        &self,
        hood: &Neighborhood<'_>,
        face: Face,
        transparent: bool,
        out: &mut ChunkMesh,
    ) {
        macro_rules! kernel {
            ($axis:literal, $pos:literal) => {
                if transparent {
                    self.mesh_face_on::<$axis, $pos, true>(hood, out)
                } else {
                    self.mesh_face_on::<$axis, $pos, false>(hood, out)
                }
            };
        }
        match face {
            Face::PosX => kernel!(0, true),
            Face::NegX => kernel!(0, false),
            Face::PosY => kernel!(1, true),
            Face::NegY => kernel!(1, false),
            Face::PosZ => kernel!(2, true),
            Face::NegZ => kernel!(2, false),
        }
    }

    fn mesh_face_on<const AXIS: usize, const POSITIVE: bool, const TRANSPARENT: bool>(
        &self,
        hood: &Neighborhood<'_>,
        out: &mut ChunkMesh,
    ) {
        let face = Face::ALL[AXIS * 2 + if POSITIVE { 0 } else { 1 }];
        let d: isize = if POSITIVE { 1 } else { -1 };
        let positive = POSITIVE;
        let transparent = TRANSPARENT;
        let view = hood.center.index_view();
        let mut rows = [0u32; N];
        for slice in 0..N {
            let s = slice as isize;
            let mut any = 0u32;
            for (r, row) in rows.iter_mut().enumerate() {
                let ri = r as isize;
                // (self, neighbour) indices into the padded masks for this face's axis.
                let (me, other, along_z) = match AXIS {
                    0 => (oz(r, s), oz(r, s + d), true),    // slice x, row y, bits z
                    1 => (ox(s, ri), ox(s + d, ri), false), // slice y, row z, bits x
                    _ => (ox(ri, s), ox(ri, s + d), false), // slice z, row y, bits x
                };
                let (o, t) = if along_z {
                    (&self.opaque_z[..], &self.transparent_z[..])
                } else {
                    (&self.opaque_x[..], &self.transparent_x[..])
                };
                let mut m = if transparent {
                    t[me] & !o[other] & !t[other]
                } else {
                    o[me] & !o[other]
                };
                if transparent && self.mixed_transparent {
                    // Both transparent: visible only where the ids differ.
                    let mut both = t[me] & t[other];
                    while both != 0 {
                        let b = both.trailing_zeros() as isize;
                        both &= both - 1;
                        let (x, y, z) = match AXIS {
                            0 => (s, ri, b),
                            1 => (b, s, ri),
                            _ => (b, ri, s),
                        };
                        let [dx, dy, dz] = face.normal();
                        let here = self.id_padded(hood, x, y, z);
                        let there =
                            self.id_padded(hood, x + dx as isize, y + dy as isize, z + dz as isize);
                        if here != there {
                            m |= 1 << b;
                        }
                    }
                }
                *row = m;
                any |= m;
            }
            if any == 0 {
                continue;
            }
            // Palette index of the face at (row, bit) of this slice: equal indices, equal ids.
            let index_at = |r: usize, b: usize| -> u16 {
                view.index(match AXIS {
                    0 => voxel_index(slice, r, b),
                    1 => voxel_index(b, slice, r),
                    _ => voxel_index(b, r, slice),
                })
            };
            let plane = (slice + usize::from(positive)) as u32;
            greedy(&mut rows, index_at, |r, b, w, h, index| {
                let (r, b) = (r as u32, b as u32);
                let pos = match AXIS {
                    0 => [plane, r, b],
                    1 => [b, plane, r],
                    _ => [b, r, plane],
                };
                let id = view.id(index);
                out.quads.push(Quad::new(pos, w as u32, h as u32, face, id));
            });
        }
    }
}

/// Merges the set bits of `rows` (row `r`, bit `b`) into rectangles of equal key (palette index).
#[inline]
fn greedy(
    rows: &mut [u32; N],
    id_at: impl Fn(usize, usize) -> u16,
    mut emit: impl FnMut(usize, usize, usize, usize, u16),
) {
    for r in 0..N {
        while rows[r] != 0 {
            let b = rows[r].trailing_zeros() as usize;
            let id = id_at(r, b);
            let run = (rows[r] >> b).trailing_ones() as usize;
            let mut w = 1;
            while w < run && id_at(r, b + w) == id {
                w += 1;
            }
            let span = (u32::MAX >> (32 - w)) << b;
            let mut h = 1;
            'grow: while r + h < N && rows[r + h] & span == span {
                for k in 0..w {
                    if id_at(r + h, b + k) != id {
                        break 'grow;
                    }
                }
                h += 1;
            }
            for row in &mut rows[r..r + h] {
                *row &= !span;
            }
            emit(r, b, w, h, id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_is_a_transpose() {
        let mut a = [0u32; 32];
        for (r, row) in a.iter_mut().enumerate() {
            *row = (r as u32).wrapping_mul(0x9e37_79b9) ^ (1 << r);
        }
        let orig = a;
        transpose32(&mut a);
        for r in 0..32 {
            for c in 0..32 {
                assert_eq!((a[c] >> r) & 1, (orig[r] >> c) & 1, "({r},{c})");
            }
        }
    }

    #[test]
    fn quad_packing_round_trips() {
        let q = Quad::new([32, 0, 17], 32, 5, Face::NegZ, 0xbeef);
        assert_eq!(q.pos(), [32, 0, 17]);
        assert_eq!((q.width(), q.height()), (32, 5));
        assert_eq!(q.face(), Face::NegZ);
        assert_eq!(q.block(), 0xbeef);
        assert_eq!(std::mem::size_of::<Quad>(), 8);
    }
}
