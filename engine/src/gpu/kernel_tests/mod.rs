//! Each kernel alone: one dispatch (two where a kernel's output is only meaningful merged) on small random inputs,
//! on the device (lavapipe in CI), against its CPU twin in `model::cpu`, `quant` or `sampler`, so a kernel bug is
//! reported as "kernel X, element Y" rather than as logits that differ at some position. The shapes are chosen
//! off the beaten path: odd widths and row counts, GQA groups of 3, 5 and 12, key counts over one split. This file
//! is the harness; `dense` (rmsnorm, matvec, embed, sample), `attention` (rope_kv, attention) and `moe` (route,
//! experts) hold the tests.

mod attention;
mod dense;
mod moe;
mod upload;

use std::collections::HashMap;
use std::rc::Rc;

use bytemuck::{bytes_of, cast_slice};
use wgpu::util::DeviceExt;

use super::buffers::{Allocator, PoolSizes};
use super::kernels::*;
use super::paging::{ExpertPart, ExpertPools};
use super::params::*;
use super::plan::{Dim, Plan, PlanBuilder};
use super::shaders::{Kernel, KvStorage, Variant, GPU_FORMATS};
use super::weights::{MatrixLayout, WeightUpload};
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
    /// The dispatch's own pipeline constants (a row kernel's `LANES`).
    specialise: Vec<(&'static str, f64)>,
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
        self.upload(gguf.len()).write_rows(&buffer, 0, &layout, 0, gguf).unwrap();
        buffer
    }

    /// The loader's weight upload, for pieces of up to `piece_bytes`.
    fn upload(&self, piece_bytes: usize) -> WeightUpload {
        WeightUpload::new(self.ctx.clone(), &mut Allocator::new(self.ctx.clone()), piece_bytes as u64).unwrap()
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
            b.push_entry(s.kernel.name(), s.kernel, s.variant, s.entry, &s.specialise, s.params, &s.bindings, grid)
                .unwrap();
        }
        let forward = std::mem::take(&mut b.dispatches);
        let plan =
            Plan { pipelines: b.into_pipelines(), forward, sample: Vec::new(), route_ends: Vec::new(), tiled_from: 0 };
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("test") });
        {
            let mut pass =
                encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
            for d in &plan.forward {
                plan.record(&mut pass, d, 0, 0, 0);
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
// `!(d <= tol)` rather than `d > tol`: a NaN fails too.
#[allow(clippy::neg_cmp_op_on_partial_ord)]
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
