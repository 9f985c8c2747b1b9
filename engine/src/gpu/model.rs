//! gpt-oss resident on the GPU: [`GpuModel`] runs steps of the recorded plan (one submission, one small readback
//! per token), reads full logits for checks, and pages experts in between layers when they do not all fit.

use std::rc::Rc;

use web_time::Instant;

use super::buffers::{Activations, Allocator, BufferSizes};
use super::forward::{self, KvCache, Recording, RopeTable, Tables};
use super::kernels::AttentionTiling;
use super::loader::GpuWeights;
use super::paging::{ExpertCache, ExpertFileRange, Paging, PagingStats, NOT_RESIDENT};
use super::params::{SampleResult, StepUniform};
use super::plan::{Dispatch, Plan};
use super::shaders::KvStorage;
use super::weights::WeightUpload;
use super::{GpuContext, GpuOptions};
use crate::events::{AttentionRow, Event};
use crate::gguf::StreamTimes;
use crate::model::{rope_frequencies, GptOssConfig};
use crate::sampler::{SamplerConfig, TokenChoice, NO_ID};
use crate::{Error, Result};

/// Steps a generation keeps submitted ahead of the token it is handling (on a GPU with every expert resident), each
/// with its own readback buffer: the GPU has the next steps' work while the host waits out a readback's map.
pub const STEPS_AHEAD: usize = 3;

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

/// A step submitted and not yet read back ([`GpuModel::submit_ahead`]).
#[must_use = "a submitted step is received or discarded"]
pub struct Ahead {
    /// Which readback buffer it copies into.
    slot: usize,
    n_tokens: usize,
    probe_keys: Option<(usize, usize)>,
    encode_ms: f64,
    submit_ms: f64,
    submitted: Instant,
    submission: wgpu::SubmissionIndex,
    paging: Option<PagingStats>,
}

/// The host side of one step's last submission, in milliseconds: recording the pass, handing it to the queue, and
/// waiting from the submit until the readback is mapped (GPU time plus the platform's latency: in the browser,
/// also any time the thread was busy elsewhere when the map resolved).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StepTiming {
    pub encode_ms: f64,
    pub submit_ms: f64,
    pub map_wait_ms: f64,
}

/// gpt-oss resident on the GPU, with its KV cache.
pub struct GpuModel {
    pub(super) ctx: Rc<GpuContext>,
    pub(super) config: GptOssConfig,
    pub(super) options: GpuOptions,
    pub(super) sizes: BufferSizes,
    pub(super) act: Activations<wgpu::Buffer>,
    pub(super) plan: Plan,
    pub(super) weights: GpuWeights,
    /// (layer, q head) of the attention view.
    probe: Option<(usize, usize)>,
    pub(super) location: wgpu::Buffer,
    paging: Option<Paging>,
    /// Writes paged-in experts into their slots.
    pub(super) upload: WeightUpload,
    /// Where the load's time went (set by `load_model`; zero for a model pushed by hand).
    pub(super) load_times: StreamTimes,
    /// KV positions filled.
    pub(super) pos: usize,
    pub(super) steps: u32,
    gpu_bytes: u64,
    /// Bound by the plan's bind groups; held so their lifetime is the model's.
    _caches: Vec<KvCache>,
    _rope: [RopeTable; 2],
}

impl GpuModel {
    /// Allocate the activations, KV caches and tables from `sizes`, record the plan over `weights`, and set up
    /// paging when `paging_files` says where the non-resident experts are.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn build(
        ctx: Rc<GpuContext>,
        config: GptOssConfig,
        options: GpuOptions,
        sizes: BufferSizes,
        tiling: AttentionTiling,
        weights: GpuWeights,
        paging_files: Option<Vec<[ExpertFileRange; 3]>>,
        upload: WeightUpload,
        alloc: &mut Allocator,
    ) -> Result<GpuModel> {
        let c = &config;
        let act = sizes.allocate_activations(alloc)?;
        let mut caches = Vec::new();
        for (il, (&capacity, &bytes)) in sizes.kv_capacity.iter().zip(&sizes.kv_bytes).enumerate() {
            caches.push(KvCache { capacity, buffer: alloc.activation(&format!("blk.{il}.kv_cache"), bytes)? });
        }
        // Experts 0.. fill the slots at load; the rest are not resident until paged in.
        let mut location = Vec::new();
        for layer in &weights.layers {
            let pools = &layer.experts;
            for ex in 0..c.n_expert as u64 {
                location.push(if ex < pools.sizes.slots { pools.location(ex) } else { NOT_RESIDENT });
            }
        }
        let location = alloc.table("expert_location", bytemuck::cast_slice(&location))?;
        let mut rope = |label: &str, base: f32| -> Result<RopeTable> {
            let (freqs, mscale) = rope_frequencies(&c.rope, base);
            let freqs: Vec<f32> = freqs.iter().map(|&f| f as f32).collect();
            Ok(RopeTable { freqs: alloc.table(label, bytemuck::cast_slice(&freqs))?, mscale: mscale as f32 })
        };
        let rope_full = rope("rope_freqs", c.rope.freq_base)?;
        let rope_sliding = rope("rope_freqs_swa", c.rope.freq_base_swa)?;
        let tables = Tables { location, rope_full, rope_sliding };
        let recording = Recording {
            config: c,
            max_batch: options.max_batch,
            tiled_from: options.tiled_from,
            sizes: &sizes,
            tiling,
            weights: &weights,
            act: &act,
            caches: &caches,
            tables: &tables,
        };
        let plan = forward::record(ctx.clone(), recording)?;
        let paging = match (paging_files, sizes.paging_readback) {
            (Some(files), Some(bytes)) => Some(Paging {
                cache: ExpertCache::new(c.n_layer, c.n_expert, sizes.pools.first().map_or(0, |p| p.slots as usize)),
                files,
                chosen_readback: alloc.readback("chosen_readback", bytes)?,
            }),
            _ => None,
        };
        alloc.report(Event::GpuModelReady {
            gpu_bytes: alloc.bytes(),
            dispatches_per_step: (plan.forward.len() + plan.sample.len()) as u32,
            pipelines: plan.pipelines.len() as u32,
        });
        let Tables { location, rope_full, rope_sliding } = tables;
        Ok(GpuModel {
            ctx,
            config,
            options,
            sizes,
            act,
            plan,
            weights,
            probe: None,
            location,
            paging,
            upload,
            load_times: StreamTimes::default(),
            pos: 0,
            steps: 0,
            gpu_bytes: alloc.bytes(),
            _caches: caches,
            _rope: [rope_full, rope_sliding],
        })
    }

    pub fn config(&self) -> &GptOssConfig {
        &self.config
    }

    /// Where the load's time went: waiting for bytes, and uploading them.
    pub fn load_times(&self) -> StreamTimes {
        self.load_times
    }

    pub fn options(&self) -> &GpuOptions {
        &self.options
    }

    /// Every buffer the model took, sized.
    pub fn sizes(&self) -> &BufferSizes {
        &self.sizes
    }

    /// How the KV cache stores keys and values.
    pub fn kv_storage(&self) -> KvStorage {
        self.sizes.kv
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
        let runs = |d: &&Dispatch| d.probe_layer.is_none() && self.plan.runs(d, 1);
        self.plan.forward.iter().chain(&self.plan.sample).filter(runs).count()
    }

    /// Labels of the forward pass's dispatches in order (for the benchmark's per-kernel report).
    pub fn dispatch_labels(&self) -> Vec<&str> {
        self.plan.forward.iter().chain(&self.plan.sample).map(|d| d.label.as_str()).collect()
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

    /// Forget the context (a new conversation). The sampler's stream starts again, as the CPU reference's does, so
    /// one seed gives the same tokens every time.
    pub fn reset(&mut self) {
        self.pos = 0;
        self.steps = 0;
    }

    /// Keep the first `to` positions and forget the rest; returns the positions kept. A sliding-window layer's ring
    /// holds only its last `capacity` positions: when it has already overwritten keys a query at `to` would see,
    /// nothing can be kept and the whole context is run again (0).
    pub fn rewind(&mut self, to: usize) -> usize {
        let to = to.min(self.pos);
        let window = self.config.sliding_window;
        let ring_intact = (0..self.config.n_layer).filter(|&il| self.config.is_sliding(il)).all(|il| {
            let capacity = self.sizes.kv_capacity[il] as usize;
            // The ring holds positions pos − capacity .. pos; a query at `to` sees to + 1 − window .. to.
            self.pos <= capacity || to + 1 + capacity >= self.pos + window
        });
        self.pos = if ring_intact { to } else { 0 };
        self.pos
    }

    pub(super) fn check_room(&self, n: usize) -> Result<()> {
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
    pub(super) fn encode_range(
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
            let sample = if with_sample { &self.plan.sample[..] } else { &[] };
            for d in self.plan.forward[range].iter().chain(sample) {
                if d.probe_layer.is_none() || d.probe_layer == probed {
                    self.plan.record(&mut pass, d, n_tokens, self.pos, logits_rows);
                }
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
        self.write_step(Some(tokens), logits_rows, sampling);
        let end = self.plan.forward.len();
        let Some(mut paging) = self.paging.take() else {
            return Ok((self.encode_range(0..end, tokens.len(), logits_rows, sampling.is_some()), None));
        };
        let result = self.page_layers(&mut paging, tokens.len(), logits_rows).await;
        let start = self.plan.route_ends.last().copied().unwrap_or(0);
        self.paging = Some(paging);
        let stats = result?;
        Ok((self.encode_range(start..end, tokens.len(), logits_rows, sampling.is_some()), Some(stats)))
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

    /// Whether experts are paged (some are not in GPU memory).
    pub fn pages_experts(&self) -> bool {
        self.paging.is_some()
    }

    /// Expert slots per layer.
    pub fn expert_slots(&self) -> usize {
        self.sizes.pools.first().map_or(0, |p| p.slots as usize)
    }

    /// Write the step uniform for `tokens` at the next positions, and their ids; `None` is one token whose id is
    /// already on the GPU (a step submitted ahead: the previous step copied its sample in).
    pub(super) fn write_step(&self, tokens: Option<&[u32]>, logits_rows: usize, sampling: Option<&SamplerConfig>) {
        let s = sampling.copied().unwrap_or_else(SamplerConfig::greedy);
        let step = StepUniform {
            n_tokens: tokens.map_or(1, <[u32]>::len) as u32,
            pos0: self.pos as u32,
            logits_rows: logits_rows as u32,
            seed: s.seed,
            temperature: s.temperature,
            top_k: s.top_k,
            top_p: s.top_p,
            step_index: self.steps,
            probe_head: self.probe.map_or(0, |p| p.1 as u32),
            ..Default::default()
        };
        self.ctx.queue.write_buffer(&self.act.step, 0, bytemuck::bytes_of(&step));
        if let Some(tokens) = tokens {
            self.ctx.queue.write_buffer(&self.act.tokens, 0, bytemuck::cast_slice(tokens));
        }
    }

    /// Run `tokens` (a prompt chunk, or the one new token) at the next positions and sample the token after them.
    /// One submission and one small readback.
    pub async fn step(&mut self, tokens: &[u32], sampling: &SamplerConfig) -> Result<StepOutput> {
        sampling.validate()?;
        let mut paging: Option<PagingStats> = None;
        let batch = self.batch_limit();
        for chunk in tokens.chunks(batch) {
            self.check_room(chunk.len())?;
            let last = std::ptr::eq(chunk.as_ptr_range().end, tokens.as_ptr_range().end);
            let encode_started = Instant::now();
            let (encoder, stats) = self.encode_step(chunk, 1, last.then_some(sampling)).await?;
            if let Some(s) = stats {
                *paging.get_or_insert_with(PagingStats::default) += s;
            }
            if last {
                let ahead = self.submit_sampled(encoder, chunk.len(), encode_started, paging);
                return self.receive(ahead).await;
            }
            self.ctx.queue.submit([encoder.finish()]);
            self.pos += chunk.len();
        }
        Err(Error::Usage("no tokens to run".into()))
    }

    /// Submit the step after the last one, whose input is the token that step sampled — still on the GPU, so this
    /// needs no readback first: the host's wait for one token's result overlaps the GPU's work on the next (in the
    /// browser, the 1–2 ms a readback's map takes to resolve). [`receive`](Self::receive) it, or
    /// [`discard`](Self::discard) it when the token it runs turns out to end the generation. Not while paging: a
    /// paged step reads its routing back in the middle of the pass.
    pub fn submit_ahead(&mut self, sampling: &SamplerConfig) -> Result<Ahead> {
        if self.paging.is_some() {
            return Err(Error::Usage("a step cannot be submitted ahead while experts are paged".into()));
        }
        sampling.validate()?;
        self.check_room(1)?;
        let encode_started = Instant::now();
        self.write_step(None, 1, Some(sampling));
        let encoder = self.encode_range(0..self.plan.forward.len(), 1, 1, true);
        Ok(self.submit_sampled(encoder, 1, encode_started, None))
    }

    /// Take back a step submitted ahead that will not be read: its position and sampling step are forgotten (the
    /// KV it wrote past the position is overwritten by the next step).
    pub fn discard(&mut self, ahead: Ahead) {
        self.pos -= ahead.n_tokens;
        self.steps = self.steps.wrapping_sub(1);
    }

    /// Finish `encoder` (the pass of the last `n_tokens` of a step, sampler included) with the copies into the next
    /// readback buffer and of the sampled id into the next step's input, and submit it.
    fn submit_sampled(
        &mut self,
        mut encoder: wgpu::CommandEncoder,
        n_tokens: usize,
        encode_started: Instant,
        paging: Option<PagingStats>,
    ) -> Ahead {
        let probe_keys = self.probe.map(|(layer, _)| self.probe_span(layer, self.pos + n_tokens - 1));
        let slot = self.steps as usize % STEPS_AHEAD;
        self.copy_readback(&mut encoder, slot, n_tokens, probe_keys.map(|(_, n)| n));
        // SampleResult's first word is the sampled id.
        encoder.copy_buffer_to_buffer(&self.act.result, 0, &self.act.tokens, 0, 4);
        let commands = encoder.finish();
        let submit_started = Instant::now();
        let submission = self.ctx.queue.submit([commands]);
        let ms = |from: Instant, to: Instant| (to - from).as_secs_f64() * 1e3;
        let submitted = Instant::now();
        self.pos += n_tokens;
        self.steps = self.steps.wrapping_add(1);
        Ahead {
            slot,
            n_tokens,
            probe_keys,
            encode_ms: ms(encode_started, submit_started),
            submit_ms: ms(submit_started, submitted),
            submitted,
            submission,
            paging,
        }
    }

    /// Wait for a submitted step's readback and decode it.
    pub async fn receive(&mut self, ahead: Ahead) -> Result<StepOutput> {
        let bytes = self.ctx.read_buffer_after(&self.act.readback[ahead.slot], Some(ahead.submission)).await?;
        let mut step = self.decode_readback(&bytes);
        step.timing = StepTiming {
            encode_ms: ahead.encode_ms,
            submit_ms: ahead.submit_ms,
            map_wait_ms: ahead.submitted.elapsed().as_secs_f64() * 1e3,
        };
        if let (Some((layer, head)), Some((first, n))) = (self.probe, ahead.probe_keys) {
            let w: &[f32] = bytemuck::cast_slice(&bytes[self.probe_offset()..]);
            step.attention =
                Some(AttentionRow { layer, head, first_position: first, sink: w[0], weights: w[1..1 + n].to_vec() });
        }
        step.paging = ahead.paging;
        Ok(step)
    }

    /// Copy into the readback buffer: the sampler's result, the last token's routing in every layer (k ids per
    /// layer, then k weights per layer), and the attention row of `probe_keys` keys when watched.
    fn copy_readback(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        slot: usize,
        n_tokens: usize,
        probe_keys: Option<usize>,
    ) {
        let readback = &self.act.readback[slot];
        let (l, k, t_max) =
            (self.config.n_layer as u64, self.config.n_expert_used as u64, self.options.max_batch as u64);
        let result = std::mem::size_of::<SampleResult>() as u64;
        encoder.copy_buffer_to_buffer(&self.act.result, 0, readback, 0, result);
        let t = n_tokens as u64 - 1;
        for il in 0..l {
            let src = ((il * t_max + t) * k) * 4;
            encoder.copy_buffer_to_buffer(&self.act.chosen, src, readback, result + il * k * 4, k * 4);
            let dst_w = result + (l + il) * k * 4;
            encoder.copy_buffer_to_buffer(&self.act.route_weights, src, readback, dst_w, k * 4);
        }
        if let Some(n) = probe_keys {
            let dst = self.probe_offset() as u64;
            encoder.copy_buffer_to_buffer(&self.act.attn_probe, 0, readback, dst, (1 + n as u64) * 4);
        }
    }

    /// Byte offset of the attention row in the readback buffer.
    fn probe_offset(&self) -> usize {
        std::mem::size_of::<SampleResult>() + 2 * self.config.n_layer * self.config.n_expert_used * 4
    }

    /// First visible key and number of keys for a query at `pos` in `layer`.
    fn probe_span(&self, layer: usize, pos: usize) -> (usize, usize) {
        let window = self.config.sliding_window;
        let first = if self.config.is_sliding(layer) && pos + 1 > window { pos + 1 - window } else { 0 };
        (first, pos + 1 - first)
    }

    fn decode_readback(&self, bytes: &[u8]) -> StepOutput {
        let result_bytes = std::mem::size_of::<SampleResult>();
        let r: SampleResult = bytemuck::pod_read_unaligned(&bytes[..result_bytes]);
        let top = r.top_ids.into_iter().zip(r.top_probs).filter(|(id, _)| *id != NO_ID).collect();
        let (l, k) = (self.config.n_layer, self.config.n_expert_used);
        let ids: &[u32] = bytemuck::cast_slice(&bytes[result_bytes..result_bytes + l * k * 4]);
        let weights: &[f32] = bytemuck::cast_slice(&bytes[result_bytes + l * k * 4..result_bytes + 2 * l * k * 4]);
        let routes = (0..l).map(|il| (0..k).map(|j| (ids[il * k + j], weights[il * k + j])).collect()).collect();
        StepOutput {
            choice: TokenChoice { token: r.token, top, entropy: r.entropy, logsumexp: r.logsumexp },
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
