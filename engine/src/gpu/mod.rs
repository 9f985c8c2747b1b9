//! The WebGPU runtime: one device for the whole app, the same code natively (Vulkan) and in the browser.
//! `weights` repacks and uploads tensors, `shaders` composes the WGSL, `forward` runs the model.

mod device;
mod forward;
pub mod shaders;
mod weights;

use std::rc::Rc;

pub use device::{compute_check, AdapterReport, ComputeCheck, GpuContext};
pub use forward::{GpuLoader, GpuModel, GpuOptions, StepOutput};
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
