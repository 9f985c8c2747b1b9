//! gptoss-engine: everything between a GGUF file and a generated token, with no UI dependency.
//!
//! Modules follow the data's path: [`source`] (bytes from HTTP, files, blobs, memory) → [`gguf`] (parse, write)
//! → [`quant`] (block formats) → [`model`] (config, CPU reference forward pass) → [`gpu`] (WebGPU runtime)
//! → [`sampler`] → [`tokenizer`] / [`harmony`] → [`events`] (the one telemetry enum the UI subscribes to).

/// Load, prefill and decode benchmarks: `gptoss bench` natively, the page's benchmark mode in the browser.
pub mod bench;
/// A Harmony chat turn by turn, reusing the KV cache of the turns before.
pub mod chat;
pub mod error;
pub mod events;
pub mod generate;
pub mod gguf;
pub mod gpu;
pub mod harmony;
pub mod model;
pub mod quant;
pub mod reference;
pub mod sampler;
pub mod source;
/// Synthetic gpt-oss GGUFs (native only: the vocabulary comes from `tiktoken-rs`).
#[cfg(not(target_arch = "wasm32"))]
pub mod synth;
pub mod tokenizer;

pub use error::{Error, Result};
