//! The one wgpu device. Created once with the adapter's maxima (the WebGPU defaults of 128 MiB bindings and
//! 256 MiB buffers are far below what gpt-oss tensors need), then shared.

use std::collections::HashMap;
use std::rc::Rc;

use super::plan::PipelineKey;
pub use crate::events::AdapterReport;
use crate::{Error, Result};

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: wgpu::Adapter,
    pub report: AdapterReport,
    /// The first GPU error no error scope caught (wgpu's default handler would panic natively); the next
    /// readback returns it as an error instead.
    uncaptured: FirstMessage,
    /// Why the device was lost, once it was.
    lost: FirstMessage,
    /// Every compute pipeline built on this device, kept for the next load: loading again (another context, the
    /// same model after a release) builds none. Building them is most of a small model's load on a CPU driver
    /// (SwiftShader: about 10 s).
    pipelines: std::cell::RefCell<HashMap<PipelineKey, wgpu::ComputePipeline>>,
}

/// The first message put in it, kept until taken; shared with the device's callbacks.
#[derive(Clone, Default)]
struct FirstMessage(std::sync::Arc<std::sync::Mutex<Option<String>>>);

impl FirstMessage {
    fn keep(&self, message: impl FnOnce() -> String) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert_with(message);
        }
    }

    fn peek(&self) -> Option<String> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }

    fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

thread_local! {
    // wasm is single-threaded and the app wants exactly one device; natively each thread that asks gets its own.
    // It is never dropped when its thread exits: wgpu's queue reads a thread-local of its own as it drops, which
    // may be gone by then (an abort).
    static SHARED: std::mem::ManuallyDrop<std::cell::RefCell<Option<Rc<GpuContext>>>> =
        const { std::mem::ManuallyDrop::new(std::cell::RefCell::new(None)) };
}

impl GpuContext {
    /// The app's one device, created on first call and shared after; a new one once that device is lost.
    pub async fn shared() -> Result<Rc<GpuContext>> {
        if let Some(ctx) = SHARED.with(|s| s.borrow().clone()).filter(|ctx| ctx.lost().is_none()) {
            return Ok(ctx);
        }
        let ctx = Rc::new(Self::new().await?);
        SHARED.with(|s| *s.borrow_mut() = Some(ctx.clone()));
        Ok(ctx)
    }

    /// The shared device, if one was created (lost or not).
    pub fn current() -> Option<Rc<GpuContext>> {
        SHARED.with(|s| s.borrow().clone())
    }

    /// A new device on the best adapter, with the adapter's maximum limits and the optional features we use.
    pub async fn new() -> Result<GpuContext> {
        let instance = wgpu::Instance::new(instance_descriptor());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                apply_limit_buckets: false,
            })
            .await
            .map_err(|e| Error::Gpu(format!("no WebGPU adapter: {e}")))?;
        let available = adapter.features();
        let mut features = wgpu::Features::empty();
        for wanted in [wgpu::Features::SHADER_F16, wgpu::Features::TIMESTAMP_QUERY] {
            if available.contains(wanted) {
                features |= wanted;
            }
        }
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("gptoss"),
                required_features: features,
                required_limits: limits.clone(),
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::Gpu(format!("requesting a device failed: {e}")))?;
        let info = adapter.get_info();
        #[cfg_attr(not(target_arch = "wasm32"), allow(unused_mut))]
        let mut report = AdapterReport {
            name: info.name.clone(),
            vendor: vendor_name(info.vendor),
            architecture: String::new(),
            description: info.driver_info.clone(),
            backend: format!("{:?}", info.backend),
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size as u64,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            timestamp_query: features.contains(wgpu::Features::TIMESTAMP_QUERY),
        };
        #[cfg(target_arch = "wasm32")]
        web_adapter_info(&mut report).await;
        let uncaptured = FirstMessage::default();
        let sink = uncaptured.clone();
        device.on_uncaptured_error(std::sync::Arc::new(move |e: wgpu::Error| sink.keep(|| e.to_string())));
        let lost = FirstMessage::default();
        let sink = lost.clone();
        device.set_device_lost_callback(move |reason, message| sink.keep(|| lost_reason(reason, &message)));
        Ok(GpuContext { device, queue, adapter, report, uncaptured, lost, pipelines: Default::default() })
    }

    /// How many compute pipelines this device has built.
    pub fn pipelines_built(&self) -> usize {
        self.pipelines.borrow().len()
    }

    /// The pipeline built for `key` on this device, built by `build` the first time.
    pub(super) fn pipeline(
        &self,
        key: PipelineKey,
        build: impl FnOnce() -> Result<wgpu::ComputePipeline>,
    ) -> Result<wgpu::ComputePipeline> {
        if let Some(p) = self.pipelines.borrow().get(&key) {
            return Ok(p.clone());
        }
        let p = build()?;
        self.pipelines.borrow_mut().insert(key, p.clone());
        Ok(p)
    }

    /// Why the device was lost, if it was.
    pub fn lost(&self) -> Option<String> {
        self.lost.peek()
    }

    /// Destroys the device, as a driver reset or a GPU taken away would lose it (the app's test hook): every
    /// buffer and pipeline on it is gone, and the next readback fails with [`Error::GpuLost`].
    pub fn destroy(&self, why: &str) {
        self.lost.keep(|| why.to_string());
        self.device.destroy();
    }

    /// A failed GPU wait as its error: the device's loss when it was lost, else `what` happened.
    fn failed(&self, what: String) -> Error {
        match self.lost() {
            Some(why) => Error::GpuLost(why),
            None => Error::Gpu(what),
        }
    }

    /// The compute pipeline of `wgsl`'s `main`, its bind group layout taken from the shader.
    pub fn main_pipeline(&self, label: &str, wgsl: String) -> wgpu::ComputePipeline {
        let module = self.shader_module(label, wgsl);
        self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        })
    }

    /// Compile WGSL. Natively wgpu would add a counter to every loop to stop runaway shaders
    /// (`force_loop_bounding`); every loop here has a trip count fixed by load-time parameters, and the counters
    /// cost 40% of decode speed on an H200 (BENCHMARKS.md), so they are left out. Bounds checks stay on. The
    /// browser compiles WGSL with its own policy.
    pub fn shader_module(&self, label: &str, wgsl: String) -> wgpu::ShaderModule {
        let desc = wgpu::ShaderModuleDescriptor { label: Some(label), source: wgpu::ShaderSource::Wgsl(wgsl.into()) };
        #[cfg(not(target_arch = "wasm32"))]
        {
            let mut checks = wgpu::ShaderRuntimeChecks::checked();
            checks.force_loop_bounding = false;
            // SAFETY: only loop bounding is dropped; every kernel's loops are bounded by its uniform parameters.
            unsafe { self.device.create_shader_module_trusted(desc, checks) }
        }
        #[cfg(target_arch = "wasm32")]
        self.device.create_shader_module(desc)
    }

    /// Copy a mappable buffer's contents back to the CPU, awaiting the map without blocking (in the browser the
    /// callback arrives from the event loop; natively we poll the device).
    pub async fn read_buffer(&self, buffer: &wgpu::Buffer) -> Result<Vec<u8>> {
        self.read_buffer_after(buffer, None).await
    }

    /// [`read_buffer`](Self::read_buffer) of a copy made by submission `index`: natively only that submission is
    /// waited for, not one submitted after it (a step decoded ahead).
    pub async fn read_buffer_after(
        &self,
        buffer: &wgpu::Buffer,
        #[cfg_attr(target_arch = "wasm32", allow(unused_variables))] index: Option<wgpu::SubmissionIndex>,
    ) -> Result<Vec<u8>> {
        let slice = buffer.slice(..);
        let (tx, rx) = futures::channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::Wait { submission_index: index, timeout: None })
            .map_err(|e| self.failed(format!("waiting for the GPU failed: {e}")))?;
        rx.await
            .map_err(|_| self.failed("buffer map was cancelled".into()))?
            .map_err(|e| self.failed(format!("mapping a buffer for readback failed: {e}")))?;
        let bytes =
            slice.get_mapped_range().map_err(|e| Error::Gpu(format!("reading a mapped buffer failed: {e}")))?.to_vec();
        buffer.unmap();
        self.check_errors()?;
        Ok(bytes)
    }

    /// Wait until the GPU has finished everything submitted so far: natively by polling, in the browser through
    /// `onSubmittedWorkDone` (`poll` does nothing there, so a timing that relied on it would stop at the submit).
    pub async fn wait_idle(&self) -> Result<()> {
        let (tx, rx) = futures::channel::oneshot::channel();
        self.queue.on_submitted_work_done(move || {
            let _ = tx.send(());
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| self.failed(format!("waiting for the GPU failed: {e}")))?;
        rx.await.map_err(|_| self.failed("waiting for the GPU was cancelled".into()))?;
        self.check_errors()
    }

    /// Fail with the device's loss, or the GPU error that no error scope caught, if either happened.
    pub fn check_errors(&self) -> Result<()> {
        if let Some(why) = self.lost() {
            return Err(Error::GpuLost(why));
        }
        match self.uncaptured.take() {
            Some(e) => Err(Error::Gpu(e)),
            None => Ok(()),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn instance_descriptor() -> wgpu::InstanceDescriptor {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    // Natively we run on Vulkan (lavapipe in CI, NVIDIA on the benchmark machine); GL lacks what we need.
    if std::env::var_os("WGPU_BACKEND").is_none() {
        desc.backends = wgpu::Backends::VULKAN;
    }
    desc
}

#[cfg(target_arch = "wasm32")]
fn instance_descriptor() -> wgpu::InstanceDescriptor {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::BROWSER_WEBGPU;
    desc
}

fn lost_reason(reason: wgpu::DeviceLostReason, message: &str) -> String {
    let reason = match reason {
        wgpu::DeviceLostReason::Destroyed => "destroyed",
        wgpu::DeviceLostReason::Unknown => "unknown reason",
    };
    if message.is_empty() {
        reason.to_string()
    } else {
        format!("{reason}: {message}")
    }
}

fn vendor_name(id: u32) -> String {
    match id {
        0x10de => "nvidia".into(),
        0x1002 => "amd".into(),
        0x8086 => "intel".into(),
        0x13b5 => "arm".into(),
        0x5143 => "qualcomm".into(),
        0x106b => "apple".into(),
        0x10005 => "mesa".into(),
        0 => String::new(),
        other => format!("0x{other:04x}"),
    }
}

/// wgpu's adapter info is thin on the web; `GPUAdapter.info` has vendor and architecture. Read through plain JS
/// reflection so no unstable web-sys API is needed.
#[cfg(target_arch = "wasm32")]
async fn web_adapter_info(report: &mut AdapterReport) {
    use wasm_bindgen::JsCast;
    let get = |obj: &wasm_bindgen::JsValue, key: &str| js_sys::Reflect::get(obj, &key.into()).ok();
    // `navigator` of the window or of the worker the engine runs in.
    let Some(navigator) = get(&js_sys::global(), "navigator").filter(|n| !n.is_undefined()) else { return };
    let Some(gpu) = get(&navigator, "gpu").filter(|g| !g.is_undefined()) else { return };
    let Some(request) = get(&gpu, "requestAdapter").and_then(|f| f.dyn_into::<js_sys::Function>().ok()) else {
        return;
    };
    let Ok(promise) = request.call0(&gpu) else { return };
    let Ok(adapter) = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&promise)).await else { return };
    let Some(info) = get(&adapter, "info").filter(|i| !i.is_undefined()) else { return };
    let text = |key: &str| get(&info, key).and_then(|v| v.as_string()).unwrap_or_default();
    if !text("vendor").is_empty() {
        report.vendor = text("vendor");
    }
    report.architecture = text("architecture");
    if !text("description").is_empty() {
        report.description = text("description");
    }
    if report.name.is_empty() {
        report.name = text("device");
    }
}
