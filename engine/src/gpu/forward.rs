//! The gpt-oss forward pass on the GPU: the same sequence of named steps as `model::cpu` (§5 of gpt-oss.md), each
//! one kernel. Everything is built once at load — weight buffers, activation buffers, pipelines, bind groups,
//! per-dispatch parameters — so a step only writes the step uniform and the token ids, records the dispatches into
//! one compute pass, submits once and reads back one small buffer.

use std::collections::HashMap;
use std::rc::Rc;

use bytemuck::{Pod, Zeroable};
use serde::Serialize;
use web_time::Instant;
use wgpu::util::DeviceExt;

use super::experts::{ExpertBudget, ExpertCache, ExpertFileRange, PagingStats};
use super::shaders::{self, Kernel, KvStorage, Variant};
use super::weights::{write_rows, MatrixLayout, RowStream};
use super::GpuContext;
use crate::events::{AttentionRow, Event, EventSink};
use crate::model::config::{layer_tensor, GptOssConfig, TensorPlan};
use crate::model::rope_frequencies;
use crate::quant::{dequantize_row, BlockFormat};
use crate::sampler::{SamplerConfig, TokenChoice, CANDIDATES, NO_ID};
use crate::{Error, Result};

/// Sizes chosen at load.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuOptions {
    /// Positions the full-attention layers' KV cache holds.
    pub context: usize,
    /// Tokens per prefill submission.
    pub max_batch: usize,
    /// Trailing tokens of a batch that can get full logits (1 for generation; more to check every position).
    pub max_logit_rows: usize,
    /// KV cache storage; `None` picks f16 when the adapter has shader-f16.
    pub kv_storage: Option<KvStorage>,
    /// GPU memory for experts; below `All`, experts are paged through an LRU cache of slots.
    pub expert_budget: ExpertBudget,
    /// Split weights as if storage bindings were at most this many bytes (below the adapter's limit), e.g. to
    /// load as a browser with WebGPU's default 128 MiB would.
    pub weight_binding_limit: Option<u64>,
}

impl Default for GpuOptions {
    fn default() -> Self {
        GpuOptions {
            context: 4096,
            max_batch: 64,
            max_logit_rows: 1,
            kv_storage: None,
            expert_budget: ExpertBudget::All,
            weight_binding_limit: None,
        }
    }
}

/// One sampled token and what the UI shows about it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutput {
    pub choice: TokenChoice,
    /// Per layer, the last token's chosen experts and their routing weights.
    pub routes: Vec<Vec<(u32, f32)>>,
    /// The last token's attention row in the probed layer and head (see [`GpuModel::set_attention_probe`]).
    pub attention: Option<AttentionRow>,
    /// Expert paging during this step, when paging is on.
    pub paging: Option<PagingStats>,
    /// Where the host's time of the step's last submission went (zero on the CPU reference).
    pub timing: StepTiming,
}

/// The host side of one step's last submission, in milliseconds: recording the pass, handing it to the queue, and
/// waiting from the submit until the readback is mapped (GPU time plus the platform's latency: in the browser,
/// also any time the page's thread was busy elsewhere when the map resolved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StepTiming {
    pub encode_ms: f64,
    pub submit_ms: f64,
    pub map_wait_ms: f64,
}

// Uniform layouts, mirrored field for field in the WGSL structs named alongside.

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct StepUniform {
    n_tokens: u32,
    pos0: u32,
    logits_rows: u32,
    seed: u32,
    temperature: f32,
    top_k: u32,
    top_p: f32,
    step_index: u32,
    probe_head: u32,
    _pad: [u32; 3],
}

/// matvec.wgsl `Matvec`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct MatvecParams {
    rows: u32,
    blocks: u32,
    mat: u32,
    x_stride: u32,
    y_stride: u32,
    y_offset: u32,
    flags: u32,
    lanes: u32,
}
const ADD_BIAS: u32 = 1;
const ACCUMULATE: u32 = 2;
const LAST_TOKENS: u32 = 4;

/// embed.wgsl `Embed`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct EmbedParams {
    row0: u32,
    rows: u32,
    width: u32,
    mat: u32,
}

/// rmsnorm.wgsl `Norm`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct NormParams {
    width: u32,
    eps: f32,
    _pad: [u32; 2],
}

/// rope_kv.wgsl `Rope`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RopeParams {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    capacity: u32,
    mscale: f32,
    _pad: [u32; 3],
}

/// attention.wgsl `Attention`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AttentionParams {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    capacity: u32,
    window: u32,
    scale: f32,
    n_splits: u32,
    _pad: u32,
}

/// attention_combine.wgsl `Combine`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct AttentionCombineParams {
    n_head: u32,
    head_dim: u32,
    window: u32,
    n_splits: u32,
}

/// attention.wgsl: keys per split.
const ATTENTION_SPLIT: u64 = 256;

/// moe_route.wgsl `Route` and moe_combine.wgsl `Combine` (same shape: width/n_expert, k, layer, max_tokens).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct RouteParams {
    width: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
}

/// moe_gate_up.wgsl / moe_down.wgsl `Experts`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ExpertParams {
    rows: u32,
    blocks: u32,
    pool: u32,
    slot_words: u32,
    second: u32,
    n_expert: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
    x_stride: u32,
    _pad: [u32; 2],
}

/// sample.wgsl `Sample`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct SampleParams {
    vocab: u32,
    groups: u32,
    per_thread: u32,
    _pad: u32,
}

/// sample.wgsl: words per group partial and of the result.
const PARTIAL_WORDS: u64 = 5 + 2 * CANDIDATES as u64;
const RESULT_WORDS: u64 = 14 + 2 * CANDIDATES as u64;
const SAMPLE_THREADS: u64 = 256;
const SAMPLE_MAX_PER_THREAD: u64 = 8;

/// How a dispatch's grid follows the step: `x` fixed; y and z fixed or derived from the batch.
#[derive(Clone, Copy)]
enum Dim {
    Fixed(u32),
    Tokens,
    /// Groups of MATVEC_TOKENS tokens (matvec.wgsl handles four tokens per workgroup).
    TokenTiles,
    LogitRowTiles,
}

/// matvec.wgsl: tokens per workgroup.
const MATVEC_TOKENS: u32 = 4;

struct Dispatch {
    kernel: Kernel,
    /// Recorded only while the attention view watches this layer.
    probe_layer: Option<usize>,
    label: String,
    pipeline: usize,
    bind_group: wgpu::BindGroup,
    grid: (u32, Dim, Dim),
}

/// A weight matrix cut into row ranges that each fit one storage binding.
struct SplitMatrix {
    layout: MatrixLayout,
    parts: Vec<(u64, wgpu::Buffer)>,
    rows_per_part: u64,
}

/// The experts of one layer: pools of slots, each slot one expert's gate, up and down matrices.
struct ExpertPools {
    gate: MatrixLayout,
    down: MatrixLayout,
    /// Expert slots in all pools: every expert, or fewer when paging.
    slots: u64,
    slots_per_pool: u64,
    pools: Vec<wgpu::Buffer>,
}

impl ExpertPools {
    fn slot_words(&self) -> u64 {
        2 * self.gate.words() + self.down.words()
    }

    /// The location-table entry for a slot: pool << 16 | slot in pool.
    fn location(&self, slot: u64) -> u32 {
        (((slot / self.slots_per_pool) << 16) | (slot % self.slots_per_pool)) as u32
    }

    /// Upload one expert's gate, up and down matrices (GGUF bytes, whole experts) into `slot`.
    fn write_expert(&self, queue: &wgpu::Queue, slot: u64, part: ExpertPart, bytes: &[u8]) -> Result<()> {
        let (base, layout) = match part {
            ExpertPart::Gate => (0, self.gate),
            ExpertPart::Up => (self.gate.words(), self.gate),
            ExpertPart::Down => (2 * self.gate.words(), self.down),
        };
        let pool = &self.pools[(slot / self.slots_per_pool) as usize];
        write_rows(queue, pool, (slot % self.slots_per_pool) * self.slot_words() + base, &layout, 0, bytes)
    }
}

/// A location-table entry no pool matches: the expert is not resident.
const NOT_RESIDENT: u32 = u32::MAX;

/// Expert paging state of a model whose experts do not all fit.
struct Paging {
    cache: ExpertCache,
    /// Per layer: gate, up and down in the file.
    files: Vec<[ExpertFileRange; 3]>,
    /// Index in the forward plan just past each layer's router dispatch: the step pauses there to learn the
    /// layer's experts.
    route_ends: Vec<usize>,
    chosen_readback: wgpu::Buffer,
}

/// What a streamed tensor's bytes turn into on the GPU.
enum Intake {
    Matrix { stream: RowStream, name: String },
    Experts { stream: RowStream, layer: usize, which: ExpertPart },
    Vector { format: BlockFormat, bytes: Vec<u8>, buffer: wgpu::Buffer },
}

#[derive(Clone, Copy, PartialEq)]
enum ExpertPart {
    Gate,
    Up,
    Down,
}

struct Activations {
    step: wgpu::Buffer,
    tokens: wgpu::Buffer,
    h: wgpu::Buffer,
    xn: wgpu::Buffer,
    q: wgpu::Buffer,
    k: wgpu::Buffer,
    v: wgpu::Buffer,
    attn: wgpu::Buffer,
    attn_partials: wgpu::Buffer,
    attn_probe: wgpu::Buffer,
    router: wgpu::Buffer,
    chosen: wgpu::Buffer,
    route_weights: wgpu::Buffer,
    act: wgpu::Buffer,
    down: wgpu::Buffer,
    logits: wgpu::Buffer,
    partials: wgpu::Buffer,
    result: wgpu::Buffer,
    readback: wgpu::Buffer,
    logits_readback: wgpu::Buffer,
}

/// gpt-oss resident on the GPU, with its KV cache.
pub struct GpuModel {
    ctx: Rc<GpuContext>,
    config: GptOssConfig,
    options: GpuOptions,
    act: Activations,
    pipelines: Vec<wgpu::ComputePipeline>,
    forward: Vec<Dispatch>,
    sample: Vec<Dispatch>,
    kv: KvStorage,
    /// (layer, q head) of the attention view.
    probe: Option<(usize, usize)>,
    experts: Vec<ExpertPools>,
    /// (layer, expert) → pool << 16 | slot, read by the expert kernels.
    location: wgpu::Buffer,
    paging: Option<Paging>,
    /// KV positions filled.
    pos: usize,
    steps: u32,
    gpu_bytes: u64,
    _weights: Vec<wgpu::Buffer>,
}

/// Builds a [`GpuModel`] from streamed tensor bytes: `push` every planned tensor's bytes in order (any chunking),
/// then `finish`.
pub struct GpuLoader {
    ctx: Rc<GpuContext>,
    config: GptOssConfig,
    options: GpuOptions,
    plan: TensorPlan,
    /// Buffer allocations not yet reported (the sink is not held, so the same sink can also take fetch events).
    pending_events: Vec<Event>,
    matrices: HashMap<String, SplitMatrix>,
    experts: Vec<ExpertPools>,
    /// Where each layer's experts are in the file, for paging.
    expert_files: Option<Vec<[ExpertFileRange; 3]>>,
    vectors: HashMap<String, wgpu::Buffer>,
    intake: HashMap<String, Intake>,
    buffers_allocated: u32,
    gpu_bytes: u64,
    error_scope: Option<wgpu::ErrorScopeGuard>,
}

/// Rows per upload piece: about 8 MiB of GGUF bytes, a multiple of 4 rows (keeps scale writes word-aligned).
fn piece_rows(row_bytes: usize, rows: u64) -> u64 {
    let rows_in_8mib = ((8usize << 20) / row_bytes.max(1)) as u64;
    (rows_in_8mib / 4 * 4).clamp(4, rows.max(4))
}

impl GpuLoader {
    /// Allocate every weight buffer for `plan` (sized and split for the adapter's binding limit), ready to receive
    /// tensor bytes.
    pub fn new(
        ctx: Rc<GpuContext>,
        config: GptOssConfig,
        plan: TensorPlan,
        options: GpuOptions,
        events: &mut dyn EventSink,
    ) -> Result<Self> {
        if config.rope.n_dims != config.head_dim || config.value_dim != config.head_dim {
            return Err(Error::Gpu(format!(
                "the GPU kernels rotate whole heads with equal key/value widths (rope dims {}, head dim {}, value dim {})",
                config.rope.n_dims, config.head_dim, config.value_dim
            )));
        }
        let group = config.n_head / config.n_head_kv.max(1);
        if config.head_dim > 256 || !config.head_dim.is_multiple_of(2) || group * config.head_dim > 1024 {
            return Err(Error::Gpu(format!(
                "head dim {} with {group} q heads per kv head is over the attention kernel's limits (256, 1024)",
                config.head_dim
            )));
        }
        if !config.n_head.is_multiple_of(config.n_head_kv.max(1)) || !group.is_power_of_two() || group > 16 {
            return Err(Error::Gpu(format!(
                "{} q heads over {} kv heads: the attention kernel takes groups of 1, 2, 4, 8 or 16",
                config.n_head, config.n_head_kv
            )));
        }
        if config.n_expert_used > 8 || config.n_expert > 128 {
            return Err(Error::Gpu(format!(
                "{} experts, {} used: the router kernel takes at most 128 experts and 8 used",
                config.n_expert, config.n_expert_used
            )));
        }
        let error_scope = Some(ctx.device.push_error_scope(wgpu::ErrorFilter::Validation));
        let mut loader = GpuLoader {
            ctx,
            config,
            options,
            plan,
            pending_events: Vec::new(),
            matrices: HashMap::new(),
            experts: Vec::new(),
            expert_files: None,
            vectors: HashMap::new(),
            intake: HashMap::new(),
            buffers_allocated: 0,
            gpu_bytes: 0,
            error_scope,
        };
        let allocated = loader.allocate();
        loader.flush_events(events);
        allocated?;
        Ok(loader)
    }

    fn binding_limit(&self) -> u64 {
        let limits = &self.ctx.report;
        limits.max_storage_buffer_binding_size.min(limits.max_buffer_size) / 4 * 4
    }

    /// The largest binding a weight buffer may have.
    fn weight_limit(&self) -> u64 {
        self.binding_limit().min(self.options.weight_binding_limit.unwrap_or(u64::MAX) / 16 * 16)
    }

    fn new_buffer(&mut self, label: &str, bytes: u64, usage: wgpu::BufferUsages) -> Result<wgpu::Buffer> {
        let limit = self.ctx.report.max_buffer_size;
        if bytes > limit {
            return Err(Error::Gpu(format!("buffer `{label}` needs {bytes} bytes, over maxBufferSize {limit}")));
        }
        let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(16).next_multiple_of(4),
            usage,
            mapped_at_creation: false,
        });
        Ok(self.track(label, buffer))
    }

    /// Count a new buffer into the GPU-bytes total and report it.
    fn track(&mut self, label: &str, buffer: wgpu::Buffer) -> wgpu::Buffer {
        self.gpu_bytes += buffer.size();
        self.pending_events.push(Event::GpuBufferAllocated {
            label: label.to_string(),
            bytes: buffer.size(),
            buffer_index: self.buffers_allocated,
            total_gpu_bytes: self.gpu_bytes,
        });
        self.buffers_allocated += 1;
        buffer
    }

    fn weight_buffer(&mut self, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
        self.new_buffer(label, bytes, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST)
    }

    fn allocate(&mut self) -> Result<()> {
        let limit = self.weight_limit();
        let c = self.config.clone();
        for t in self.plan.tensors.clone() {
            let name = t.info.name.clone();
            let dims = &t.info.dims;
            let is_expert = name.ends_with("_exps.weight");
            let is_matrix = dims.len() >= 2 && dims.get(1).copied().unwrap_or(1) > 1 && !name.ends_with("_exps.bias");
            if is_expert {
                let layer = self.layer_of(&name)?;
                let which = if name.contains("ffn_gate_exps") {
                    ExpertPart::Gate
                } else if name.contains("ffn_up_exps") {
                    ExpertPart::Up
                } else {
                    ExpertPart::Down
                };
                let rows_per_expert = dims[1];
                let total_rows = rows_per_expert * dims.get(2).copied().unwrap_or(1);
                let layout = MatrixLayout::new(t.format, rows_per_expert, dims[0], &name)?;
                if which == ExpertPart::Gate {
                    self.allocate_pools(layer, &name, limit)?;
                }
                let stream = RowStream::new(layout.source_row_bytes(), rows_per_expert, total_rows);
                self.intake.insert(name.clone(), Intake::Experts { stream, layer, which });
            } else if is_matrix {
                let rows = dims[1..].iter().product::<u64>();
                let layout = MatrixLayout::new(t.format, rows, dims[0], &name)?;
                // Upload pieces of whole rows (a multiple of 4, for word-aligned scales) that fit one binding.
                let fit = limit / layout.gpu_row_bytes().max(1);
                let piece = piece_rows(layout.source_row_bytes(), rows).min(fit / 4 * 4);
                if piece == 0 {
                    return Err(Error::Gpu(format!(
                        "tensor `{name}`: 4 rows of {} bytes exceed the storage binding limit of {limit} bytes",
                        layout.gpu_row_bytes()
                    )));
                }
                // Whole pieces per part, so no upload piece straddles two buffers.
                let rows_per_part = if fit >= rows { rows } else { fit / piece * piece };
                let n_parts = rows.div_ceil(rows_per_part);
                let mut parts = Vec::new();
                for p in 0..n_parts {
                    let row0 = p * rows_per_part;
                    let part_rows = rows_per_part.min(rows - row0);
                    let part_layout = MatrixLayout { rows: part_rows, ..layout };
                    let label =
                        if n_parts == 1 { name.clone() } else { format!("{name}[rows {row0}..{}]", row0 + part_rows) };
                    parts.push((row0, self.weight_buffer(&label, part_layout.bytes())?));
                }
                self.matrices.insert(name.clone(), SplitMatrix { layout, parts, rows_per_part });
                let stream = RowStream::new(layout.source_row_bytes(), piece, rows);
                self.intake.insert(name.clone(), Intake::Matrix { stream, name: name.clone() });
            } else {
                // Norms, biases, sinks: small, converted to f32 on the CPU.
                let n = t.info.n_elements();
                let buffer = self.weight_buffer(&name, n * 4)?;
                self.intake.insert(name.clone(), Intake::Vector { format: t.format, bytes: Vec::new(), buffer });
            }
        }
        if self.experts.len() != c.n_layer {
            return Err(Error::Model(format!(
                "expert tensors found for {} of {} layers",
                self.experts.len(),
                c.n_layer
            )));
        }
        Ok(())
    }

    fn layer_of(&self, name: &str) -> Result<usize> {
        name.strip_prefix("blk.")
            .and_then(|r| r.split('.').next())
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::Model(format!("tensor `{name}` has no layer number")))
    }

    fn allocate_pools(&mut self, layer: usize, name: &str, limit: u64) -> Result<()> {
        let c = self.config.clone();
        let gate_t = self.plan.get(&layer_tensor(layer, "ffn_gate_exps.weight"))?.clone();
        let up_t = self.plan.get(&layer_tensor(layer, "ffn_up_exps.weight"))?.clone();
        let down_t = self.plan.get(&layer_tensor(layer, "ffn_down_exps.weight"))?.clone();
        if gate_t.format != up_t.format || gate_t.format != down_t.format {
            return Err(Error::Gpu(format!("layer {layer}: gate/up/down experts differ in format")));
        }
        let gate = MatrixLayout::new(gate_t.format, c.n_ff_expert as u64, c.n_embd as u64, name)?;
        let down = MatrixLayout::new(down_t.format, c.n_embd as u64, c.n_ff_expert as u64, &down_t.info.name)?;
        let slot_bytes = (2 * gate.words() + down.words()) * 4;
        let slots = self.options.expert_budget.slots(c.n_expert, c.n_expert_used, c.n_layer, slot_bytes)? as u64;
        let slots_per_pool = (limit / slot_bytes).min(slots);
        if slots_per_pool == 0 {
            return Err(Error::Gpu(format!(
                "one expert of layer {layer} needs {slot_bytes} bytes, over the storage binding limit of {limit} bytes"
            )));
        }
        let n_pools = slots.div_ceil(slots_per_pool);
        let mut pools = Vec::new();
        for p in 0..n_pools {
            let in_pool = slots_per_pool.min(slots - p * slots_per_pool);
            pools.push(self.weight_buffer(&format!("blk.{layer}.experts[pool {p}]"), in_pool * slot_bytes)?);
        }
        if self.experts.len() != layer {
            return Err(Error::Model(format!("layer {layer}'s experts arrived out of order")));
        }
        self.experts.push(ExpertPools { gate, down, slots, slots_per_pool, pools });
        Ok(())
    }

    /// Where each layer's gate, up and down experts are in the file; needed when the budget pages experts.
    pub fn set_expert_files(&mut self, files: Vec<[ExpertFileRange; 3]>) {
        self.expert_files = Some(files);
    }

    pub fn n_layer(&self) -> usize {
        self.config.n_layer
    }

    /// Whether the expert budget leaves some experts out of GPU memory.
    pub fn pages_experts(&self) -> bool {
        self.experts.iter().any(|p| p.slots < self.config.n_expert as u64)
    }

    /// Stream the next bytes of tensor `name` (consecutive chunks in file order).
    pub fn push(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let queue = &self.ctx.queue;
        let intake = self
            .intake
            .get_mut(name)
            .ok_or_else(|| Error::Gpu(format!("tensor `{name}` is not part of the load plan")))?;
        match intake {
            Intake::Matrix { stream, name } => {
                let m = &self.matrices[name.as_str()];
                stream.push(bytes, |row0, piece| {
                    let part = (row0 / m.rows_per_part) as usize;
                    let (part_row0, buffer) = &m.parts[part];
                    let layout = MatrixLayout { rows: m.rows_per_part.min(m.layout.rows - part_row0), ..m.layout };
                    write_rows(queue, buffer, 0, &layout, row0 - part_row0, piece)
                })
            }
            Intake::Experts { stream, layer, which } => {
                let pools = &self.experts[*layer];
                let which = *which;
                stream.push(bytes, |row0, piece| {
                    let rows_per_expert = if which == ExpertPart::Down { pools.down.rows } else { pools.gate.rows };
                    let expert = row0 / rows_per_expert;
                    if expert >= pools.slots {
                        // Not resident at the start: paged in from the file when a token needs it.
                        return Ok(());
                    }
                    let (pool, slot) = (expert / pools.slots_per_pool, expert % pools.slots_per_pool);
                    let (base, layout) = match which {
                        ExpertPart::Gate => (0, pools.gate),
                        ExpertPart::Up => (pools.gate.words(), pools.gate),
                        ExpertPart::Down => (2 * pools.gate.words(), pools.down),
                    };
                    let slot_base = slot * pools.slot_words() + base;
                    write_rows(queue, &pools.pools[pool as usize], slot_base, &layout, row0 % rows_per_expert, piece)
                })
            }
            Intake::Vector { bytes: pending, .. } => {
                pending.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// Check every tensor arrived whole, build activations, pipelines and bind groups, and surface any GPU
    /// validation error raised while loading.
    pub async fn finish(mut self, events: &mut dyn EventSink) -> Result<GpuModel> {
        let model = self.finish_buffers().await;
        self.flush_events(events);
        model
    }

    fn flush_events(&mut self, events: &mut dyn EventSink) {
        for e in self.pending_events.drain(..) {
            events.emit(e);
        }
    }

    async fn finish_buffers(&mut self) -> Result<GpuModel> {
        for (name, intake) in std::mem::take(&mut self.intake) {
            match intake {
                Intake::Matrix { stream, .. } | Intake::Experts { stream, .. } => {
                    if !stream.is_complete() {
                        return Err(Error::Gpu(format!(
                            "tensor `{name}`: only {} rows arrived before the load finished",
                            stream.rows_done()
                        )));
                    }
                }
                Intake::Vector { format, bytes, buffer } => {
                    let n = bytes.len() / format.block_bytes() * format.block_values();
                    let mut values = vec![0f32; n];
                    dequantize_row(format, &bytes, &mut values)
                        .map_err(|e| Error::Gpu(format!("tensor `{name}`: {e}")))?;
                    let want = buffer.size() / 4;
                    if values.len() as u64 != want && (values.len() as u64).next_multiple_of(4) != want {
                        return Err(Error::Gpu(format!(
                            "tensor `{name}`: {} values arrived, {want} expected",
                            values.len()
                        )));
                    }
                    self.ctx.queue.write_buffer(&buffer, 0, bytemuck::cast_slice(&values));
                    self.vectors.insert(name, buffer);
                }
            }
        }
        let model = self.build()?;
        if let Some(scope) = self.error_scope.take() {
            if let Some(e) = scope.pop().await {
                return Err(Error::Gpu(format!("loading the model on the GPU failed: {e}")));
            }
        }
        Ok(model)
    }

    fn activation(&mut self, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
        let limit = self.binding_limit();
        if bytes > limit {
            return Err(Error::Gpu(format!(
                "activation buffer `{label}` needs {bytes} bytes, over the storage binding limit of {limit}; lower the batch size"
            )));
        }
        self.new_buffer(
            label,
            bytes,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        )
    }

    fn build(&mut self) -> Result<GpuModel> {
        let c = self.config.clone();
        let o = self.options.clone();
        let (t, e, k) = (o.max_batch as u64, c.n_embd as u64, c.n_expert_used as u64);
        let q_width = (c.n_head * c.head_dim) as u64;
        let kv_width = (c.n_head_kv * c.head_dim) as u64;
        let groups = (c.n_vocab as u64).div_ceil(SAMPLE_THREADS * SAMPLE_MAX_PER_THREAD);
        let max_keys = (0..c.n_layer).map(|il| self.visible_keys(il)).max().unwrap_or(1);
        let readback_words = RESULT_WORDS + 2 * c.n_layer as u64 * k + 1 + max_keys;
        // Enough key splits for the longest layer (a window may start mid-split, hence one more).
        let n_splits =
            (0..c.n_layer).map(|il| self.cache_capacity(il)).max().unwrap_or(1).div_ceil(ATTENTION_SPLIT) + 1;
        let act = Activations {
            step: self.new_buffer(
                "step",
                std::mem::size_of::<StepUniform>() as u64,
                wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            )?,
            tokens: self.activation("tokens", t * 4)?,
            h: self.activation("residual", t * e * 4)?,
            xn: self.activation("normed", t * e * 4)?,
            q: self.activation("q", t * q_width * 4)?,
            k: self.activation("k", t * kv_width * 4)?,
            v: self.activation("v", t * kv_width * 4)?,
            attn: self.activation("attention_out", t * q_width * 4)?,
            attn_partials: self
                .activation("attention_partials", t * c.n_head as u64 * n_splits * (2 + c.head_dim as u64) * 4)?,
            attn_probe: self.activation("attention_probe", (1 + max_keys) * 4)?,
            router: self.activation("router_logits", t * c.n_expert as u64 * 4)?,
            chosen: self.activation("chosen_experts", c.n_layer as u64 * t * k * 4)?,
            route_weights: self.activation("routing_weights", c.n_layer as u64 * t * k * 4)?,
            act: self.activation("expert_act", t * k * c.n_ff_expert as u64 * 4)?,
            down: self.activation("expert_out", t * k * e * 4)?,
            logits: self.activation("logits", o.max_logit_rows as u64 * c.n_vocab as u64 * 4)?,
            partials: self.activation("sample_partials", groups * PARTIAL_WORDS * 4)?,
            result: self.activation("sample_result", RESULT_WORDS * 4)?,
            readback: self.new_buffer(
                "readback",
                readback_words * 4,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            )?,
            logits_readback: self.new_buffer(
                "logits_readback",
                o.max_logit_rows as u64 * c.n_vocab as u64 * 4,
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            )?,
        };
        // KV caches: full layers hold the context; sliding layers a ring of window + batch − 1 positions, so a
        // prefill batch never overwrites keys an earlier query of the same batch still needs.
        let kv = self.kv_storage()?;
        let mut caches = Vec::new();
        for il in 0..c.n_layer {
            let capacity = self.cache_capacity(il);
            let bytes = (2 * capacity * kv_width * kv.bytes()).next_multiple_of(4);
            caches.push((capacity, self.activation(&format!("blk.{il}.kv_cache"), bytes)?));
        }
        // (pool, slot) of every (layer, expert), read by the expert kernels.
        // Experts 0.. fill the slots at load; the rest are not resident until paged in.
        let mut location = Vec::new();
        for pools in &self.experts {
            for ex in 0..c.n_expert as u64 {
                location.push(if ex < pools.slots { pools.location(ex) } else { NOT_RESIDENT });
            }
        }
        let location = self.init_buffer("expert_location", bytemuck::cast_slice(&location))?;
        let rope = rope_frequencies(&c.rope, c.rope.freq_base);
        let rope_swa = rope_frequencies(&c.rope, c.rope.freq_base_swa);
        let inv_freq = self
            .init_buffer("rope_freqs", bytemuck::cast_slice(&rope.0.iter().map(|&f| f as f32).collect::<Vec<_>>()))?;
        let inv_freq_swa = self.init_buffer(
            "rope_freqs_swa",
            bytemuck::cast_slice(&rope_swa.0.iter().map(|&f| f as f32).collect::<Vec<_>>()),
        )?;

        let group = (c.n_head / c.n_head_kv) as f64;
        let constants = HashMap::from([(Kernel::Attention, vec![("GROUP", group), ("HEAD_DIM", c.head_dim as f64)])]);
        let mut route_ends = Vec::new();
        let mut b = PlanBuilder {
            ctx: self.ctx.clone(),
            constants,
            pipelines: Vec::new(),
            index: HashMap::new(),
            dispatches: Vec::new(),
            step: &act.step,
        };

        // token_embd → residual stream.
        let embd = &self.matrices["token_embd.weight"];
        for (row0, buf) in &embd.parts {
            let rows = embd.rows_per_part.min(embd.layout.rows - row0);
            let p = EmbedParams { row0: *row0 as u32, rows: rows as u32, width: c.n_embd as u32, mat: 0 };
            b.push(
                "embed",
                Kernel::Embed,
                Variant::Weights(embd.layout.format),
                bytemuck::bytes_of(&p),
                &[buf, &act.tokens, &act.h],
                ((c.n_embd as u32).div_ceil(256), Dim::Tokens, Dim::Fixed(1)),
            )?;
        }
        for (il, (capacity, cache)) in caches.iter().enumerate() {
            let name = |n: &str| layer_tensor(il, n);
            // a = RMSNorm(h) ⊙ attn_norm
            self.norm(
                &mut b,
                &format!("blk.{il}.attn_norm"),
                &act.h,
                &self.vectors[&name("attn_norm.weight")],
                &act.xn,
            )?;
            // q, k, v = W·a + bias
            for (w, out) in [("attn_q", &act.q), ("attn_k", &act.k), ("attn_v", &act.v)] {
                let bias = &self.vectors[&name(&format!("{w}.bias"))];
                self.matvec(&mut b, &name(&format!("{w}.weight")), &act.xn, out, Some(bias), 0)?;
            }
            // RoPE on q and k (NEOX, YaRN); k and v into the cache
            let sliding = c.is_sliding(il);
            let (freqs, mscale) = if sliding { (&inv_freq_swa, rope_swa.1) } else { (&inv_freq, rope.1) };
            let rp = RopeParams {
                n_head: c.n_head as u32,
                n_head_kv: c.n_head_kv as u32,
                head_dim: c.head_dim as u32,
                capacity: *capacity as u32,
                mscale: mscale as f32,
                _pad: [0; 3],
            };
            let pairs = ((c.n_head + 2 * c.n_head_kv) * c.head_dim / 2) as u32;
            b.push(
                &format!("blk.{il}.rope_kv"),
                Kernel::RopeKv,
                Variant::Kv(kv),
                bytemuck::bytes_of(&rp),
                &[freqs, &act.q, &act.k, &act.v, cache],
                (pairs.div_ceil(64), Dim::Tokens, Dim::Fixed(1)),
            )?;
            // softmax(q·k/√d + mask, with the sink in the denominator)·v, split over keys, then merged
            let window = if sliding { c.sliding_window as u32 } else { 0 };
            let ap = AttentionParams {
                n_head: c.n_head as u32,
                n_head_kv: c.n_head_kv as u32,
                head_dim: c.head_dim as u32,
                capacity: *capacity as u32,
                window,
                scale: 1.0 / (c.head_dim as f32).sqrt(),
                n_splits: n_splits as u32,
                _pad: 0,
            };
            let layer_splits = (capacity.div_ceil(ATTENTION_SPLIT) + 1) as u32;
            b.push(
                &format!("blk.{il}.attention"),
                Kernel::Attention,
                Variant::Kv(kv),
                bytemuck::bytes_of(&ap),
                &[&act.q, cache, &act.attn_partials],
                (c.n_head_kv as u32, Dim::Fixed(layer_splits), Dim::Tokens),
            )?;
            let cp = AttentionCombineParams {
                n_head: c.n_head as u32,
                head_dim: c.head_dim as u32,
                window,
                n_splits: n_splits as u32,
            };
            b.push(
                &format!("blk.{il}.attention_combine"),
                Kernel::AttentionCombine,
                Variant::Plain,
                bytemuck::bytes_of(&cp),
                &[&act.attn_partials, &self.vectors[&name("attn_sinks.weight")], &act.attn],
                (c.n_head as u32, Dim::Tokens, Dim::Fixed(1)),
            )?;
            // The attention view's row for this layer (recorded only while watched).
            let pp = AttentionParams { _pad: 0, ..ap };
            b.push(
                &format!("blk.{il}.attention_probe"),
                Kernel::AttentionProbe,
                Variant::Kv(kv),
                bytemuck::bytes_of(&pp),
                &[&act.q, cache, &self.vectors[&name("attn_sinks.weight")], &act.attn_probe],
                (1, Dim::Fixed(1), Dim::Fixed(1)),
            )?;
            if let Some(d) = b.dispatches.last_mut() {
                d.probe_layer = Some(il);
            }
            // h += Wo·o + bo
            let bo = &self.vectors[&name("attn_output.bias")];
            self.matvec(&mut b, &name("attn_output.weight"), &act.attn, &act.h, Some(bo), ACCUMULATE)?;
            // m = RMSNorm(h) ⊙ post_attention_norm
            self.norm(
                &mut b,
                &format!("blk.{il}.post_attention_norm"),
                &act.h,
                &self.vectors[&name("post_attention_norm.weight")],
                &act.xn,
            )?;
            // router logits, top-k, softmax over the k
            let br = &self.vectors[&name("ffn_gate_inp.bias")];
            self.matvec(&mut b, &name("ffn_gate_inp.weight"), &act.xn, &act.router, Some(br), 0)?;
            let route = RouteParams { width: c.n_expert as u32, k: k as u32, layer: il as u32, max_tokens: t as u32 };
            b.push(
                &format!("blk.{il}.moe_route"),
                Kernel::MoeRoute,
                Variant::Plain,
                bytemuck::bytes_of(&route),
                &[&act.router, &act.chosen, &act.route_weights],
                (1, Dim::Tokens, Dim::Fixed(1)),
            )?;
            route_ends.push(b.dispatches.len());
            // experts: act = swiglu_oai(gate, up); y = down·act + bias
            let pools = &self.experts[il];
            let bg = &self.vectors[&name("ffn_gate_exps.bias")];
            let bu = &self.vectors[&name("ffn_up_exps.bias")];
            let bd = &self.vectors[&name("ffn_down_exps.bias")];
            for (p, pool) in pools.pools.iter().enumerate() {
                let gp = ExpertParams {
                    rows: pools.gate.rows as u32,
                    blocks: pools.gate.blocks as u32,
                    pool: p as u32,
                    slot_words: pools.slot_words() as u32,
                    second: pools.gate.words() as u32,
                    n_expert: c.n_expert as u32,
                    k: k as u32,
                    layer: il as u32,
                    max_tokens: t as u32,
                    x_stride: (c.n_embd / 4) as u32,
                    _pad: [0; 2],
                };
                b.push(
                    &format!("blk.{il}.moe_gate_up[pool {p}]"),
                    Kernel::MoeGateUp,
                    Variant::Weights(pools.gate.format),
                    bytemuck::bytes_of(&gp),
                    &[pool, &act.xn, &act.act, &act.chosen, &location, bg, bu],
                    ((pools.gate.rows as u32).div_ceil(8), Dim::Fixed(k as u32), Dim::Tokens),
                )?;
                let dp = ExpertParams {
                    rows: pools.down.rows as u32,
                    blocks: pools.down.blocks as u32,
                    second: 2 * pools.gate.words() as u32,
                    x_stride: (c.n_ff_expert / 4) as u32,
                    ..gp
                };
                b.push(
                    &format!("blk.{il}.moe_down[pool {p}]"),
                    Kernel::MoeDown,
                    Variant::Weights(pools.down.format),
                    bytemuck::bytes_of(&dp),
                    &[pool, &act.act, &act.down, &act.chosen, &location, bd],
                    ((pools.down.rows as u32).div_ceil(8), Dim::Fixed(k as u32), Dim::Tokens),
                )?;
            }
            // h += Σ_k w_k · y_k
            let cp = RouteParams { width: c.n_embd as u32, ..route };
            b.push(
                &format!("blk.{il}.moe_combine"),
                Kernel::MoeCombine,
                Variant::Plain,
                bytemuck::bytes_of(&cp),
                &[&act.down, &act.route_weights, &act.h],
                ((c.n_embd as u32).div_ceil(256), Dim::Tokens, Dim::Fixed(1)),
            )?;
        }
        // logits = W_out · RMSNorm(h) ⊙ output_norm, for the batch's trailing logit rows
        self.norm(&mut b, "output_norm", &act.h, &self.vectors["output_norm.weight"], &act.xn)?;
        self.matvec(&mut b, "output.weight", &act.xn, &act.logits, None, LAST_TOKENS)?;
        let forward = std::mem::take(&mut b.dispatches);

        let per_thread = (c.n_vocab as u64).div_ceil(groups * SAMPLE_THREADS);
        let sp =
            SampleParams { vocab: c.n_vocab as u32, groups: groups as u32, per_thread: per_thread as u32, _pad: 0 };
        b.push_entry(
            "sample.partials",
            Kernel::Sample,
            "partials_main",
            bytemuck::bytes_of(&sp),
            &[(2, &act.logits), (3, &act.partials)],
            (groups as u32, Dim::Fixed(1), Dim::Fixed(1)),
        )?;
        b.push_entry(
            "sample.finalize",
            Kernel::Sample,
            "finalize_main",
            bytemuck::bytes_of(&sp),
            &[(3, &act.partials), (4, &act.result)],
            (1, Dim::Fixed(1), Dim::Fixed(1)),
        )?;
        let sample = std::mem::take(&mut b.dispatches);
        let pipelines = std::mem::take(&mut b.pipelines);
        drop(b);

        let paging = if self.pages_experts() {
            let files = self.expert_files.take().ok_or_else(|| {
                Error::Gpu(
                    "the expert budget pages experts, but the loader was not told where they are in the file".into(),
                )
            })?;
            let slots = self.experts.first().map_or(0, |p| p.slots as usize);
            Some(Paging {
                cache: ExpertCache::new(c.n_layer, c.n_expert, slots),
                files,
                route_ends,
                chosen_readback: self.new_buffer(
                    "chosen_readback",
                    k * 4,
                    wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                )?,
            })
        } else {
            None
        };
        let mut weights: Vec<wgpu::Buffer> = Vec::new();
        weights.extend(self.matrices.drain().flat_map(|(_, m)| m.parts.into_iter().map(|(_, b)| b)));
        weights.extend(self.vectors.drain().map(|(_, b)| b));
        weights.extend(caches.into_iter().map(|(_, b)| b));
        weights.extend([inv_freq, inv_freq_swa]);
        self.pending_events.push(Event::GpuModelReady {
            gpu_bytes: self.gpu_bytes,
            dispatches_per_step: (forward.len() + sample.len()) as u32,
            pipelines: pipelines.len() as u32,
        });
        Ok(GpuModel {
            ctx: self.ctx.clone(),
            config: c,
            options: o,
            act,
            pipelines,
            forward,
            sample,
            kv,
            probe: None,
            experts: std::mem::take(&mut self.experts),
            location,
            paging,
            pos: 0,
            steps: 0,
            gpu_bytes: self.gpu_bytes,
            _weights: weights,
        })
    }

    fn kv_storage(&self) -> Result<KvStorage> {
        let f16 = self.ctx.report.shader_f16;
        match self.options.kv_storage {
            None => Ok(if f16 { KvStorage::F16 } else { KvStorage::F32 }),
            Some(KvStorage::F16) if !f16 => {
                Err(Error::Gpu("an f16 KV cache needs the shader-f16 feature, which this adapter lacks".into()))
            }
            Some(kv) => Ok(kv),
        }
    }

    /// Keys one query sees at most in layer `il`.
    fn visible_keys(&self, il: usize) -> u64 {
        let ctx = self.options.context as u64;
        if self.config.is_sliding(il) {
            ctx.min(self.config.sliding_window as u64)
        } else {
            ctx
        }
    }

    fn cache_capacity(&self, il: usize) -> u64 {
        let (ctx, window) = (self.options.context as u64, self.config.sliding_window as u64);
        if self.config.is_sliding(il) {
            ctx.min(window + self.options.max_batch as u64 - 1)
        } else {
            ctx
        }
    }

    fn init_buffer(&mut self, label: &str, contents: &[u8]) -> Result<wgpu::Buffer> {
        let buffer = self.ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        });
        Ok(self.track(label, buffer))
    }

    fn norm(
        &self,
        b: &mut PlanBuilder,
        label: &str,
        x: &wgpu::Buffer,
        w: &wgpu::Buffer,
        y: &wgpu::Buffer,
    ) -> Result<()> {
        let p = NormParams { width: self.config.n_embd as u32, eps: self.config.rms_eps, _pad: [0; 2] };
        b.push(
            label,
            Kernel::RmsNorm,
            Variant::Plain,
            bytemuck::bytes_of(&p),
            &[x, w, y],
            (1, Dim::Tokens, Dim::Fixed(1)),
        )
        .map(|_| ())
    }

    /// y = W·x (+ bias), one dispatch per row range of W.
    fn matvec(
        &self,
        b: &mut PlanBuilder,
        name: &str,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        bias: Option<&wgpu::Buffer>,
        flags: u32,
    ) -> Result<()> {
        let m = self.matrices.get(name).ok_or_else(|| Error::Gpu(format!("matrix `{name}` was not loaded")))?;
        let cols = m.layout.blocks * 32;
        // Lanes per row: enough for the row's 16-byte chunks, at most 32; the rest of the 256 threads take rows.
        let chunks = m.layout.gpu_row_bytes() / 16;
        let lanes = chunks.next_power_of_two().clamp(1, 32) as u32;
        for (row0, buf) in &m.parts {
            let rows = m.rows_per_part.min(m.layout.rows - row0);
            let p = MatvecParams {
                rows: rows as u32,
                blocks: m.layout.blocks as u32,
                mat: 0,
                x_stride: (cols / 4) as u32,
                y_stride: m.layout.rows as u32,
                y_offset: *row0 as u32,
                flags: flags | if bias.is_some() { ADD_BIAS } else { 0 },
                lanes,
            };
            // Without a bias, W stands in for B: the kernel never reads it (flag off), but the binding must exist.
            let b_buf = bias.unwrap_or(buf);
            let tokens = if flags & LAST_TOKENS != 0 { Dim::LogitRowTiles } else { Dim::TokenTiles };
            let grid = ((rows as u32).div_ceil(256 / lanes), tokens, Dim::Fixed(1));
            b.push(
                name,
                Kernel::Matvec,
                Variant::Weights(m.layout.format),
                bytemuck::bytes_of(&p),
                &[buf, x, y, b_buf],
                grid,
            )?;
        }
        Ok(())
    }
}

/// Collects pipelines (one per kernel and format) and dispatches with their bind groups.
struct PlanBuilder<'a> {
    ctx: Rc<GpuContext>,
    /// Pipeline-overridable constants per kernel (the attention kernel's GQA group and head size).
    constants: HashMap<Kernel, Vec<(&'static str, f64)>>,
    pipelines: Vec<wgpu::ComputePipeline>,
    index: HashMap<(Kernel, Variant, &'static str), usize>,
    dispatches: Vec<Dispatch>,
    step: &'a wgpu::Buffer,
}

impl PlanBuilder<'_> {
    fn pipeline(&mut self, kernel: Kernel, variant: Variant, entry: &'static str) -> Result<usize> {
        if let Some(&i) = self.index.get(&(kernel, variant, entry)) {
            return Ok(i);
        }
        let src = shaders::source(kernel, variant)?;
        let label = format!("{}+{variant:?}", kernel.name());
        let device = &self.ctx.device;
        let module = self.ctx.shader_module(&label, src);
        let constants = self.constants.get(&kernel).cloned().unwrap_or_default();
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(&label),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants: &constants,
                // Every kernel writes its workgroup memory before reading it; zeroing it per dispatch is waste.
                zero_initialize_workgroup_memory: false,
            },
            cache: None,
        });
        self.pipelines.push(pipeline);
        self.index.insert((kernel, variant, entry), self.pipelines.len() - 1);
        Ok(self.pipelines.len() - 1)
    }

    /// A dispatch of `kernel`'s `main` whose storage buffers take bindings 2, 3, … in order.
    fn push(
        &mut self,
        label: &str,
        kernel: Kernel,
        variant: Variant,
        params: &[u8],
        buffers: &[&wgpu::Buffer],
        grid: (u32, Dim, Dim),
    ) -> Result<()> {
        let bindings: Vec<(u32, &wgpu::Buffer)> = buffers.iter().enumerate().map(|(i, b)| (i as u32 + 2, *b)).collect();
        self.push_bound(label, kernel, variant, "main", params, &bindings, grid)
    }

    fn push_entry(
        &mut self,
        label: &str,
        kernel: Kernel,
        entry: &'static str,
        params: &[u8],
        bindings: &[(u32, &wgpu::Buffer)],
        grid: (u32, Dim, Dim),
    ) -> Result<()> {
        self.push_bound(label, kernel, Variant::Plain, entry, params, bindings, grid)
    }

    #[allow(clippy::too_many_arguments)]
    fn push_bound(
        &mut self,
        label: &str,
        kernel: Kernel,
        variant: Variant,
        entry: &'static str,
        params: &[u8],
        bindings: &[(u32, &wgpu::Buffer)],
        grid: (u32, Dim, Dim),
    ) -> Result<()> {
        if grid.0 > self.ctx.device.limits().max_compute_workgroups_per_dimension {
            return Err(Error::Gpu(format!(
                "dispatch `{label}` needs {} workgroups, over the adapter's limit",
                grid.0
            )));
        }
        let pipeline = self.pipeline(kernel, variant, entry)?;
        let uniform = self.ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: params,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut entries = vec![
            wgpu::BindGroupEntry { binding: 0, resource: self.step.as_entire_binding() },
            wgpu::BindGroupEntry { binding: 1, resource: uniform.as_entire_binding() },
        ];
        entries.extend(
            bindings.iter().map(|(i, buf)| wgpu::BindGroupEntry { binding: *i, resource: buf.as_entire_binding() }),
        );
        let bind_group = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &self.pipelines[pipeline].get_bind_group_layout(0),
            entries: &entries,
        });
        self.dispatches.push(Dispatch {
            kernel,
            probe_layer: None,
            label: label.to_string(),
            pipeline,
            bind_group,
            grid,
        });
        Ok(())
    }
}

impl GpuModel {
    pub fn config(&self) -> &GptOssConfig {
        &self.config
    }

    pub fn options(&self) -> &GpuOptions {
        &self.options
    }

    /// How the KV cache stores keys and values.
    pub fn kv_storage(&self) -> KvStorage {
        self.kv
    }

    /// Positions in the KV cache.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes of GPU memory this model allocated.
    pub fn gpu_bytes(&self) -> u64 {
        self.gpu_bytes
    }

    /// Dispatches recorded per decoded token (forward pass plus sampling).
    pub fn dispatches_per_token(&self) -> usize {
        self.forward.iter().chain(&self.sample).filter(|d| d.probe_layer.is_none()).count()
    }

    /// Labels of the forward pass's dispatches in order (for the benchmark's per-kernel report).
    pub fn dispatch_labels(&self) -> Vec<&str> {
        self.forward.iter().chain(&self.sample).map(|d| d.label.as_str()).collect()
    }

    /// Watch one layer's q head: each step then also returns the last token's attention row there. One more
    /// dispatch and a few kilobytes of readback per token while watched; nothing when `None`.
    pub fn set_attention_probe(&mut self, probe: Option<(usize, usize)>) -> Result<()> {
        if let Some((layer, head)) = probe {
            if layer >= self.config.n_layer || head >= self.config.n_head {
                return Err(Error::Usage(format!(
                    "attention view of layer {layer} head {head}: the model has {} layers of {} heads",
                    self.config.n_layer, self.config.n_head
                )));
            }
        }
        self.probe = probe;
        Ok(())
    }

    /// Forget the context (a new conversation).
    pub fn reset(&mut self) {
        self.pos = 0;
    }

    fn check_room(&self, n: usize) -> Result<()> {
        if n == 0 {
            return Err(Error::Usage("no tokens to run".into()));
        }
        if self.pos + n > self.options.context {
            return Err(Error::Usage(format!(
                "context full: {} + {n} tokens exceed the KV cache's {} positions",
                self.pos, self.options.context
            )));
        }
        Ok(())
    }

    /// Record the forward dispatches `range` (and the sampler when `with_sample`) into a new encoder.
    fn encode_range(
        &self,
        range: std::ops::Range<usize>,
        n_tokens: usize,
        logits_rows: usize,
        with_sample: bool,
    ) -> wgpu::CommandEncoder {
        let mut encoder =
            self.ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("step") });
        {
            let mut pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("forward"), timestamp_writes: None });
            let probed = self.probe.map(|p| p.0);
            let dispatches = self.forward[range].iter().chain(if with_sample { &self.sample[..] } else { &[] });
            for d in dispatches.filter(|d| d.probe_layer.is_none() || d.probe_layer == probed) {
                self.record(&mut pass, d, n_tokens, logits_rows);
            }
        }
        encoder
    }

    /// Tokens per submission: a prefill batch, or one token at a time while experts are paged (each layer's
    /// experts must fit the slots at once).
    fn batch_limit(&self) -> usize {
        if self.paging.is_some() {
            1
        } else {
            self.options.max_batch
        }
    }

    /// Run `tokens` at the next positions up to (not including) the copies the caller adds; returns the encoder
    /// holding the last part of the pass. Without paging that is the whole pass; with paging the step pauses after
    /// each layer's router, reads its experts back, pages in the missing ones, and goes on.
    async fn encode_step(
        &mut self,
        tokens: &[u32],
        logits_rows: usize,
        sampling: Option<&SamplerConfig>,
    ) -> Result<(wgpu::CommandEncoder, Option<PagingStats>)> {
        self.write_step(tokens, logits_rows, sampling);
        let Some(mut paging) = self.paging.take() else {
            return Ok((self.encode_range(0..self.forward.len(), tokens.len(), logits_rows, sampling.is_some()), None));
        };
        let result = self.page_layers(&mut paging, tokens.len(), logits_rows).await;
        let start = paging.route_ends.last().copied().unwrap_or(0);
        self.paging = Some(paging);
        let stats = result?;
        Ok((self.encode_range(start..self.forward.len(), tokens.len(), logits_rows, sampling.is_some()), Some(stats)))
    }

    /// Submit each layer's part of the pass up to its router, then bring that layer's chosen experts in.
    async fn page_layers(&self, paging: &mut Paging, n_tokens: usize, logits_rows: usize) -> Result<PagingStats> {
        let c = &self.config;
        let k = c.n_expert_used as u64;
        let mut stats = PagingStats::default();
        let mut start = 0;
        for (layer, &end) in paging.route_ends.iter().enumerate() {
            let mut encoder = self.encode_range(start..end, n_tokens, logits_rows, false);
            let src = (layer as u64 * self.options.max_batch as u64 * k) * 4;
            encoder.copy_buffer_to_buffer(&self.act.chosen, src, &paging.chosen_readback, 0, k * 4);
            self.ctx.queue.submit([encoder.finish()]);
            let waited = Instant::now();
            let bytes = self.ctx.read_buffer(&paging.chosen_readback).await?;
            let chosen: Vec<u32> = bytemuck::cast_slice(&bytes).to_vec();
            if let Some(bad) = chosen.iter().find(|&&e| e as usize >= c.n_expert) {
                return Err(Error::Gpu(format!("layer {layer}: the router chose expert {bad} of {}", c.n_expert)));
            }
            let placement = paging.cache.place(layer, &chosen)?;
            stats.hits += placement.hits;
            stats.syncs += 1;
            let pools = &self.experts[layer];
            for load in &placement.loads {
                for (file, part) in paging.files[layer].iter().zip([ExpertPart::Gate, ExpertPart::Up, ExpertPart::Down])
                {
                    let at = file.offset + load.expert as u64 * file.bytes_per_expert;
                    let data = file.source.read(at, file.bytes_per_expert).await.map_err(|e| {
                        Error::Gpu(format!(
                            "paging in expert {} of layer {layer} ({}, bytes {at}..{}) failed: {e}",
                            load.expert,
                            file.tensor,
                            at + file.bytes_per_expert
                        ))
                    })?;
                    pools.write_expert(&self.ctx.queue, load.slot as u64, part, &data)?;
                    stats.bytes_uploaded += data.len() as u64;
                }
                let entry = |e: u32| (layer * c.n_expert + e as usize) as u64 * 4;
                if let Some(old) = load.evicted {
                    self.ctx.queue.write_buffer(&self.location, entry(old), bytemuck::bytes_of(&NOT_RESIDENT));
                    stats.evictions += 1;
                }
                let loc = pools.location(load.slot as u64);
                self.ctx.queue.write_buffer(&self.location, entry(load.expert), bytemuck::bytes_of(&loc));
                stats.misses += 1;
            }
            stats.stall_ms += waited.elapsed().as_secs_f64() * 1e3;
            start = end;
        }
        Ok(stats)
    }

    /// Per layer, which experts are in GPU memory now (all of them unless paging).
    pub fn expert_residency(&self) -> Vec<Vec<bool>> {
        match &self.paging {
            Some(p) => p.cache.residency(self.config.n_expert),
            None => vec![vec![true; self.config.n_expert]; self.config.n_layer],
        }
    }

    /// Per layer and expert: tokens routed to it since load, while paging (the resident path keeps no counts).
    pub fn expert_uses(&self) -> Option<Vec<Vec<u64>>> {
        self.paging.as_ref().map(|p| p.cache.uses().to_vec())
    }

    /// Expert slots per layer.
    pub fn expert_slots(&self) -> usize {
        self.experts.first().map_or(0, |p| p.slots as usize)
    }

    fn write_step(&self, tokens: &[u32], logits_rows: usize, sampling: Option<&SamplerConfig>) {
        let s = sampling.copied().unwrap_or_else(SamplerConfig::greedy);
        let step = StepUniform {
            n_tokens: tokens.len() as u32,
            pos0: self.pos as u32,
            logits_rows: logits_rows as u32,
            seed: s.seed,
            temperature: s.temperature,
            top_k: s.top_k,
            top_p: s.top_p,
            step_index: self.steps,
            probe_head: self.probe.map_or(0, |p| p.1 as u32),
            _pad: [0; 3],
        };
        self.ctx.queue.write_buffer(&self.act.step, 0, bytemuck::bytes_of(&step));
        self.ctx.queue.write_buffer(&self.act.tokens, 0, bytemuck::cast_slice(tokens));
    }

    fn record(&self, pass: &mut wgpu::ComputePass<'_>, d: &Dispatch, n_tokens: usize, logits_rows: usize) {
        let dim = |x: Dim| match x {
            Dim::Fixed(n) => n,
            Dim::Tokens => n_tokens as u32,
            Dim::TokenTiles => (n_tokens as u32).div_ceil(MATVEC_TOKENS),
            Dim::LogitRowTiles => (logits_rows as u32).div_ceil(MATVEC_TOKENS),
        };
        pass.set_pipeline(&self.pipelines[d.pipeline]);
        pass.set_bind_group(0, &d.bind_group, &[]);
        pass.dispatch_workgroups(d.grid.0, dim(d.grid.1), dim(d.grid.2));
    }

    /// GPU time of every dispatch of one step over `tokens` (one token: a decode step; more: a prefill batch), in
    /// nanoseconds, labelled `kernel: what`. Uses timestamp queries with one compute pass per dispatch, so the sum
    /// is a little above a normal step's GPU time.
    pub async fn profile_step(&mut self, tokens: &[u32], sampling: &SamplerConfig) -> Result<Vec<(String, f64)>> {
        if !self.ctx.report.timestamp_query {
            return Err(Error::Gpu("the adapter has no timestamp queries; per-kernel times are unavailable".into()));
        }
        if tokens.len() > self.options.max_batch {
            return Err(Error::Usage(format!("a profiled step takes at most {} tokens", self.options.max_batch)));
        }
        self.check_room(tokens.len())?;
        let dispatches: Vec<&Dispatch> =
            self.forward.iter().chain(&self.sample).filter(|d| d.probe_layer.is_none()).collect();
        let n = dispatches.len() as u32 * 2;
        let device = &self.ctx.device;
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count: n,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile.resolve"),
            size: n as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile.read"),
            size: n as u64 * 8,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.write_step(tokens, 1, Some(sampling));
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("profile") });
        for (i, d) in dispatches.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(&d.label),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &set,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            self.record(&mut pass, d, tokens.len(), 1);
        }
        encoder.resolve_query_set(&set, 0..n, &resolve, 0);
        encoder.copy_buffer_to_buffer(&resolve, 0, &read, 0, n as u64 * 8);
        self.ctx.queue.submit([encoder.finish()]);
        self.pos += tokens.len();
        self.steps = self.steps.wrapping_add(1);
        let bytes = self.ctx.read_buffer(&read).await?;
        let ticks: &[u64] = bytemuck::cast_slice(&bytes);
        let period = self.ctx.queue.get_timestamp_period() as f64;
        Ok(dispatches
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    format!("{}: {}", d.kernel.name(), d.label),
                    ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period,
                )
            })
            .collect())
    }

    /// Run `tokens` (a prompt chunk, or the one new token) at the next positions and sample the token after them.
    /// One submission and one small readback.
    pub async fn step(&mut self, tokens: &[u32], sampling: &SamplerConfig) -> Result<StepOutput> {
        sampling.validate()?;
        let mut out = None;
        let mut paging: Option<PagingStats> = None;
        let batch = self.batch_limit();
        for chunk in tokens.chunks(batch) {
            self.check_room(chunk.len())?;
            let last = std::ptr::eq(chunk.as_ptr_range().end, tokens.as_ptr_range().end);
            let encode_started = Instant::now();
            let (mut encoder, stats) = self.encode_step(chunk, 1, last.then_some(sampling)).await?;
            if let Some(s) = stats {
                *paging.get_or_insert_with(PagingStats::default) += s;
            }
            if !last {
                self.ctx.queue.submit([encoder.finish()]);
                self.pos += chunk.len();
                continue;
            }
            let c = &self.config;
            let k = c.n_expert_used as u64;
            let t_max = self.options.max_batch as u64;
            encoder.copy_buffer_to_buffer(&self.act.result, 0, &self.act.readback, 0, RESULT_WORDS * 4);
            // The last token's routing in every layer: k ids then k weights per layer.
            let t = chunk.len() as u64 - 1;
            for il in 0..c.n_layer as u64 {
                let src = ((il * t_max + t) * k) * 4;
                let dst = (RESULT_WORDS + il * k) * 4;
                encoder.copy_buffer_to_buffer(&self.act.chosen, src, &self.act.readback, dst, k * 4);
                let dst_w = (RESULT_WORDS + (c.n_layer as u64 + il) * k) * 4;
                encoder.copy_buffer_to_buffer(&self.act.route_weights, src, &self.act.readback, dst_w, k * 4);
            }
            let probe_keys = self.probe.map(|(layer, _)| self.probe_span(layer, self.pos + chunk.len() - 1));
            if let Some((_, n)) = probe_keys {
                let dst = (RESULT_WORDS + 2 * c.n_layer as u64 * k) * 4;
                encoder.copy_buffer_to_buffer(&self.act.attn_probe, 0, &self.act.readback, dst, (1 + n as u64) * 4);
            }
            let commands = encoder.finish();
            let submit_started = Instant::now();
            self.ctx.queue.submit([commands]);
            let submitted = Instant::now();
            self.pos += chunk.len();
            self.steps = self.steps.wrapping_add(1);
            let bytes = self.ctx.read_buffer(&self.act.readback).await?;
            let mut step = self.decode_readback(&bytes);
            let ms = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1e3;
            step.timing = StepTiming {
                encode_ms: ms(encode_started, submit_started),
                submit_ms: ms(submit_started, submitted),
                map_wait_ms: ms(submitted, Instant::now()),
            };
            if let (Some((layer, head)), Some((first, n))) = (self.probe, probe_keys) {
                let w: &[f32] = bytemuck::cast_slice(&bytes);
                let at = (RESULT_WORDS + 2 * self.config.n_layer as u64 * k) as usize;
                step.attention = Some(AttentionRow {
                    layer,
                    head,
                    first_position: first,
                    sink: w[at],
                    weights: w[at + 1..at + 1 + n].to_vec(),
                });
            }
            step.paging = paging.clone();
            out = Some(step);
        }
        out.ok_or_else(|| Error::Usage("no tokens to run".into()))
    }

    /// First visible key and number of keys for a query at `pos` in `layer`.
    fn probe_span(&self, layer: usize, pos: usize) -> (usize, usize) {
        let window = self.config.sliding_window;
        let first = if self.config.is_sliding(layer) && pos + 1 > window { pos + 1 - window } else { 0 };
        (first, pos + 1 - first)
    }

    fn decode_readback(&self, bytes: &[u8]) -> StepOutput {
        let w: &[u32] = bytemuck::cast_slice(bytes);
        let f = |i: usize| f32::from_bits(w[i]);
        let top = (0..5).map(|r| (w[1 + r], f(6 + r))).filter(|(id, _)| *id != NO_ID).collect();
        let (l, k) = (self.config.n_layer, self.config.n_expert_used);
        let base = RESULT_WORDS as usize;
        let routes =
            (0..l).map(|il| (0..k).map(|j| (w[base + il * k + j], f(base + (l + il) * k + j))).collect()).collect();
        StepOutput {
            choice: TokenChoice { token: w[0], top, entropy: f(11), logsumexp: f(12) },
            routes,
            attention: None,
            paging: None,
            timing: StepTiming::default(),
        }
    }

    /// Full logits at every position of `tokens` (for checking against references; the app never reads logits).
    pub async fn logits(&mut self, tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
        let rows_max = self.options.max_logit_rows.min(self.batch_limit());
        let vocab = self.config.n_vocab;
        let mut all = Vec::with_capacity(tokens.len());
        for chunk in tokens.chunks(rows_max) {
            self.check_room(chunk.len())?;
            let (mut encoder, _) = self.encode_step(chunk, chunk.len(), None).await?;
            let bytes = (chunk.len() * vocab * 4) as u64;
            encoder.copy_buffer_to_buffer(&self.act.logits, 0, &self.act.logits_readback, 0, bytes);
            self.ctx.queue.submit([encoder.finish()]);
            self.pos += chunk.len();
            let data = self.ctx.read_buffer(&self.act.logits_readback).await?;
            let values: &[f32] = bytemuck::cast_slice(&data);
            all.extend(values[..chunk.len() * vocab].chunks_exact(vocab).map(|r| r.to_vec()));
        }
        Ok(all)
    }
}
