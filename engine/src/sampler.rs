//! Sampling settings, shared by the GPU sampler (`shaders/sample.wgsl`) and the CPU path so both choose the same
//! token from the same logits: greedy at temperature 0; exact temperature sampling over the whole vocabulary by
//! Gumbel-max with a seeded hash per id; top-k / top-p over the CANDIDATES most likely ids.

use crate::{Error, Result};

/// How many of the most likely ids top-k / top-p sampling considers (the GPU keeps this many candidates).
pub const CANDIDATES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SamplerConfig {
    /// 0 = greedy.
    pub temperature: f32,
    /// 0 = no cut; at most [`CANDIDATES`].
    pub top_k: u32,
    /// 1 = no nucleus cut.
    pub top_p: f32,
    pub seed: u32,
}

impl Default for SamplerConfig {
    /// gpt-oss's recommended sampling: temperature 1, top-p 1 (`openai/gpt-oss` README).
    fn default() -> Self {
        SamplerConfig { temperature: 1.0, top_k: 0, top_p: 1.0, seed: 0 }
    }
}

impl SamplerConfig {
    pub fn greedy() -> Self {
        SamplerConfig { temperature: 0.0, ..Default::default() }
    }

    /// Reject settings the sampler cannot honour, naming the limit.
    pub fn validate(&self) -> Result<()> {
        if !self.temperature.is_finite() || self.temperature < 0.0 {
            return Err(Error::Usage(format!("temperature {} must be ≥ 0", self.temperature)));
        }
        if self.top_k as usize > CANDIDATES {
            return Err(Error::Usage(format!("top-k {} exceeds the sampler's limit of {CANDIDATES}", self.top_k)));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(Error::Usage(format!("top-p {} must be in (0, 1]", self.top_p)));
        }
        Ok(())
    }
}

/// What the sampler reports for one token: never the full logits.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenChoice {
    pub token: u32,
    /// The five most likely ids with their probabilities (at the sampling temperature).
    pub top: Vec<(u32, f32)>,
    /// Entropy of the full distribution, in nats.
    pub entropy: f32,
    /// log Σ exp(logit / temperature) over the whole vocabulary.
    pub logsumexp: f32,
}
