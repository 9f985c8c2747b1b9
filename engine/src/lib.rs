//! gptoss-engine: everything between a GGUF file and a generated token, with no UI dependency.
//!
//! Modules follow the data's path: [`source`] (bytes from HTTP, files, blobs, memory) → [`gguf`] (parse, write)
//! → [`quant`] (block formats) → [`model`] (config, CPU reference forward pass) → [`gpu`] (WebGPU runtime)
//! → [`sampler`] → [`tokenizer`] / [`harmony`] → [`events`] (the one telemetry enum the UI subscribes to).

pub mod error;
pub mod events;
pub mod gguf;

pub use error::{Error, Result};
