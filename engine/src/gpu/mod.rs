//! The WebGPU runtime: one device for the whole app, the same code natively (Vulkan) and in the browser.
//! `weights` repacks and uploads tensors, `shaders` composes the WGSL, `forward` runs the model.

mod device;
mod forward;
pub mod shaders;
mod weights;

pub use device::{compute_check, AdapterReport, ComputeCheck, GpuContext};
pub use forward::{GpuLoader, GpuModel, GpuOptions, StepOutput};
