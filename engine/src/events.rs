//! The one telemetry enum. Every stage of loading and generation reports through it; the UI subscribes to a
//! channel of these, the CLI prints them, tests assert on them. Serialised with snake_case tags so a JSON log of a
//! run reads like the HUD.

use crate::harmony::{Channel, TokenPart};
use serde::{Deserialize, Serialize};
use web_time::Instant;

/// The stages a load, a synthesis or a benchmark goes through, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The GGUF header, read a growing chunk at a time until the parser is satisfied.
    FetchHeader,
    /// The o200k vocabulary built from the header's tokenizer arrays.
    Tokenizer,
    /// Every tensor's bytes streamed from the source into the GPU (or into memory for the CPU reference).
    FetchTensors,
    /// Activations, KV caches, pipelines and bind groups built after the last tensor byte.
    GpuBuild,
    /// `gptoss synth` writing its file.
    WriteGguf,
    /// The benchmark's memory-read ceiling.
    ReadCeiling,
    Prefill,
    Decode,
    /// Per-kernel GPU timings.
    Profile,
}

impl Stage {
    pub const ALL: [Stage; 9] = [
        Stage::FetchHeader,
        Stage::Tokenizer,
        Stage::FetchTensors,
        Stage::GpuBuild,
        Stage::WriteGguf,
        Stage::ReadCeiling,
        Stage::Prefill,
        Stage::Decode,
        Stage::Profile,
    ];

    /// The name events carry (`fetch_header`, ...) and the HUD's `data-stage`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::FetchHeader => "fetch_header",
            Stage::Tokenizer => "tokenizer",
            Stage::FetchTensors => "fetch_tensors",
            Stage::GpuBuild => "gpu_build",
            Stage::WriteGguf => "write_gguf",
            Stage::ReadCeiling => "read_ceiling",
            Stage::Prefill => "prefill",
            Stage::Decode => "decode",
            Stage::Profile => "profile",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stage's timing, reported as started / progress / completed or failed.
pub struct StageTimer {
    stage: Stage,
    started: Instant,
}

impl StageTimer {
    pub fn start(stage: Stage, events: &mut dyn EventSink) -> Self {
        events.emit(Event::StageStarted { stage });
        StageTimer { stage, started: Instant::now() }
    }

    pub fn progress(&self, events: &mut dyn EventSink, bytes: u64, total_bytes: Option<u64>) {
        events.emit(Event::StageProgress { stage: self.stage, bytes, total_bytes });
    }

    fn ms(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1e3
    }

    /// Reports how the stage ended and passes the result through.
    pub fn end<T>(self, events: &mut dyn EventSink, result: crate::Result<T>, bytes: u64) -> crate::Result<T> {
        events.emit(match &result {
            Ok(_) => Event::StageCompleted { stage: self.stage, bytes, duration_ms: self.ms() },
            Err(e) => Event::StageFailed { stage: self.stage, error: e.to_string(), duration_ms: self.ms() },
        });
        result
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A stage began.
    StageStarted {
        stage: Stage,
    },
    /// Progress inside a stage, in bytes.
    StageProgress {
        stage: Stage,
        bytes: u64,
        total_bytes: Option<u64>,
    },
    StageCompleted {
        stage: Stage,
        bytes: u64,
        duration_ms: f64,
    },
    StageFailed {
        stage: Stage,
        error: String,
        duration_ms: f64,
    },
    /// Something about the load the user should know that is not an error (shown as a warning): e.g. a server
    /// without range support, whose file is read in one pass, or a range that failed and is being retried.
    Notice {
        text: String,
    },
    /// The GGUF header was parsed.
    GgufParse {
        file: String,
        version: u32,
        tensor_count: u64,
        metadata_count: u64,
        data_offset: u64,
    },
    /// One tensor's bytes arrived.
    TensorFetched {
        name: String,
        ggml_type: String,
        shape: Vec<u64>,
        bytes: u64,
        duration_ms: f64,
    },
    /// The adapter and the limits and features the device was created with.
    GpuAdapter {
        report: AdapterReport,
    },
    /// A GPU buffer was created (weights, activations, KV cache); `total_gpu_bytes` is the running total.
    GpuBufferAllocated {
        label: String,
        bytes: u64,
        buffer_index: u32,
        total_gpu_bytes: u64,
    },
    /// Every weight is resident and the per-token plan is built.
    GpuModelReady {
        gpu_bytes: u64,
        dispatches_per_step: u32,
        pipelines: u32,
    },
    /// One generated token with what the HUD shows about it.
    Token(TokenEvent),
    /// Generation ended.
    GenerationDone(GenerationStats),
}

/// One generated token: its text (whole characters only), its Harmony channel, the sampler's top-5 and entropy,
/// and the experts every layer routed it to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEvent {
    /// 0 for the first generated token.
    pub index: usize,
    /// Its position in the context.
    pub position: usize,
    pub id: u32,
    pub text: String,
    /// The message's channel; none for header tokens before `<|channel|>` and raw text.
    pub channel: Option<Channel>,
    pub part: TokenPart,
    pub top: Vec<(u32, f32)>,
    pub top_text: Vec<String>,
    pub entropy: f32,
    /// Per layer: (expert, routing weight) for the k chosen experts.
    pub routes: Vec<Vec<(u32, f32)>>,
    /// The attention view's row, when one is open.
    pub attention: Option<AttentionRow>,
    /// Expert paging for this token, and per layer which experts are resident after it and how many tokens
    /// each has served (paging only).
    pub paging: Option<PagingStats>,
    pub expert_residency: Option<Vec<Vec<bool>>>,
    pub expert_uses: Option<Vec<Vec<u64>>>,
    pub elapsed_ms: f64,
}

/// How one q head of one layer spread the newest token's attention: a weight per visible key (positions
/// `first_position..`) and the share the sink absorbed. Weights and sink sum to 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttentionRow {
    pub layer: usize,
    pub head: usize,
    pub first_position: usize,
    pub sink: f32,
    pub weights: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationStats {
    pub backend: String,
    pub prompt_tokens: usize,
    /// Of the prompt, the leading tokens whose keys and values were already cached (a chat's earlier turns); the
    /// prefill ran the other `prompt_tokens - reused_tokens`.
    pub reused_tokens: usize,
    pub generated: usize,
    pub prefill_ms: f64,
    pub time_to_first_token_ms: f64,
    pub prefill_tokens_per_s: f64,
    pub decode_ms: f64,
    pub decode_tokens_per_s: f64,
    /// Means over the decode steps of the host's share of a step ([`crate::gpu::StepTiming`]): with the GPU time
    /// of a step known, they say whether a slow token was the GPU, the recording, or a busy thread.
    pub decode_encode_ms: f64,
    pub decode_submit_ms: f64,
    pub decode_map_wait_ms: f64,
    /// `stop_token`, `max_new_tokens`, `context_full` (a chat turn reached the context window) or `stopped`.
    pub stopped_by: String,
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

/// What the adapter is and what it allows, as shown in the HUD's WebGPU line and sent as an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterReport {
    pub name: String,
    pub vendor: String,
    pub architecture: String,
    pub description: String,
    pub backend: String,
    pub shader_f16: bool,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub max_storage_buffers_per_shader_stage: u32,
    pub timestamp_query: bool,
}

/// Paging activity of one token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PagingStats {
    pub hits: u32,
    pub misses: u32,
    pub evictions: u32,
    pub bytes_uploaded: u64,
    /// Time spent waiting for routing readbacks and expert fetches.
    pub stall_ms: f64,
    /// Synchronisations with the host (one per layer).
    pub syncs: u32,
}

impl std::ops::AddAssign for PagingStats {
    fn add_assign(&mut self, o: PagingStats) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.evictions += o.evictions;
        self.bytes_uploaded += o.bytes_uploaded;
        self.stall_ms += o.stall_ms;
        self.syncs += o.syncs;
    }
}
