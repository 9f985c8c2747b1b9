//! Generation: prompt ids in, Harmony-parsed tokens out, one submission per token, on the GPU or on the CPU
//! reference. Shared by the CLI's `run` and the web app, so both stream the same events. On the GPU each token's
//! step is submitted before the previous token is read back (the sampled id stays on the GPU), so the host's
//! readback wait and event handling overlap the next token's GPU work.

use std::collections::VecDeque;

use web_time::Instant;

use crate::events::{Event, EventSink, GenerationStats, TokenEvent};
use crate::gpu::{Ahead, GpuModel, StepOutput, StepTiming, STEPS_AHEAD};
use crate::harmony::{HarmonyParser, Parsed};
use crate::model::{CpuModel, CpuState};
use crate::sampler::{self, SamplerConfig};
use crate::tokenizer::Tokenizer;
use crate::{Error, Result};

/// Where the forward pass runs.
pub enum Backend {
    Gpu(Box<GpuModel>),
    /// The f32 reference: slow, but needs no GPU.
    Cpu {
        model: Box<CpuModel>,
        state: CpuState,
        steps: u32,
    },
}

impl Backend {
    pub fn cpu(model: CpuModel) -> Self {
        let state = model.new_state();
        Backend::Cpu { model: Box::new(model), state, steps: 0 }
    }

    /// Run `tokens` at the next positions and sample the token after them.
    pub async fn step(&mut self, tokens: &[u32], sampling: &SamplerConfig) -> Result<StepOutput> {
        match self {
            Backend::Gpu(model) => model.step(tokens, sampling).await,
            Backend::Cpu { model, state, steps } => {
                sampling.validate()?;
                let logits = model.prefill(state, tokens, state.len())?;
                let choice = sampler::sample(&logits, sampling, *steps);
                *steps = steps.wrapping_add(1);
                let routes =
                    state.routing().iter().map(|l| l.iter().map(|c| (c.expert as u32, c.weight)).collect()).collect();
                Ok(StepOutput { choice, routes, attention: None, paging: None, timing: Default::default() })
            }
        }
    }

    /// Submit the next token's step before the last one is read back, on a GPU with every expert resident
    /// ([`GpuModel::submit_ahead`]); `None` where steps run one at a time (the CPU reference, expert paging).
    pub fn submit_ahead(&mut self, sampling: &SamplerConfig) -> Result<Option<Ahead>> {
        match self {
            // At a full context the step run now reports it, after the last token is out.
            Backend::Gpu(model) if !model.pages_experts() && model.position() < model.options().context => {
                model.submit_ahead(sampling).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The next token after the last one: the step submitted ahead when there is one, else a step run now.
    async fn next(&mut self, ahead: Option<Ahead>, token: u32, sampling: &SamplerConfig) -> Result<StepOutput> {
        match (self, ahead) {
            (Backend::Gpu(model), Some(ahead)) => model.receive(ahead).await,
            (backend, _) => backend.step(&[token], sampling).await,
        }
    }

    /// Forget steps submitted ahead that will not be used.
    fn discard(&mut self, ahead: impl Iterator<Item = Ahead>) {
        if let Backend::Gpu(model) = self {
            ahead.for_each(|step| model.discard(step));
        }
    }

    /// Keep the first `to` positions of the KV cache and forget the rest; returns the positions kept, which may be
    /// fewer than asked (a GPU's sliding-window ring that has overwritten what position `to` needs keeps none).
    pub fn rewind(&mut self, to: usize) -> usize {
        match self {
            Backend::Gpu(model) => model.rewind(to),
            Backend::Cpu { state, .. } => {
                state.rewind(to);
                state.len()
            }
        }
    }

    /// Positions in the KV cache now.
    pub fn position(&self) -> usize {
        match self {
            Backend::Gpu(model) => model.position(),
            Backend::Cpu { state, .. } => state.len(),
        }
    }

    /// Positions the KV cache holds at most: the GPU's allocated context, the CPU's trained context.
    pub fn context(&self) -> usize {
        match self {
            Backend::Gpu(model) => model.options().context,
            Backend::Cpu { model, .. } => model.config().context_length,
        }
    }

    /// Forget the context.
    pub fn reset(&mut self) {
        match self {
            Backend::Gpu(model) => model.reset(),
            Backend::Cpu { model, state, steps } => {
                *state = model.new_state();
                *steps = 0;
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Gpu(_) => "gpu",
            Backend::Cpu { .. } => "cpu",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    pub sampler: SamplerConfig,
}

/// What one generation produced.
#[derive(Debug, Clone)]
pub struct Generation {
    pub stats: GenerationStats,
    /// Every sampled id, in order. All but the last were run through the model (the last was sampled, not run).
    pub ids: Vec<u32>,
    /// The output parsed into Harmony messages (an unfinished last message closed as it stands).
    pub parsed: Vec<Parsed>,
}

/// Generate after `prompt` (ids ending with `<|start|>assistant`) until `<|return|>` / `<|call|>`, the token limit,
/// or `keep_going` says stop. Emits one [`Event::Token`] per token and [`Event::GenerationDone`] at the end.
pub async fn generate(
    backend: &mut Backend,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    options: &GenerateOptions,
    events: &mut dyn EventSink,
    keep_going: impl FnMut() -> bool,
) -> Result<GenerationStats> {
    Ok(generate_after(backend, tokenizer, prompt, 0, options, events, keep_going).await?.stats)
}

/// [`generate`] with the first `reused` ids of `prompt` already in the backend's KV cache (at positions
/// 0..reused, the backend's position): only the rest is prefilled.
pub async fn generate_after(
    backend: &mut Backend,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    reused: usize,
    options: &GenerateOptions,
    events: &mut dyn EventSink,
    mut keep_going: impl FnMut() -> bool,
) -> Result<Generation> {
    if reused >= prompt.len() {
        return Err(Error::Usage(format!(
            "{reused} of the prompt's {} tokens are reused: at least its last must be run",
            prompt.len()
        )));
    }
    let mut parser = HarmonyParser::for_completion(tokenizer)?;
    let mut ids = Vec::new();
    let started = Instant::now();
    let mut out = backend.step(&prompt[reused..], &options.sampler).await?;
    let prefill_ms = started.elapsed().as_secs_f64() * 1e3;
    let decode_started = Instant::now();
    let mut generated = 0usize;
    let mut stopped_by = "max_new_tokens";
    let mut host = StepTiming::default();
    // Steps submitted and not yet read: the one that runs `id` and the one after it, so the GPU always has the
    // next token's work while the host reads one result and handles it. Dropped if `id` ends the generation.
    let mut ahead: VecDeque<Ahead> = VecDeque::new();
    while generated < options.max_new_tokens {
        let id = out.choice.token;
        ids.push(id);
        while ahead.len() < STEPS_AHEAD && generated + ahead.len() + 1 < options.max_new_tokens {
            match backend.submit_ahead(&options.sampler)? {
                Some(step) => ahead.push_back(step),
                None => break,
            }
        }
        let step = match parser.push(tokenizer, id) {
            Ok(step) => step,
            Err(e) => {
                backend.discard(ahead.drain(..));
                return Err(e);
            }
        };
        let top_text = out.choice.top.iter().map(|(t, _)| tokenizer.token_text(*t).unwrap_or_default()).collect();
        events.emit(Event::Token(TokenEvent {
            index: generated,
            position: prompt.len() + generated,
            id,
            text: step.text,
            channel: step.tag.channel,
            part: step.tag.part,
            top: out.choice.top.clone(),
            top_text,
            entropy: out.choice.entropy,
            routes: out.routes.clone(),
            attention: out.attention.clone(),
            expert_residency: match backend {
                Backend::Gpu(model) if out.paging.is_some() => Some(model.expert_residency()),
                _ => None,
            },
            expert_uses: match backend {
                Backend::Gpu(model) => model.expert_uses(),
                _ => None,
            },
            paging: out.paging.clone(),
            elapsed_ms: started.elapsed().as_secs_f64() * 1e3,
        }));
        generated += 1;
        if step.stop {
            stopped_by = "stop_token";
            break;
        }
        if generated >= options.max_new_tokens {
            break;
        }
        if !keep_going() {
            stopped_by = "stopped";
            break;
        }
        out = backend.next(ahead.pop_front(), id, &options.sampler).await?;
        host.encode_ms += out.timing.encode_ms;
        host.submit_ms += out.timing.submit_ms;
        host.map_wait_ms += out.timing.map_wait_ms;
    }
    backend.discard(ahead.drain(..));
    // The first token came out of the prefill; the rest are decode steps.
    let decode_ms = decode_started.elapsed().as_secs_f64() * 1e3;
    let decoded = generated.saturating_sub(1);
    let stats = GenerationStats {
        backend: backend.name().to_string(),
        prompt_tokens: prompt.len(),
        reused_tokens: reused,
        generated,
        prefill_ms,
        time_to_first_token_ms: prefill_ms,
        prefill_tokens_per_s: (prompt.len() - reused) as f64 / (prefill_ms / 1e3),
        decode_ms,
        decode_tokens_per_s: if decoded > 0 { decoded as f64 / (decode_ms / 1e3) } else { 0.0 },
        decode_encode_ms: host.encode_ms / decoded.max(1) as f64,
        decode_submit_ms: host.submit_ms / decoded.max(1) as f64,
        decode_map_wait_ms: host.map_wait_ms / decoded.max(1) as f64,
        stopped_by: stopped_by.to_string(),
    };
    events.emit(Event::GenerationDone(stats.clone()));
    Ok(Generation { stats, ids, parsed: parser.finish(tokenizer)? })
}
