//! The static plan: pipelines (one per kernel, variant and entry point) and dispatches with their bind groups and
//! parameters, built once at load; a step only records them.

use std::collections::HashMap;
use std::rc::Rc;

use wgpu::util::DeviceExt;

use super::kernels::{expert_tiles, ATTENTION_DECODE_SPLIT, ATTENTION_SPLIT, MATVEC_TOKENS, TILE_TOKENS};
use super::shaders::{self, Kernel, Variant};
use super::GpuContext;
use crate::{Error, Result};

/// How a dispatch's grid follows the step: `x` fixed; y and z fixed or derived from the batch.
#[derive(Debug, Clone, Copy)]
pub(super) enum Dim {
    Fixed(u32),
    Tokens,
    /// Groups of MATVEC_TOKENS tokens (matvec.wgsl handles that many tokens per workgroup).
    TokenTiles,
    LogitRowTiles,
    /// Tiles of TILE_TOKENS tokens (tile.wgsl).
    BatchTiles,
    /// The most tiles of (token, slot) pairs moe_group.wgsl can cut the batch into.
    ExpertTiles {
        k: u32,
        n_expert: u32,
    },
    /// attention.wgsl's key splits that hold keys in this step: the last token's keys (on a sliding layer at most
    /// `window`; 0 = full attention) over the split size (finer for one token). Sized to the whole cache, the
    /// grid would launch empty workgroups by the thousand at a short context (a CPU driver pays for each).
    KeySplits {
        window: u32,
    },
}

/// Which batches a dispatch runs in: the per-token kernels below [`Plan::tiled_from`] tokens, the tiled ones
/// from there (the plan holds both forms of each projection and expert kernel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Batches {
    All,
    PerToken,
    Tiled,
}

pub(super) struct Dispatch {
    pub kernel: Kernel,
    /// Recorded only while the attention view watches this layer.
    pub probe_layer: Option<usize>,
    pub label: String,
    pub pipeline: usize,
    pub bind_group: wgpu::BindGroup,
    pub grid: (u32, Dim, Dim),
    pub batches: Batches,
}

/// The recorded pass: the forward dispatches, the sampler's, and the pipelines they use.
pub(super) struct Plan {
    pub pipelines: Vec<wgpu::ComputePipeline>,
    pub forward: Vec<Dispatch>,
    pub sample: Vec<Dispatch>,
    /// Index in `forward` just past each layer's router dispatch: a paging step pauses there to learn the layer's
    /// experts.
    pub route_ends: Vec<usize>,
    /// Batches of this many tokens or more run the tiled kernels.
    pub tiled_from: usize,
}

impl Plan {
    /// Whether `d` runs in a batch of `n_tokens`.
    pub fn runs(&self, d: &Dispatch, n_tokens: usize) -> bool {
        match d.batches {
            Batches::All => true,
            Batches::PerToken => n_tokens < self.tiled_from,
            Batches::Tiled => n_tokens >= self.tiled_from,
        }
    }

    /// Record `d` for a batch of `n_tokens` from position `pos0` of which `logits_rows` get logits (nothing if `d`
    /// is the other form of a kernel than this batch runs).
    pub fn record(
        &self,
        pass: &mut wgpu::ComputePass<'_>,
        d: &Dispatch,
        n_tokens: usize,
        pos0: usize,
        logits_rows: usize,
    ) {
        if !self.runs(d, n_tokens) {
            return;
        }
        let dim = |x: Dim| match x {
            Dim::Fixed(n) => n,
            Dim::Tokens => n_tokens as u32,
            Dim::TokenTiles => (n_tokens as u32).div_ceil(MATVEC_TOKENS),
            Dim::LogitRowTiles => (logits_rows as u32).div_ceil(MATVEC_TOKENS),
            Dim::BatchTiles => (n_tokens as u32).div_ceil(TILE_TOKENS),
            Dim::ExpertTiles { k, n_expert } => expert_tiles(n_tokens as u32 * k, n_expert),
            Dim::KeySplits { window } => {
                let last = (pos0 + n_tokens) as u32;
                let keys = if window > 0 { last.min(window) } else { last };
                keys.div_ceil(if n_tokens == 1 { ATTENTION_DECODE_SPLIT } else { ATTENTION_SPLIT })
            }
        };
        pass.set_pipeline(&self.pipelines[d.pipeline]);
        pass.set_bind_group(0, &d.bind_group, &[]);
        pass.dispatch_workgroups(d.grid.0, dim(d.grid.1), dim(d.grid.2));
    }
}

/// A pipeline by kernel, variant, entry point and its pipeline constants (as bits).
pub(super) type PipelineKey = (Kernel, Variant, &'static str, Vec<(&'static str, u64)>);

/// Collects pipelines and dispatches with their bind groups.
pub(super) struct PlanBuilder<'a> {
    ctx: Rc<GpuContext>,
    /// Pipeline-overridable constants per kernel (the attention kernel's tiling of a GQA group).
    constants: HashMap<Kernel, Vec<(&'static str, f64)>>,
    pipelines: Vec<wgpu::ComputePipeline>,
    index: HashMap<PipelineKey, usize>,
    pub dispatches: Vec<Dispatch>,
    /// The batches the dispatches pushed from now on run in.
    pub batches: Batches,
    step: &'a wgpu::Buffer,
}

impl<'a> PlanBuilder<'a> {
    pub fn new(
        ctx: Rc<GpuContext>,
        step: &'a wgpu::Buffer,
        constants: HashMap<Kernel, Vec<(&'static str, f64)>>,
    ) -> Self {
        PlanBuilder {
            ctx,
            constants,
            pipelines: Vec::new(),
            index: HashMap::new(),
            dispatches: Vec::new(),
            batches: Batches::All,
            step,
        }
    }

    pub fn into_pipelines(self) -> Vec<wgpu::ComputePipeline> {
        self.pipelines
    }

    fn pipeline(
        &mut self,
        kernel: Kernel,
        variant: Variant,
        entry: &'static str,
        specialise: &[(&'static str, f64)],
    ) -> Result<usize> {
        let mut constants = self.constants.get(&kernel).cloned().unwrap_or_default();
        constants.extend_from_slice(specialise);
        let key = (kernel, variant, entry, constants.iter().map(|&(n, v)| (n, v.to_bits())).collect::<Vec<_>>());
        if let Some(&i) = self.index.get(&key) {
            return Ok(i);
        }
        let ctx = self.ctx.clone();
        let pipeline = ctx.pipeline(key.clone(), || {
            let src = shaders::source(kernel, variant)?;
            let label = format!("{}+{variant:?}", kernel.name());
            let module = ctx.shader_module(&label, src);
            Ok(ctx.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
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
            }))
        })?;
        self.pipelines.push(pipeline);
        self.index.insert(key, self.pipelines.len() - 1);
        Ok(self.pipelines.len() - 1)
    }

    /// A dispatch of `kernel`'s `main` whose storage buffers take bindings 2, 3, … in order.
    pub fn push(
        &mut self,
        label: &str,
        kernel: Kernel,
        variant: Variant,
        params: &[u8],
        buffers: &[&wgpu::Buffer],
        grid: (u32, Dim, Dim),
    ) -> Result<()> {
        self.push_specialised(label, kernel, variant, &[], params, buffers, grid)
    }

    /// [`push`](Self::push) with pipeline constants of this dispatch's own (a row kernel's `LANES`).
    #[allow(clippy::too_many_arguments)]
    pub fn push_specialised(
        &mut self,
        label: &str,
        kernel: Kernel,
        variant: Variant,
        specialise: &[(&'static str, f64)],
        params: &[u8],
        buffers: &[&wgpu::Buffer],
        grid: (u32, Dim, Dim),
    ) -> Result<()> {
        let bindings: Vec<(u32, &wgpu::Buffer)> = buffers.iter().enumerate().map(|(i, b)| (i as u32 + 2, *b)).collect();
        self.push_entry(label, kernel, variant, "main", specialise, params, &bindings, grid)
    }

    /// A dispatch of `kernel`'s `entry` with explicit storage bindings.
    #[allow(clippy::too_many_arguments)]
    pub fn push_entry(
        &mut self,
        label: &str,
        kernel: Kernel,
        variant: Variant,
        entry: &'static str,
        specialise: &[(&'static str, f64)],
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
        let pipeline = self.pipeline(kernel, variant, entry, specialise)?;
        let uniform = self.ctx.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: params,
            usage: wgpu::BufferUsages::UNIFORM,
        });
        let mut entries = vec![wgpu::BindGroupEntry { binding: 1, resource: uniform.as_entire_binding() }];
        if kernel.reads_step() {
            entries.push(wgpu::BindGroupEntry { binding: 0, resource: self.step.as_entire_binding() });
        }
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
            batches: self.batches,
        });
        Ok(())
    }
}
