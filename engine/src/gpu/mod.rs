//! The WebGPU runtime: one device for the whole app, the same code natively (Vulkan) and in the browser.
//! `weights` repacks and uploads tensors, `shaders` composes the WGSL, `forward` runs the model.

mod device;
pub mod experts;
mod forward;
pub mod shaders;
mod weights;

use std::rc::Rc;

pub use device::{compute_check, AdapterReport, ComputeCheck, GpuContext};
pub use experts::{ExpertBudget, PagingStats};
pub use forward::{GpuLoader, GpuModel, GpuOptions, StepOutput, StepTiming};
pub use shaders::KvStorage;

use crate::events::{Event, EventSink};
use crate::gguf::{GgufModel, StreamOptions, TensorInfo};
use crate::model::{GptOssConfig, TensorPlan};
use crate::Result;

/// Stream every tensor the model needs from its source straight into GPU buffers, chunk by chunk: the file's
/// bytes pass through memory a few megabytes at a time and are never held whole.
pub async fn load_model(
    ctx: Rc<GpuContext>,
    model: &GgufModel,
    options: GpuOptions,
    events: &mut dyn EventSink,
) -> Result<GpuModel> {
    events.emit(Event::GpuAdapter { report: ctx.report.clone() });
    let config = GptOssConfig::from_header(model.header())?;
    let infos: Vec<TensorInfo> = model.tensors().map(|t| t.info.clone()).collect();
    let plan = TensorPlan::new(&config, &infos)?;
    let needed: std::collections::HashSet<String> = plan.tensors.iter().map(|t| t.info.name.clone()).collect();
    let mut loader = GpuLoader::new(ctx, config, plan, options, events)?;
    if loader.pages_experts() {
        loader.set_expert_files(expert_files(model, loader.n_layer())?);
    }
    model
        .stream_tensors(
            |t| needed.contains(&t.name),
            StreamOptions::default(),
            |chunk| loader.push(&chunk.tensor.name, chunk.data),
            events,
        )
        .await?;
    loader.finish(events).await
}

/// Where each layer's gate, up and down experts are in the file, so a paged model can fetch one expert.
fn expert_files(model: &GgufModel, n_layer: usize) -> Result<Vec<[experts::ExpertFileRange; 3]>> {
    (0..n_layer)
        .map(|il| {
            let part = |name: &str| {
                let tensor = crate::model::layer_tensor(il, name);
                let t = model
                    .tensor(&tensor)
                    .ok_or_else(|| crate::Error::Model(format!("tensor `{tensor}` is missing")))?;
                let n_expert = t.info.dims.get(2).copied().unwrap_or(1).max(1);
                Ok(experts::ExpertFileRange {
                    source: model.shards()[t.shard].source.clone(),
                    offset: t.file_offset,
                    bytes_per_expert: t.info.n_bytes / n_expert,
                    tensor,
                })
            };
            Ok([part("ffn_gate_exps.weight")?, part("ffn_up_exps.weight")?, part("ffn_down_exps.weight")?])
        })
        .collect()
}
