//! The engine's one error type. Every variant names what it is about (file, tensor, offset, limit), because
//! the message is what a user sees in the HUD.

use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    /// The GGUF bytes are malformed; `what` says how and where.
    #[error("{file}: {what}")]
    Gguf { file: String, what: String },
    /// Fetching bytes failed (network, HTTP status, file system).
    #[error("{0}")]
    Source(String),
    /// The model's metadata or tensors do not describe a gpt-oss model we can run.
    #[error("model: {0}")]
    Model(String),
    /// Tokenizer or Harmony failure.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The GPU cannot do what was asked (missing feature, limit exceeded).
    #[error("gpu: {0}")]
    Gpu(String),
    /// The GPU device was lost (a driver reset, the GPU taken away, the device destroyed): everything on it is
    /// gone, and only a new device can run the model again. The text is the browser's or driver's reason.
    #[error("the GPU device was lost: {0}")]
    GpuLost(String),
    /// Bad command-line or API input.
    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
