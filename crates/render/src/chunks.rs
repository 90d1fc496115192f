//! Chunk meshes on the GPU: one large quad buffer and one set of per-chunk slot buffers, both
//! sub-allocated with [`RangeAllocator`], reused as chunks unload and grown (by a GPU copy) only
//! when full. Uploads go through a [`wgpu::util::StagingBelt`].
//!
//! Per chunk slot the GPU holds its origin (`CHUNK_INFO_BYTES`) and its opacity bits for ambient
//! occlusion ([`OCC_WORDS`]). Quads keep the 8-byte format of `z3r0-voxel` and are pulled by the
//! vertex shader: six vertices per quad, no vertex buffer.

use std::collections::BTreeMap;

use z3r0_voxel::{CHUNK_SIZE, ChunkMesh, ChunkPos, Quad};

use crate::RenderError;
use crate::alloc::RangeAllocator;
use crate::occupancy::OCC_WORDS;

const QUAD_BYTES: u64 = 8;
const CHUNK_INFO_BYTES: u64 = 16;
const OCC_BYTES: u64 = (OCC_WORDS * 4) as u64;

/// A chunk's place in the pooled buffers.
#[derive(Debug, Clone, Copy)]
pub struct Resident {
    pub slot: u32,
    /// First quad in the quad buffer.
    pub quad_offset: u32,
    pub quad_count: u32,
    /// Opaque quads of face `f`: `opaque[f]..opaque[f + 1]`, relative to `quad_offset`.
    pub opaque: [u32; 7],
    /// Transparent quads of face `f`, likewise.
    pub transparent: [u32; 7],
    /// Tight bounds of the chunk's quads, in world voxels.
    pub min: [i32; 3],
    pub max: [i32; 3],
}

/// Sizes of the pooled buffers, for statistics and leak checks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub chunks: usize,
    pub quads_used: u32,
    pub quad_capacity: u32,
    pub slots_used: u32,
    pub slot_capacity: u32,
    /// Bytes of GPU memory the pools hold.
    pub gpu_bytes: u64,
    /// Free ranges in the quad pool (fragmentation).
    pub quad_free_ranges: usize,
    /// Times a pool buffer was grown.
    pub grows: u32,
    /// Bytes written through the staging belt since creation.
    pub uploaded_bytes: u64,
}

#[derive(Debug)]
pub struct ChunkBuffers {
    quads: wgpu::Buffer,
    info: wgpu::Buffer,
    occupancy: wgpu::Buffer,
    quad_alloc: RangeAllocator,
    slot_alloc: RangeAllocator,
    resident: BTreeMap<ChunkPos, Resident>,
    max_quads: u32,
    max_slots: u32,
    grows: u32,
    uploaded_bytes: u64,
    /// Bumped whenever a buffer is replaced, so bind groups are rebuilt.
    generation: u64,
    scratch: Vec<u64>,
}

/// A storage buffer the CPU writes into (and pools copy out of when they grow).
pub(crate) fn storage_buffer(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC,
        mapped_at_creation: false,
    })
}

/// The face ranges must split `0..len` in order, opaque then transparent: the draws index the
/// pool with them.
fn check_ranges(mesh: &ChunkMesh) -> Result<(), RenderError> {
    let len = mesh.quads.len() as u64;
    let (o, t) = (&mesh.opaque, &mesh.transparent);
    let ordered = o.windows(2).all(|w| w[0] <= w[1]) && t.windows(2).all(|w| w[0] <= w[1]);
    if o[0] != 0 || o[6] != t[0] || u64::from(t[6]) != len || !ordered {
        return Err(RenderError::BadMesh {
            opaque: *o,
            transparent: *t,
            quads: mesh.quads.len(),
        });
    }
    Ok(())
}

impl ChunkBuffers {
    /// Pools starting at `quads` quads and `slots` chunk slots; they double when full, up to
    /// the device's storage binding limit.
    pub fn new(device: &wgpu::Device, quads: u32, slots: u32) -> Self {
        let limits = device.limits();
        let binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let max_quads = (binding / QUAD_BYTES).min(u64::from(u32::MAX / 6)) as u32;
        let max_slots = (binding / OCC_BYTES) as u32;
        let quads = quads.clamp(1, max_quads);
        let slots = slots.clamp(1, max_slots);
        Self {
            quads: storage_buffer(device, "chunk quads", u64::from(quads) * QUAD_BYTES),
            info: storage_buffer(device, "chunk info", u64::from(slots) * CHUNK_INFO_BYTES),
            occupancy: storage_buffer(device, "chunk occupancy", u64::from(slots) * OCC_BYTES),
            quad_alloc: RangeAllocator::new(quads),
            slot_alloc: RangeAllocator::new(slots),
            resident: BTreeMap::new(),
            max_quads,
            max_slots,
            grows: 0,
            uploaded_bytes: 0,
            generation: 0,
            scratch: Vec::new(),
        }
    }

    pub fn quads(&self) -> &wgpu::Buffer {
        &self.quads
    }
    pub fn info(&self) -> &wgpu::Buffer {
        &self.info
    }
    pub fn occupancy(&self) -> &wgpu::Buffer {
        &self.occupancy
    }
    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn resident(&self) -> impl Iterator<Item = (&ChunkPos, &Resident)> {
        self.resident.iter()
    }

    pub fn get(&self, pos: ChunkPos) -> Option<&Resident> {
        self.resident.get(&pos)
    }

    pub fn len(&self) -> usize {
        self.resident.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resident.is_empty()
    }

    pub fn stats(&self) -> PoolStats {
        PoolStats {
            chunks: self.resident.len(),
            quads_used: self.quad_alloc.used(),
            quad_capacity: self.quad_alloc.capacity(),
            slots_used: self.slot_alloc.used(),
            slot_capacity: self.slot_alloc.capacity(),
            gpu_bytes: self.quads.size() + self.info.size() + self.occupancy.size(),
            quad_free_ranges: self.quad_alloc.free_ranges(),
            grows: self.grows,
            uploaded_bytes: self.uploaded_bytes,
        }
    }

    /// Replaces the chunk's mesh (an empty mesh unloads it). `occupancy` is its AO bits.
    pub fn upload(
        &mut self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        belt: &mut wgpu::util::StagingBelt,
        pos: ChunkPos,
        mesh: &ChunkMesh,
        occupancy: &[u32; OCC_WORDS],
    ) -> Result<(), RenderError> {
        let count = u32::try_from(mesh.quads.len()).map_err(|_| RenderError::PoolFull {
            what: "quads",
            needed: u32::MAX,
            max: self.max_quads,
        })?;
        if count == 0 {
            self.remove(pos);
            return Ok(());
        }
        check_ranges(mesh)?;
        // Allocate before freeing the old range: if the pool cannot grow, the chunk keeps its
        // previous mesh instead of vanishing.
        let old = self.resident.get(&pos).copied();
        let slot = match old {
            Some(r) => r.slot,
            None => self.alloc_slot(device, encoder)?,
        };
        let quad_offset = match self.alloc_quads(device, encoder, count) {
            Ok(offset) => offset,
            Err(e) => {
                if old.is_none() {
                    let _ = self.slot_alloc.free(slot, 1);
                }
                return Err(e);
            }
        };
        if let Some(r) = old {
            self.free_quads(r);
        }

        let quad_bytes = u64::from(count) * QUAD_BYTES;
        // The shader reads each quad as a (lo, hi) pair of native-endian words.
        self.scratch.clear();
        self.scratch.extend(mesh.quads.iter().map(|q| q.0));
        write(
            belt,
            encoder,
            &self.quads,
            u64::from(quad_offset) * QUAD_BYTES,
            bytemuck::cast_slice(&self.scratch),
        );
        let origin = pos.origin();
        let info: [i32; 4] = [origin.x, origin.y, origin.z, 0];
        write(
            belt,
            encoder,
            &self.info,
            u64::from(slot) * CHUNK_INFO_BYTES,
            bytemuck::cast_slice(&info),
        );
        write(
            belt,
            encoder,
            &self.occupancy,
            u64::from(slot) * OCC_BYTES,
            bytemuck::cast_slice(occupancy.as_slice()),
        );
        self.uploaded_bytes += quad_bytes + CHUNK_INFO_BYTES + OCC_BYTES;

        let (min, max) = quad_bounds(pos, &mesh.quads);
        self.resident.insert(
            pos,
            Resident {
                slot,
                quad_offset,
                quad_count: count,
                opaque: mesh.opaque,
                transparent: mesh.transparent,
                min,
                max,
            },
        );
        Ok(())
    }

    /// Rewrites only the AO bits of a resident chunk (a neighbour changed).
    pub fn update_occupancy(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        belt: &mut wgpu::util::StagingBelt,
        pos: ChunkPos,
        occupancy: &[u32; OCC_WORDS],
    ) -> bool {
        let Some(r) = self.resident.get(&pos) else {
            return false;
        };
        write(
            belt,
            encoder,
            &self.occupancy,
            u64::from(r.slot) * OCC_BYTES,
            bytemuck::cast_slice(occupancy.as_slice()),
        );
        self.uploaded_bytes += OCC_BYTES;
        true
    }

    /// Unloads a chunk; its ranges go back to the pools.
    pub fn remove(&mut self, pos: ChunkPos) -> bool {
        match self.resident.remove(&pos) {
            Some(r) => {
                self.free_quads(r);
                // The slot was allocated by this pool; a failure would be a bookkeeping bug.
                if let Err(e) = self.slot_alloc.free(r.slot, 1) {
                    tracing::error!(%e, "chunk slot free failed");
                }
                true
            }
            None => false,
        }
    }

    fn free_quads(&mut self, r: Resident) {
        if let Err(e) = self.quad_alloc.free(r.quad_offset, r.quad_count) {
            tracing::error!(%e, "chunk quad range free failed");
        }
    }

    fn alloc_slot(
        &mut self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
    ) -> Result<u32, RenderError> {
        if let Some(slot) = self.slot_alloc.alloc(1) {
            return Ok(slot);
        }
        let old = self.slot_alloc.capacity();
        let new = grown(old, old + 1, self.max_slots).ok_or(RenderError::PoolFull {
            what: "chunk slots",
            needed: old + 1,
            max: self.max_slots,
        })?;
        self.info = regrow(
            device,
            encoder,
            &self.info,
            u64::from(new) * CHUNK_INFO_BYTES,
        );
        self.occupancy = regrow(device, encoder, &self.occupancy, u64::from(new) * OCC_BYTES);
        self.slot_alloc.grow(new);
        self.grows += 1;
        self.generation += 1;
        self.slot_alloc.alloc(1).ok_or(RenderError::PoolFull {
            what: "chunk slots",
            needed: old + 1,
            max: self.max_slots,
        })
    }

    fn alloc_quads(
        &mut self,
        device: &wgpu::Device,
        encoder: &mut wgpu::CommandEncoder,
        count: u32,
    ) -> Result<u32, RenderError> {
        if let Some(offset) = self.quad_alloc.alloc(count) {
            return Ok(offset);
        }
        let old = self.quad_alloc.capacity();
        let full = RenderError::PoolFull {
            what: "quads",
            needed: self.quad_alloc.used().saturating_add(count),
            max: self.max_quads,
        };
        let new = grown(old, old.saturating_add(count), self.max_quads).ok_or(full.clone())?;
        self.quads = regrow(device, encoder, &self.quads, u64::from(new) * QUAD_BYTES);
        self.quad_alloc.grow(new);
        self.grows += 1;
        self.generation += 1;
        self.quad_alloc.alloc(count).ok_or(full)
    }
}

/// Doubling growth that covers `needed`, capped at `max`.
fn grown(old: u32, needed: u32, max: u32) -> Option<u32> {
    if needed > max {
        return None;
    }
    let mut new = old.max(1);
    while new < needed {
        new = new.saturating_mul(2);
    }
    Some(new.min(max))
}

/// A bigger buffer with the old contents copied over on the GPU.
fn regrow(
    device: &wgpu::Device,
    encoder: &mut wgpu::CommandEncoder,
    old: &wgpu::Buffer,
    size: u64,
) -> wgpu::Buffer {
    let label = "pooled chunk buffer";
    let new = storage_buffer(device, label, size);
    encoder.copy_buffer_to_buffer(old, 0, &new, 0, old.size());
    new
}

fn write(
    belt: &mut wgpu::util::StagingBelt,
    encoder: &mut wgpu::CommandEncoder,
    target: &wgpu::Buffer,
    offset: u64,
    bytes: &[u8],
) {
    // Every write here is a multiple of 8 bytes, non-empty, at an 8-byte offset.
    if let Some(size) = wgpu::BufferSize::new(bytes.len() as u64) {
        belt.write_buffer(encoder, target, offset, size)
            .copy_from_slice(bytes);
    }
}

/// Tight world-space bounds of a chunk's quads.
fn quad_bounds(pos: ChunkPos, quads: &[Quad]) -> ([i32; 3], [i32; 3]) {
    let o = pos.origin();
    let origin = [o.x, o.y, o.z];
    let mut min = [CHUNK_SIZE as i32; 3];
    let mut max = [0i32; 3];
    for q in quads {
        let p = q.pos();
        let (u, v) = Quad::axes(q.face());
        let mut hi = [p[0] as i32, p[1] as i32, p[2] as i32];
        hi[u] += q.width() as i32;
        hi[v] += q.height() as i32;
        for i in 0..3 {
            min[i] = min[i].min(p[i] as i32);
            max[i] = max[i].max(hi[i]);
        }
    }
    (
        [0, 1, 2].map(|i| origin[i] + min[i]),
        [0, 1, 2].map(|i| origin[i] + max[i]),
    )
}
