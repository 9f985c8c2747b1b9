//! The bundled trained model's second oracle: PyTorch's per-position log-probabilities and greedy continuations of
//! held-out conversations (`models/wordnet-gpt-oss.reference.json`, written by `training/export.py` from an
//! implementation of the forward pass that shares nothing with the engine), and the check of an engine's logits
//! against them. The native test (`tests/trained_model.rs`) and the page's reference mode
//! (`/gptoss?reference=<json>&gguf=<gguf>`, run by the browser test on SwiftShader) both use [`check_gpu`], so
//! the browser is held to the same numbers as lavapipe.

use std::rc::Rc;

use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::events::EventSink;
use crate::gguf::GgufModel;
use crate::gpu::{load_model, GpuContext, GpuModel, GpuOptions, KvStorage};
use crate::sampler::SamplerConfig;
use crate::source::ByteSource;
use crate::{Error, Result};

/// The largest |Δ log-prob| against PyTorch an engine may show (f32 KV): PyTorch and the engine sum in different
/// orders, and an f32 log-sum-exp over 201,088 logits alone is off by ~4e-4.
pub const LOG_PROB_TOLERANCE: f64 = 2e-3;

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub cases: Vec<ReferenceCase>,
}

/// One held-out conversation: `log_probs[i]` is PyTorch's log p(tokens[i + 1] | tokens[..= i]); `greedy`
/// continues `tokens[..prompt_tokens]`.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceCase {
    pub word: String,
    pub tokens: Vec<u32>,
    pub prompt_tokens: usize,
    pub log_probs: Vec<f64>,
    pub greedy: Vec<u32>,
}

/// How one engine did on one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseCheck {
    pub word: String,
    pub positions: usize,
    pub max_abs_delta: f64,
    pub worst_position: usize,
    /// Summed negative log-likelihood of the reply (the tokens after the prompt): the engine's, and PyTorch's.
    pub reply_nll: f64,
    pub pytorch_reply_nll: f64,
    pub reply_tokens: usize,
    pub greedy: Vec<u32>,
    pub greedy_expected: Vec<u32>,
}

impl CaseCheck {
    pub fn greedy_agrees(&self) -> bool {
        self.greedy == self.greedy_expected
    }
}

impl Reference {
    /// Parses and checks the file's shape (one log-prob per next token, a prompt inside the conversation).
    pub fn from_json(text: &str) -> Result<Reference> {
        let reference: Reference =
            serde_json::from_str(text).map_err(|e| Error::Usage(format!("reference JSON: {e}")))?;
        for c in &reference.cases {
            if c.tokens.len() < 2 || c.log_probs.len() != c.tokens.len() - 1 || c.prompt_tokens == 0 {
                return Err(Error::Usage(format!(
                    "reference case `{}`: {} tokens, {} log-probs, prompt {}",
                    c.word,
                    c.tokens.len(),
                    c.log_probs.len(),
                    c.prompt_tokens
                )));
            }
        }
        Ok(reference)
    }
}

/// log-softmax in f64 of f32 logits.
pub fn log_prob(logits: &[f32], id: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    logits[id as usize] as f64 - max - z.ln()
}

impl ReferenceCase {
    /// The positions whose logits are compared: every token but the last.
    pub fn inputs(&self) -> &[u32] {
        &self.tokens[..self.tokens.len() - 1]
    }

    pub fn prompt(&self) -> &[u32] {
        &self.tokens[..self.prompt_tokens]
    }

    /// Compares an engine's logits at every input position, and its greedy continuation.
    pub fn check(&self, logits: &[Vec<f32>], greedy: Vec<u32>) -> Result<CaseCheck> {
        if logits.len() != self.log_probs.len() {
            return Err(Error::Usage(format!(
                "case `{}`: {} logit rows for {} positions",
                self.word,
                logits.len(),
                self.log_probs.len()
            )));
        }
        let (mut max_abs_delta, mut worst_position, mut reply_nll, mut pytorch_reply_nll) = (0f64, 0, 0f64, 0f64);
        for (i, (row, &want)) in logits.iter().zip(&self.log_probs).enumerate() {
            let got = log_prob(row, self.tokens[i + 1]);
            if (got - want).abs() > max_abs_delta {
                (max_abs_delta, worst_position) = ((got - want).abs(), i);
            }
            if i + 1 >= self.prompt_tokens {
                reply_nll -= got;
                pytorch_reply_nll -= want;
            }
        }
        Ok(CaseCheck {
            word: self.word.clone(),
            positions: logits.len(),
            max_abs_delta,
            worst_position,
            reply_nll,
            pytorch_reply_nll,
            reply_tokens: self.tokens.len() - self.prompt_tokens,
            greedy,
            greedy_expected: self.greedy.clone(),
        })
    }
}

/// GPU options for the check: f32 KV (the tolerance is for f32), room for the longest case, every position's
/// logits in as few submissions as the batch allows.
pub fn gpu_options(reference: &Reference) -> GpuOptions {
    let longest = reference.cases.iter().map(|c| c.tokens.len().max(c.prompt_tokens + c.greedy.len())).max();
    GpuOptions {
        context: longest.unwrap_or(1).next_multiple_of(64),
        max_batch: 64,
        max_logit_rows: 64,
        kv_storage: Some(KvStorage::F32),
        ..Default::default()
    }
}

/// How the greedy continuation is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GreedyCheck {
    /// Generated a step at a time through the GPU sampler, as generation runs it.
    Stepped,
    /// One batched pass over the prompt and the expected continuation: the argmax at each position must be the
    /// next expected token. That is the same claim (each step's input is then the one generation feeds) in one
    /// pass instead of 32 submissions, for software adapters where a step takes seconds.
    TeacherForced,
}

/// One case on the GPU: the logits of every input position in one pass, then the greedy continuation.
pub async fn check_gpu(model: &mut GpuModel, case: &ReferenceCase, greedy_check: GreedyCheck) -> Result<CaseCheck> {
    model.reset();
    let logits = model.logits(case.inputs()).await?;
    model.reset();
    let greedy = match greedy_check {
        GreedyCheck::Stepped => {
            let sampler = SamplerConfig::greedy();
            let mut greedy = vec![model.step(case.prompt(), &sampler).await?.choice.token];
            while greedy.len() < case.greedy.len() {
                let last = greedy[greedy.len() - 1];
                greedy.push(model.step(&[last], &sampler).await?.choice.token);
            }
            greedy
        }
        GreedyCheck::TeacherForced => {
            let mut forced = case.prompt().to_vec();
            forced.extend_from_slice(&case.greedy[..case.greedy.len().saturating_sub(1)]);
            let rows = model.logits(&forced).await?;
            rows[case.prompt_tokens - 1..].iter().map(|row| argmax(row)).collect()
        }
    };
    case.check(&logits, greedy)
}

fn argmax(row: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best as u32
}

/// What the page's reference mode publishes.
#[derive(Debug, Clone, Serialize)]
pub struct ReferenceReport {
    pub adapter: String,
    pub backend: String,
    pub greedy_check: String,
    pub tolerance: f64,
    pub max_abs_delta: f64,
    pub greedy_agree: bool,
    pub load_s: f64,
    pub check_s: f64,
    pub cases: Vec<CaseCheck>,
}

/// Loads the model from `source` onto the device `device` brings and checks its first `limit` cases.
pub async fn measure_gpu(
    device: impl std::future::Future<Output = Result<Rc<GpuContext>>>,
    source: ByteSource,
    reference: &Reference,
    limit: usize,
    greedy_check: GreedyCheck,
    events: &mut dyn EventSink,
) -> Result<ReferenceReport> {
    let start = Instant::now();
    let file = GgufModel::open(source, events).await?;
    let ctx = device.await?;
    let mut model = load_model(ctx.clone(), &file, gpu_options(reference), events).await?;
    let load_s = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut cases = Vec::new();
    for case in reference.cases.iter().take(limit) {
        cases.push(check_gpu(&mut model, case, greedy_check).await?);
    }
    Ok(ReferenceReport {
        adapter: ctx.report.name.clone(),
        backend: ctx.report.backend.clone(),
        greedy_check: format!("{greedy_check:?}"),
        tolerance: LOG_PROB_TOLERANCE,
        max_abs_delta: cases.iter().map(|c| c.max_abs_delta).fold(0.0, f64::max),
        greedy_agree: cases.iter().all(CaseCheck::greedy_agrees),
        load_s,
        check_s: start.elapsed().as_secs_f64(),
        cases,
    })
}
