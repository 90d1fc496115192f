//! Chunk storage: uniform, or a palette with bit-packed indices.
//!
//! Memory: a uniform chunk (all air, all stone) stores one id and no per-voxel data. Other
//! chunks store a palette of block ids and `bits` (1, 2, 4, 8 or 16) per voxel. Widths divide 64,
//! so an index never straddles two words. The width grows when the palette is full and shrinks
//! (with hysteresis) when most entries died, always repacking in place so a pooled chunk reuses
//! its buffers.

use crate::block::{BlockId, Opacities, blocks::AIR};
use crate::pos::{CHUNK_VOLUME, LocalPos};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, Write};

const WIDTHS: [u8; 5] = [1, 2, 4, 8, 16];
/// Every palette width holds at least two entries and a chunk holds at most this many distinct ids.
const MAX_PALETTE: usize = CHUNK_VOLUME;

/// Smallest supported width whose palette holds `entries` ids.
const fn width_for(entries: usize) -> u8 {
    let mut i = 0;
    while i < WIDTHS.len() - 1 && (1usize << WIDTHS[i]) < entries {
        i += 1;
    }
    WIDTHS[i]
}

const fn words_for(bits: u8) -> usize {
    CHUNK_VOLUME * bits as usize / 64
}

/// A 32×32×32 block of voxels.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// 0 when uniform.
    bits: u8,
    /// The single id of a uniform chunk.
    uniform: BlockId,
    /// Packed: the palette; `len <= 1 << bits`. Entries whose count is 0 are free for reuse.
    palette: Vec<BlockId>,
    /// Packed: voxels using each palette entry. A packed chunk has at least two live entries,
    /// so a count never exceeds 32767 and fits in u16.
    counts: Vec<u16>,
    /// Packed: palette entries with a non-zero count; always >= 2.
    live: usize,
    /// Packed: `CHUNK_VOLUME * bits / 64` words of indices, voxel `i` at bit `i * bits`.
    words: Vec<u64>,
}

impl Default for Chunk {
    fn default() -> Self {
        Self::uniform(AIR)
    }
}

impl PartialEq for Chunk {
    /// Same voxels, whatever the palette history.
    fn eq(&self, other: &Self) -> bool {
        match (self.as_uniform(), other.as_uniform()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => (0..CHUNK_VOLUME).all(|i| self.get_index(i) == other.get_index(i)),
            _ => false,
        }
    }
}
impl Eq for Chunk {}

impl Chunk {
    pub const fn uniform(id: BlockId) -> Self {
        Self {
            bits: 0,
            uniform: id,
            palette: Vec::new(),
            counts: Vec::new(),
            live: 0,
            words: Vec::new(),
        }
    }

    /// Builds a chunk in canonical form: palette in order of first appearance, minimal width.
    pub fn from_voxels(voxels: &[BlockId; CHUNK_VOLUME]) -> Self {
        let mut chunk = Self::default();
        chunk.load_voxels(voxels);
        chunk.shrink_to_fit();
        chunk
    }

    /// Releases buffer capacity beyond what the current contents need.
    pub fn shrink_to_fit(&mut self) {
        self.palette.shrink_to_fit();
        self.counts.shrink_to_fit();
        self.words.shrink_to_fit();
    }

    /// Replaces the contents with `voxels`, reusing this chunk's buffers.
    pub fn load_voxels(&mut self, voxels: &[BlockId; CHUNK_VOLUME]) {
        self.palette.clear();
        self.counts.clear();
        // Most chunks have few ids: find them with a linear scan over a tiny palette, remembering
        // the last hit because runs of equal voxels dominate.
        let mut last = (voxels[0], 0usize);
        self.palette.push(voxels[0]);
        self.counts.push(0);
        for &v in voxels.iter() {
            if v != last.0 {
                let k = match self.palette.iter().position(|&p| p == v) {
                    Some(k) => k,
                    None => {
                        self.palette.push(v);
                        self.counts.push(0);
                        self.palette.len() - 1
                    }
                };
                last = (v, k);
            }
            self.counts[last.1] += 1;
        }
        if self.palette.len() == 1 {
            self.fill(voxels[0]);
            return;
        }
        self.bits = width_for(self.palette.len());
        self.live = self.palette.len();
        self.words.clear();
        self.words.resize(words_for(self.bits), 0);
        // The palette is in first-appearance order, so a second pass assigns indices with the
        // same cached lookup.
        let mut last = (voxels[0], 0u64);
        let bits = self.bits as usize;
        for (i, &v) in voxels.iter().enumerate() {
            if v != last.0 {
                let k = self.palette.iter().position(|&p| p == v).unwrap_or(0);
                last = (v, k as u64);
            }
            let bit = i * bits;
            self.words[bit >> 6] |= last.1 << (bit & 63);
        }
    }

    /// Makes every voxel `id`, keeping buffers for reuse.
    pub fn fill(&mut self, id: BlockId) {
        self.bits = 0;
        self.uniform = id;
        self.palette.clear();
        self.counts.clear();
        self.words.clear();
        self.live = 0;
    }

    /// Copies `other` into `self`, reusing `self`'s buffers.
    pub fn copy_from(&mut self, other: &Chunk) {
        self.bits = other.bits;
        self.uniform = other.uniform;
        self.live = other.live;
        self.palette.clear();
        self.palette.extend_from_slice(&other.palette);
        self.counts.clear();
        self.counts.extend_from_slice(&other.counts);
        self.words.clear();
        self.words.extend_from_slice(&other.words);
    }

    /// `Some(id)` when every voxel is `id`.
    pub fn as_uniform(&self) -> Option<BlockId> {
        (self.bits == 0).then_some(self.uniform)
    }

    /// Bits per voxel index (0 for a uniform chunk).
    pub fn bits_per_voxel(&self) -> u8 {
        self.bits
    }

    /// Distinct block ids present.
    pub fn distinct_blocks(&self) -> usize {
        if self.bits == 0 { 1 } else { self.live }
    }

    /// Heap bytes held by this chunk (capacity, not length).
    pub fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8 + self.palette.capacity() * 2 + self.counts.capacity() * 2
    }

    /// Voxels that are not air.
    pub fn non_air_count(&self) -> usize {
        match self.as_uniform() {
            Some(AIR) => 0,
            Some(_) => CHUNK_VOLUME,
            None => self
                .palette
                .iter()
                .zip(&self.counts)
                .filter(|&(&id, _)| id != AIR)
                .map(|(_, &c)| usize::from(c))
                .sum(),
        }
    }

    /// How many voxels hold `id`.
    pub fn count_of(&self, id: BlockId) -> usize {
        match self.as_uniform() {
            Some(u) => {
                if u == id {
                    CHUNK_VOLUME
                } else {
                    0
                }
            }
            None => self
                .palette
                .iter()
                .zip(&self.counts)
                .filter(|&(&p, _)| p == id)
                .map(|(_, &c)| usize::from(c))
                .sum(),
        }
    }

    pub fn get(&self, pos: LocalPos) -> BlockId {
        self.get_index(pos.index())
    }

    /// Voxel at linear index `i` (see [`crate::voxel_index`]); `i` must be `< CHUNK_VOLUME`.
    #[inline]
    pub fn get_index(&self, i: usize) -> BlockId {
        if self.bits == 0 {
            return self.uniform;
        }
        self.palette[self.read_index(i)]
    }

    #[inline]
    fn read_index(&self, i: usize) -> usize {
        let bits = self.bits as usize;
        let bit = i * bits;
        ((self.words[bit >> 6] >> (bit & 63)) & ((1u64 << bits) - 1)) as usize
    }

    #[inline]
    fn write_index(&mut self, i: usize, k: usize) {
        let bits = self.bits as usize;
        let bit = i * bits;
        let mask = ((1u64 << bits) - 1) << (bit & 63);
        let w = &mut self.words[bit >> 6];
        *w = (*w & !mask) | ((k as u64) << (bit & 63));
    }

    /// Sets a voxel; returns the previous id.
    pub fn set(&mut self, pos: LocalPos, id: BlockId) -> BlockId {
        self.set_index(pos.index(), id)
    }

    /// Sets the voxel at linear index `i`; returns the previous id.
    pub fn set_index(&mut self, i: usize, id: BlockId) -> BlockId {
        if self.bits == 0 {
            let old = self.uniform;
            if old != id {
                self.bits = 1;
                self.palette.clear();
                self.palette.extend_from_slice(&[old, id]);
                self.counts.clear();
                self.counts
                    .extend_from_slice(&[(CHUNK_VOLUME - 1) as u16, 1]);
                self.live = 2;
                self.words.clear();
                self.words.resize(words_for(1), 0);
                self.write_index(i, 1);
            }
            return old;
        }
        let old_k = self.read_index(i);
        let old = self.palette[old_k];
        if old == id {
            return old;
        }
        let new_k = match self.live_entry(id) {
            Some(k) => k,
            None => self.add_entry(id),
        };
        // `add_entry` may have repacked; `old_k` is unchanged by growth.
        self.write_index(i, new_k);
        self.counts[new_k] += 1;
        self.counts[old_k] -= 1;
        if self.counts[old_k] == 0 {
            self.live -= 1;
            self.shrink_if_sparse();
        }
        old
    }

    fn live_entry(&self, id: BlockId) -> Option<usize> {
        self.palette
            .iter()
            .zip(&self.counts)
            .position(|(&p, &c)| p == id && c > 0)
    }

    /// Adds `id` to the palette with count 0, growing the width if the palette is full.
    fn add_entry(&mut self, id: BlockId) -> usize {
        self.live += 1;
        if let Some(k) = self.counts.iter().position(|&c| c == 0) {
            self.palette[k] = id;
            return k;
        }
        if self.palette.len() == 1 << self.bits {
            let wider = width_for(self.palette.len() + 1);
            self.repack_wider(wider);
        }
        self.palette.push(id);
        self.counts.push(0);
        self.palette.len() - 1
    }

    /// Widens indices in place, walking backwards so no index is overwritten before it is read.
    fn repack_wider(&mut self, new_bits: u8) {
        let old_bits = self.bits as usize;
        self.words.resize(words_for(new_bits), 0);
        let old_mask = (1u64 << old_bits) - 1;
        for i in (0..CHUNK_VOLUME).rev() {
            let bit = i * old_bits;
            let k = (self.words[bit >> 6] >> (bit & 63)) & old_mask;
            self.bits = new_bits;
            self.write_index(i, k as usize);
            self.bits = old_bits as u8;
        }
        self.bits = new_bits;
    }

    /// After an entry died: become uniform if one id is left, or narrow the width once the live
    /// entries fit in half of a smaller palette (the slack avoids repacking back and forth).
    fn shrink_if_sparse(&mut self) {
        if self.live == 1 {
            let id = self.palette[self.counts.iter().position(|&c| c > 0).unwrap_or(0)];
            self.fill(id);
            return;
        }
        let target = width_for(self.live * 2);
        if target >= self.bits {
            return;
        }
        // Compact live entries to the front, keeping their order. Palettes beyond 256 entries
        // are rare enough (16-bit chunks) to take a heap buffer.
        let mut remap_small = [0u16; 256];
        let mut remap_large;
        let remap: &mut [u16] = if self.palette.len() <= 256 {
            &mut remap_small[..self.palette.len()]
        } else {
            remap_large = vec![0u16; self.palette.len()];
            &mut remap_large
        };
        let mut next = 0usize;
        for (k, slot) in remap.iter_mut().enumerate() {
            if self.counts[k] > 0 {
                *slot = next as u16;
                self.palette[next] = self.palette[k];
                self.counts[next] = self.counts[k];
                next += 1;
            }
        }
        self.palette.truncate(next);
        self.counts.truncate(next);
        // Narrow in place walking forwards: the new index of voxel i ends at or before the
        // start of the old index of voxel i + 1.
        let old_bits = self.bits;
        for i in 0..CHUNK_VOLUME {
            let k = self.read_index(i);
            self.bits = target;
            self.write_index(i, usize::from(remap[k]));
            self.bits = old_bits;
        }
        self.bits = target;
        self.words.truncate(words_for(target));
    }

    /// Writes all voxels into `out` (indexed by [`crate::voxel_index`]).
    pub fn unpack_into(&self, out: &mut [BlockId; CHUNK_VOLUME]) {
        match self.bits {
            0 => out.fill(self.uniform),
            1 => unpack_narrow::<1>(&self.words, &self.palette, out),
            2 => unpack_narrow::<2>(&self.words, &self.palette, out),
            4 => unpack_narrow::<4>(&self.words, &self.palette, out),
            8 => unpack_narrow::<8>(&self.words, &self.palette, out),
            _ => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = self.palette[self.read_index(i)];
                }
            }
        }
    }

    /// For each row of 32 voxels along x (indexed `y * 32 + z`), the bit masks of opaque and
    /// transparent voxels, computed from the packed words without unpacking block ids.
    pub(crate) fn all_row_masks(
        &self,
        ops: &Opacities,
        opaque: &mut [u32; 1024],
        transparent: &mut [u32; 1024],
    ) {
        match self.bits {
            0 => {
                let (o, t) = ops.bits(self.uniform);
                opaque.fill(0u32.wrapping_sub(o));
                transparent.fill(0u32.wrapping_sub(t));
            }
            1 => {
                let classes = palette_classes(&self.palette, ops);
                for (row, (o, t)) in opaque.iter_mut().zip(transparent.iter_mut()).enumerate() {
                    let ones = (self.words[row / 2] >> ((row % 2) * 32)) as u32;
                    (*o, *t) = bool_row_masks(ones, &classes);
                }
            }
            2 => masks_rows::<2>(&self.words, &self.palette, ops, opaque, transparent),
            4 => masks_rows::<4>(&self.words, &self.palette, ops, opaque, transparent),
            8 => masks_rows::<8>(&self.words, &self.palette, ops, opaque, transparent),
            _ => {
                for (row, (o, t)) in opaque.iter_mut().zip(transparent.iter_mut()).enumerate() {
                    (*o, *t) = (0, 0);
                    for x in 0..32 {
                        let (bo, bt) = ops.bits(self.get_index(row * 32 + x));
                        *o |= bo << x;
                        *t |= bt << x;
                    }
                }
            }
        }
    }

    /// Palette indices for hot loops: one code path whatever the storage width.
    pub(crate) fn index_view(&self) -> IndexView<'_> {
        if self.bits == 0 {
            return IndexView {
                words: &ZERO_WORD,
                bits: 0,
                mask: 0,
                palette: std::slice::from_ref(&self.uniform),
            };
        }
        IndexView {
            words: &self.words,
            bits: usize::from(self.bits),
            mask: (1u64 << self.bits) - 1,
            palette: &self.palette,
        }
    }

    /// Opaque and transparent bit masks (bit = x) of the row of voxels at `(y, z)`, as `ops`
    /// classes the blocks.
    pub fn row_masks(&self, y: usize, z: usize, ops: &Opacities) -> (u32, u32) {
        self.row_masks_with(y, z, &self.opacity_classes(ops), ops)
    }

    /// The palette's opacity classes, computed once for many [`Chunk::row_masks_with`] calls.
    pub(crate) fn opacity_classes(&self, ops: &Opacities) -> [u8; 256] {
        palette_classes(&self.palette, ops)
    }

    /// [`Chunk::row_masks`] with the chunk's [`Chunk::opacity_classes`] precomputed.
    pub(crate) fn row_masks_with(
        &self,
        y: usize,
        z: usize,
        classes: &[u8; 256],
        ops: &Opacities,
    ) -> (u32, u32) {
        let row = (y % 32) * 32 + z % 32;
        match self.bits {
            0 => {
                let (o, t) = ops.bits(self.uniform);
                (0u32.wrapping_sub(o), 0u32.wrapping_sub(t))
            }
            1 => bool_row_masks((self.words[row / 2] >> ((row % 2) * 32)) as u32, classes),
            2 => packed_row_masks::<2>(&self.words[row..][..1], classes, None),
            4 => packed_row_masks::<4>(&self.words[row * 2..][..2], classes, None),
            8 => packed_row_masks::<8>(&self.words[row * 4..][..4], classes, None),
            _ => {
                let (mut o, mut t) = (0u32, 0u32);
                for x in 0..32 {
                    let (bo, bt) = ops.bits(self.get_index(row * 32 + x));
                    o |= bo << x;
                    t |= bt << x;
                }
                (o, t)
            }
        }
    }

    /// Opaque and transparent bit masks (bit = z) of the column of voxels at `(x, y)`, as
    /// `ops` classes the blocks.
    pub fn column_masks(&self, x: usize, y: usize, ops: &Opacities) -> (u32, u32) {
        self.column_masks_with(x, y, &self.opacity_classes(ops), ops)
    }

    /// [`Chunk::column_masks`] with the chunk's [`Chunk::opacity_classes`] precomputed.
    pub(crate) fn column_masks_with(
        &self,
        x: usize,
        y: usize,
        classes: &[u8; 256],
        ops: &Opacities,
    ) -> (u32, u32) {
        if let Some(id) = self.as_uniform() {
            let (o, t) = ops.bits(id);
            return (0u32.wrapping_sub(o), 0u32.wrapping_sub(t));
        }
        let view = self.index_view();
        let (mut o, mut t) = (0u32, 0u32);
        for z in 0..32 {
            let k = view.index(crate::pos::voxel_index(x % 32, y % 32, z));
            let c = match classes.get(usize::from(k)) {
                Some(&c) if self.bits <= 8 => u32::from(c),
                _ => {
                    let (bo, bt) = ops.bits(view.id(k));
                    bo | bt << 1
                }
            };
            o |= (c & 1) << z;
            t |= (c >> 1) << z;
        }
        (o, t)
    }

    /// Distinct ids present, in palette order (dead entries skipped).
    pub fn palette_ids(&self) -> impl Iterator<Item = BlockId> + '_ {
        let uniform = (self.bits == 0).then_some(self.uniform);
        uniform.into_iter().chain(
            self.palette
                .iter()
                .zip(&self.counts)
                .filter(|&(_, &c)| c > 0)
                .map(|(&id, _)| id),
        )
    }

    /// Palette indices renumbered by first appearance, as the canonical encoding lists them:
    /// `order[k]` is the canonical index of entry `k` (`u16::MAX` for a dead entry).
    fn canonical_order(&self, order: &mut [u16]) -> bool {
        order.fill(u16::MAX);
        let mut next = 0u16;
        let mut identity = self.palette.len() == self.live;
        for i in 0..CHUNK_VOLUME {
            let k = self.read_index(i);
            if order[k] == u16::MAX {
                order[k] = next;
                identity &= usize::from(next) == k;
                next += 1;
                if usize::from(next) == self.live {
                    break;
                }
            }
        }
        identity
    }

    fn canonical_bits(&self) -> u8 {
        width_for(self.live)
    }
}

fn unpack_narrow<const B: usize>(
    words: &[u64],
    palette: &[BlockId],
    out: &mut [BlockId; CHUNK_VOLUME],
) {
    // A fixed 256-entry table lets the compiler drop bounds checks on the lookup.
    let mut table = [AIR; 256];
    table[..palette.len()].copy_from_slice(palette);
    let mask = (1u64 << B) - 1;
    let per_word = 64 / B;
    for (w, dst) in words.iter().zip(out.chunks_exact_mut(per_word)) {
        for (k, d) in dst.iter_mut().enumerate() {
            *d = table[((w >> (k * B)) & mask) as u8 as usize];
        }
    }
}

/// Opacity class per palette entry: bit 0 opaque, bit 1 transparent.
fn palette_classes(palette: &[BlockId], ops: &Opacities) -> [u8; 256] {
    let mut classes = [0u8; 256];
    for (k, &id) in palette.iter().enumerate().take(256) {
        let (o, t) = ops.bits(id);
        classes[k] = (o | (t << 1)) as u8;
    }
    classes
}

/// Row masks of a 1-bit row: `ones` are the voxels using palette entry 1, the rest entry 0.
#[inline(always)]
fn bool_row_masks(ones: u32, classes: &[u8; 256]) -> (u32, u32) {
    let class_mask = |bit: u8| {
        let pick = |k: usize| 0u32.wrapping_sub(u32::from(classes[k] >> bit & 1));
        (ones & pick(1)) | (!ones & pick(0))
    };
    (class_mask(0), class_mask(1))
}

/// Opaque and transparent masks of one row of 32 voxels (`row_words`: its `B / 2` packed words,
/// `2 <= B <= 8`). A word of one repeated index (most rows: air above the ground, stone below)
/// costs a compare; other words cost one lookup per byte in `byte_bits` (see [`masks_rows`])
/// when given, else one per voxel.
#[inline(always)]
fn packed_row_masks<const B: usize>(
    row_words: &[u64],
    classes: &[u8; 256],
    byte_bits: Option<&[u16; 256]>,
) -> (u32, u32) {
    let index_mask = (1u64 << B) - 1;
    let per_word = 64 / B;
    let word_ones = u32::MAX >> (32 - per_word);
    let repeat = u64::MAX / index_mask;
    let (mut o, mut t) = (0u32, 0u32);
    for (w, &word) in row_words.iter().enumerate() {
        let at = w * per_word;
        let first = word & index_mask;
        if word == first * repeat {
            let c = u32::from(classes[first as usize]);
            o |= (word_ones & 0u32.wrapping_sub(c & 1)) << at;
            t |= (word_ones & 0u32.wrapping_sub(c >> 1)) << at;
        } else if let Some(byte_bits) = byte_bits {
            let per_byte = 8 / B;
            for i in 0..8 {
                let e = u32::from(byte_bits[((word >> (i * 8)) & 0xff) as usize]);
                o |= (e & 0xff) << (at + i * per_byte);
                t |= (e >> 8) << (at + i * per_byte);
            }
        } else {
            for k in 0..per_word {
                let c = u32::from(classes[((word >> (k * B)) & index_mask) as usize]);
                o |= (c & 1) << (at + k);
                t |= (c >> 1) << (at + k);
            }
        }
    }
    (o, t)
}

/// Row masks of a whole chunk with `2 <= B <= 8` bits per index. One packed byte holds `8 / B`
/// voxels, so per chunk we tabulate, for each of the 256 byte values, its voxels' opacity bits;
/// a mixed row of 32 voxels then costs `4 * B` table lookups instead of 32 per-voxel decodes.
fn masks_rows<const B: usize>(
    words: &[u64],
    palette: &[BlockId],
    ops: &Opacities,
    opaque: &mut [u32; 1024],
    transparent: &mut [u32; 1024],
) {
    let per_byte = 8 / B;
    let mask = (1usize << B) - 1;
    let classes = palette_classes(palette, ops);
    // Low byte: opaque bits of the byte's voxels; high byte: transparent bits.
    let mut byte_bits = [0u16; 256];
    for (byte, bits) in byte_bits.iter_mut().enumerate() {
        for j in 0..per_byte {
            let c = u16::from(classes[(byte >> (j * B)) & mask]);
            *bits |= (c & 1) << j | (c >> 1) << (8 + j);
        }
    }
    let words_per_row = B / 2;
    for ((row_words, o), t) in words
        .chunks_exact(words_per_row)
        .zip(opaque.iter_mut())
        .zip(transparent.iter_mut())
    {
        (*o, *t) = packed_row_masks::<B>(row_words, &classes, Some(&byte_bits));
    }
}

/// Backing word of a uniform chunk's [`IndexView`]: every index reads as 0.
static ZERO_WORD: [u64; 1] = [0];

/// A chunk's palette indices, read without branching on the storage kind (a uniform chunk reads
/// index 0 of a one-entry palette). Indices of equal voxels are equal: live palette entries are
/// distinct ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IndexView<'a> {
    words: &'a [u64],
    bits: usize,
    mask: u64,
    palette: &'a [BlockId],
}

impl IndexView<'_> {
    /// Palette index of voxel `i` (< [`CHUNK_VOLUME`]).
    #[inline(always)]
    pub(crate) fn index(&self, i: usize) -> u16 {
        let bit = i * self.bits;
        ((self.words[bit >> 6] >> (bit & 63)) & self.mask) as u16
    }

    /// Block id of a palette index returned by [`IndexView::index`].
    #[inline(always)]
    pub(crate) fn id(&self, index: u16) -> BlockId {
        self.palette.get(usize::from(index)).copied().unwrap_or(AIR)
    }
}

const TAG_UNIFORM: u8 = 0;
const TAG_PACKED: u8 = 1;

impl Write for Chunk {
    /// Canonical encoding: `0, id` for a uniform chunk; otherwise
    /// `1, bits, palette_len: u16, palette: [u16], indices: [u64]` with the palette in order of
    /// first appearance (voxel index order) and the minimal width. Big-endian throughout.
    fn write(&self, buf: &mut impl BufMut) {
        if let Some(id) = self.as_uniform() {
            buf.put_u8(TAG_UNIFORM);
            buf.put_u16(id);
            return;
        }
        let bits = self.canonical_bits();
        let mut order_small = [0u16; 256];
        let mut order_large;
        let order: &mut [u16] = if self.palette.len() <= 256 {
            &mut order_small[..self.palette.len()]
        } else {
            order_large = vec![0u16; self.palette.len()];
            &mut order_large
        };
        let identity = self.canonical_order(order) && bits == self.bits;
        buf.put_u8(TAG_PACKED);
        buf.put_u8(bits);
        buf.put_u16(self.live as u16);
        let mut canonical_palette = [AIR; 256];
        if self.live <= 256 {
            for (k, &o) in order.iter().enumerate() {
                if o != u16::MAX {
                    canonical_palette[usize::from(o)] = self.palette[k];
                }
            }
            for &id in &canonical_palette[..self.live] {
                buf.put_u16(id);
            }
        } else {
            let mut ids = vec![AIR; self.live];
            for (k, &o) in order.iter().enumerate() {
                if o != u16::MAX {
                    ids[usize::from(o)] = self.palette[k];
                }
            }
            for id in ids {
                buf.put_u16(id);
            }
        }
        if identity {
            for &w in &self.words {
                buf.put_u64(w);
            }
            return;
        }
        let per_word = 64 / usize::from(bits);
        for w in 0..words_for(bits) {
            let mut word = 0u64;
            for j in 0..per_word {
                let k = order[self.read_index(w * per_word + j)];
                word |= u64::from(k) << (j * usize::from(bits));
            }
            buf.put_u64(word);
        }
    }
}

impl EncodeSize for Chunk {
    fn encode_size(&self) -> usize {
        if self.bits == 0 {
            return 3;
        }
        4 + 2 * self.live + words_for(self.canonical_bits()) * 8
    }
}

/// Why bytes are not a valid chunk encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkDecodeError {
    #[error("chunk data truncated: needed {needed} more bytes, {remaining} left")]
    Truncated { needed: usize, remaining: usize },
    #[error("unknown chunk storage tag {0}")]
    UnknownTag(u8),
    #[error("unsupported index width {0} bits (1, 2, 4, 8 or 16)")]
    BadWidth(u8),
    #[error(
        "palette of {len} entries is invalid for {bits}-bit indices (canonical width is {canonical})"
    )]
    PaletteLength { len: usize, bits: u8, canonical: u8 },
    #[error("block id {0} appears twice in the palette")]
    DuplicatePaletteEntry(BlockId),
    #[error("voxel {voxel} uses palette index {index}, but the palette has {len} entries")]
    PaletteIndexOutOfRange {
        voxel: usize,
        index: usize,
        len: usize,
    },
    #[error(
        "palette entry {index} first appears after a later entry (palette not in first-appearance order)"
    )]
    PaletteOrder { index: usize },
    #[error("palette entry {index} is never used")]
    UnusedPaletteEntry { index: usize },
    #[error("{0} bytes after the end of the chunk")]
    TrailingBytes(usize),
}

impl Chunk {
    /// Decodes exactly one canonical chunk from `bytes` (trailing bytes are an error).
    pub fn decode_bytes(mut bytes: &[u8]) -> Result<Self, ChunkDecodeError> {
        let chunk = read_chunk(&mut bytes)?;
        if !bytes.is_empty() {
            return Err(ChunkDecodeError::TrailingBytes(bytes.len()));
        }
        Ok(chunk)
    }

    /// Canonical encoding into `out` (cleared first); reuses `out`'s capacity.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.clear();
        out.reserve(self.encode_size());
        self.write(out);
    }

    /// blake3 of the canonical encoding, using `scratch` as the encoding buffer.
    pub fn hash_with(&self, scratch: &mut Vec<u8>) -> [u8; 32] {
        self.encode_into(scratch);
        *blake3::hash(scratch).as_bytes()
    }
}

fn need(buf: &impl bytes::Buf, n: usize) -> Result<(), ChunkDecodeError> {
    if buf.remaining() < n {
        return Err(ChunkDecodeError::Truncated {
            needed: n,
            remaining: buf.remaining(),
        });
    }
    Ok(())
}

fn read_chunk(buf: &mut impl bytes::Buf) -> Result<Chunk, ChunkDecodeError> {
    need(buf, 1)?;
    match buf.get_u8() {
        TAG_UNIFORM => {
            need(buf, 2)?;
            Ok(Chunk::uniform(buf.get_u16()))
        }
        TAG_PACKED => {
            need(buf, 3)?;
            let bits = buf.get_u8();
            if !WIDTHS.contains(&bits) {
                return Err(ChunkDecodeError::BadWidth(bits));
            }
            let len = usize::from(buf.get_u16());
            let canonical = width_for(len);
            if !(2..=MAX_PALETTE).contains(&len) || canonical != bits {
                return Err(ChunkDecodeError::PaletteLength {
                    len,
                    bits,
                    canonical,
                });
            }
            let words = words_for(bits);
            // Check the whole length up front so a short buffer never triggers an allocation.
            need(buf, 2 * len + 8 * words)?;
            let palette: Vec<BlockId> = (0..len).map(|_| buf.get_u16()).collect();
            let mut sorted = palette.clone();
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(ChunkDecodeError::DuplicatePaletteEntry(w[0]));
            }
            let mut chunk = Chunk {
                bits,
                uniform: AIR,
                counts: vec![0; len],
                palette,
                live: len,
                words: (0..words).map(|_| buf.get_u64()).collect(),
            };
            let mut next = 0usize;
            for voxel in 0..CHUNK_VOLUME {
                let index = chunk.read_index(voxel);
                if index >= len {
                    return Err(ChunkDecodeError::PaletteIndexOutOfRange { voxel, index, len });
                }
                if index == next {
                    next += 1;
                } else if index > next {
                    return Err(ChunkDecodeError::PaletteOrder { index });
                }
                chunk.counts[index] += 1;
            }
            if next < len {
                return Err(ChunkDecodeError::UnusedPaletteEntry { index: next });
            }
            Ok(chunk)
        }
        tag => Err(ChunkDecodeError::UnknownTag(tag)),
    }
}

impl Read for Chunk {
    type Cfg = ();
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        read_chunk(buf).map_err(|e| CodecError::Wrapped("chunk", Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::blocks::*;

    fn voxels_with(f: impl Fn(usize) -> BlockId) -> Box<[BlockId; CHUNK_VOLUME]> {
        let mut v = Box::new([AIR; CHUNK_VOLUME]);
        for (i, x) in v.iter_mut().enumerate() {
            *x = f(i);
        }
        v
    }

    fn assert_matches(chunk: &Chunk, expected: &[BlockId; CHUNK_VOLUME]) {
        let mut out = Box::new([AIR; CHUNK_VOLUME]);
        chunk.unpack_into(&mut out);
        assert!(out.iter().zip(expected.iter()).all(|(a, b)| a == b));
        for i in (0..CHUNK_VOLUME).step_by(97) {
            assert_eq!(chunk.get_index(i), expected[i]);
        }
    }

    #[test]
    fn uniform_chunks_store_nothing_per_voxel() {
        let c = Chunk::from_voxels(&voxels_with(|_| STONE));
        assert_eq!(c.as_uniform(), Some(STONE));
        assert_eq!(c.heap_bytes(), 0);
        assert_eq!(c.non_air_count(), CHUNK_VOLUME);
        assert_eq!(c.encode_size(), 3);
    }

    #[test]
    fn widths_follow_palette_size() {
        for (distinct, bits) in [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (16, 4),
            (17, 8),
            (256, 8),
            (257, 16),
            (4000, 16),
        ] {
            let v = voxels_with(|i| (i % distinct) as BlockId);
            let c = Chunk::from_voxels(&v);
            assert_eq!(c.bits_per_voxel(), bits, "{distinct} ids");
            assert_eq!(c.distinct_blocks(), distinct);
            assert_matches(&c, &v);
        }
    }

    #[test]
    fn edits_grow_then_shrink_back_to_uniform() {
        let mut c = Chunk::uniform(AIR);
        let mut expected = voxels_with(|_| AIR);
        // Grow through every width.
        for i in 0..300usize {
            let idx = i * 101 % CHUNK_VOLUME;
            let id = i as BlockId + 1;
            assert_eq!(c.set_index(idx, id), expected[idx]);
            expected[idx] = id;
        }
        assert_eq!(c.bits_per_voxel(), 16);
        assert_matches(&c, &expected);
        // Clear them again: widths shrink, and the chunk ends uniform with no voxel buffer.
        for i in 0..300usize {
            let idx = i * 101 % CHUNK_VOLUME;
            c.set_index(idx, AIR);
            expected[idx] = AIR;
            if i == 250 {
                assert!(c.bits_per_voxel() < 16, "shrunk after most ids died");
                assert_matches(&c, &expected);
            }
        }
        assert_eq!(c.as_uniform(), Some(AIR));
    }

    #[test]
    fn canonical_encoding_ignores_palette_history() {
        let v = voxels_with(|i| match i % 7 {
            0 => STONE,
            1 | 2 => DIRT,
            _ => AIR,
        });
        let fresh = Chunk::from_voxels(&v);
        // Same content reached by edits in a different order, with dead palette entries on the way.
        let mut edited = Chunk::uniform(GRASS);
        for i in (0..CHUNK_VOLUME).rev() {
            edited.set_index(i, SAND);
        }
        for i in (0..CHUNK_VOLUME).rev() {
            edited.set_index(i, v[i]);
        }
        assert_eq!(fresh, edited);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        fresh.encode_into(&mut a);
        edited.encode_into(&mut b);
        assert_eq!(a, b);
        assert_eq!(a.len(), fresh.encode_size());
        assert_eq!(b.len(), edited.encode_size());
        assert_eq!(Chunk::decode_bytes(&a).unwrap(), fresh);
    }

    #[test]
    fn decode_rejects_malformed_input() {
        let v = voxels_with(|i| if i % 3 == 0 { STONE } else { AIR });
        let mut good = Vec::new();
        Chunk::from_voxels(&v).encode_into(&mut good);
        assert!(matches!(
            Chunk::decode_bytes(&good[..good.len() - 1]),
            Err(ChunkDecodeError::Truncated { .. })
        ));
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            Chunk::decode_bytes(&trailing),
            Err(ChunkDecodeError::TrailingBytes(1))
        );
        assert_eq!(
            Chunk::decode_bytes(&[7]),
            Err(ChunkDecodeError::UnknownTag(7))
        );
        assert_eq!(
            Chunk::decode_bytes(&[1, 3, 0, 2]),
            Err(ChunkDecodeError::BadWidth(3))
        );
        // Absurd palette length: refused before any allocation.
        assert!(matches!(
            Chunk::decode_bytes(&[1, 16, 0xff, 0xff]),
            Err(ChunkDecodeError::PaletteLength { .. })
        ));
        // Non-minimal width.
        assert!(matches!(
            Chunk::decode_bytes(&[1, 2, 0, 2, 0, 1, 0, 0]),
            Err(ChunkDecodeError::PaletteLength { .. })
        ));
        // Voxel 0 made to use palette entry 1 before entry 0 ever appears.
        let mut bad_order = good.clone();
        bad_order[8 + 7] ^= 1; // lowest bit of the first word: voxel 0 now uses index 1
        assert!(matches!(
            Chunk::decode_bytes(&bad_order),
            Err(ChunkDecodeError::PaletteOrder { index: 1 })
        ));
        let dup = [1u8, 1, 0, 2, 0, 1, 0, 1];
        let mut dup = dup.to_vec();
        dup.extend(std::iter::repeat_n(0u8, 8 * words_for(1)));
        assert_eq!(
            Chunk::decode_bytes(&dup),
            Err(ChunkDecodeError::DuplicatePaletteEntry(1))
        );
        let mut unused = vec![1u8, 1, 0, 2, 0, 1, 0, 2];
        unused.extend(std::iter::repeat_n(0u8, 8 * words_for(1)));
        assert_eq!(
            Chunk::decode_bytes(&unused),
            Err(ChunkDecodeError::UnusedPaletteEntry { index: 1 })
        );
    }

    #[test]
    fn index_out_of_range_is_rejected() {
        // 2-bit width with 3 entries: index 3 is out of range.
        let mut bytes = vec![1u8, 2, 0, 3, 0, 1, 0, 2, 0, 3];
        let mut words = vec![0u64; words_for(2)];
        words[0] = 0b11_10_01_00; // voxels 0..4 use 0,1,2,3
        for w in words {
            bytes.extend(w.to_be_bytes());
        }
        assert_eq!(
            Chunk::decode_bytes(&bytes),
            Err(ChunkDecodeError::PaletteIndexOutOfRange {
                voxel: 3,
                index: 3,
                len: 3
            })
        );
    }
}
