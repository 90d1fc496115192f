//! Adapter and device selection.
//!
//! Backends: DX12 on Windows (requested explicitly: wgpu would otherwise pick Vulkan first
//! there), Metal on Apple platforms, Vulkan elsewhere (Mesa's lavapipe in CI). `Z3R0_BACKEND`
//! (or wgpu's own `WGPU_BACKEND`) overrides the choice, e.g. `Z3R0_BACKEND=vulkan`.

use crate::RenderError;

/// The backends this build would use by default on this platform.
pub fn default_backends() -> wgpu::Backends {
    if cfg!(windows) {
        wgpu::Backends::DX12
    } else if cfg!(any(target_os = "macos", target_os = "ios")) {
        wgpu::Backends::METAL
    } else {
        wgpu::Backends::VULKAN
    }
}

/// Backends compiled into this build.
pub fn compiled_backends() -> wgpu::Backends {
    let mut b = wgpu::Backends::VULKAN;
    if cfg!(windows) {
        b |= wgpu::Backends::DX12;
    }
    if cfg!(any(target_os = "macos", target_os = "ios")) {
        b |= wgpu::Backends::METAL;
    }
    b
}

/// Where to render and which adapter to prefer.
#[derive(Debug, Clone)]
pub struct GpuOptions {
    /// `None`: the platform default, overridden by `Z3R0_BACKEND` / `WGPU_BACKEND`.
    pub backends: Option<wgpu::Backends>,
    pub power: wgpu::PowerPreference,
}

impl Default for GpuOptions {
    fn default() -> Self {
        Self {
            backends: None,
            power: wgpu::PowerPreference::HighPerformance,
        }
    }
}

impl GpuOptions {
    /// The backends to try: explicit, else the environment, else the platform default.
    pub fn resolve_backends(&self) -> Result<wgpu::Backends, RenderError> {
        if let Some(b) = self.backends {
            return Ok(b);
        }
        for var in ["Z3R0_BACKEND", "WGPU_BACKEND"] {
            if let Ok(value) = std::env::var(var) {
                let b = wgpu::Backends::from_comma_list(&value);
                if b.is_empty() {
                    return Err(RenderError::BadBackend { var, value });
                }
                return Ok(b);
            }
        }
        Ok(default_backends())
    }
}

/// Optional device capabilities the renderer uses when present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Indirect draws may start at a non-zero instance (one multi-draw call for all chunks);
    /// without it chunks are drawn with one direct draw each.
    pub indirect_first_instance: bool,
    /// GPU timestamps for frame timing.
    pub timestamps: bool,
    /// Reported only: the default path never needs mesh shaders.
    pub mesh_shaders: bool,
}

/// An adapter, its device and queue.
#[derive(Debug)]
pub struct Gpu {
    pub instance: wgpu::Instance,
    pub adapter: wgpu::Adapter,
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub caps: Capabilities,
}

impl Gpu {
    /// A device for offscreen rendering: no window or display needed.
    pub fn headless(options: &GpuOptions) -> Result<Self, RenderError> {
        let backends = options.resolve_backends()?;
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = backends;
        let instance = wgpu::Instance::new(desc);
        pollster::block_on(Self::with_instance(instance, backends, options, None))
    }

    /// A device that can present to `surface`, created from `instance`.
    pub async fn for_surface(
        instance: wgpu::Instance,
        backends: wgpu::Backends,
        options: &GpuOptions,
        surface: &wgpu::Surface<'_>,
    ) -> Result<Self, RenderError> {
        Self::with_instance(instance, backends, options, Some(surface)).await
    }

    async fn with_instance(
        instance: wgpu::Instance,
        backends: wgpu::Backends,
        options: &GpuOptions,
        surface: Option<&wgpu::Surface<'_>>,
    ) -> Result<Self, RenderError> {
        let request = wgpu::RequestAdapterOptions {
            power_preference: options.power,
            force_fallback_adapter: false,
            compatible_surface: surface,
            ..Default::default()
        };
        let adapter = match instance.request_adapter(&request).await {
            Ok(adapter) => adapter,
            Err(e) => {
                let found = instance
                    .enumerate_adapters(wgpu::Backends::all())
                    .await
                    .iter()
                    .map(|a| describe(&a.get_info()))
                    .collect();
                return Err(RenderError::NoAdapter {
                    tried: format!("{backends:?}"),
                    compiled: format!("{:?}", compiled_backends()),
                    reason: e.to_string(),
                    found,
                });
            }
        };
        let info = adapter.get_info();
        let features = adapter.features();
        let downlevel = adapter.get_downlevel_capabilities();
        if !downlevel
            .flags
            .contains(wgpu::DownlevelFlags::INDIRECT_EXECUTION)
        {
            return Err(RenderError::Unsupported {
                adapter: describe(&info),
                missing: "indirect draws (DownlevelFlags::INDIRECT_EXECUTION)",
            });
        }
        let caps = Capabilities {
            indirect_first_instance: features.contains(wgpu::Features::INDIRECT_FIRST_INSTANCE),
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            mesh_shaders: features.contains(wgpu::Features::EXPERIMENTAL_MESH_SHADER),
        };
        let mut required_features = wgpu::Features::empty();
        if caps.indirect_first_instance {
            required_features |= wgpu::Features::INDIRECT_FIRST_INSTANCE;
        }
        if caps.timestamps {
            required_features |= wgpu::Features::TIMESTAMP_QUERY;
        }
        // Large pooled buffers: take what the adapter offers rather than the portable defaults.
        let required_limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("z3r0"),
                required_features,
                required_limits,
                ..Default::default()
            })
            .await
            .map_err(|e| RenderError::Device {
                adapter: describe(&info),
                reason: e.to_string(),
            })?;
        tracing::info!(adapter = %describe(&info), ?caps, "gpu ready");
        Ok(Self {
            instance,
            adapter,
            device,
            queue,
            info,
            caps,
        })
    }

    /// One line naming the adapter, its backend and driver.
    pub fn describe(&self) -> String {
        describe(&self.info)
    }

    /// Blocks until the GPU has finished all submitted work.
    pub fn wait_idle(&self) -> Result<(), RenderError> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| RenderError::Gpu(e.to_string()))
    }
}

fn describe(info: &wgpu::AdapterInfo) -> String {
    format!(
        "{:?} \"{}\" ({:?}, driver {} {})",
        info.backend, info.name, info.device_type, info.driver, info.driver_info
    )
}
