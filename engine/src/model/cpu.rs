//! gpt-oss forward pass on the CPU: the reference the GPU path is tested against.
//!
//! Plain f32, one token at a time, written to be read next to `gpt-oss.md` §5 (llama.cpp's graph in
//! `src/models/openai-moe.cpp`, `build_moe_ffn` and `build_attn_mha` in `src/llama-graph.cpp`). Weights stay in their
//! file encoding and are decoded row by row inside each mat-vec; only norms, biases and sinks are expanded to f32.
//! The KV cache lives in [`CpuState`], apart from the weights, so one model can serve several sequences.

use super::config::{layer_tensor, GptOssConfig, RopeConfig, TensorPlan};
use crate::events::NoEvents;
use crate::gguf::{GgufModel, StreamOptions, TensorInfo};
use crate::quant::{dequantize_row, dot_row, BlockFormat};
use crate::{Error, Result};

/// SwiGLU-OAI constants, fixed in llama.cpp's `build_moe_ffn` (`LLM_FFN_SWIGLU_OAI_MOE`).
const SWIGLU_ALPHA: f32 = 1.702;
const SWIGLU_LIMIT: f32 = 7.0;

/// The model's weights, ready to run.
pub struct CpuModel {
    config: GptOssConfig,
    token_embd: Matrix,
    layers: Vec<Layer>,
    output_norm: Vec<f32>,
    output: Matrix,
    /// RoPE for full-attention layers and for sliding-window layers (their bases may differ).
    rope_full: Rope,
    rope_sliding: Rope,
}

struct Layer {
    attn_norm: Vec<f32>,
    wq: Matrix,
    bq: Vec<f32>,
    wk: Matrix,
    bk: Vec<f32>,
    wv: Matrix,
    bv: Vec<f32>,
    wo: Matrix,
    bo: Vec<f32>,
    /// One learned logit per q head.
    sinks: Vec<f32>,
    post_attention_norm: Vec<f32>,
    router: Matrix,
    router_bias: Vec<f32>,
    /// Expert stacks (expert e is matrix e) and their biases (row e is expert e's).
    gate_exps: Matrix,
    gate_bias: Vec<f32>,
    up_exps: Matrix,
    up_bias: Vec<f32>,
    down_exps: Matrix,
    down_bias: Vec<f32>,
}

/// Per-sequence state: the KV cache (f32) and what the last token's router chose in each layer.
pub struct CpuState {
    kv: Vec<KvCache>,
    /// Positions held in the cache: 0..len.
    len: usize,
    routing: Vec<Vec<ExpertChoice>>,
}

/// One layer's cached keys and values, position-major: position j, kv head g starts at `(j·n_head_kv + g)·dim`.
struct KvCache {
    k: Vec<f32>,
    v: Vec<f32>,
}

/// One routed expert of one token in one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpertChoice {
    pub expert: usize,
    /// Its weight after the softmax over the chosen experts.
    pub weight: f32,
}

impl CpuState {
    /// Positions in the KV cache.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keep positions 0..`to` (all of them when `to` is past the end).
    pub fn rewind(&mut self, to: usize) {
        if to >= self.len {
            return;
        }
        for cache in &mut self.kv {
            let (k_width, v_width) = (cache.k.len() / self.len, cache.v.len() / self.len);
            cache.k.truncate(to * k_width);
            cache.v.truncate(to * v_width);
        }
        self.len = to;
    }

    /// The experts the last forwarded token was routed to, per layer, in router order (highest logit first).
    pub fn routing(&self) -> &[Vec<ExpertChoice>] {
        &self.routing
    }
}

impl CpuModel {
    /// The model of an opened GGUF, its weights read with the same batched range reads as a GPU load.
    pub async fn from_gguf(model: &GgufModel) -> Result<CpuModel> {
        let (config, plan) = super::plan_of(model)?;
        let needed: std::collections::HashSet<&str> = plan.tensors.iter().map(|t| t.info.name.as_str()).collect();
        let mut bytes: std::collections::HashMap<String, Vec<u8>> = std::collections::HashMap::new();
        model
            .stream_tensors(
                |t| needed.contains(t.name.as_str()),
                StreamOptions::default(),
                |chunk| {
                    bytes.entry(chunk.tensor.name.clone()).or_default().extend_from_slice(chunk.data);
                    Ok(())
                },
                &mut NoEvents,
            )
            .await?;
        CpuModel::load(&config, &plan, |info| {
            bytes.remove(&info.name).ok_or_else(|| Error::Model(format!("tensor `{}` was not read", info.name)))
        })
    }

    /// Build the model from a checked plan. `fetch` returns the bytes of one tensor (`info.n_bytes` of them, from
    /// `data_offset + info.offset` of its file), so the caller decides how bytes arrive: a slice of a file in
    /// memory, a read at an offset, a range request.
    pub fn load(
        config: &GptOssConfig,
        plan: &TensorPlan,
        fetch: impl FnMut(&TensorInfo) -> Result<Vec<u8>>,
    ) -> Result<CpuModel> {
        let mut loader = Loader { plan, fetch };
        let layers = (0..config.n_layer)
            .map(|il| {
                let name = |n: &str| layer_tensor(il, n);
                Ok(Layer {
                    attn_norm: loader.vector(&name("attn_norm.weight"))?,
                    wq: loader.matrix(&name("attn_q.weight"))?,
                    bq: loader.vector(&name("attn_q.bias"))?,
                    wk: loader.matrix(&name("attn_k.weight"))?,
                    bk: loader.vector(&name("attn_k.bias"))?,
                    wv: loader.matrix(&name("attn_v.weight"))?,
                    bv: loader.vector(&name("attn_v.bias"))?,
                    wo: loader.matrix(&name("attn_output.weight"))?,
                    bo: loader.vector(&name("attn_output.bias"))?,
                    sinks: loader.vector(&name("attn_sinks.weight"))?,
                    post_attention_norm: loader.vector(&name("post_attention_norm.weight"))?,
                    router: loader.matrix(&name("ffn_gate_inp.weight"))?,
                    router_bias: loader.vector(&name("ffn_gate_inp.bias"))?,
                    gate_exps: loader.matrix(&name("ffn_gate_exps.weight"))?,
                    gate_bias: loader.vector(&name("ffn_gate_exps.bias"))?,
                    up_exps: loader.matrix(&name("ffn_up_exps.weight"))?,
                    up_bias: loader.vector(&name("ffn_up_exps.bias"))?,
                    down_exps: loader.matrix(&name("ffn_down_exps.weight"))?,
                    down_bias: loader.vector(&name("ffn_down_exps.bias"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(CpuModel {
            token_embd: loader.matrix("token_embd.weight")?,
            layers,
            output_norm: loader.vector("output_norm.weight")?,
            output: loader.matrix("output.weight")?,
            rope_full: Rope::new(&config.rope, config.rope.freq_base),
            rope_sliding: Rope::new(&config.rope, config.rope.freq_base_swa),
            config: config.clone(),
        })
    }

    pub fn config(&self) -> &GptOssConfig {
        &self.config
    }

    /// An empty sequence.
    pub fn new_state(&self) -> CpuState {
        let n = self.config.n_layer;
        CpuState {
            kv: (0..n).map(|_| KvCache { k: Vec::new(), v: Vec::new() }).collect(),
            len: 0,
            routing: vec![Vec::new(); n],
        }
    }

    /// Run one token at position `pos` and return its logits over the vocabulary. `pos` may be at most the
    /// number of cached positions; a smaller `pos` rewinds the cache to it first.
    pub fn forward(&self, state: &mut CpuState, token: u32, pos: usize) -> Result<Vec<f32>> {
        let y = self.forward_hidden(state, token, pos)?;
        // §5.3: logits = W_output·y (no softcap, no bias, not tied to the embedding)
        Ok(self.output.matvec(&y))
    }

    /// Run a whole prompt from `start_pos`, returning the logits of its last token only (the LM head, a quarter
    /// of the weights, is skipped for the others).
    pub fn prefill(&self, state: &mut CpuState, tokens: &[u32], start_pos: usize) -> Result<Vec<f32>> {
        let (&last, rest) =
            tokens.split_last().ok_or_else(|| Error::Usage("prefill needs at least one token".into()))?;
        for (i, &token) in rest.iter().enumerate() {
            self.forward_hidden(state, token, start_pos + i)?;
        }
        self.forward(state, last, start_pos + rest.len())
    }

    /// §5.1–5.3 up to the final norm: the normalised hidden state the LM head reads.
    fn forward_hidden(&self, state: &mut CpuState, token: u32, pos: usize) -> Result<Vec<f32>> {
        let c = &self.config;
        if pos > state.len {
            return Err(Error::Usage(format!("position {pos} skips ahead of the {} cached positions", state.len)));
        }
        if token as usize >= c.n_vocab {
            return Err(Error::Usage(format!("token id {token} is outside the vocabulary of {}", c.n_vocab)));
        }
        let (kv_k, kv_v) = (c.n_head_kv * c.head_dim, c.n_head_kv * c.value_dim);
        for cache in &mut state.kv {
            cache.k.truncate(pos * kv_k);
            cache.v.truncate(pos * kv_v);
        }
        state.len = pos;

        // §5.1: h = token_embd[token] (get_rows; no scaling)
        let mut h = self.token_embd.row(token as usize)?;

        for (il, layer) in self.layers.iter().enumerate() {
            let sliding = c.is_sliding(il);
            // a = RMSNorm(h) ⊙ attn_norm
            let a = rms_norm(&h, &layer.attn_norm, c.rms_eps);
            // q = Wq·a + bq, k = Wk·a + bk, v = Wv·a + bv
            let mut q = add(layer.wq.matvec(&a), &layer.bq);
            let mut k = add(layer.wk.matvec(&a), &layer.bk);
            let v = add(layer.wv.matvec(&a), &layer.bv);
            // RoPE on q and k (not v)
            let rope = if sliding { &self.rope_sliding } else { &self.rope_full };
            rope.rotate_heads(&mut q, c.head_dim, pos);
            rope.rotate_heads(&mut k, c.head_dim, pos);
            let cache = &mut state.kv[il];
            cache.k.extend_from_slice(&k);
            cache.v.extend_from_slice(&v);
            let o = attention(c, &layer.sinks, &cache.k, &cache.v, &q, pos, sliding);
            // h1 = h + (Wo·o + bo)
            add_in_place(&mut h, &add(layer.wo.matvec(&o), &layer.bo));
            // m = RMSNorm(h1) ⊙ post_attention_norm (the pre-MoE norm)
            let m = rms_norm(&h, &layer.post_attention_norm, c.rms_eps);
            let (moe_out, choices) = self.moe(layer, &m);
            // h = h1 + moe_out
            add_in_place(&mut h, &moe_out);
            state.routing[il] = choices;
        }
        state.len = pos + 1;
        // y = RMSNorm(h) ⊙ output_norm
        Ok(rms_norm(&h, &self.output_norm, c.rms_eps))
    }

    /// §5.5: route to the top-k experts and mix their SwiGLU-OAI outputs.
    fn moe(&self, layer: &Layer, m: &[f32]) -> (Vec<f32>, Vec<ExpertChoice>) {
        let c = &self.config;
        // r = W_gate_inp·m + b_gate_inp
        let r = add(layer.router.matvec(m), &layer.router_bias);
        let choices = route(&r, c.n_expert_used);

        let (n_ff, n_embd) = (c.n_ff_expert, c.n_embd);
        let mut out = vec![0f32; n_embd];
        for choice in &choices {
            let e = choice.expert;
            // g = W_gate[e]·m + b_gate[e]; u = W_up[e]·m + b_up[e]  (ggml_add_id adds expert e's bias row)
            let g = add(layer.gate_exps.matvec_of(e, m), bias_row(&layer.gate_bias, e, n_ff));
            let u = add(layer.up_exps.matvec_of(e, m), bias_row(&layer.up_bias, e, n_ff));
            let act: Vec<f32> = g.iter().zip(&u).map(|(&g, &u)| swiglu_oai(g, u)).collect();
            // y_e = W_down[e]·act + b_down[e]  (bias added before the routing weight)
            let y = add(layer.down_exps.matvec_of(e, &act), bias_row(&layer.down_bias, e, n_embd));
            // moe_out = Σ_k w_k·y_{e_k}, summed over the slots in order
            for (o, y) in out.iter_mut().zip(&y) {
                *o += choice.weight * y;
            }
        }
        (out, choices)
    }
}

/// §5.2.5: attention of one query over the cached keys 0..=pos (`keys` and `values` position-major: position j,
/// kv head g at `(j·n_head_kv + g)·dim`), with each head's sink. The GPU attention kernels' twin.
pub(crate) fn attention(
    c: &GptOssConfig,
    sinks: &[f32],
    keys: &[f32],
    values: &[f32],
    q: &[f32],
    pos: usize,
    sliding: bool,
) -> Vec<f32> {
    let (dk, dv, n_kv) = (c.head_dim, c.value_dim, c.n_head_kv);
    let group = c.n_head / n_kv;
    // s_j = (q·k_j)·1/sqrt(head_dim)
    let scale = 1.0 / (dk as f32).sqrt();
    // Causal: keys 0..=pos. Sliding (llama_hparams::is_masked_swa): masked when pos − j ≥ window, so the query
    // sees the `window` keys pos − window + 1 ..= pos, itself included.
    let first = if sliding { (pos + 1).saturating_sub(c.sliding_window) } else { 0 };
    let mut out = vec![0f32; c.n_head * dv];
    for (h, (qh, oh)) in q.chunks_exact(dk).zip(out.chunks_exact_mut(dv)).enumerate() {
        // GQA: consecutive q heads share a kv head, g = h / group (not h % n_head_kv)
        let g = h / group;
        let keys = keys.chunks_exact(dk).skip(first * n_kv + g).step_by(n_kv);
        let scores: Vec<f32> = keys.map(|kj| dot(qh, kj) * scale).collect();
        // Sink S_h: a raw logit (not scaled, not masked) in the denominator only:
        // M = max(max_j s_j, S_h); Z = Σ_j exp(s_j − M) + exp(S_h − M); w_j = exp(s_j − M)/Z
        let sink = sinks[h];
        let max = scores.iter().fold(sink, |m, &s| m.max(s));
        let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let z = exps.iter().sum::<f32>() + (sink - max).exp();
        // o_h = Σ_j w_j·v_{g,j}
        let values = values.chunks_exact(dv).skip(first * n_kv + g).step_by(n_kv);
        for (e, vj) in exps.iter().zip(values) {
            let w = e / z;
            for (o, v) in oh.iter_mut().zip(vj) {
                *o += w * v;
            }
        }
    }
    out
}

/// The router's choice from its logits `r`: the GPU `moe_route` kernel's twin.
pub(crate) fn route(r: &[f32], k: usize) -> Vec<ExpertChoice> {
    // select = top-k of the raw logits (argsort descending); no softmax before selecting
    let mut order: Vec<usize> = (0..r.len()).collect();
    order.sort_by(|&a, &b| r[b].total_cmp(&r[a]));
    order.truncate(k);
    // weights = softmax over the k selected logits (SOFTMAX_WEIGHT); no renormalisation, no scaling
    let max = order.iter().fold(f32::NEG_INFINITY, |mx, &e| mx.max(r[e]));
    let exps: Vec<f32> = order.iter().map(|&e| (r[e] - max).exp()).collect();
    let z: f32 = exps.iter().sum();
    order.iter().zip(&exps).map(|(&expert, e)| ExpertChoice { expert, weight: e / z }).collect()
}

/// SwiGLU-OAI (`ggml_compute_forward_swiglu_oai_f32`):
/// xg = min(g, 7); xu = clamp(u, −7, 7); act = xg·σ(1.702·xg)·(xu + 1).
/// The gate is clamped from above only, and the +1 applies to the clamped up.
pub(crate) fn swiglu_oai(g: f32, u: f32) -> f32 {
    let xg = g.min(SWIGLU_LIMIT);
    let xu = u.clamp(-SWIGLU_LIMIT, SWIGLU_LIMIT);
    xg / (1.0 + (-SWIGLU_ALPHA * xg).exp()) * (xu + 1.0)
}

/// RMSNorm(x) ⊙ w. ggml's CPU kernel sums x² in f64, stores the mean as f32, then scales by 1/sqrtf(mean + eps).
pub(crate) fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let sum_sq: f64 = x.iter().map(|&v| v as f64 * v as f64).sum();
    let mean = (sum_sq / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    x.iter().zip(w).map(|(&v, &w)| v * scale * w).collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

fn add(mut a: Vec<f32>, b: &[f32]) -> Vec<f32> {
    add_in_place(&mut a, b);
    a
}

fn add_in_place(a: &mut [f32], b: &[f32]) {
    for (a, b) in a.iter_mut().zip(b) {
        *a += b;
    }
}

/// Row `e` of a `[width, n]` bias tensor (expert e's bias).
fn bias_row(bias: &[f32], e: usize, width: usize) -> &[f32] {
    bias.get(e * width..(e + 1) * width).unwrap_or(&[])
}

/// NEOX RoPE with YaRN for one frequency base, as `ggml_rope_ext` computes it (§5.4). The angle of pair i at
/// position p is p·ω_i, so the per-pair ω_i are computed once (in f64; ggml's CPU kernel builds them by repeated
/// f32 multiplication, the GPU backends with pow — they differ in the last bits).
pub(crate) struct Rope {
    /// ω_i for the pairs i = 0..n_dims/2.
    freqs: Vec<f64>,
    /// Magnitude applied to both cos and sin (so attention logits scale by its square).
    mscale: f64,
}

impl Rope {
    pub(crate) fn new(cfg: &RopeConfig, base: f32) -> Rope {
        let (freqs, mscale) = super::rope::rope_frequencies(cfg, base);
        Rope { freqs, mscale }
    }

    /// Rotate every head of `x` at position `pos`. NEOX pairs the halves (x[i], x[i + n_dims/2]), not neighbours:
    /// x'[i] = x[i]·cos − x[i+half]·sin; x'[i+half] = x[i]·sin + x[i+half]·cos. Dims past n_dims are left as they are.
    pub(crate) fn rotate_heads(&self, x: &mut [f32], head_dim: usize, pos: usize) {
        let half = self.freqs.len();
        let cos_sin: Vec<(f32, f32)> = self
            .freqs
            .iter()
            .map(|w| {
                let theta = pos as f64 * w;
                ((theta.cos() * self.mscale) as f32, (theta.sin() * self.mscale) as f32)
            })
            .collect();
        for head in x.chunks_exact_mut(head_dim) {
            let (lo, hi) = head.split_at_mut(half);
            for ((a, b), &(cos, sin)) in lo.iter_mut().zip(hi.iter_mut()).zip(&cos_sin) {
                let (x0, x1) = (*a, *b);
                *a = x0 * cos - x1 * sin;
                *b = x0 * sin + x1 * cos;
            }
        }
    }
}

/// A weight matrix, or a stack of them (experts along ne[2]), in its file encoding.
struct Matrix {
    format: BlockFormat,
    /// Rows per matrix (ne[1]); each row holds ne[0] values.
    rows: usize,
    row_bytes: usize,
    bytes: Vec<u8>,
}

impl Matrix {
    /// W·x: out[n] = Σ_i W[i, n]·x[i] (ggml `mul_mat`; row n is PyTorch's `weight[n, :]`).
    fn matvec(&self, x: &[f32]) -> Vec<f32> {
        self.matvec_of(0, x)
    }

    /// W·x for matrix `k` of the stack (expert k occupies rows k·rows .. (k+1)·rows).
    fn matvec_of(&self, k: usize, x: &[f32]) -> Vec<f32> {
        self.bytes
            .chunks_exact(self.row_bytes)
            .skip(k * self.rows)
            .take(self.rows)
            .map(|row| dot_row(self.format, row, x))
            .collect()
    }

    /// Row `r` decoded (`get_rows`).
    fn row(&self, r: usize) -> Result<Vec<f32>> {
        let bytes = self
            .bytes
            .chunks_exact(self.row_bytes)
            .nth(r)
            .ok_or_else(|| Error::Usage(format!("row {r} is past the {} rows of the matrix", self.rows)))?;
        let n = self.row_bytes / self.format.block_bytes() * self.format.block_values();
        let mut out = vec![0f32; n];
        dequantize_row(self.format, bytes, &mut out)?;
        Ok(out)
    }
}

/// Fetches planned tensors by name and checks that the bytes that came back are the planned size.
struct Loader<'a, F> {
    plan: &'a TensorPlan,
    fetch: F,
}

impl<F: FnMut(&TensorInfo) -> Result<Vec<u8>>> Loader<'_, F> {
    fn fetch(&mut self, name: &str) -> Result<(BlockFormat, &TensorInfo, Vec<u8>)> {
        let t = self.plan.get(name)?;
        let bytes = (self.fetch)(&t.info)?;
        if bytes.len() as u64 != t.info.n_bytes {
            return Err(Error::Model(format!(
                "tensor `{name}`: got {} bytes, expected {}",
                bytes.len(),
                t.info.n_bytes
            )));
        }
        Ok((t.format, &t.info, bytes))
    }

    fn matrix(&mut self, name: &str) -> Result<Matrix> {
        let (format, info, bytes) = self.fetch(name)?;
        let cols = info.dims.first().copied().unwrap_or(1);
        let rows = info.dims.get(1).copied().unwrap_or(1);
        let row_bytes = format.ggml_type().row_bytes(cols).filter(|&n| n > 0).ok_or_else(|| {
            Error::Model(format!("tensor `{name}`: rows of {cols} values do not fit {format:?} blocks"))
        })?;
        Ok(Matrix { format, rows: rows as usize, row_bytes: row_bytes as usize, bytes })
    }

    fn vector(&mut self, name: &str) -> Result<Vec<f32>> {
        let (format, info, bytes) = self.fetch(name)?;
        let n = usize::try_from(info.n_elements())
            .map_err(|_| Error::Model(format!("tensor `{name}` has too many elements for this platform")))?;
        let mut out = vec![0f32; n];
        dequantize_row(format, &bytes, &mut out)?;
        Ok(out)
    }
}
