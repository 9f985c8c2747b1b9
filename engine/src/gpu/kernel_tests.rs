//! Each kernel alone: one dispatch (two where a kernel's output is only meaningful merged) on small random inputs,
//! on the device (lavapipe in CI), against its CPU twin in `model::cpu`, `quant` or `sampler`, so a kernel bug is
//! reported as "kernel X, element Y" rather than as logits that differ at some position. The shapes are chosen
//! off the beaten path: odd widths and row counts, GQA groups of 3, 5 and 12, key counts over one split.

use std::collections::HashMap;
use std::rc::Rc;

use bytemuck::{bytes_of, cast_slice};
use wgpu::util::DeviceExt;

use super::buffers::PoolSizes;
use super::kernels::*;
use super::paging::{ExpertPart, ExpertPools};
use super::params::*;
use super::plan::{Dim, Plan, PlanBuilder};
use super::shaders::{Kernel, KvStorage, Variant, GPU_FORMATS};
use super::weights::{write_rows, MatrixLayout};
use super::GpuContext;
use crate::model::cpu::{attention, rms_norm, route, swiglu_oai, Rope};
use crate::model::{GptOssConfig, RopeConfig};
use crate::quant::{dequantize_row, dot_row, BlockFormat};
use crate::sampler::{sample, SamplerConfig};

/// xorshift64*: reproducible inputs without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [−1, 1).
    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn vec(&mut self, n: usize, scale: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32() * scale).collect()
    }

    /// One GGUF row of `cols` values in `format`, with values of about unit size.
    fn row(&mut self, format: BlockFormat, cols: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..cols / 32 {
            match format {
                BlockFormat::F32 => (0..32).for_each(|_| out.extend(self.f32().to_le_bytes())),
                BlockFormat::F16 => (0..32).for_each(|_| out.extend(half::f16::from_f32(self.f32()).to_le_bytes())),
                BlockFormat::BF16 => (0..32).for_each(|_| out.extend(half::bf16::from_f32(self.f32()).to_le_bytes())),
                BlockFormat::Q8_0 => {
                    out.extend(half::f16::from_f32(0.01 + 0.01 * self.f32().abs()).to_le_bytes());
                    (0..32).for_each(|_| out.push(self.next() as u8));
                }
                BlockFormat::MXFP4 => {
                    out.push(125 + (self.next() % 4) as u8);
                    (0..16).for_each(|_| out.push(self.next() as u8));
                }
                other => panic!("no test rows for {other:?}"),
            }
        }
        out
    }
}

/// One dispatch of a test run.
struct Step<'a> {
    kernel: Kernel,
    variant: Variant,
    entry: &'static str,
    params: &'a [u8],
    bindings: Vec<(u32, &'a wgpu::Buffer)>,
    grid: (u32, u32, u32),
}

struct Harness {
    ctx: Rc<GpuContext>,
}

impl Harness {
    fn new() -> Self {
        Harness { ctx: Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (lavapipe in CI)")) }
    }

    /// A storage buffer holding `contents`.
    fn buffer(&self, contents: &[u8]) -> wgpu::Buffer {
        let mut padded = contents.to_vec();
        padded.resize(contents.len().max(16).next_multiple_of(4), 0);
        self.ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("test"),
            contents: &padded,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        })
    }

    fn zeros(&self, bytes: usize) -> wgpu::Buffer {
        self.buffer(&vec![0; bytes])
    }

    /// A matrix of GGUF rows in its GPU layout.
    fn matrix(&self, format: BlockFormat, rows: usize, cols: usize, gguf: &[u8]) -> wgpu::Buffer {
        let layout = MatrixLayout::new(format, rows as u64, cols as u64, "test").unwrap();
        let buffer = self.zeros(layout.bytes() as usize);
        write_rows(&self.ctx.queue, &buffer, 0, &layout, 0, gguf).unwrap();
        buffer
    }

    /// Run `steps` in order in one pass under the step uniform `step`, then read `outs` back.
    fn run(
        &self,
        step: StepUniform,
        overrides: Vec<(&'static str, f64)>,
        steps: &[Step],
        outs: &[&wgpu::Buffer],
    ) -> Vec<Vec<u8>> {
        let device = &self.ctx.device;
        let step_buffer = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("test.step"),
            contents: bytes_of(&step),
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let constants = HashMap::from([(Kernel::Attention, overrides)]);
        let mut b = PlanBuilder::new(self.ctx.clone(), &step_buffer, constants);
        for s in steps {
            let grid = (s.grid.0, Dim::Fixed(s.grid.1), Dim::Fixed(s.grid.2));
            b.push_entry(s.kernel.name(), s.kernel, s.variant, s.entry, s.params, &s.bindings, grid).unwrap();
        }
        let forward = std::mem::take(&mut b.dispatches);
        let plan = Plan { pipelines: b.into_pipelines(), forward, sample: Vec::new(), route_ends: Vec::new() };
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("test") });
        {
            let mut pass =
                encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
            for d in &plan.forward {
                plan.record(&mut pass, d, 0, 0);
            }
        }
        let reads: Vec<wgpu::Buffer> = outs
            .iter()
            .map(|o| {
                let read = device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("test.read"),
                    size: o.size(),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                encoder.copy_buffer_to_buffer(o, 0, &read, 0, o.size());
                read
            })
            .collect();
        self.ctx.queue.submit([encoder.finish()]);
        reads.iter().map(|r| pollster::block_on(self.ctx.read_buffer(r)).unwrap()).collect()
    }
}

fn floats(bytes: &[u8], n: usize) -> Vec<f32> {
    cast_slice::<u8, f32>(bytes)[..n].to_vec()
}

/// Row `r` of a matrix of `rows` GGUF rows.
fn gguf_row(m: &[u8], r: usize, rows: usize) -> &[u8] {
    &m[r * (m.len() / rows)..][..m.len() / rows]
}

/// Fail naming the kernel, case and first element off by more than `tol` (relative to magnitudes above 1).
fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if let Some((i, (g, w))) =
        got.iter().zip(want).enumerate().find(|(_, (g, w))| !((*g - *w).abs() <= tol * w.abs().max(1.0)))
    {
        panic!("{what}: element {i} is {g}, its CPU twin {w} (tolerance {tol})");
    }
}

fn step(n_tokens: u32, pos0: u32) -> StepUniform {
    StepUniform { n_tokens, pos0, logits_rows: 1, top_p: 1.0, ..Default::default() }
}

fn config(n_head: usize, n_head_kv: usize, head_dim: usize, window: usize) -> GptOssConfig {
    GptOssConfig {
        n_layer: 2,
        n_embd: 64,
        n_head,
        n_head_kv,
        head_dim,
        value_dim: head_dim,
        n_vocab: 1000,
        n_expert: 8,
        n_expert_used: 4,
        n_ff_expert: 64,
        context_length: 4096,
        rms_eps: 1e-5,
        sliding_window: window,
        sliding_window_pattern: 2,
        rope: RopeConfig {
            n_dims: head_dim,
            freq_base: 150_000.0,
            freq_base_swa: 150_000.0,
            freq_scale: 1.0 / 32.0,
            ext_factor: 1.0,
            attn_factor: 1.0,
            beta_fast: 32.0,
            beta_slow: 1.0,
            n_ctx_orig: 4096,
        },
    }
}

#[test]
fn rmsnorm_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(1);
    let (width, tokens) = (200, 3);
    let (x, w) = (rng.vec(width * tokens, 3.0), rng.vec(width, 1.0));
    let (xb, wb, y) = (h.buffer(cast_slice(&x)), h.buffer(cast_slice(&w)), h.zeros(width * tokens * 4));
    let p = NormParams { width: width as u32, eps: 1e-5, ..Default::default() };
    let run = Step {
        kernel: Kernel::RmsNorm,
        variant: Variant::Plain,
        entry: "main",
        params: bytes_of(&p),
        bindings: vec![(2, &xb), (3, &wb), (4, &y)],
        grid: (1, tokens as u32, 1),
    };
    let got = floats(&h.run(step(tokens as u32, 0), vec![], &[run], &[&y])[0], width * tokens);
    let want: Vec<f32> = x.chunks(width).flat_map(|t| rms_norm(t, &w, 1e-5)).collect();
    assert_close("kernel rmsnorm", &got, &want, 1e-5);
}

#[test]
fn matvec_matches_cpu_in_every_format() {
    let h = Harness::new();
    let mut rng = Rng(2);
    let tokens = 3;
    for format in GPU_FORMATS {
        // A wide matrix (32 lanes per row) and a narrow one (few lanes, many rows per workgroup).
        for (rows, cols) in [(37, 96), (300, 32)] {
            let gguf: Vec<u8> = (0..rows).flat_map(|_| rng.row(format, cols)).collect();
            let (x, bias) = (rng.vec(tokens * cols, 1.0), rng.vec(rows, 0.5));
            let layout = MatrixLayout::new(format, rows as u64, cols as u64, "test").unwrap();
            let lanes = matvec_lanes(&layout);
            let (w, xb, bb) =
                (h.matrix(format, rows, cols, &gguf), h.buffer(cast_slice(&x)), h.buffer(cast_slice(&bias)));
            let y = h.zeros(tokens * rows * 4);
            let p = MatvecParams {
                rows: rows as u32,
                blocks: (cols / 32) as u32,
                mat: 0,
                x_stride: (cols / 4) as u32,
                y_stride: rows as u32,
                y_offset: 0,
                flags: ADD_BIAS,
                lanes,
            };
            let run = Step {
                kernel: Kernel::Matvec,
                variant: Variant::Weights(format),
                entry: "main",
                params: bytes_of(&p),
                bindings: vec![(2, &w), (3, &xb), (4, &y), (5, &bb)],
                grid: ((rows as u32).div_ceil(MATVEC_THREADS / lanes), (tokens as u32).div_ceil(MATVEC_TOKENS), 1),
            };
            let got = floats(&h.run(step(tokens as u32, 0), vec![], &[run], &[&y])[0], tokens * rows);
            let row_bytes = gguf.len() / rows;
            let want: Vec<f32> = x
                .chunks(cols)
                .flat_map(|xt| {
                    gguf.chunks(row_bytes).zip(&bias).map(|(r, b)| dot_row(format, r, xt) + b).collect::<Vec<_>>()
                })
                .collect();
            assert_close(&format!("kernel matvec+{format:?} {rows}×{cols}"), &got, &want, 1e-4);
        }
    }
}

#[test]
fn embed_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(3);
    let (rows, width, format) = (50, 96, BlockFormat::Q8_0);
    let gguf: Vec<u8> = (0..rows).flat_map(|_| rng.row(format, width)).collect();
    let ids = [7u32, 0, 49, 7];
    let (w, tokens, out) =
        (h.matrix(format, rows, width, &gguf), h.buffer(cast_slice(&ids)), h.zeros(ids.len() * width * 4));
    let p = EmbedParams { row0: 0, rows: rows as u32, width: width as u32, mat: 0 };
    let run = Step {
        kernel: Kernel::Embed,
        variant: Variant::Weights(format),
        entry: "main",
        params: bytes_of(&p),
        bindings: vec![(2, &w), (3, &tokens), (4, &out)],
        grid: ((width as u32).div_ceil(ELEMENT_THREADS), ids.len() as u32, 1),
    };
    let got = floats(&h.run(step(ids.len() as u32, 0), vec![], &[run], &[&out])[0], ids.len() * width);
    let row_bytes = gguf.len() / rows;
    let want: Vec<f32> = ids
        .iter()
        .flat_map(|&id| {
            let mut row = vec![0f32; width];
            dequantize_row(format, &gguf[id as usize * row_bytes..][..row_bytes], &mut row).unwrap();
            row
        })
        .collect();
    assert_close("kernel embed+Q8_0", &got, &want, 0.0);
}

#[test]
fn rope_kv_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(4);
    let c = config(6, 2, 64, 0);
    let (tokens, pos0, capacity) = (3usize, 290usize, 300usize);
    let (q_width, kv_width) = (c.n_head * c.head_dim, c.n_head_kv * c.head_dim);
    let (q, k, v) = (rng.vec(tokens * q_width, 1.0), rng.vec(tokens * kv_width, 1.0), rng.vec(tokens * kv_width, 1.0));
    let rope = Rope::new(&c.rope, c.rope.freq_base);
    let (freqs, mscale) = crate::model::rope_frequencies(&c.rope, c.rope.freq_base);
    let freqs: Vec<f32> = freqs.iter().map(|&f| f as f32).collect();
    let (fb, qb, kb, vb) =
        (h.buffer(cast_slice(&freqs)), h.buffer(cast_slice(&q)), h.buffer(cast_slice(&k)), h.buffer(cast_slice(&v)));
    let cache = h.zeros(2 * capacity * kv_width * 4);
    let p = RopeParams {
        n_head: c.n_head as u32,
        n_head_kv: c.n_head_kv as u32,
        head_dim: c.head_dim as u32,
        capacity: capacity as u32,
        mscale: mscale as f32,
        ..Default::default()
    };
    let pairs = ((c.n_head + 2 * c.n_head_kv) * c.head_dim / 2) as u32;
    let run = Step {
        kernel: Kernel::RopeKv,
        variant: Variant::Kv(KvStorage::F32),
        entry: "main",
        params: bytes_of(&p),
        bindings: vec![(2, &fb), (3, &qb), (4, &kb), (5, &vb), (6, &cache)],
        grid: (pairs.div_ceil(ROPE_THREADS), tokens as u32, 1),
    };
    let out = h.run(step(tokens as u32, pos0 as u32), vec![], &[run], &[&qb, &cache]);
    let (got_q, got_cache) = (floats(&out[0], q.len()), floats(&out[1], 2 * capacity * kv_width));
    for t in 0..tokens {
        let pos = pos0 + t;
        let mut want_q = q[t * q_width..][..q_width].to_vec();
        let mut want_k = k[t * kv_width..][..kv_width].to_vec();
        rope.rotate_heads(&mut want_q, c.head_dim, pos);
        rope.rotate_heads(&mut want_k, c.head_dim, pos);
        let slot = pos % capacity;
        assert_close(&format!("kernel rope_kv, q of token {t}"), &got_q[t * q_width..][..q_width], &want_q, 1e-4);
        assert_close(
            &format!("kernel rope_kv, cached k of token {t}"),
            &got_cache[slot * kv_width..][..kv_width],
            &want_k,
            1e-4,
        );
        let v_at = (capacity + slot) * kv_width;
        assert_close(
            &format!("kernel rope_kv, cached v of token {t}"),
            &got_cache[v_at..][..kv_width],
            &v[t * kv_width..][..kv_width],
            0.0,
        );
    }
}

/// attention then attention_combine (the splits only mean something merged) against `cpu::attention`, for GQA
/// groups the old power-of-two kernel refused, over more keys than one split, full and sliding.
#[test]
fn attention_matches_cpu_for_any_gqa_group() {
    let h = Harness::new();
    let mut rng = Rng(5);
    for (n_head, n_head_kv, head_dim) in [(4, 2, 16), (6, 2, 64), (5, 1, 64), (12, 1, 64), (16, 2, 32), (10, 2, 128)] {
        for window in [0, 7] {
            let c = config(n_head, n_head_kv, head_dim, window.max(1));
            let tiling = AttentionTiling::new(n_head, n_head_kv, head_dim).unwrap();
            let (tokens, pos0) = (3usize, 290usize);
            let capacity = pos0 + tokens;
            let (q_width, kv_width) = (n_head * head_dim, n_head_kv * head_dim);
            let q = rng.vec(tokens * q_width, 1.0);
            let (keys, values) = (rng.vec(capacity * kv_width, 1.0), rng.vec(capacity * kv_width, 1.0));
            let sinks = rng.vec(n_head, 2.0);
            let kv: Vec<f32> = keys.iter().chain(&values).copied().collect();
            let n_splits = (capacity as u32).div_ceil(ATTENTION_SPLIT) + 1;
            let (qb, kvb, sb) = (h.buffer(cast_slice(&q)), h.buffer(cast_slice(&kv)), h.buffer(cast_slice(&sinks)));
            let partials = h.zeros(tokens * n_head * n_splits as usize * (2 + head_dim) * 4);
            let out = h.zeros(tokens * q_width * 4);
            let (head_dim32, window32) = (head_dim as u32, window as u32);
            let ap = AttentionParams {
                n_head: n_head as u32,
                n_head_kv: n_head_kv as u32,
                head_dim: head_dim32,
                capacity: capacity as u32,
                window: window32,
                scale: 1.0 / (head_dim as f32).sqrt(),
                n_splits,
                _pad0: 0,
            };
            let cp = AttentionCombineParams { n_head: n_head as u32, head_dim: head_dim32, window: window32, n_splits };
            let steps = [
                Step {
                    kernel: Kernel::Attention,
                    variant: Variant::Kv(KvStorage::F32),
                    entry: "main",
                    params: bytes_of(&ap),
                    bindings: vec![(2, &qb), (3, &kvb), (4, &partials)],
                    grid: (n_head_kv as u32 * tiling.chunks, n_splits, tokens as u32),
                },
                Step {
                    kernel: Kernel::AttentionCombine,
                    variant: Variant::Plain,
                    entry: "main",
                    params: bytes_of(&cp),
                    bindings: vec![(2, &partials), (3, &sb), (4, &out)],
                    grid: (n_head as u32, tokens as u32, 1),
                },
            ];
            let got = floats(
                &h.run(step(tokens as u32, pos0 as u32), tiling.overrides(), &steps, &[&out])[0],
                tokens * q_width,
            );
            for t in 0..tokens {
                let pos = pos0 + t;
                let want = attention(
                    &c,
                    &sinks,
                    &keys[..(pos + 1) * kv_width],
                    &values[..(pos + 1) * kv_width],
                    &q[t * q_width..][..q_width],
                    pos,
                    window > 0,
                );
                let what = format!("kernel attention, {n_head} q / {n_head_kv} kv heads of {head_dim}, window {window}, token {t} ({tiling:?})");
                assert_close(&what, &got[t * q_width..][..q_width], &want, 1e-5);
            }
        }
    }
}

#[test]
fn moe_route_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(6);
    let (n_expert, k, tokens, layer) = (7usize, 3usize, 2usize, 1usize);
    let logits = rng.vec(tokens * n_expert, 3.0);
    let lb = h.buffer(cast_slice(&logits));
    let (chosen, weights) = (h.zeros(2 * tokens * k * 4), h.zeros(2 * tokens * k * 4));
    let p = RouteParams { n_expert: n_expert as u32, k: k as u32, layer: layer as u32, max_tokens: tokens as u32 };
    let run = Step {
        kernel: Kernel::MoeRoute,
        variant: Variant::Plain,
        entry: "main",
        params: bytes_of(&p),
        bindings: vec![(2, &lb), (3, &chosen), (4, &weights)],
        grid: (1, tokens as u32, 1),
    };
    let out = h.run(step(tokens as u32, 0), vec![], &[run], &[&chosen, &weights]);
    let at = layer * tokens * k;
    let (ids, ws) = (&cast_slice::<u8, u32>(&out[0])[at..at + tokens * k], &floats(&out[1], 2 * tokens * k)[at..]);
    for t in 0..tokens {
        let want = route(&logits[t * n_expert..][..n_expert], k);
        let want_ids: Vec<u32> = want.iter().map(|c| c.expert as u32).collect();
        assert_eq!(&ids[t * k..][..k], &want_ids[..], "kernel moe_route, token {t}: chosen experts");
        let want_w: Vec<f32> = want.iter().map(|c| c.weight).collect();
        assert_close(&format!("kernel moe_route, token {t}: weights"), &ws[t * k..][..k], &want_w, 1e-6);
    }
}

/// moe_gate_up then moe_down through a pool whose slots hold the experts out of order, against
/// `dot_row` + `swiglu_oai`.
#[test]
fn moe_experts_match_cpu() {
    let h = Harness::new();
    let mut rng = Rng(7);
    let (n_expert, k, tokens, n_embd, n_ff) = (5usize, 2usize, 3usize, 64usize, 96usize);
    for format in [BlockFormat::MXFP4, BlockFormat::Q8_0] {
        let gate = MatrixLayout::new(format, n_ff as u64, n_embd as u64, "gate").unwrap();
        let down = MatrixLayout::new(format, n_embd as u64, n_ff as u64, "down").unwrap();
        let sizes = PoolSizes { gate, down, slots: n_expert as u64, slots_per_pool: n_expert as u64 };
        let pools = ExpertPools { sizes, pools: vec![h.zeros((n_expert as u64 * sizes.slot_bytes()) as usize)] };
        // Expert e lives in slot (e + 2) mod n.
        let slot_of = |e: usize| ((e + 2) % n_expert) as u64;
        let mut matrices = Vec::new();
        for e in 0..n_expert {
            let parts: Vec<Vec<u8>> =
                [(ExpertPart::Gate, n_ff, n_embd), (ExpertPart::Up, n_ff, n_embd), (ExpertPart::Down, n_embd, n_ff)]
                    .into_iter()
                    .map(|(part, rows, cols)| {
                        let bytes: Vec<u8> = (0..rows).flat_map(|_| rng.row(format, cols)).collect();
                        pools.write_rows(&h.ctx.queue, slot_of(e), part, 0, &bytes).unwrap();
                        bytes
                    })
                    .collect();
            matrices.push(parts);
        }
        let location: Vec<u32> = (0..n_expert).map(|e| pools.location(slot_of(e))).collect();
        let chosen: Vec<u32> = (0..tokens * k).map(|i| ((i * 3 + 1) % n_expert) as u32).collect();
        let x = rng.vec(tokens * n_embd, 1.0);
        let (bias_gate, bias_up, bias_down) =
            (rng.vec(n_expert * n_ff, 0.5), rng.vec(n_expert * n_ff, 0.5), rng.vec(n_expert * n_embd, 0.5));
        let b = |v: &[f32]| h.buffer(cast_slice(v));
        let (xb, cb, lb) = (b(&x), h.buffer(cast_slice(&chosen)), h.buffer(cast_slice(&location)));
        let (bg, bu, bd) = (b(&bias_gate), b(&bias_up), b(&bias_down));
        let (act, y) = (h.zeros(tokens * k * n_ff * 4), h.zeros(tokens * k * n_embd * 4));
        let gp = ExpertParams {
            rows: n_ff as u32,
            blocks: gate.blocks as u32,
            pool: 0,
            slot_words: pools.slot_words() as u32,
            second: gate.words() as u32,
            n_expert: n_expert as u32,
            k: k as u32,
            layer: 0,
            max_tokens: tokens as u32,
            x_stride: (n_embd / 4) as u32,
            ..Default::default()
        };
        let dp = ExpertParams {
            rows: n_embd as u32,
            blocks: down.blocks as u32,
            second: 2 * gate.words() as u32,
            x_stride: (n_ff / 4) as u32,
            ..gp
        };
        let pool = &pools.pools[0];
        let steps = [
            Step {
                kernel: Kernel::MoeGateUp,
                variant: Variant::Weights(format),
                entry: "main",
                params: bytes_of(&gp),
                bindings: vec![(2, pool), (3, &xb), (4, &act), (5, &cb), (6, &lb), (7, &bg), (8, &bu)],
                grid: ((n_ff as u32).div_ceil(EXPERT_ROWS_PER_GROUP), k as u32, tokens as u32),
            },
            Step {
                kernel: Kernel::MoeDown,
                variant: Variant::Weights(format),
                entry: "main",
                params: bytes_of(&dp),
                bindings: vec![(2, pool), (3, &act), (4, &y), (5, &cb), (6, &lb), (7, &bd)],
                grid: ((n_embd as u32).div_ceil(EXPERT_ROWS_PER_GROUP), k as u32, tokens as u32),
            },
        ];
        let out = h.run(step(tokens as u32, 0), vec![], &steps, &[&act, &y]);
        let (got_act, got_y) = (floats(&out[0], tokens * k * n_ff), floats(&out[1], tokens * k * n_embd));
        for t in 0..tokens {
            for j in 0..k {
                let e = chosen[t * k + j] as usize;
                let [g, u, d] = [0, 1, 2].map(|m| &matrices[e][m]);
                let xt = &x[t * n_embd..][..n_embd];
                let want_act: Vec<f32> = (0..n_ff)
                    .map(|r| {
                        let gv = dot_row(format, gguf_row(g, r, n_ff), xt) + bias_gate[e * n_ff + r];
                        let uv = dot_row(format, gguf_row(u, r, n_ff), xt) + bias_up[e * n_ff + r];
                        swiglu_oai(gv, uv)
                    })
                    .collect();
                let what = format!("kernel moe_gate_up+{format:?}, token {t} slot {j} (expert {e})");
                let got_row = &got_act[(t * k + j) * n_ff..][..n_ff];
                assert_close(&what, got_row, &want_act, 1e-4);
                // moe_down reads the GPU's activations, so its check does not inherit gate_up's rounding.
                let want_y: Vec<f32> = (0..n_embd)
                    .map(|r| dot_row(format, gguf_row(d, r, n_embd), got_row) + bias_down[e * n_embd + r])
                    .collect();
                let what = format!("kernel moe_down+{format:?}, token {t} slot {j} (expert {e})");
                assert_close(&what, &got_y[(t * k + j) * n_embd..][..n_embd], &want_y, 1e-4);
            }
        }
    }
}

/// Both sampler passes against `sampler::sample` over a vocabulary that leaves the last workgroup part-full.
#[test]
fn sample_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(8);
    let vocab = 5000u32;
    let logits = rng.vec(vocab as usize, 4.0);
    let groups = vocab.div_ceil(SAMPLE_THREADS * SAMPLE_MAX_PER_THREAD);
    let per_thread = vocab.div_ceil(groups * SAMPLE_THREADS);
    let lb = h.buffer(cast_slice(&logits));
    let partials = h.zeros((groups * SAMPLE_PARTIAL_WORDS * 4) as usize);
    let result = h.zeros(std::mem::size_of::<SampleResult>());
    let p = SampleParams { vocab, groups, per_thread, _pad0: 0 };
    let greedy = SamplerConfig::greedy();
    let hot = SamplerConfig { temperature: 0.8, top_k: 0, top_p: 1.0, seed: 11 };
    let top_k = SamplerConfig { temperature: 0.7, top_k: 10, top_p: 1.0, seed: 12 };
    let top_p = SamplerConfig { temperature: 1.2, top_k: 0, top_p: 0.9, seed: 13 };
    for (name, config) in [("greedy", greedy), ("temperature", hot), ("top-k", top_k), ("top-p", top_p)] {
        let s = StepUniform {
            n_tokens: 1,
            logits_rows: 1,
            seed: config.seed,
            temperature: config.temperature,
            top_k: config.top_k,
            top_p: config.top_p,
            step_index: 5,
            ..Default::default()
        };
        let steps = [
            Step {
                kernel: Kernel::Sample,
                variant: Variant::Plain,
                entry: "partials_main",
                params: bytes_of(&p),
                bindings: vec![(2, &lb), (3, &partials)],
                grid: (groups, 1, 1),
            },
            Step {
                kernel: Kernel::Sample,
                variant: Variant::Plain,
                entry: "finalize_main",
                params: bytes_of(&p),
                bindings: vec![(3, &partials), (4, &result)],
                grid: (1, 1, 1),
            },
        ];
        let out = h.run(s, vec![], &steps, &[&result]);
        let got: SampleResult = bytemuck::pod_read_unaligned(&out[0][..std::mem::size_of::<SampleResult>()]);
        let want = sample(&logits, &config, 5);
        assert_eq!(got.token, want.token, "kernel sample ({name}): token");
        let want_ids: Vec<u32> = want.top.iter().map(|t| t.0).collect();
        assert_eq!(got.top_ids.to_vec(), want_ids, "kernel sample ({name}): top-5 ids");
        let want_p: Vec<f32> = want.top.iter().map(|t| t.1).collect();
        assert_close(&format!("kernel sample ({name}): top-5 probabilities"), &got.top_probs, &want_p, 1e-5);
        assert_close(
            &format!("kernel sample ({name}): entropy, log-sum-exp"),
            &[got.entropy, got.logsumexp],
            &[want.entropy, want.logsumexp],
            1e-5,
        );
    }
}
