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
    /// The GPU cannot do what was asked (missing feature, limit exceeded, device lost).
    #[error("gpu: {0}")]
    Gpu(String),
    /// Bad command-line or API input.
    #[error("{0}")]
    Usage(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
