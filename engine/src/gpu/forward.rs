//! The gpt-oss forward pass on the GPU: the same sequence of named steps as `model::cpu` (§5 of gpt-oss.md), each
//! step one kernel and each block one function, commented with the CPU reference's lines. It is recorded once at
//! load into a static [`Plan`] — pipelines, bind groups and per-dispatch parameters — so a step only writes the
//! step uniform and the token ids, records the dispatches into one compute pass, and submits once.

use std::collections::HashMap;
use std::rc::Rc;

use bytemuck::bytes_of;

use super::buffers::{Activations, BufferSizes};
use super::kernels::{
    AttentionTiling, RowSplit, ELEMENT_THREADS, EXPERT_THREADS, MATVEC_THREADS, MAX_ROWS_PER_THREAD, ROPE_THREADS,
    SAMPLE_THREADS, TILE_ROWS,
};
use super::loader::{GpuLayer, GpuMatrix, GpuWeights};
use super::params::*;
use super::plan::{Batches, Dim, Plan, PlanBuilder};
use super::shaders::{Kernel, KvStorage, Variant};
use super::GpuContext;
use crate::model::GptOssConfig;
use crate::Result;

/// One layer's KV cache: `capacity` positions (a ring on sliding-window layers), K for all, then V for all.
pub(super) struct KvCache {
    pub capacity: u64,
    pub buffer: wgpu::Buffer,
}

/// One RoPE frequency table (full or sliding layers: their bases may differ) and its YaRN magnitude.
pub(super) struct RopeTable {
    pub freqs: wgpu::Buffer,
    pub mscale: f32,
}

/// What the pass reads besides the weights and activations.
pub(super) struct Tables {
    /// (layer, expert) → pool << 16 | slot, read by the expert kernels.
    pub location: wgpu::Buffer,
    pub rope_full: RopeTable,
    pub rope_sliding: RopeTable,
}

/// Everything a recording reads.
pub(super) struct Recording<'a> {
    pub config: &'a GptOssConfig,
    /// Tokens per submission at most (the batch dimension of the routing buffers).
    pub max_batch: usize,
    /// Batches from this many tokens run the tiled kernels.
    pub tiled_from: usize,
    pub sizes: &'a BufferSizes,
    pub tiling: AttentionTiling,
    pub weights: &'a GpuWeights,
    pub act: &'a Activations<wgpu::Buffer>,
    pub caches: &'a [KvCache],
    pub tables: &'a Tables,
}

/// Record the whole pass and the sampler.
pub(super) fn record(ctx: Rc<GpuContext>, r: Recording<'_>) -> Result<Plan> {
    let constants = HashMap::from([(Kernel::Attention, r.tiling.overrides())]);
    let mut f = Forward { b: PlanBuilder::new(ctx, &r.act.step, constants), r: &r, route_ends: Vec::new() };
    f.embed(&r.weights.embedding)?;
    for (il, (layer, cache)) in r.weights.layers.iter().zip(r.caches).enumerate() {
        f.attention_block(il, layer, cache)?;
        f.moe_block(il, layer)?;
    }
    f.head()?;
    let forward = std::mem::take(&mut f.b.dispatches);
    f.sampler()?;
    let sample = std::mem::take(&mut f.b.dispatches);
    Ok(Plan { pipelines: f.b.into_pipelines(), forward, sample, route_ends: f.route_ends, tiled_from: r.tiled_from })
}

struct Forward<'r, 'a> {
    b: PlanBuilder<'a>,
    r: &'r Recording<'a>,
    /// Index just past each layer's router dispatch (see [`Plan::route_ends`]).
    route_ends: Vec<usize>,
}

impl Forward<'_, '_> {
    fn kv(&self) -> KvStorage {
        self.r.sizes.kv
    }

    /// §5.1: h = token_embd[token] (get_rows; no scaling), one dispatch per row range of the table.
    fn embed(&mut self, w: &GpuMatrix) -> Result<()> {
        let (c, act) = (self.r.config, self.r.act);
        for (row0, rows, buffer) in &w.parts {
            let p = EmbedParams { row0: *row0 as u32, rows: *rows as u32, width: c.n_embd as u32, mat: 0 };
            let grid = ((c.n_embd as u32).div_ceil(ELEMENT_THREADS), Dim::Tokens, Dim::Fixed(1));
            let variant = Variant::Weights(w.layout.format);
            self.b.push("embed", Kernel::Embed, variant, bytes_of(&p), &[buffer, &act.tokens, &act.h], grid)?;
        }
        Ok(())
    }

    /// §5.2: h1 = h + attention(RMSNorm(h) ⊙ attn_norm).
    fn attention_block(&mut self, il: usize, layer: &GpuLayer, cache: &KvCache) -> Result<()> {
        let (c, act, kv) = (self.r.config, self.r.act, self.kv());
        // a = RMSNorm(h) ⊙ attn_norm
        self.norm(&format!("blk.{il}.attn_norm"), &layer.attn_norm)?;
        // q = Wq·a + bq, k = Wk·a + bk, v = Wv·a + bv
        self.project(&layer.wq, &act.xn, &act.q, Some(&layer.bq), 0)?;
        self.project(&layer.wk, &act.xn, &act.k, Some(&layer.bk), 0)?;
        self.project(&layer.wv, &act.xn, &act.v, Some(&layer.bv), 0)?;
        // RoPE on q and k (NEOX pairs (i, i + head_dim/2), YaRN), not v; k and v into the cache
        let sliding = c.is_sliding(il);
        let tables = self.r.tables;
        let rope = if sliding { &tables.rope_sliding } else { &tables.rope_full };
        let (n_head, n_head_kv, head_dim) = (c.n_head as u32, c.n_head_kv as u32, c.head_dim as u32);
        let capacity = cache.capacity as u32;
        let rp = RopeParams { n_head, n_head_kv, head_dim, capacity, mscale: rope.mscale, ..Default::default() };
        let pairs = (n_head + 2 * n_head_kv) * head_dim / 2;
        let (label, cache) = (format!("blk.{il}.rope_kv"), &cache.buffer);
        let bufs = [&rope.freqs, &act.q, &act.k, &act.v, cache];
        let grid = (pairs.div_ceil(ROPE_THREADS), Dim::Tokens, Dim::Fixed(1));
        self.b.push(&label, Kernel::RopeKv, Variant::Kv(kv), bytes_of(&rp), &bufs, grid)?;
        // s_j = (q·k_j)/√head_dim for the keys the query sees (causal; on sliding layers the last `window`),
        // GQA: q head h reads kv head h / group. Split over keys, each split's max, Σexp and Σexp·v kept.
        let window = if sliding { c.sliding_window as u32 } else { 0 };
        let scale = 1.0 / (c.head_dim as f32).sqrt();
        let splits = self.r.sizes.attention_splits;
        let (n_splits, decode_splits) = (splits.batch, splits.decode);
        let ap = AttentionParams { n_head, n_head_kv, head_dim, capacity, window, scale, n_splits, decode_splits };
        let grid = (n_head_kv * self.r.tiling.chunks, Dim::KeySplits { window }, Dim::Tokens);
        let (label, bufs) = (format!("blk.{il}.attention"), [&act.q, cache, &act.attn_partials]);
        self.b.push(&label, Kernel::Attention, Variant::Kv(kv), bytes_of(&ap), &bufs, grid)?;
        // Sink S_h in the denominator only: M = max(max_j s_j, S_h); Z = Σ_j exp(s_j − M) + exp(S_h − M);
        // o_h = Σ_j exp(s_j − M)/Z · v_j, merging the splits
        let cp = AttentionCombineParams { n_head, head_dim, window, n_splits, decode_splits, ..Default::default() };
        let (label, bufs) = (format!("blk.{il}.attention_combine"), [&act.attn_partials, &layer.sinks, &act.attn]);
        let grid = (n_head, Dim::Tokens, Dim::Fixed(1));
        self.b.push(&label, Kernel::AttentionCombine, Variant::Plain, bytes_of(&cp), &bufs, grid)?;
        // The attention view's row for this layer (recorded only while watched).
        let pp = ProbeParams { n_head, n_head_kv, head_dim, capacity, window, scale, ..Default::default() };
        let (label, bufs) = (format!("blk.{il}.attention_probe"), [&act.q, cache, &layer.sinks, &act.attn_probe]);
        let grid = (1, Dim::Fixed(1), Dim::Fixed(1));
        self.b.push(&label, Kernel::AttentionProbe, Variant::Kv(kv), bytes_of(&pp), &bufs, grid)?;
        if let Some(d) = self.b.dispatches.last_mut() {
            d.probe_layer = Some(il);
        }
        // h1 = h + (Wo·o + bo)
        self.project(&layer.wo, &act.attn, &act.h, Some(&layer.bo), ACCUMULATE)
    }

    /// §5.5: h = h1 + moe(RMSNorm(h1) ⊙ post_attention_norm).
    fn moe_block(&mut self, il: usize, layer: &GpuLayer) -> Result<()> {
        let (c, act) = (self.r.config, self.r.act);
        let (k, layer_index, max_tokens) = (c.n_expert_used as u32, il as u32, self.r.max_batch as u32);
        // m = RMSNorm(h1) ⊙ post_attention_norm (the pre-MoE norm)
        self.norm(&format!("blk.{il}.post_attention_norm"), &layer.post_attention_norm)?;
        // r = W_gate_inp·m + b_gate_inp, by mat-vecs in any batch: its 32 rows fill half a tile, and on an H200 a
        // 256-token batch took 4.5 ms tiled against 0.4 ms per token (BENCHMARKS.md "Prefill by tiles")
        self.matvec(&layer.router, &act.xn, &act.router, Some(&layer.router_bias), 0)?;
        // select = top-k of the raw logits (no softmax before selecting); weights = softmax over the k selected
        let route = RouteParams { n_expert: c.n_expert as u32, k, layer: layer_index, max_tokens };
        let (label, bufs) = (format!("blk.{il}.moe_route"), [&act.router, &act.chosen, &act.route_weights]);
        self.b.push(
            &label,
            Kernel::MoeRoute,
            Variant::Plain,
            bytes_of(&route),
            &bufs,
            (1, Dim::Tokens, Dim::Fixed(1)),
        )?;
        self.route_ends.push(self.b.dispatches.len());
        // A batch from `tiled_from` tokens: the pairs grouped by expert, each expert's cut into tiles of tokens
        let (label, bufs) = (format!("blk.{il}.moe_group"), [&act.chosen, &act.groups]);
        self.b.batches = Batches::Tiled;
        self.b.push(
            &label,
            Kernel::MoeGroup,
            Variant::Plain,
            bytes_of(&route),
            &bufs,
            (1, Dim::Fixed(1), Dim::Fixed(1)),
        )?;
        // Per chosen expert e, one dispatch per pool, per pair or per tile of pairs:
        // g = W_gate[e]·m + b_gate[e]; u = W_up[e]·m + b_up[e]; act = min(g,7)·σ(1.702·min(g,7))·(clamp(u,±7) + 1)
        // y_e = W_down[e]·act + b_down[e]  (bias added before the routing weight)
        let pools = &layer.experts;
        let (gate, down) = (pools.sizes.gate, pools.sizes.down);
        let tables = self.r.tables;
        let location = &tables.location;
        let tiles = Dim::ExpertTiles { k, n_expert: c.n_expert as u32 };
        for (p, pool) in pools.pools.iter().enumerate() {
            let gp = ExpertParams {
                rows: gate.rows as u32,
                blocks: gate.blocks as u32,
                pool: p as u32,
                slot_words: pools.slot_words() as u32,
                second: gate.words() as u32,
                n_expert: c.n_expert as u32,
                k,
                layer: layer_index,
                max_tokens,
                x_stride: (c.n_embd / 4) as u32,
                ..Default::default()
            };
            let (second, x_stride) = (2 * gate.words() as u32, (c.n_ff_expert / 4) as u32);
            let dp = ExpertParams { rows: down.rows as u32, blocks: down.blocks as u32, second, x_stride, ..gp };
            // The per-token kernels read the routing at binding 5, the tiled ones the groups.
            let gate_bufs = |routing| [pool, &act.xn, &act.act, routing, location, &layer.gate_bias, &layer.up_bias];
            let down_bufs = |routing| [pool, &act.act, &act.down, routing, location, &layer.down_bias];
            let (gate_variant, down_variant) = (Variant::Weights(gate.format), Variant::Weights(down.format));

            self.b.batches = Batches::PerToken;
            let label = format!("blk.{il}.moe_gate_up[pool {p}]");
            let split = RowSplit::of(&gate, gate.rows, k, EXPERT_THREADS, MAX_ROWS_PER_THREAD);
            let grid = (split.groups(gate.rows as u32, EXPERT_THREADS), Dim::Fixed(k), Dim::Tokens);
            let specialise = split.overrides();
            self.b.push_specialised(
                &label,
                Kernel::MoeGateUp,
                gate_variant,
                &specialise,
                bytes_of(&gp),
                &gate_bufs(&act.chosen),
                grid,
            )?;
            let label = format!("blk.{il}.moe_down[pool {p}]");
            let split = RowSplit::of(&down, down.rows, k, EXPERT_THREADS, MAX_ROWS_PER_THREAD);
            let grid = (split.groups(down.rows as u32, EXPERT_THREADS), Dim::Fixed(k), Dim::Tokens);
            let specialise = split.overrides();
            self.b.push_specialised(
                &label,
                Kernel::MoeDown,
                down_variant,
                &specialise,
                bytes_of(&dp),
                &down_bufs(&act.chosen),
                grid,
            )?;

            self.b.batches = Batches::Tiled;
            let label = format!("blk.{il}.moe_gate_up_tiles[pool {p}]");
            let grid = ((gate.rows as u32).div_ceil(TILE_ROWS / 2), tiles, Dim::Fixed(1));
            self.b.push(&label, Kernel::MoeGateUpTiles, gate_variant, bytes_of(&gp), &gate_bufs(&act.groups), grid)?;
            let label = format!("blk.{il}.moe_down_tiles[pool {p}]");
            let grid = ((down.rows as u32).div_ceil(TILE_ROWS), tiles, Dim::Fixed(1));
            self.b.push(&label, Kernel::MoeDownTiles, down_variant, bytes_of(&dp), &down_bufs(&act.groups), grid)?;
        }
        self.b.batches = Batches::All;
        // h = h1 + Σ_k w_k·y_{e_k}, summed over the slots in order
        let cp = MoeCombineParams { width: c.n_embd as u32, k, layer: layer_index, max_tokens };
        let (label, bufs) = (format!("blk.{il}.moe_combine"), [&act.down, &act.route_weights, &act.h]);
        let grid = ((c.n_embd as u32).div_ceil(ELEMENT_THREADS), Dim::Tokens, Dim::Fixed(1));
        self.b.push(&label, Kernel::MoeCombine, Variant::Plain, bytes_of(&cp), &bufs, grid)
    }

    /// §5.3: logits = W_output·(RMSNorm(h) ⊙ output_norm), for the batch's trailing logit rows (no softcap, no
    /// bias, not tied to the embedding).
    fn head(&mut self) -> Result<()> {
        let (w, act) = (self.r.weights, self.r.act);
        self.norm("output_norm", &w.output_norm)?;
        self.matvec(&w.output, &act.xn, &act.logits, None, LAST_TOKENS)
    }

    /// The next token from the last logit row: greedy, Gumbel-max temperature sampling, or top-k / top-p over the
    /// candidates; with the top-5, entropy and log-sum-exp. Two passes: per-slice partials, then one merge.
    fn sampler(&mut self) -> Result<()> {
        let (c, act, sizes) = (self.r.config, self.r.act, self.r.sizes);
        let groups = sizes.sample_groups as u32;
        let per_thread = (c.n_vocab as u32).div_ceil(groups * SAMPLE_THREADS);
        let sp = SampleParams { vocab: c.n_vocab as u32, groups, per_thread, _pad0: 0 };
        let (params, one) = (bytes_of(&sp), Dim::Fixed(1));
        let bindings = [(2, &act.logits), (3, &act.partials)];
        self.b.push_entry(
            "sample.partials",
            Kernel::Sample,
            Variant::Plain,
            "partials_main",
            &[],
            params,
            &bindings,
            (groups, one, one),
        )?;
        let bindings = [(3, &act.partials), (4, &act.result)];
        self.b.push_entry(
            "sample.finalize",
            Kernel::Sample,
            Variant::Plain,
            "finalize_main",
            &[],
            params,
            &bindings,
            (1, one, one),
        )
    }

    /// RMSNorm(h) ⊙ w into the normed buffer, one workgroup per token.
    fn norm(&mut self, label: &str, w: &wgpu::Buffer) -> Result<()> {
        let (c, act) = (self.r.config, self.r.act);
        let p = NormParams { width: c.n_embd as u32, eps: c.rms_eps, ..Default::default() };
        let grid = (1, Dim::Tokens, Dim::Fixed(1));
        self.b.push(label, Kernel::RmsNorm, Variant::Plain, bytes_of(&p), &[&act.h, w, &act.xn], grid)
    }

    /// y = W·x (+ bias) for every token of the batch: per token (matvec.wgsl) below `tiled_from` tokens, in
    /// tiles (matmul.wgsl) from there.
    fn project(
        &mut self,
        w: &GpuMatrix,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        bias: Option<&wgpu::Buffer>,
        flags: u32,
    ) -> Result<()> {
        self.b.batches = Batches::PerToken;
        self.matvec(w, x, y, bias, flags)?;
        self.b.batches = Batches::Tiled;
        for (row0, rows, buffer) in &w.parts {
            let p = projection_params(w, *row0, *rows, bias.is_some(), flags);
            let b = bias.unwrap_or(buffer);
            let grid = ((*rows as u32).div_ceil(TILE_ROWS), Dim::BatchTiles, Dim::Fixed(1));
            let variant = Variant::Weights(w.layout.format);
            self.b.push(&w.name, Kernel::Matmul, variant, bytes_of(&p), &[buffer, x, y, b], grid)?;
        }
        self.b.batches = Batches::All;
        Ok(())
    }

    /// y = W·x (+ bias) by mat-vecs, one dispatch per row range of W.
    fn matvec(
        &mut self,
        w: &GpuMatrix,
        x: &wgpu::Buffer,
        y: &wgpu::Buffer,
        bias: Option<&wgpu::Buffer>,
        flags: u32,
    ) -> Result<()> {
        for (row0, rows, buffer) in &w.parts {
            let split = RowSplit::of(&w.layout, *rows, 1, MATVEC_THREADS, 1);
            let specialise = split.lanes_override();
            let p = projection_params(w, *row0, *rows, bias.is_some(), flags);
            // Without a bias, W stands in for B: the kernel never reads it (flag off), but the binding must exist.
            let b = bias.unwrap_or(buffer);
            let tokens = if flags & LAST_TOKENS != 0 { Dim::LogitRowTiles } else { Dim::TokenTiles };
            let grid = (split.groups(*rows as u32, MATVEC_THREADS), tokens, Dim::Fixed(1));
            let variant = Variant::Weights(w.layout.format);
            self.b.push_specialised(
                &w.name,
                Kernel::Matvec,
                variant,
                &specialise,
                bytes_of(&p),
                &[buffer, x, y, b],
                grid,
            )?;
        }
        Ok(())
    }
}

/// projection.wgsl's parameters for rows `row0 .. row0 + rows` of `w` (one binding's row range).
fn projection_params(w: &GpuMatrix, row0: u64, rows: u64, bias: bool, flags: u32) -> MatvecParams {
    MatvecParams {
        rows: rows as u32,
        blocks: w.layout.blocks as u32,
        mat: 0,
        x_stride: (w.layout.blocks * 8) as u32,
        y_stride: w.layout.rows as u32,
        y_offset: row0 as u32,
        flags: flags | if bias { ADD_BIAS } else { 0 },
        _pad0: 0,
    }
}
