//! The WebGPU runtime: one device for the whole app, the same code natively (Vulkan) and in the browser. The
//! files follow the data: `buffers` sizes and allocates every buffer, `loader` streams tensors into typed weights,
//! `weights` repacks their blocks, `forward` records the pass block by block over `plan` with the `params` structs,
//! `kernels` holds each kernel's constants and guards and `shaders` composes its WGSL, `model` runs steps,
//! `paging` keeps the expert pools and pages experts, `profile` times the kernels, `probe` holds the one-shot
//! device probes (the compute self-test, the read-bandwidth ceiling).

pub mod buffers;
mod device;
mod forward;
#[cfg(test)]
mod kernel_tests;
pub mod kernels;
mod loader;
mod model;
pub mod paging;
pub mod params;
mod plan;
mod probe;
mod profile;
pub mod shaders;
mod weights;

use std::rc::Rc;

pub use buffers::BufferSizes;
pub use device::{AdapterReport, GpuContext};
pub use loader::GpuLoader;
pub use model::{Ahead, GpuModel, StepOutput, StepTiming, STEPS_AHEAD};
pub use paging::{ExpertBudget, PagingStats};
pub use probe::{compute_check, read_ceiling, ComputeCheck, ReadCeiling};
pub use shaders::KvStorage;

use crate::events::{Event, EventSink, Stage, StageTimer};
use crate::gguf::{GgufModel, StreamOptions};
use crate::Result;

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
    /// Batches of this many tokens or more run the tiled mat-mul kernels; shorter ones (decode) the per-token
    /// mat-vecs. [`kernels::TILED_FROM`] by default; the benchmark sweeps it to find the crossover.
    pub tiled_from: usize,
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
            tiled_from: kernels::TILED_FROM,
        }
    }
}

/// Stream every tensor the model needs from its source straight into GPU buffers, chunk by chunk: the file's
/// bytes pass through memory a few megabytes at a time and are never held whole.
pub async fn load_model(
    ctx: Rc<GpuContext>,
    model: &GgufModel,
    options: GpuOptions,
    events: &mut dyn EventSink,
) -> Result<GpuModel> {
    events.emit(Event::GpuAdapter { report: ctx.report.clone() });
    let (config, plan) = crate::model::plan_of(model)?;
    let needed: std::collections::HashSet<String> = plan.tensors.iter().map(|t| t.info.name.clone()).collect();
    let mut loader = GpuLoader::new(ctx, config, plan, options, events).await?;
    if loader.pages_experts() {
        loader.set_expert_files(expert_files(model, loader.n_layer())?);
    }
    let streamed = model
        .stream_tensors(
            |t| needed.contains(&t.name),
            StreamOptions::default(),
            |chunk| loader.push(&chunk.tensor.name, chunk.data),
            events,
        )
        .await?;
    // Activations, KV caches, pipelines and bind groups: seconds on a software adapter, so a stage of its own.
    let stage = StageTimer::start(Stage::GpuBuild, events);
    let built = loader.finish(events).await.map(|mut m| {
        m.load_times = streamed;
        m
    });
    let gpu_bytes = built.as_ref().map_or(0, |m| m.gpu_bytes());
    stage.end(events, built, gpu_bytes)
}

/// Where each layer's gate, up and down experts are in the file, so a paged model can fetch one expert.
fn expert_files(model: &GgufModel, n_layer: usize) -> Result<Vec<[paging::ExpertFileRange; 3]>> {
    (0..n_layer)
        .map(|il| {
            let part = |name: &str| {
                let tensor = crate::model::layer_tensor(il, name);
                let t = model
                    .tensor(&tensor)
                    .ok_or_else(|| crate::Error::Model(format!("tensor `{tensor}` is missing")))?;
                let n_expert = t.info.dims.get(2).copied().unwrap_or(1).max(1);
                let source = &model.shards()[t.shard].source;
                if source.reads_in_order_only() {
                    return Err(crate::Error::Usage(format!(
                        "{}: expert paging reads experts at any offset, which needs range requests, and this server \
                         answers them with the whole file: load with every expert resident, or serve the model \
                         from a server with range support",
                        source.name()
                    )));
                }
                Ok(paging::ExpertFileRange {
                    source: source.clone(),
                    offset: t.file_offset,
                    bytes_per_expert: t.info.n_bytes / n_expert,
                    tensor,
                })
            };
            Ok([part("ffn_gate_exps.weight")?, part("ffn_up_exps.weight")?, part("ffn_down_exps.weight")?])
        })
        .collect()
}
