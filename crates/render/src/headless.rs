//! Offscreen rendering to an RGBA image, PNG files, and image comparison for golden tests.

use std::path::Path;

use crate::RenderError;
use crate::gpu::Gpu;
use crate::renderer::{FrameInput, FrameStats, Renderer};

/// The offscreen colour format (sRGB, so images match what a window shows).
pub const HEADLESS_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8UnormSrgb;

/// An 8-bit RGBA image, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbaImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl RgbaImage {
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        [
            self.pixels[i],
            self.pixels[i + 1],
            self.pixels[i + 2],
            self.pixels[i + 3],
        ]
    }

    pub fn write_png(&self, path: &Path) -> Result<(), RenderError> {
        let io = |e: std::io::Error| RenderError::Image {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width, self.height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let fail = |e: png::EncodingError| RenderError::Image {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut writer = encoder.write_header().map_err(fail)?;
        writer.write_image_data(&self.pixels).map_err(fail)?;
        writer.finish().map_err(fail)
    }

    /// Reads an 8-bit RGBA or RGB PNG.
    pub fn read_png(path: &Path) -> Result<Self, RenderError> {
        let fail = |reason: String| RenderError::Image {
            path: path.display().to_string(),
            reason,
        };
        let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
        let decoder = png::Decoder::new(std::io::BufReader::new(file));
        let mut reader = decoder.read_info().map_err(|e| fail(e.to_string()))?;
        let size = reader
            .output_buffer_size()
            .ok_or_else(|| fail("image too large".into()))?;
        let mut buf = vec![0u8; size];
        let info = reader
            .next_frame(&mut buf)
            .map_err(|e| fail(e.to_string()))?;
        if info.bit_depth != png::BitDepth::Eight {
            return Err(fail(format!("{:?} bits per channel", info.bit_depth)));
        }
        let pixels = match info.color_type {
            png::ColorType::Rgba => buf[..info.buffer_size()].to_vec(),
            png::ColorType::Rgb => buf[..info.buffer_size()]
                .chunks_exact(3)
                .flat_map(|c| [c[0], c[1], c[2], 255])
                .collect(),
            other => return Err(fail(format!("unsupported colour type {other:?}"))),
        };
        Ok(Self {
            width: info.width,
            height: info.height,
            pixels,
        })
    }
}

/// How two images differ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageDiff {
    /// Pixels with some channel off by more than the tolerance.
    pub differing: u64,
    pub total: u64,
    pub max_channel_delta: u8,
}

impl ImageDiff {
    pub fn fraction(&self) -> f64 {
        self.differing as f64 / self.total.max(1) as f64
    }
}

/// Compares same-size images; returns the statistics and a diff image (differing pixels red
/// over a dimmed copy of `expected`). `None` when the sizes differ.
pub fn compare(
    expected: &RgbaImage,
    actual: &RgbaImage,
    tolerance: u8,
) -> Option<(ImageDiff, RgbaImage)> {
    if (expected.width, expected.height) != (actual.width, actual.height) {
        return None;
    }
    let mut diff = RgbaImage {
        width: expected.width,
        height: expected.height,
        pixels: Vec::with_capacity(expected.pixels.len()),
    };
    let mut stats = ImageDiff {
        differing: 0,
        total: u64::from(expected.width) * u64::from(expected.height),
        max_channel_delta: 0,
    };
    for (e, a) in expected
        .pixels
        .chunks_exact(4)
        .zip(actual.pixels.chunks_exact(4))
    {
        let delta = (0..4).map(|i| e[i].abs_diff(a[i])).max().unwrap_or(0);
        stats.max_channel_delta = stats.max_channel_delta.max(delta);
        if delta > tolerance {
            stats.differing += 1;
            diff.pixels.extend_from_slice(&[255, 0, 0, 255]);
        } else {
            diff.pixels
                .extend_from_slice(&[e[0] / 3, e[1] / 3, e[2] / 3, 255]);
        }
    }
    Some((stats, diff))
}

/// An offscreen colour target with its readback buffer.
#[derive(Debug)]
pub struct HeadlessTarget {
    texture: wgpu::Texture,
    view: wgpu::TextureView,
    readback: wgpu::Buffer,
    size: (u32, u32),
    padded_row: u32,
}

impl HeadlessTarget {
    pub fn new(gpu: &Gpu, width: u32, height: u32) -> Result<Self, RenderError> {
        let max = gpu.device.limits().max_texture_dimension_2d;
        if width == 0 || height == 0 || width > max || height > max {
            return Err(RenderError::BadSize { width, height, max });
        }
        let texture = gpu.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("offscreen"),
            size: wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: HEADLESS_FORMAT,
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC,
            view_formats: &[],
        });
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        let padded_row = (width * 4).next_multiple_of(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT);
        let readback = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("offscreen readback"),
            size: u64::from(padded_row) * u64::from(height),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Self {
            texture,
            view,
            readback,
            size: (width, height),
            padded_row,
        })
    }

    pub fn size(&self) -> (u32, u32) {
        self.size
    }

    pub fn view(&self) -> &wgpu::TextureView {
        &self.view
    }

    /// Renders one frame and waits for the GPU (so `gpu_ms` is this frame's).
    pub fn render(
        &self,
        gpu: &Gpu,
        renderer: &mut Renderer,
        frame: &FrameInput<'_>,
    ) -> Result<FrameStats, RenderError> {
        let mut stats = renderer.render(gpu, &self.view, self.size, frame)?;
        gpu.wait_idle()?;
        stats.gpu_ms = renderer.collect_gpu_time(gpu);
        Ok(stats)
    }

    /// Copies the last rendered frame back to the CPU.
    pub fn read(&self, gpu: &Gpu) -> Result<RgbaImage, RenderError> {
        let (width, height) = self.size;
        let mut encoder = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("readback"),
            });
        encoder.copy_texture_to_buffer(
            self.texture.as_image_copy(),
            wgpu::TexelCopyBufferInfo {
                buffer: &self.readback,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: 0,
                    bytes_per_row: Some(self.padded_row),
                    rows_per_image: Some(height),
                },
            },
            wgpu::Extent3d {
                width,
                height,
                depth_or_array_layers: 1,
            },
        );
        gpu.queue.submit([encoder.finish()]);
        let slice = self.readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        gpu.wait_idle()?;
        rx.recv()
            .map_err(|e| RenderError::Gpu(e.to_string()))?
            .map_err(|e| RenderError::Gpu(e.to_string()))?;
        let mut pixels = Vec::with_capacity((width * height * 4) as usize);
        {
            let view = slice
                .get_mapped_range()
                .map_err(|e| RenderError::Gpu(e.to_string()))?;
            for row in view.chunks_exact(self.padded_row as usize) {
                pixels.extend_from_slice(&row[..(width * 4) as usize]);
            }
        }
        self.readback.unmap();
        Ok(RgbaImage {
            width,
            height,
            pixels,
        })
    }
}
