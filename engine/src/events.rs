//! The one telemetry enum. Every stage of loading and generation reports through it; the UI subscribes to a
//! channel of these, the CLI prints them, tests assert on them. Serialised with snake_case tags so a JSON log of a
//! run reads like the HUD.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A named load stage began (`fetch_header`, `parse`, `upload`, ...).
    StageStarted { stage: String },
    /// Progress inside a stage, in bytes.
    StageProgress { stage: String, bytes: u64, total_bytes: Option<u64> },
    StageCompleted { stage: String, bytes: u64, duration_ms: f64 },
    StageFailed { stage: String, error: String, duration_ms: f64 },
    /// The GGUF header was parsed.
    GgufParse { file: String, version: u32, tensor_count: u64, metadata_count: u64, data_offset: u64 },
    /// One tensor's bytes arrived.
    TensorFetched { name: String, ggml_type: String, shape: Vec<u64>, bytes: u64, duration_ms: f64 },
    /// The adapter and the limits and features the device was created with.
    GpuAdapter { report: crate::gpu::AdapterReport },
    /// A GPU buffer was created (weights, activations, KV cache); `total_gpu_bytes` is the running total.
    GpuBufferAllocated { label: String, bytes: u64, buffer_index: u32, total_gpu_bytes: u64 },
    /// Every weight is resident and the per-token plan is built.
    GpuModelReady { gpu_bytes: u64, dispatches_per_step: u32, pipelines: u32 },
}

/// Where events go. A plain closure keeps the engine free of any UI or async-runtime dependency.
pub trait EventSink {
    fn emit(&mut self, event: Event);
}

impl<F: FnMut(Event)> EventSink for F {
    fn emit(&mut self, event: Event) {
        self(event)
    }
}

/// Discards events (the CLI's quiet mode, tests that do not look at telemetry).
pub struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&mut self, _event: Event) {}
}
