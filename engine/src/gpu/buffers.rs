//! GPU memory. [`BufferSizes::new`] sizes every buffer a model takes before anything is allocated (llama2.c's
//! `malloc_run_state`): the loader allocates from it and the app's pre-load estimate sums it, so neither re-derives
//! a size. [`Allocator`] creates, counts and reports every buffer. [`Activations`] are the per-step buffers, one
//! shape comment each.

use std::rc::Rc;

use super::device::AdapterReport;
use super::kernels::{
    group_words, AttentionSplits, SAMPLE_ENTRIES, SAMPLE_LOGITS_PER_THREAD, SAMPLE_MAX_VOCAB, SAMPLE_PARTIAL_WORDS,
    SAMPLE_THREADS,
};
use super::model::STEPS_AHEAD;
use super::paging::ExpertPart;
use super::params::{RepackParams, SampleResult, StepUniform};
use super::shaders::KvStorage;
use super::weights::{upload_raw_bytes, MatrixLayout};
use super::{GpuContext, GpuOptions};
use crate::events::{Event, EventSink};
use crate::model::config::{layer_tensor, GptOssConfig, TensorPlan};
use crate::{Error, Result};

/// What a buffer asked for `bytes` takes: wgpu sizes are whole words, and none is made below 16 bytes.
pub fn allocated_bytes(bytes: u64) -> u64 {
    bytes.max(16).next_multiple_of(4)
}

/// The largest storage binding an adapter allows (and no larger than its largest buffer), in whole words.
pub fn binding_limit(max_storage_buffer_binding_size: u64, max_buffer_size: u64) -> u64 {
    max_storage_buffer_binding_size.min(max_buffer_size) / 4 * 4
}

/// [`binding_limit`] of an adapter.
pub fn adapter_binding_limit(report: &AdapterReport) -> u64 {
    binding_limit(report.max_storage_buffer_binding_size, report.max_buffer_size)
}

/// The largest binding a weight buffer may have: the adapter's `binding`, or lower when the options ask.
pub fn weight_limit(binding: u64, options: &GpuOptions) -> u64 {
    binding.min(options.weight_binding_limit.unwrap_or(u64::MAX) / 16 * 16)
}

/// The per-step buffers, sized once for the largest batch. Shapes: T = max_batch tokens, E = n_embd,
/// L = n_layer, k = experts per token, R = max_logit_rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Activations<B> {
    /// [`StepUniform`]: what changes per submission.
    pub step: B,
    /// [T] token ids.
    pub tokens: B,
    /// [T][E] the residual stream.
    pub h: B,
    /// [T][E] the normed input of the next mat-vec.
    pub xn: B,
    /// [T][n_head·head_dim]
    pub q: B,
    /// [T][n_head_kv·head_dim], before they enter the cache.
    pub k: B,
    pub v: B,
    /// [T][n_head·head_dim] attention output.
    pub attn: B,
    /// [T][n_head][attention splits][2 + head_dim]: each key split's max, Σexp and Σexp·v.
    pub attn_partials: B,
    /// [1 + max keys]: the watched head's sink share, then one weight per visible key.
    pub attn_probe: B,
    /// [T][n_expert] router logits.
    pub router: B,
    /// [L][T][k] chosen expert ids and their routing weights.
    pub chosen: B,
    pub route_weights: B,
    /// [T][k][n_ff_expert] SwiGLU activations.
    pub act: B,
    /// [T][k][E] expert outputs, before the routing weights.
    pub down: B,
    /// One layer's (token, slot) pairs grouped by expert and cut into tiles (moe_group.wgsl's layout).
    pub groups: B,
    /// [R][n_vocab]
    pub logits: B,
    /// [sample groups][SAMPLE_PARTIAL_WORDS]
    pub partials: B,
    /// [`SampleResult`]
    pub result: B,
    /// [`SampleResult`], [L][k] ids, [L][k] weights, then an attention row (mappable), one per step that can be
    /// submitted ahead ([`STEPS_AHEAD`]): each copies into its own while an earlier one's is read.
    pub readback: Vec<B>,
    /// [R][n_vocab] (mappable).
    pub logits_readback: B,
}

impl Activations<u64> {
    fn new(c: &GptOssConfig, o: &GpuOptions, splits: AttentionSplits, max_keys: u64, sample_groups: u64) -> Self {
        let (t, e, k, l) = (o.max_batch as u64, c.n_embd as u64, c.n_expert_used as u64, c.n_layer as u64);
        let q_width = (c.n_head * c.head_dim) as u64;
        let kv_width = (c.n_head_kv * c.head_dim) as u64;
        let logits = o.max_logit_rows as u64 * c.n_vocab as u64 * 4;
        let result = std::mem::size_of::<SampleResult>() as u64;
        Activations {
            step: std::mem::size_of::<StepUniform>() as u64,
            tokens: t * 4,
            h: t * e * 4,
            xn: t * e * 4,
            q: t * q_width * 4,
            k: t * kv_width * 4,
            v: t * kv_width * 4,
            attn: t * q_width * 4,
            attn_partials: splits.partial_floats(t, c.n_head as u64, c.head_dim as u64) * 4,
            attn_probe: (1 + max_keys) * 4,
            router: t * c.n_expert as u64 * 4,
            chosen: l * t * k * 4,
            route_weights: l * t * k * 4,
            act: t * k * c.n_ff_expert as u64 * 4,
            down: t * k * e * 4,
            groups: group_words(t * k, c.n_expert as u64) * 4,
            logits,
            partials: sample_groups * SAMPLE_PARTIAL_WORDS as u64 * 4,
            result,
            readback: vec![result + (2 * l * k + 1 + max_keys) * 4; STEPS_AHEAD],
            logits_readback: logits,
        }
    }

    /// The buffers the kernels bind whole as storage, by label: each must fit one storage binding.
    fn bound(&self) -> [(&'static str, u64); 18] {
        [
            ("tokens", self.tokens),
            ("residual", self.h),
            ("normed", self.xn),
            ("q", self.q),
            ("k", self.k),
            ("v", self.v),
            ("attention_out", self.attn),
            ("attention_partials", self.attn_partials),
            ("attention_probe", self.attn_probe),
            ("router_logits", self.router),
            ("chosen_experts", self.chosen),
            ("routing_weights", self.route_weights),
            ("expert_act", self.act),
            ("expert_out", self.down),
            ("expert_groups", self.groups),
            ("logits", self.logits),
            ("sample_partials", self.partials),
            ("sample_result", self.result),
        ]
    }

    fn allocate(&self, a: &mut Allocator) -> Result<Activations<wgpu::Buffer>> {
        let [tokens, h, xn, q, k, v, attn, attn_partials, attn_probe, router, chosen, route_weights, act, down, groups, logits, partials, result] =
            self.bound().map(|(label, bytes)| a.activation(label, bytes));
        Ok(Activations {
            step: a.uniform("step", self.step)?,
            tokens: tokens?,
            h: h?,
            xn: xn?,
            q: q?,
            k: k?,
            v: v?,
            attn: attn?,
            attn_partials: attn_partials?,
            attn_probe: attn_probe?,
            router: router?,
            chosen: chosen?,
            route_weights: route_weights?,
            act: act?,
            down: down?,
            groups: groups?,
            logits: logits?,
            partials: partials?,
            result: result?,
            readback: (self.readback.iter().enumerate())
                .map(|(i, &bytes)| a.readback(&format!("readback.{i}"), bytes))
                .collect::<Result<_>>()?,
            logits_readback: a.readback("logits_readback", self.logits_readback)?,
        })
    }

    /// Bytes the activations take once allocated.
    pub fn total(&self) -> u64 {
        [
            self.step,
            self.tokens,
            self.h,
            self.xn,
            self.q,
            self.k,
            self.v,
            self.attn,
            self.attn_partials,
            self.attn_probe,
            self.router,
            self.chosen,
            self.route_weights,
            self.act,
            self.down,
            self.groups,
            self.logits,
            self.partials,
            self.result,
            self.logits_readback,
        ]
        .into_iter()
        .chain(self.readback.iter().copied())
        .map(allocated_bytes)
        .sum()
    }
}

/// How one planned tensor is resident.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorBuffers {
    /// A matrix in row ranges of `rows_per_part` rows (each fits one binding), uploaded in pieces of `piece_rows`
    /// (about 8 MiB of file bytes, a multiple of 4 rows so scale writes stay word-aligned; never straddling parts).
    Matrix { layout: MatrixLayout, piece_rows: u64, rows_per_part: u64 },
    /// One expert stack of a layer (`layout` is one expert's matrix), uploaded expert by expert into the layer's
    /// pools.
    Experts { layer: usize, part: ExpertPart, layout: MatrixLayout, experts: u64 },
    /// Norms, biases, sinks: `values` f32s, converted on the CPU.
    Vector { values: u64 },
}

impl TensorBuffers {
    /// (first row, rows) of each part of a matrix.
    pub fn matrix_parts(layout: &MatrixLayout, rows_per_part: u64) -> Vec<(u64, u64)> {
        (0..layout.rows.div_ceil(rows_per_part))
            .map(|p| (p * rows_per_part, rows_per_part.min(layout.rows - p * rows_per_part)))
            .collect()
    }

    fn bytes(&self) -> u64 {
        match self {
            TensorBuffers::Matrix { layout, rows_per_part, .. } => Self::matrix_parts(layout, *rows_per_part)
                .into_iter()
                .map(|(_, rows)| allocated_bytes(MatrixLayout { rows, ..*layout }.bytes()))
                .sum(),
            TensorBuffers::Experts { .. } => 0,
            TensorBuffers::Vector { values } => allocated_bytes(values * 4),
        }
    }

    /// The most GGUF bytes one upload of this tensor carries (vectors are converted on the CPU, not uploaded raw).
    fn upload_piece_bytes(&self) -> u64 {
        match self {
            TensorBuffers::Matrix { layout, piece_rows, .. } => piece_rows * layout.source_row_bytes() as u64,
            TensorBuffers::Experts { layout, .. } => layout.rows * layout.source_row_bytes() as u64,
            TensorBuffers::Vector { .. } => 0,
        }
    }
}

/// One layer's expert pools: slots of one expert's gate, up and down matrices each, `slots_per_pool` to a pool so a
/// pool fits one binding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolSizes {
    pub gate: MatrixLayout,
    pub down: MatrixLayout,
    /// Slots in all pools: every expert, or fewer when paging.
    pub slots: u64,
    pub slots_per_pool: u64,
}

impl PoolSizes {
    pub fn slot_bytes(&self) -> u64 {
        (2 * self.gate.words() + self.down.words()) * 4
    }

    /// Slots in each pool.
    pub fn pools(&self) -> Vec<u64> {
        (0..self.slots.div_ceil(self.slots_per_pool))
            .map(|p| self.slots_per_pool.min(self.slots - p * self.slots_per_pool))
            .collect()
    }

    fn bytes(&self) -> u64 {
        self.pools().into_iter().map(|slots| allocated_bytes(slots * self.slot_bytes())).sum()
    }
}

/// Every buffer of a model on the GPU, sized.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferSizes {
    pub kv: KvStorage,
    /// Per layer: positions its KV cache holds. Full layers hold the context; sliding layers a ring of
    /// window + batch − 1, so a prefill batch never overwrites keys an earlier query of the same batch still needs.
    pub kv_capacity: Vec<u64>,
    /// Per layer: its KV cache, K for every position then V.
    pub kv_bytes: Vec<u64>,
    /// Key splits of attention's partials: enough for the longest layer (a window may start mid-split, hence one
    /// more), for a batch and for one token.
    pub attention_splits: AttentionSplits,
    /// Keys one query sees at most, in any layer.
    pub max_keys: u64,
    /// Sampler workgroups over the vocabulary.
    pub sample_groups: u64,
    pub activations: Activations<u64>,
    /// Per planned tensor, in plan order.
    pub tensors: Vec<(String, TensorBuffers)>,
    /// Per layer.
    pub pools: Vec<PoolSizes>,
    /// (layer, expert) → pool << 16 | slot.
    pub location_table: u64,
    /// RoPE frequencies, one table for full and one for sliding layers.
    pub rope_table: u64,
    /// The paging step's routing readback, when the expert budget pages.
    pub paging_readback: Option<u64>,
    /// The largest piece of GGUF rows uploaded at once (a dense matrix's piece, or one expert's part), which the
    /// weight upload's staging buffer holds.
    pub upload_piece: u64,
}

impl BufferSizes {
    /// Size everything for `plan` under `options`, with weight bindings of at most `weight_limit` bytes (see
    /// [`weight_limit`]). Errors name the tensor or layer that cannot fit.
    pub fn new(
        c: &GptOssConfig,
        plan: &TensorPlan,
        options: &GpuOptions,
        kv: KvStorage,
        weight_limit: u64,
    ) -> Result<BufferSizes> {
        if c.n_vocab as u64 > SAMPLE_MAX_VOCAB {
            return Err(Error::Gpu(format!(
                "the vocabulary of {} ids is over the GPU sampler's limit of {SAMPLE_MAX_VOCAB} (sample.wgsl merges \
                 at most {SAMPLE_ENTRIES} candidates per thread)",
                c.n_vocab
            )));
        }
        let (ctx, batch) = (options.context as u64, options.max_batch as u64);
        let window = c.sliding_window as u64;
        let kv_capacity: Vec<u64> =
            (0..c.n_layer).map(|il| if c.is_sliding(il) { ctx.min(window + batch - 1) } else { ctx }).collect();
        let kv_width = (c.n_head_kv * c.head_dim) as u64;
        let kv_bytes = kv_capacity.iter().map(|cap| (2 * cap * kv_width * kv.bytes()).next_multiple_of(4)).collect();
        let max_keys = (0..c.n_layer).map(|il| if c.is_sliding(il) { ctx.min(window) } else { ctx }).max().unwrap_or(1);
        let attention_splits = AttentionSplits::new(kv_capacity.iter().max().copied().unwrap_or(1) as u32);
        let sample_groups = (c.n_vocab as u64).div_ceil((SAMPLE_THREADS * SAMPLE_LOGITS_PER_THREAD) as u64);
        let tensors = plan
            .tensors
            .iter()
            .map(|t| Ok((t.info.name.clone(), tensor_buffers(t, weight_limit)?)))
            .collect::<Result<Vec<_>>>()?;
        let pools =
            (0..c.n_layer).map(|il| pool_sizes(c, plan, options, il, weight_limit)).collect::<Result<Vec<_>>>()?;
        let pages = pools.iter().any(|p| p.slots < c.n_expert as u64);
        let upload_piece = tensors.iter().map(|(_, t)| t.upload_piece_bytes()).max().unwrap_or(0);
        Ok(BufferSizes {
            kv,
            kv_capacity,
            kv_bytes,
            attention_splits,
            max_keys,
            sample_groups,
            activations: Activations::new(c, options, attention_splits, max_keys, sample_groups),
            tensors,
            pools,
            location_table: (c.n_layer * c.n_expert * 4) as u64,
            rope_table: (c.rope.n_dims / 2 * 4) as u64,
            paging_readback: pages.then_some(c.n_expert_used as u64 * 4),
            upload_piece,
        })
    }

    /// Resident weights: dense tensors and expert pools.
    pub fn weight_bytes(&self) -> u64 {
        self.tensors.iter().map(|(_, t)| t.bytes()).sum::<u64>() + self.pools.iter().map(PoolSizes::bytes).sum::<u64>()
    }

    pub fn kv_cache_bytes(&self) -> u64 {
        self.kv_bytes.iter().copied().map(allocated_bytes).sum()
    }

    /// Activations and the small tables: everything but weights and the KV cache.
    pub fn working_bytes(&self) -> u64 {
        self.activations.total()
            + allocated_bytes(self.location_table)
            + 2 * allocated_bytes(self.rope_table)
            + self.paging_readback.map_or(0, allocated_bytes)
            + allocated_bytes(upload_raw_bytes(self.upload_piece))
            + allocated_bytes(std::mem::size_of::<RepackParams>() as u64)
    }

    /// Every byte the model allocates.
    pub fn total(&self) -> u64 {
        self.weight_bytes() + self.kv_cache_bytes() + self.working_bytes()
    }

    /// What cannot be allocated within a storage binding of `binding` bytes (the adapter's, [`binding_limit`]): a
    /// layer's KV cache, or an activation buffer. Checked before a byte of weights is fetched, so a context the
    /// adapter cannot hold is refused at once, naming the buffer and the limit. (Weights and expert slots are split
    /// or refused by [`BufferSizes::new`] itself.)
    pub fn over_limits(&self, binding: u64) -> Vec<String> {
        let mut problems = Vec::new();
        let kv_over: Vec<usize> = (0..self.kv_bytes.len()).filter(|&il| self.kv_bytes[il] > binding).collect();
        if let Some(&il) = kv_over.first() {
            problems.push(format!(
                "the KV cache of layer {il} needs {} bytes ({} of {} layers are over), over the storage binding \
                 limit of {binding} bytes: lower the context",
                self.kv_bytes[il],
                kv_over.len(),
                self.kv_bytes.len()
            ));
        }
        for (label, bytes) in self.activations.bound() {
            if bytes > binding {
                problems.push(format!(
                    "activation buffer `{label}` needs {bytes} bytes, over the storage binding limit of {binding} bytes"
                ));
            }
        }
        problems
    }

    /// Allocate the activations.
    pub(super) fn allocate_activations(&self, a: &mut Allocator) -> Result<Activations<wgpu::Buffer>> {
        self.activations.allocate(a)
    }
}

fn tensor_buffers(t: &crate::model::config::PlannedTensor, limit: u64) -> Result<TensorBuffers> {
    let name = &t.info.name;
    let dims = &t.info.dims;
    if name.ends_with("_exps.weight") {
        let part = ExpertPart::of(name)?;
        let layer = layer_of(name)?;
        let layout = MatrixLayout::new(t.format, dims[1], dims[0], name)?;
        let experts = dims.get(2).copied().unwrap_or(1);
        return Ok(TensorBuffers::Experts { layer, part, layout, experts });
    }
    if dims.len() < 2 || dims[1] <= 1 || name.ends_with("_exps.bias") {
        return Ok(TensorBuffers::Vector { values: t.info.n_elements() });
    }
    let rows = dims[1..].iter().product::<u64>();
    let layout = MatrixLayout::new(t.format, rows, dims[0], name)?;
    // Upload pieces of whole rows (a multiple of 4, for word-aligned scales) that fit one binding.
    let fit = limit / layout.gpu_row_bytes().max(1);
    let rows_in_8mib = ((8u64 << 20) / layout.source_row_bytes().max(1) as u64) / 4 * 4;
    let piece_rows = rows_in_8mib.clamp(4, rows.max(4)).min(fit / 4 * 4);
    if piece_rows == 0 {
        return Err(Error::Gpu(format!(
            "tensor `{name}`: 4 rows of {} bytes exceed the storage binding limit of {limit} bytes",
            layout.gpu_row_bytes()
        )));
    }
    // Whole pieces per part, so no upload piece straddles two buffers.
    let rows_per_part = if fit >= rows { rows } else { fit / piece_rows * piece_rows };
    Ok(TensorBuffers::Matrix { layout, piece_rows, rows_per_part })
}

fn pool_sizes(c: &GptOssConfig, plan: &TensorPlan, o: &GpuOptions, il: usize, limit: u64) -> Result<PoolSizes> {
    let gate_name = layer_tensor(il, "ffn_gate_exps.weight");
    let gate_t = plan.get(&gate_name)?;
    let up_t = plan.get(&layer_tensor(il, "ffn_up_exps.weight"))?;
    let down_t = plan.get(&layer_tensor(il, "ffn_down_exps.weight"))?;
    if gate_t.format != up_t.format || gate_t.format != down_t.format {
        return Err(Error::Gpu(format!("layer {il}: gate/up/down experts differ in format")));
    }
    let gate = MatrixLayout::new(gate_t.format, c.n_ff_expert as u64, c.n_embd as u64, &gate_name)?;
    let down = MatrixLayout::new(down_t.format, c.n_embd as u64, c.n_ff_expert as u64, &down_t.info.name)?;
    let mut pools = PoolSizes { gate, down, slots: 0, slots_per_pool: 0 };
    let slot_bytes = pools.slot_bytes();
    pools.slots = o.expert_budget.slots(c.n_expert, c.n_expert_used, c.n_layer, slot_bytes)? as u64;
    pools.slots_per_pool = (limit / slot_bytes).min(pools.slots);
    if pools.slots_per_pool == 0 {
        return Err(Error::Gpu(format!(
            "one expert of layer {il} needs {slot_bytes} bytes, over the storage binding limit of {limit} bytes"
        )));
    }
    Ok(pools)
}

/// The layer number in a `blk.N.…` tensor name.
pub fn layer_of(name: &str) -> Result<usize> {
    name.strip_prefix("blk.")
        .and_then(|r| r.split('.').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Error::Model(format!("tensor `{name}` has no layer number")))
}

/// Creates, counts and reports every buffer of a model.
pub(super) struct Allocator {
    ctx: Rc<GpuContext>,
    /// Allocations not yet reported (the sink is not held, so the same sink can also take fetch events).
    pending: Vec<Event>,
    count: u32,
    bytes: u64,
}

impl Allocator {
    pub fn new(ctx: Rc<GpuContext>) -> Self {
        Allocator { ctx, pending: Vec::new(), count: 0, bytes: 0 }
    }

    /// Bytes allocated so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The error for an out-of-memory error scope that caught `e` while `what` was allocated.
    pub fn out_of_memory(&self, what: &str, e: wgpu::Error) -> Error {
        Error::Gpu(format!(
            "the GPU is out of memory: allocating {what} failed ({} buffers, {} bytes asked for so far; WebGPU \
             cannot report free memory): {e}. Lower the context or the expert budget, or close other GPU work",
            self.count, self.bytes
        ))
    }

    /// Queue an event behind the allocations reported so far.
    pub fn report(&mut self, event: Event) {
        self.pending.push(event);
    }

    pub fn flush(&mut self, events: &mut dyn EventSink) {
        for e in self.pending.drain(..) {
            events.emit(e);
        }
    }

    fn create(&mut self, label: &str, bytes: u64, usage: wgpu::BufferUsages) -> Result<wgpu::Buffer> {
        let limit = self.ctx.report.max_buffer_size;
        if bytes > limit {
            return Err(Error::Gpu(format!("buffer `{label}` needs {bytes} bytes, over maxBufferSize {limit}")));
        }
        let buffer = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: allocated_bytes(bytes),
            usage,
            mapped_at_creation: false,
        });
        self.bytes += buffer.size();
        self.pending.push(Event::GpuBufferAllocated {
            label: label.to_string(),
            bytes: buffer.size(),
            buffer_index: self.count,
            total_gpu_bytes: self.bytes,
        });
        self.count += 1;
        Ok(buffer)
    }

    /// A weight buffer, written by uploads.
    pub fn weight(&mut self, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
        self.create(label, bytes, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST)
    }

    /// A small table the kernels read, written now.
    pub fn table(&mut self, label: &str, contents: &[u8]) -> Result<wgpu::Buffer> {
        let buffer = self.weight(label, contents.len() as u64)?;
        self.ctx.queue.write_buffer(&buffer, 0, contents);
        Ok(buffer)
    }

    /// A buffer the kernels write, bound whole: it must fit one storage binding.
    pub fn activation(&mut self, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
        let limit = adapter_binding_limit(&self.ctx.report);
        if bytes > limit {
            return Err(Error::Gpu(format!(
                "activation buffer `{label}` needs {bytes} bytes, over the storage binding limit of {limit}; lower the batch size"
            )));
        }
        let usage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST;
        self.create(label, bytes, usage)
    }

    pub fn uniform(&mut self, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
        self.create(label, bytes, wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST)
    }

    /// A buffer the host maps to read results.
    pub fn readback(&mut self, label: &str, bytes: u64) -> Result<wgpu::Buffer> {
        self.create(label, bytes, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST)
    }
}
