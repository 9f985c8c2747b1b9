//! gpt-oss: hyper-parameters and tensor plan from a GGUF header ([`config`]), and the CPU reference forward pass
//! ([`cpu`]) that the GPU path is checked against.
//!
//! ```text
//! let config = GptOssConfig::from_header(&header)?;        // §3: metadata with llama.cpp's defaults
//! let plan = TensorPlan::new(&config, &header.tensors)?;   // §4: every needed tensor, shape and type checked
//! let model = CpuModel::load(&config, &plan, |info| fetch(info))?;
//! // or, from an opened GGUF: plan_of(&gguf)? for both, CpuModel::from_gguf(&gguf).await? for the model
//! let mut state = model.new_state();
//! let logits = model.forward(&mut state, token, pos)?;     // §5
//! ```

pub mod config;
pub mod cpu;
pub mod rope;

pub use config::{layer_tensor, GptOssConfig, PlannedTensor, RopeConfig, TensorPlan, TensorSpec, TypeClass};
pub use cpu::{CpuModel, CpuState, ExpertChoice};
pub use rope::rope_frequencies;

use crate::gguf::GgufModel;

/// The checked hyper-parameters and tensor plan of an opened model: what every loader starts from.
pub fn plan_of(model: &GgufModel) -> crate::Result<(GptOssConfig, TensorPlan)> {
    let config = GptOssConfig::from_header(model.header())?;
    let infos: Vec<_> = model.tensors().map(|t| t.info.clone()).collect();
    let plan = TensorPlan::new(&config, &infos)?;
    Ok((config, plan))
}
