//! Sampling settings, shared by the GPU sampler (`shaders/sample.wgsl`) and the CPU path so both choose the same
//! token from the same logits: greedy at temperature 0; exact temperature sampling over the whole vocabulary by
//! Gumbel-max with a seeded hash per id; top-k / top-p over the CANDIDATES most likely ids.

use crate::{Error, Result};

/// How many of the most likely ids top-k / top-p sampling considers (the GPU keeps this many candidates).
pub const CANDIDATES: usize = 32;

/// `sample.wgsl`'s "no id": beyond any vocabulary, and finite as f32 bits. Also the hash input of the top-k /
/// top-p draw.
pub const NO_ID: u32 = 0x7f7f_ffff;

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

/// The GPU sampler's hash (`sample.wgsl` `pcg`), so CPU and GPU draw the same random numbers.
fn pcg(v: u32) -> u32 {
    let state = v.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
    let word = ((state >> ((state >> 28) + 4)) ^ state).wrapping_mul(277_803_737);
    (word >> 22) ^ word
}

/// Uniform in (0, 1) as a pure function of (seed, step, id), as `sample.wgsl` `uniform01`.
fn uniform01(seed: u32, step: u32, id: u32) -> f32 {
    let h = pcg(pcg(pcg(seed) ^ step) ^ id);
    ((h >> 8) as f32 + 0.5) / 16_777_216.0
}

/// Sample from full logits on the CPU with the GPU sampler's semantics (the CPU backend; and a check on the
/// GPU's choices). `step` numbers the draws, like the GPU's step index.
pub fn sample(logits: &[f32], config: &SamplerConfig, step: u32) -> TokenChoice {
    let inv_t = if config.temperature > 0.0 { 1.0 / config.temperature } else { 1.0 };
    let m = logits.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x * inv_t));
    let (mut z, mut u) = (0f64, 0f64);
    for &x in logits {
        let y = (x * inv_t) as f64;
        let w = (y - m as f64).exp();
        z += w;
        u += w * y;
    }
    let log_z = z.ln();
    let mut order: Vec<u32> = (0..logits.len() as u32).collect();
    let by_logit = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]).then(a.cmp(b));
    let k = CANDIDATES.min(order.len());
    if order.len() > k {
        order.select_nth_unstable_by(k, by_logit);
        order.truncate(k);
    }
    order.sort_by(by_logit);
    let prob = |id: u32| ((logits[id as usize] * inv_t) as f64 - m as f64 - log_z).exp() as f32;
    let top = order.iter().take(5).map(|&id| (id, prob(id))).collect();
    let token = if config.temperature <= 0.0 {
        order[0]
    } else if config.top_k == 0 && config.top_p >= 1.0 {
        // Gumbel-max over the whole vocabulary: exact sampling from softmax(logits / T).
        (0..logits.len() as u32)
            .map(|id| (id, logits[id as usize] * inv_t - (-uniform01(config.seed, step, id).ln()).ln()))
            .fold((0, f32::NEG_INFINITY), |best, c| if c.1 > best.1 { c } else { best })
            .0
    } else {
        let kk = if config.top_k > 0 { (config.top_k as usize).min(k) } else { k };
        let y0 = logits[order[0] as usize] * inv_t;
        let w: Vec<f32> = order[..kk].iter().map(|&id| (logits[id as usize] * inv_t - y0).exp()).collect();
        let mass: f32 = w.iter().sum();
        let mut nucleus = kk;
        let mut cum = 0.0;
        for (r, wr) in w.iter().enumerate() {
            cum += wr / mass;
            if cum >= config.top_p {
                nucleus = r + 1;
                break;
            }
        }
        let kept: f32 = w[..nucleus].iter().sum();
        let draw = uniform01(config.seed, step, NO_ID) * kept;
        let mut acc = 0.0;
        let mut chosen = order[nucleus - 1];
        for (r, wr) in w[..nucleus].iter().enumerate() {
            acc += wr;
            if acc >= draw {
                chosen = order[r];
                break;
            }
        }
        chosen
    };
    TokenChoice { token, top, entropy: (log_z + m as f64 - u / z) as f32, logsumexp: (m as f64 + log_z) as f32 }
}
