//! The frame: sky, terrain (one multi-draw-indirect call over every visible chunk), entity
//! boxes (one instanced draw), water and glass (one more multi-draw), the targeted-block outline
//! and the crosshair, in a single render pass.

use std::time::Instant;

use bytemuck::{Pod, Zeroable};
use z3r0_voxel::{CHUNK_SIZE, ChunkMesh, ChunkPos, Mesher, Opacities, World};

use crate::RenderError;
use crate::camera::{Camera, Frustum};
use crate::chunks::{ChunkBuffers, PoolStats, Resident, storage_buffer};
use crate::gpu::Gpu;
use crate::occupancy::Occupancy;
use crate::overlay::{OVERLAY_BYTES, Overlay, OverlayQuad};
use crate::textures;
use crate::timing::GpuTimer;

pub const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;

/// Settings fixed when the renderer is created.
#[derive(Debug, Clone)]
pub struct RendererConfig {
    /// Format of the target the frame is drawn into (surface or offscreen texture).
    pub color_format: wgpu::TextureFormat,
    /// Horizontal view distance in chunks; fog ends there.
    pub view_distance: u32,
    /// Initial pool sizes (they grow when full).
    pub initial_quads: u32,
    pub initial_chunks: u32,
    /// Staging belt chunk size in bytes.
    pub staging_chunk: u64,
}

impl RendererConfig {
    pub fn new(color_format: wgpu::TextureFormat, view_distance: u32) -> Self {
        Self {
            color_format,
            view_distance,
            initial_quads: 1 << 18,
            initial_chunks: 512,
            staging_chunk: 4 << 20,
        }
    }
}

/// A box drawn for an entity (player, mob, item), in world coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntityBox {
    /// Minimum corner.
    pub min: [f64; 3],
    pub size: [f32; 3],
    /// Linear RGB.
    pub color: [f32; 3],
}

/// What to draw besides the world.
#[derive(Debug, Clone, Copy)]
pub struct FrameInput<'a> {
    pub camera: &'a Camera,
    pub entities: &'a [EntityBox],
    /// The voxel under the crosshair, outlined.
    pub target_block: Option<[i32; 3]>,
    pub crosshair: bool,
    /// Seconds, for water animation.
    pub time_s: f32,
    /// The HUD: drawn over everything, in the same draw as the crosshair.
    pub overlay: Option<&'a Overlay>,
}

/// What one frame cost and drew.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FrameStats {
    /// Draw commands recorded (a multi-draw-indirect call counts once).
    pub draw_calls: u32,
    /// Indirect sub-draws inside the multi-draw calls.
    pub indirect_draws: u32,
    pub triangles: u64,
    pub chunks_resident: u32,
    pub chunks_drawn: u32,
    pub chunks_culled: u32,
    pub entities: u32,
    /// CPU time to cull and record the frame, in milliseconds.
    pub cpu_ms: f64,
    /// GPU time of the frame's render pass, when the adapter has timestamp queries. In a
    /// windowed loop this is the most recent frame whose timestamps have come back.
    pub gpu_ms: Option<f64>,
}

/// What [`Renderer::sync_world`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SyncStats {
    pub meshed: u32,
    /// Chunks left for a later call by a limit on meshes per call.
    pub left: u32,
    pub quads: u64,
    pub ao_refreshed: u32,
    pub cpu_ms: f64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct Globals {
    view_proj: [[f32; 4]; 4],
    cam_int: [i32; 4],
    cam_frac: [f32; 4],
    sun: [f32; 4],
    ray_forward: [f32; 4],
    ray_right: [f32; 4],
    ray_up: [f32; 4],
    fog: [f32; 4],
    viewport: [f32; 4],
    outline: [f32; 4],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Pod, Zeroable)]
struct GpuEntity {
    min: [f32; 4],
    size: [f32; 4],
    color: [f32; 4],
}

#[derive(Debug)]
struct Pipelines {
    sky: wgpu::RenderPipeline,
    terrain: wgpu::RenderPipeline,
    transparent: wgpu::RenderPipeline,
    boxes: wgpu::RenderPipeline,
    outline: wgpu::RenderPipeline,
    overlay: wgpu::RenderPipeline,
}

/// A draw of `quads` quads starting at `first_quad`, for chunk slot `slot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct QuadRun {
    first_quad: u32,
    quads: u32,
    slot: u32,
}

/// Owns the pipelines, the pooled chunk buffers and per-frame buffers.
#[derive(Debug)]
pub struct Renderer {
    config: RendererConfig,
    pipelines: Pipelines,
    layout: wgpu::BindGroupLayout,
    bind_group: wgpu::BindGroup,
    bind_generation: (u64, u64, u64, u64),
    globals: wgpu::Buffer,
    chunks: ChunkBuffers,
    textures: wgpu::Texture,
    texture_view: wgpu::TextureView,
    /// Which layer each block id's faces show (`textures::BlockTextures::table`).
    block_layers: wgpu::Buffer,
    sampler: wgpu::Sampler,
    entity_buffer: wgpu::Buffer,
    entity_capacity: u64,
    entity_generation: u64,
    /// Bumped when the block texture array is replaced (the bind group names its view).
    texture_generation: u64,
    overlay_buffer: wgpu::Buffer,
    overlay_capacity: u64,
    overlay_generation: u64,
    indirect: wgpu::Buffer,
    indirect_capacity: u64,
    depth: Option<(wgpu::Texture, wgpu::TextureView, (u32, u32))>,
    belt: wgpu::util::StagingBelt,
    uploads: Option<wgpu::CommandEncoder>,
    timer: Option<GpuTimer>,
    multi_draw: bool,
    // Per-frame scratch, kept to avoid allocating.
    opaque_runs: Vec<QuadRun>,
    transparent_runs: Vec<QuadRun>,
    transparent_order: Vec<(i64, ChunkPos)>,
    indirect_bytes: Vec<u8>,
    gpu_entities: Vec<GpuEntity>,
    gpu_overlay: Vec<OverlayQuad>,
    // Meshing scratch for `sync_world`.
    mesher: Mesher,
    mesh: ChunkMesh,
    occupancy: Occupancy,
    dirty: Vec<ChunkPos>,
    /// The opacity table changed: the next sync meshes every chunk of the world.
    remesh_all: bool,
    retry: Vec<ChunkPos>,
    /// Chunks to mesh that a limit left for a later call.
    backlog: Vec<ChunkPos>,
}

const SUN: [f32; 3] = [0.38, 0.82, 0.43];
const ENTITY_BYTES: u64 = std::mem::size_of::<GpuEntity>() as u64;
const INDIRECT_BYTES: u64 = 16;

impl Renderer {
    pub fn new(gpu: &Gpu, config: RendererConfig) -> Result<Self, RenderError> {
        let device = &gpu.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("world.wgsl"),
            source: wgpu::ShaderSource::Wgsl(shader_source().into()),
        });
        let storage = |binding, visibility| wgpu::BindGroupLayoutEntry {
            binding,
            visibility,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only: true },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let vf = wgpu::ShaderStages::VERTEX | wgpu::ShaderStages::FRAGMENT;
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("world"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: vf,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                storage(1, wgpu::ShaderStages::VERTEX),
                storage(2, wgpu::ShaderStages::VERTEX),
                storage(3, wgpu::ShaderStages::FRAGMENT),
                wgpu::BindGroupLayoutEntry {
                    binding: 4,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2Array,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 5,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
                storage(6, wgpu::ShaderStages::VERTEX),
                storage(7, wgpu::ShaderStages::VERTEX),
                storage(8, wgpu::ShaderStages::VERTEX),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("world"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines = create_pipelines(device, &module, &pipeline_layout, config.color_format);

        let globals = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("globals"),
            size: std::mem::size_of::<Globals>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let generated = textures::BlockTextures::generated();
        let texture = textures::create_block_textures(device, generated.layer_count());
        textures::write_block_textures(&gpu.queue, &texture, &generated);
        let block_layers = storage_buffer(
            device,
            "block layers",
            (textures::TABLE_ENTRIES * std::mem::size_of::<u32>()) as u64,
        );
        gpu.queue
            .write_buffer(&block_layers, 0, bytemuck::cast_slice(generated.table()));
        let texture_view = array_view(&texture);
        let sampler = device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("blocks"),
            address_mode_u: wgpu::AddressMode::Repeat,
            address_mode_v: wgpu::AddressMode::Repeat,
            mag_filter: wgpu::FilterMode::Nearest,
            min_filter: wgpu::FilterMode::Nearest,
            mipmap_filter: wgpu::MipmapFilterMode::Linear,
            ..Default::default()
        });
        let chunks = ChunkBuffers::new(device, config.initial_quads, config.initial_chunks);
        let entity_capacity = 256;
        let entity_buffer = storage_buffer(device, "entities", entity_capacity * ENTITY_BYTES);
        let overlay_capacity = 256;
        let overlay_buffer = storage_buffer(device, "overlay", overlay_capacity * OVERLAY_BYTES);
        let indirect_capacity = 4096;
        let indirect = indirect_buffer(device, indirect_capacity);
        let bind_group = bind_group(
            device,
            &layout,
            &globals,
            &chunks,
            BlockLayers {
                textures: &texture_view,
                table: &block_layers,
            },
            &sampler,
            InstanceBuffers {
                entities: &entity_buffer,
                overlay: &overlay_buffer,
            },
        );
        let belt = wgpu::util::StagingBelt::new(device.clone(), config.staging_chunk);
        let timer = gpu.caps.timestamps.then(|| GpuTimer::new(gpu));
        Ok(Self {
            pipelines,
            layout,
            bind_group,
            bind_generation: (chunks.generation(), 0, 0, 0),
            globals,
            chunks,
            textures: texture,
            texture_view,
            block_layers,
            sampler,
            entity_buffer,
            entity_capacity,
            entity_generation: 0,
            texture_generation: 0,
            overlay_buffer,
            overlay_capacity,
            overlay_generation: 0,
            indirect,
            indirect_capacity,
            depth: None,
            belt,
            uploads: None,
            timer,
            multi_draw: gpu.caps.indirect_first_instance,
            opaque_runs: Vec::new(),
            transparent_runs: Vec::new(),
            transparent_order: Vec::new(),
            indirect_bytes: Vec::new(),
            gpu_entities: Vec::new(),
            gpu_overlay: Vec::new(),
            mesher: Mesher::new(),
            mesh: ChunkMesh::default(),
            occupancy: Occupancy::default(),
            dirty: Vec::new(),
            remesh_all: false,
            retry: Vec::new(),
            backlog: Vec::new(),
            config,
        })
    }

    /// Shows `textures` from the next frame on (a content pack's, after its files changed, or
    /// new content's with more faces): the same texture array with its layers written again,
    /// or a new one of the size `textures` needs, and the block-to-layer table written.
    pub fn set_block_textures(&mut self, gpu: &Gpu, textures: &textures::BlockTextures) {
        if self.textures.depth_or_array_layers() != textures.layer_count() {
            self.textures = textures::create_block_textures(&gpu.device, textures.layer_count());
            self.texture_view = array_view(&self.textures);
            self.texture_generation += 1;
        }
        textures::write_block_textures(&gpu.queue, &self.textures, textures);
        gpu.queue.write_buffer(
            &self.block_layers,
            0,
            bytemuck::cast_slice(textures.table()),
        );
    }

    /// Shows blocks as `look` says from the next frame on: its textures
    /// ([`Renderer::set_block_textures`]) and its opacities ([`Renderer::set_opacities`]).
    pub fn set_block_look(&mut self, gpu: &Gpu, look: &textures::BlockLook) {
        self.set_block_textures(gpu, &look.textures);
        self.set_opacities(look.opacities.clone());
    }

    /// Meshes and shades by `opacities` from now on (content in force that adds blocks): every
    /// chunk of the world (resident or not: an enclosed one may now show faces) is meshed
    /// again by the next syncs if the table changed.
    pub fn set_opacities(&mut self, opacities: Opacities) {
        if *self.mesher.opacities() == opacities {
            return;
        }
        self.mesher.set_opacities(opacities);
        self.remesh_all = true;
    }

    pub fn config(&self) -> &RendererConfig {
        &self.config
    }

    /// Whether all chunks go out in one multi-draw-indirect call (else one direct draw each).
    pub fn uses_multi_draw(&self) -> bool {
        self.multi_draw
    }

    /// Forces the per-chunk direct-draw path (the fallback for adapters without
    /// `INDIRECT_FIRST_INSTANCE`), for tests and comparisons.
    pub fn set_multi_draw(&mut self, on: bool, gpu: &Gpu) {
        self.multi_draw = on && gpu.caps.indirect_first_instance;
    }

    pub fn pool_stats(&self) -> PoolStats {
        self.chunks.stats()
    }

    pub fn chunk(&self, pos: ChunkPos) -> Option<&Resident> {
        self.chunks.get(pos)
    }

    /// Uploads (or replaces) one chunk's mesh with its AO bits; an empty mesh unloads it.
    /// The copy is recorded now and submitted with the next frame (or [`Renderer::flush`]).
    /// On error the chunk keeps whatever it had.
    pub fn upload_chunk(
        &mut self,
        gpu: &Gpu,
        pos: ChunkPos,
        mesh: &ChunkMesh,
        occupancy: &[u32; crate::occupancy::OCC_WORDS],
    ) -> Result<(), RenderError> {
        let encoder = self.uploads.get_or_insert_with(|| {
            gpu.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("chunk uploads"),
                })
        });
        self.chunks
            .upload(&gpu.device, encoder, &mut self.belt, pos, mesh, occupancy)
    }

    /// Unloads a chunk; its buffer ranges are reused by later uploads.
    pub fn remove_chunk(&mut self, pos: ChunkPos) -> bool {
        self.chunks.remove(pos)
    }

    /// Meshes and uploads every chunk `world` marks as needing a new mesh, refreshes the AO
    /// bits of their resident neighbours (diagonal ones included), and unloads chunks that are
    /// resident but no longer in `world`.
    pub fn sync_world(&mut self, gpu: &Gpu, world: &mut World) -> Result<SyncStats, RenderError> {
        self.sync_world_limited(gpu, world, usize::MAX)
    }

    /// [`Renderer::sync_world`], meshing at most `max_meshes` chunks; the rest wait for the
    /// next call (a game loop that must not hold its world for long per frame).
    pub fn sync_world_limited(
        &mut self,
        gpu: &Gpu,
        world: &mut World,
        max_meshes: usize,
    ) -> Result<SyncStats, RenderError> {
        let started = Instant::now();
        let mut stats = SyncStats::default();
        let mut dirty = std::mem::take(&mut self.dirty);
        world.drain_remesh_into(&mut dirty);
        // Chunks whose upload failed last time are tried again, and those left waiting.
        dirty.extend(std::mem::take(&mut self.retry));
        if std::mem::take(&mut self.remesh_all) {
            dirty.extend(world.chunks().map(|(p, _)| p));
        }
        dirty.append(&mut self.backlog);
        dirty.sort_unstable();
        dirty.dedup();
        if dirty.len() > max_meshes {
            self.backlog = dirty.split_off(max_meshes);
            stats.left = self.backlog.len() as u32;
        }
        let gone: Vec<ChunkPos> = self
            .chunks
            .resident()
            .map(|(&p, _)| p)
            .filter(|&p| !world.contains_chunk(p))
            .collect();
        for pos in gone {
            self.chunks.remove(pos);
        }
        let encoder = self.uploads.get_or_insert_with(|| {
            gpu.device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("chunk uploads"),
                })
        });
        let mut ao_only = std::collections::BTreeSet::new();
        let mut first_error = None;
        for &pos in &dirty {
            let Some(hood) = world.neighborhood(pos) else {
                self.chunks.remove(pos);
                continue;
            };
            self.mesher.mesh(&hood, &mut self.mesh);
            if !self.mesh.quads.is_empty() {
                self.occupancy.compute(world, pos, self.mesher.opacities());
            }
            if let Err(e) = self.chunks.upload(
                &gpu.device,
                encoder,
                &mut self.belt,
                pos,
                &self.mesh,
                &self.occupancy.words,
            ) {
                // Keep going with the others; this one is retried next time.
                self.retry.push(pos);
                first_error.get_or_insert(e);
                continue;
            }
            stats.meshed += 1;
            stats.quads += self.mesh.quads.len() as u64;
            for dy in -1..=1 {
                for dz in -1..=1 {
                    for dx in -1..=1 {
                        ao_only.insert(ChunkPos::new(pos.x + dx, pos.y + dy, pos.z + dz));
                    }
                }
            }
        }
        for &pos in &dirty {
            ao_only.remove(&pos);
        }
        for pos in ao_only {
            if self.chunks.get(pos).is_some() {
                self.occupancy.compute(world, pos, self.mesher.opacities());
                self.chunks
                    .update_occupancy(encoder, &mut self.belt, pos, &self.occupancy.words);
                stats.ao_refreshed += 1;
            }
        }
        self.dirty = dirty;
        stats.cpu_ms = started.elapsed().as_secs_f64() * 1e3;
        match first_error {
            Some(e) => Err(e),
            None => Ok(stats),
        }
    }

    /// Submits pending uploads now (frames do this themselves).
    pub fn flush(&mut self, gpu: &Gpu) {
        self.submit(gpu, None);
    }

    /// Submits pending uploads, then `frame` if given, in one submission.
    fn submit(&mut self, gpu: &Gpu, frame: Option<wgpu::CommandBuffer>) {
        let uploads = self.uploads.take().map(|encoder| {
            self.belt.finish();
            encoder.finish()
        });
        let had_uploads = uploads.is_some();
        gpu.queue.submit(uploads.into_iter().chain(frame));
        if had_uploads {
            self.belt.recall();
        }
    }

    /// The depth buffer for `size`, (re)created when the size changed.
    fn ensure_depth(&mut self, device: &wgpu::Device, size: (u32, u32)) -> wgpu::TextureView {
        if let Some((_, view, s)) = &self.depth
            && *s == size
        {
            return view.clone();
        }
        let texture = device.create_texture(&wgpu::TextureDescriptor {
            label: Some("depth"),
            size: wgpu::Extent3d {
                width: size.0,
                height: size.1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: DEPTH_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        self.depth = Some((texture, view.clone(), size));
        view
    }

    /// Culls the resident chunks against the view (frustum and fog distance) and builds the
    /// opaque draw runs (only faces turned towards the eye) and the transparent ones, back to
    /// front.
    fn cull(
        &mut self,
        frustum: &Frustum,
        cam_int: [i32; 3],
        cam_frac: [f32; 3],
        stats: &mut FrameStats,
    ) {
        self.opaque_runs.clear();
        self.transparent_runs.clear();
        self.transparent_order.clear();
        let eye = [0, 1, 2].map(|i| f64::from(cam_int[i]) + f64::from(cam_frac[i]));
        // Beyond the fog's end nothing is visible: cull by horizontal distance too.
        let reach = f64::from(self.config.view_distance.saturating_add(1)) * CHUNK_SIZE as f64;
        for (&pos, r) in self.chunks.resident() {
            let dx = (f64::from(r.min[0]) - eye[0]).max(eye[0] - f64::from(r.max[0]));
            let dz = (f64::from(r.min[2]) - eye[2]).max(eye[2] - f64::from(r.max[2]));
            if dx.max(0.0).hypot(dz.max(0.0)) > reach {
                stats.chunks_culled += 1;
                continue;
            }
            let rel = |v: [i32; 3]| {
                [0, 1, 2].map(|i| (i64::from(v[i]) - i64::from(cam_int[i])) as f32 - cam_frac[i])
            };
            if !frustum.intersects_box(rel(r.min), rel(r.max)) {
                stats.chunks_culled += 1;
                continue;
            }
            stats.chunks_drawn += 1;
            // Faces of one direction can only be seen from their front side.
            let facing = [0, 1, 2].map(|axis| {
                (
                    eye[axis] > f64::from(r.min[axis]),
                    eye[axis] < f64::from(r.max[axis]),
                )
            });
            push_runs(&mut self.opaque_runs, r, &r.opaque, |f| {
                let (pos_side, neg_side) = facing[f / 2];
                if f % 2 == 0 { pos_side } else { neg_side }
            });
            if r.transparent[6] > r.transparent[0] {
                let o = pos.origin();
                let centre = [o.x, o.y, o.z].map(|c| i64::from(c) + CHUNK_SIZE as i64 / 2);
                let d2: i64 = (0..3)
                    .map(|i| {
                        let d = centre[i] - i64::from(cam_int[i]);
                        d * d
                    })
                    .sum();
                self.transparent_order.push((d2, pos));
            }
        }
        // Water and glass blend back to front.
        self.transparent_order
            .sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, pos) in &self.transparent_order {
            if let Some(r) = self.chunks.get(pos) {
                push_runs(&mut self.transparent_runs, r, &r.transparent, |_| true);
            }
        }
    }

    /// The frame's entity boxes, camera-relative, into the instance buffer; returns how many.
    fn prepare_entities(&mut self, device: &wgpu::Device, frame: &FrameInput<'_>) -> u32 {
        // Entities, camera-relative.
        self.gpu_entities.clear();
        for e in frame.entities {
            let min = [0, 1, 2].map(|i| (e.min[i] - frame.camera.position[i]) as f32);
            self.gpu_entities.push(GpuEntity {
                min: [min[0], min[1], min[2], 0.0],
                size: [e.size[0], e.size[1], e.size[2], 0.0],
                color: [e.color[0], e.color[1], e.color[2], 1.0],
            });
        }
        self.ensure_entity_capacity(device, self.gpu_entities.len() as u64);
        self.gpu_entities.len() as u32
    }

    /// The crosshair (two bars, 18 × 2 pixels, at the centre), then the HUD, into the overlay
    /// buffer.
    fn prepare_overlay(&mut self, device: &wgpu::Device, frame: &FrameInput<'_>, size: (u32, u32)) {
        self.gpu_overlay.clear();
        if frame.crosshair {
            let (cx, cy) = (size.0 as f32 / 2.0, size.1 as f32 / 2.0);
            let mut bars = Overlay::new();
            let white = [0.97, 0.97, 0.97, 0.9];
            bars.rect(cx - 9.0, cy - 1.0, 18.0, 2.0, white);
            bars.rect(cx - 1.0, cy - 9.0, 2.0, 18.0, white);
            self.gpu_overlay.extend_from_slice(&bars.quads);
        }
        if let Some(hud) = frame.overlay {
            self.gpu_overlay.extend_from_slice(&hud.quads);
        }
        self.ensure_overlay_capacity(device, self.gpu_overlay.len() as u64);
    }

    /// Culls, records and submits one frame into `target` (of `size` pixels, in the
    /// renderer's colour format).
    pub fn render(
        &mut self,
        gpu: &Gpu,
        target: &wgpu::TextureView,
        size: (u32, u32),
        frame: &FrameInput<'_>,
    ) -> Result<FrameStats, RenderError> {
        let started = Instant::now();
        let device = &gpu.device;
        let size = (size.0.max(1), size.1.max(1));
        let depth_view = self.ensure_depth(device, size);
        let aspect = size.0 as f32 / size.1 as f32;
        let view_proj = frame.camera.view_projection(aspect);
        let frustum = Frustum::from_view_projection(&view_proj);
        let (cam_int, cam_frac) = frame.camera.split_position();
        let mut stats = FrameStats {
            chunks_resident: self.chunks.len() as u32,
            ..Default::default()
        };

        self.cull(&frustum, cam_int, cam_frac, &mut stats);
        stats.entities = self.prepare_entities(device, frame);
        self.prepare_overlay(device, frame, size);
        self.refresh_bind_group(device);
        let globals = self.globals_for(frame, size, view_proj);
        let draws = self.upload(gpu, &globals);

        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("frame"),
        });
        self.record_pass(&mut encoder, target, &depth_view, frame, draws, &mut stats);
        if let Some(timer) = self.timer.as_mut() {
            timer.resolve(&mut encoder);
        }
        self.submit(gpu, Some(encoder.finish()));
        if let Some(timer) = self.timer.as_mut() {
            timer.after_submit();
            stats.gpu_ms = timer.latest_ms();
        }
        stats.cpu_ms = started.elapsed().as_secs_f64() * 1e3;
        Ok(stats)
    }

    /// Rebuilds the bind group if a pooled buffer was replaced since it was made.
    fn refresh_bind_group(&mut self, device: &wgpu::Device) {
        let generation = (
            self.chunks.generation(),
            self.entity_generation,
            self.overlay_generation,
            self.texture_generation,
        );
        if generation == self.bind_generation {
            return;
        }
        self.bind_group = bind_group(
            device,
            &self.layout,
            &self.globals,
            &self.chunks,
            BlockLayers {
                textures: &self.texture_view,
                table: &self.block_layers,
            },
            &self.sampler,
            InstanceBuffers {
                entities: &self.entity_buffer,
                overlay: &self.overlay_buffer,
            },
        );
        self.bind_generation = generation;
    }

    /// The frame's uniforms: camera (split into integer and fractional parts, so far worlds
    /// keep their precision), sky rays, sun, fog, viewport and the targeted block's outline.
    fn globals_for(
        &self,
        frame: &FrameInput<'_>,
        size: (u32, u32),
        view_proj: crate::Mat4,
    ) -> Globals {
        let camera = frame.camera;
        let aspect = size.0 as f32 / size.1 as f32;
        let (cam_int, cam_frac) = camera.split_position();
        let (tx, ty) = camera.half_extents(aspect);
        let (f, r, u) = (camera.forward(), camera.right(), camera.up());
        let reach = (self.config.view_distance.clamp(1, 64) * CHUNK_SIZE as u32) as f32;
        let outline = match frame.target_block {
            Some(b) => {
                let rel = [0, 1, 2]
                    .map(|i| (i64::from(b[i]) - i64::from(cam_int[i])) as f32 - cam_frac[i]);
                [rel[0], rel[1], rel[2], 1.0]
            }
            None => [0.0; 4],
        };
        let sun = normalize(SUN);
        Globals {
            view_proj: view_proj.0,
            cam_int: [cam_int[0], cam_int[1], cam_int[2], 0],
            cam_frac: [cam_frac[0], cam_frac[1], cam_frac[2], frame.time_s],
            sun: [sun[0], sun[1], sun[2], 0.0],
            ray_forward: [f[0], f[1], f[2], 0.0],
            ray_right: [r[0] * tx, r[1] * tx, r[2] * tx, 0.0],
            ray_up: [u[0] * ty, u[1] * ty, u[2] * ty, 0.0],
            fog: [reach * 0.62, reach * 0.97, 0.0, 0.0],
            viewport: [
                size.0 as f32,
                size.1 as f32,
                1.0 / size.0 as f32,
                1.0 / size.1 as f32,
            ],
            outline,
        }
    }

    /// Writes the frame's uniforms, instances and (with multi-draw) indirect arguments.
    /// Returns the opaque and transparent indirect draw counts (0 without multi-draw).
    fn upload(&mut self, gpu: &Gpu, globals: &Globals) -> (u32, u32) {
        gpu.queue
            .write_buffer(&self.globals, 0, bytemuck::bytes_of(globals));
        if !self.gpu_entities.is_empty() {
            gpu.queue.write_buffer(
                &self.entity_buffer,
                0,
                bytemuck::cast_slice(&self.gpu_entities),
            );
        }
        if !self.gpu_overlay.is_empty() {
            gpu.queue.write_buffer(
                &self.overlay_buffer,
                0,
                bytemuck::cast_slice(&self.gpu_overlay),
            );
        }
        if !self.multi_draw {
            return (0, 0);
        }
        self.indirect_bytes.clear();
        for run in self.opaque_runs.iter().chain(&self.transparent_runs) {
            let args = wgpu::util::DrawIndirectArgs {
                vertex_count: run.quads * 6,
                instance_count: 1,
                first_vertex: run.first_quad * 6,
                first_instance: run.slot,
            };
            self.indirect_bytes.extend_from_slice(args.as_bytes());
        }
        let count = (self.opaque_runs.len() + self.transparent_runs.len()) as u64;
        if count > self.indirect_capacity {
            self.indirect_capacity = count.next_power_of_two();
            self.indirect = indirect_buffer(&gpu.device, self.indirect_capacity);
        }
        if !self.indirect_bytes.is_empty() {
            gpu.queue
                .write_buffer(&self.indirect, 0, &self.indirect_bytes);
        }
        (
            self.opaque_runs.len() as u32,
            self.transparent_runs.len() as u32,
        )
    }

    /// Records the world pass: sky, opaque terrain, entity boxes, water and glass, the block
    /// outline and the overlay, in that order.
    fn record_pass(
        &mut self,
        encoder: &mut wgpu::CommandEncoder,
        target: &wgpu::TextureView,
        depth_view: &wgpu::TextureView,
        frame: &FrameInput<'_>,
        (opaque_draws, transparent_draws): (u32, u32),
        stats: &mut FrameStats,
    ) {
        let timestamp_writes = self.timer.as_mut().and_then(|t| t.pass_writes());
        let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("world"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                view: depth_view,
                depth_ops: Some(wgpu::Operations {
                    load: wgpu::LoadOp::Clear(0.0),
                    store: wgpu::StoreOp::Discard,
                }),
                stencil_ops: None,
            }),
            timestamp_writes,
            occlusion_query_set: None,
            multiview_mask: None,
        });
        pass.set_bind_group(0, &self.bind_group, &[]);

        pass.set_pipeline(&self.pipelines.sky);
        pass.draw(0..3, 0..1);
        stats.draw_calls += 1;
        stats.triangles += 1;

        pass.set_pipeline(&self.pipelines.terrain);
        draw_runs(
            &mut pass,
            &self.opaque_runs,
            self.multi_draw.then_some((&self.indirect, 0, opaque_draws)),
            stats,
        );

        if !self.gpu_entities.is_empty() {
            pass.set_pipeline(&self.pipelines.boxes);
            pass.draw(0..36, 0..self.gpu_entities.len() as u32);
            stats.draw_calls += 1;
            stats.triangles += 12 * self.gpu_entities.len() as u64;
        }

        pass.set_pipeline(&self.pipelines.transparent);
        draw_runs(
            &mut pass,
            &self.transparent_runs,
            self.multi_draw.then_some((
                &self.indirect,
                u64::from(opaque_draws) * INDIRECT_BYTES,
                transparent_draws,
            )),
            stats,
        );

        if frame.target_block.is_some() {
            pass.set_pipeline(&self.pipelines.outline);
            pass.draw(0..24, 0..1);
            stats.draw_calls += 1;
        }
        if !self.gpu_overlay.is_empty() {
            let quads = self.gpu_overlay.len() as u32;
            pass.set_pipeline(&self.pipelines.overlay);
            pass.draw(0..6, 0..quads);
            stats.draw_calls += 1;
            stats.triangles += u64::from(quads) * 2;
        }
    }

    /// After the GPU finished a frame (e.g. a headless capture waited for it), collects its
    /// GPU time.
    pub fn collect_gpu_time(&mut self, gpu: &Gpu) -> Option<f64> {
        let timer = self.timer.as_mut()?;
        timer.collect(gpu);
        timer.latest_ms()
    }

    fn ensure_overlay_capacity(&mut self, device: &wgpu::Device, needed: u64) {
        if needed <= self.overlay_capacity {
            return;
        }
        self.overlay_capacity = needed.next_power_of_two();
        self.overlay_buffer =
            storage_buffer(device, "overlay", self.overlay_capacity * OVERLAY_BYTES);
        self.overlay_generation += 1;
    }

    fn ensure_entity_capacity(&mut self, device: &wgpu::Device, needed: u64) {
        if needed <= self.entity_capacity {
            return;
        }
        self.entity_capacity = needed.next_power_of_two();
        self.entity_buffer =
            storage_buffer(device, "entities", self.entity_capacity * ENTITY_BYTES);
        self.entity_generation += 1;
    }
}

/// The world shader with the constants it shares with the CPU side prepended, so the two
/// cannot drift apart.
pub fn shader_source() -> String {
    format!(
        "const OCC_SIDE: i32 = {};\nconst OCC_WORDS: u32 = {}u;\nconst WATER: u32 = {}u;\n{}",
        crate::occupancy::OCC_SIDE,
        crate::occupancy::OCC_WORDS,
        z3r0_voxel::blocks::WATER,
        include_str!("../shaders/world.wgsl")
    )
}

/// A 2D-array view of the block texture array.
fn array_view(texture: &wgpu::Texture) -> wgpu::TextureView {
    texture.create_view(&wgpu::TextureViewDescriptor {
        dimension: Some(wgpu::TextureViewDimension::D2Array),
        ..Default::default()
    })
}

/// Appends the draws for faces `ranges[f]..ranges[f + 1]` that `visible(f)` keeps, merging
/// neighbouring faces into one draw.
fn push_runs(
    runs: &mut Vec<QuadRun>,
    r: &Resident,
    ranges: &[u32; 7],
    visible: impl Fn(usize) -> bool,
) {
    for f in 0..6 {
        let (start, end) = (ranges[f], ranges[f + 1]);
        if end <= start || !visible(f) {
            continue;
        }
        let first_quad = r.quad_offset + start;
        match runs.last_mut() {
            Some(last) if last.slot == r.slot && last.first_quad + last.quads == first_quad => {
                last.quads += end - start;
            }
            _ => runs.push(QuadRun {
                first_quad,
                quads: end - start,
                slot: r.slot,
            }),
        }
    }
}

fn draw_runs(
    pass: &mut wgpu::RenderPass<'_>,
    runs: &[QuadRun],
    indirect: Option<(&wgpu::Buffer, u64, u32)>,
    stats: &mut FrameStats,
) {
    if runs.is_empty() {
        return;
    }
    stats.triangles += runs.iter().map(|r| u64::from(r.quads) * 2).sum::<u64>();
    match indirect {
        Some((buffer, offset, count)) => {
            pass.multi_draw_indirect(buffer, offset, count);
            stats.draw_calls += 1;
            stats.indirect_draws += count;
        }
        None => {
            for run in runs {
                let first = run.first_quad * 6;
                pass.draw(first..first + run.quads * 6, run.slot..run.slot + 1);
                stats.draw_calls += 1;
            }
        }
    }
}

fn normalize(v: [f32; 3]) -> [f32; 3] {
    let len = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    v.map(|c| c / len)
}

fn indirect_buffer(device: &wgpu::Device, draws: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("indirect draws"),
        size: draws.max(1) * INDIRECT_BYTES,
        usage: wgpu::BufferUsages::INDIRECT | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// The block textures and the table of which layer each block's faces show.
struct BlockLayers<'a> {
    textures: &'a wgpu::TextureView,
    table: &'a wgpu::Buffer,
}

/// The per-frame instance buffers the shader reads.
struct InstanceBuffers<'a> {
    entities: &'a wgpu::Buffer,
    overlay: &'a wgpu::Buffer,
}

fn bind_group(
    device: &wgpu::Device,
    layout: &wgpu::BindGroupLayout,
    globals: &wgpu::Buffer,
    chunks: &ChunkBuffers,
    layers: BlockLayers<'_>,
    sampler: &wgpu::Sampler,
    instances: InstanceBuffers<'_>,
) -> wgpu::BindGroup {
    let InstanceBuffers { entities, overlay } = instances;
    let BlockLayers { textures, table } = layers;
    device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("world"),
        layout,
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: globals.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: chunks.quads().as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 2,
                resource: chunks.info().as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 3,
                resource: chunks.occupancy().as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 4,
                resource: wgpu::BindingResource::TextureView(textures),
            },
            wgpu::BindGroupEntry {
                binding: 5,
                resource: wgpu::BindingResource::Sampler(sampler),
            },
            wgpu::BindGroupEntry {
                binding: 6,
                resource: entities.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 7,
                resource: overlay.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 8,
                resource: table.as_entire_binding(),
            },
        ],
    })
}

fn create_pipelines(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    layout: &wgpu::PipelineLayout,
    format: wgpu::TextureFormat,
) -> Pipelines {
    let alpha = Some(wgpu::BlendState::ALPHA_BLENDING);
    let make = |label: &str,
                vs: &str,
                fs: &str,
                topology: wgpu::PrimitiveTopology,
                cull: Option<wgpu::Face>,
                depth_write: bool,
                depth_compare: wgpu::CompareFunction,
                blend: Option<wgpu::BlendState>| {
        device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some(label),
            layout: Some(layout),
            vertex: wgpu::VertexState {
                module,
                entry_point: Some(vs),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: wgpu::PrimitiveState {
                topology,
                // Faces wind clockwise on screen when seen from outside (see world.wgsl).
                front_face: wgpu::FrontFace::Cw,
                cull_mode: cull,
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(depth_write),
                depth_compare: Some(depth_compare),
                stencil: wgpu::StencilState::default(),
                bias: wgpu::DepthBiasState::default(),
            }),
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module,
                entry_point: Some(fs),
                compilation_options: Default::default(),
                targets: &[Some(wgpu::ColorTargetState {
                    format,
                    blend,
                    write_mask: wgpu::ColorWrites::ALL,
                })],
            }),
            multiview_mask: None,
            cache: None,
        })
    };
    use wgpu::CompareFunction::{Always, GreaterEqual};
    use wgpu::PrimitiveTopology::{LineList, TriangleList};
    let back = Some(wgpu::Face::Back);
    Pipelines {
        sky: make(
            "sky",
            "vs_sky",
            "fs_sky",
            TriangleList,
            None,
            false,
            Always,
            None,
        ),
        terrain: make(
            "terrain",
            "vs_terrain",
            "fs_terrain",
            TriangleList,
            back,
            true,
            GreaterEqual,
            None,
        ),
        transparent: make(
            "transparent",
            "vs_terrain",
            "fs_transparent",
            TriangleList,
            None,
            false,
            GreaterEqual,
            alpha,
        ),
        boxes: make(
            "entities",
            "vs_box",
            "fs_box",
            TriangleList,
            back,
            true,
            GreaterEqual,
            None,
        ),
        outline: make(
            "outline",
            "vs_outline",
            "fs_outline",
            LineList,
            None,
            false,
            GreaterEqual,
            alpha,
        ),
        overlay: make(
            "overlay",
            "vs_overlay",
            "fs_overlay",
            TriangleList,
            None,
            false,
            Always,
            alpha,
        ),
    }
}
