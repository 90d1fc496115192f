//! GPU frame time from timestamp queries, read back without stalling: while one readback is
//! in flight, frames skip their timestamps instead of waiting for it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::gpu::Gpu;

const IDLE: u8 = 0;
const MAPPING: u8 = 1;
const MAPPED: u8 = 2;
const FAILED: u8 = 3;

#[derive(Debug)]
pub struct GpuTimer {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    state: Arc<AtomicU8>,
    /// Timestamps were written this frame.
    written: bool,
    period_ns: f32,
    latest_ms: Option<f64>,
}

impl GpuTimer {
    pub fn new(gpu: &Gpu) -> Self {
        let device = &gpu.device;
        let queries = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("frame timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let size = 2 * wgpu::QUERY_SIZE as u64;
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamp resolve"),
            size,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("timestamp readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Self {
            queries,
            resolve,
            readback,
            state: Arc::new(AtomicU8::new(IDLE)),
            written: false,
            period_ns: gpu.queue.get_timestamp_period(),
            latest_ms: None,
        }
    }

    /// Timestamp writes for this frame's pass, unless the previous readback is still busy.
    pub fn pass_writes(&mut self) -> Option<wgpu::RenderPassTimestampWrites<'_>> {
        self.take_mapped();
        self.written = self.state.load(Ordering::Acquire) == IDLE;
        self.written.then_some(wgpu::RenderPassTimestampWrites {
            query_set: &self.queries,
            beginning_of_pass_write_index: Some(0),
            end_of_pass_write_index: Some(1),
        })
    }

    pub fn resolve(&mut self, encoder: &mut wgpu::CommandEncoder) {
        if self.written {
            encoder.resolve_query_set(&self.queries, 0..2, &self.resolve, 0);
            encoder.copy_buffer_to_buffer(&self.resolve, 0, &self.readback, 0, self.resolve.size());
        }
    }

    pub fn after_submit(&mut self) {
        if !self.written {
            return;
        }
        self.written = false;
        self.state.store(MAPPING, Ordering::Release);
        let state = Arc::clone(&self.state);
        self.readback
            .slice(..)
            .map_async(wgpu::MapMode::Read, move |result| {
                state.store(
                    if result.is_ok() { MAPPED } else { FAILED },
                    Ordering::Release,
                );
            });
    }

    /// Waits for the readback in flight (if any) and takes its result.
    pub fn collect(&mut self, gpu: &Gpu) {
        if self.state.load(Ordering::Acquire) == MAPPING {
            let _ = gpu.device.poll(wgpu::PollType::wait_indefinitely());
        }
        self.take_mapped();
    }

    fn take_mapped(&mut self) {
        match self.state.load(Ordering::Acquire) {
            MAPPED => {
                if let Ok(view) = self.readback.slice(..).get_mapped_range() {
                    let ticks: &[u64] = bytemuck::cast_slice(&view);
                    if let [start, end] = ticks {
                        let ns = end.saturating_sub(*start) as f64 * f64::from(self.period_ns);
                        self.latest_ms = Some(ns / 1e6);
                    }
                }
                self.readback.unmap();
                self.state.store(IDLE, Ordering::Release);
            }
            FAILED => self.state.store(IDLE, Ordering::Release),
            _ => {}
        }
    }

    pub fn latest_ms(&self) -> Option<f64> {
        self.latest_ms
    }
}
