//! `gptoss run <model> --prompt TEXT [--backend cpu|gpu] [--max-tokens N] [--temperature T] [--top-k K]
//! [--top-p P] [--seed S] [--reasoning low|medium|high] [--context N] [--expert-budget min|N%|BYTES]`: render a Harmony prompt, generate,
//! stream the text as it comes (analysis and final channels labelled), and print prefill/decode tokens/s.

use std::io::Write;
use std::rc::Rc;

use gptoss_engine::events::{Event, NoEvents};
use gptoss_engine::generate::{generate, Backend, GenerateOptions};
use gptoss_engine::gguf::{GgufModel, TensorInfo};
use gptoss_engine::gpu::{load_model, ExpertBudget, GpuContext, GpuOptions};
use gptoss_engine::harmony::{Conversation, Message, ReasoningEffort};
use gptoss_engine::model::{CpuModel, GptOssConfig, TensorPlan};
use gptoss_engine::sampler::SamplerConfig;
use gptoss_engine::source::ByteSource;
use gptoss_engine::tokenizer::Tokenizer;

use crate::args::Args;

fn number<T: std::str::FromStr>(args: &mut Args, flag: &str) -> Result<Option<T>, String> {
    args.value(&[flag])?.map(|v| v.parse::<T>().map_err(|_| format!("{flag}: `{v}` is not a valid number"))).transpose()
}

pub fn run(mut args: Args) -> Result<(), String> {
    let prompt = args.value(&["--prompt"])?.ok_or("--prompt TEXT is required")?;
    let backend = args.value(&["--backend"])?.unwrap_or_else(|| "gpu".into());
    let max_new_tokens = number(&mut args, "--max-tokens")?.unwrap_or(256usize);
    let defaults = SamplerConfig::default();
    let sampler = SamplerConfig {
        temperature: number(&mut args, "--temperature")?.unwrap_or(defaults.temperature),
        top_k: number(&mut args, "--top-k")?.unwrap_or(defaults.top_k),
        top_p: number(&mut args, "--top-p")?.unwrap_or(defaults.top_p),
        seed: number(&mut args, "--seed")?.unwrap_or(defaults.seed),
    };
    sampler.validate().map_err(|e| e.to_string())?;
    let reasoning = reasoning_effort(&mut args)?;
    let context = number(&mut args, "--context")?.unwrap_or(4096usize);
    let expert_budget = match args.value(&["--expert-budget"])? {
        Some(b) => ExpertBudget::parse(&b).map_err(|e| e.to_string())?,
        None => ExpertBudget::All,
    };
    let target = args.positional("a GGUF path or URL")?;
    args.finish()?;

    let file = pollster::block_on(GgufModel::open(ByteSource::from_path_or_url(&target), &mut NoEvents))
        .map_err(|e| e.to_string())?;
    let tokenizer = Tokenizer::from_gguf(file.header()).map_err(|e| e.to_string())?;
    let mut conversation = Conversation { messages: vec![Message::user(prompt)], ..Default::default() };
    conversation.system.reasoning_effort = reasoning;
    let ids = conversation.prompt_ids(&tokenizer).map_err(|e| e.to_string())?;
    if ids.len() + max_new_tokens > context {
        return Err(format!(
            "the prompt ({} tokens) plus --max-tokens {max_new_tokens} exceed the context of {context}",
            ids.len()
        ));
    }
    let mut engine = match backend.as_str() {
        "gpu" => {
            let ctx = Rc::new(pollster::block_on(GpuContext::new()).map_err(|e| e.to_string())?);
            eprintln!("gpu: {} ({})", ctx.report.name, ctx.report.backend);
            let options = GpuOptions { context, expert_budget, ..Default::default() };
            let model =
                pollster::block_on(load_model(ctx, &file, options, &mut NoEvents)).map_err(|e| e.to_string())?;
            Backend::Gpu(Box::new(model))
        }
        "cpu" => {
            let config = GptOssConfig::from_header(file.header()).map_err(|e| e.to_string())?;
            let infos: Vec<TensorInfo> = file.tensors().map(|t| t.info.clone()).collect();
            let plan = TensorPlan::new(&config, &infos).map_err(|e| e.to_string())?;
            let model = CpuModel::load(&config, &plan, |info| pollster::block_on(file.read_tensor(&info.name)))
                .map_err(|e| e.to_string())?;
            Backend::cpu(model)
        }
        other => return Err(format!("--backend: `{other}` is not cpu or gpu")),
    };
    let mut channel: Option<String> = None;
    let mut print = |e: Event| {
        if let Event::Token(t) = e {
            let mut out = std::io::stdout().lock();
            if t.part == "content" && t.channel != channel {
                channel = t.channel.clone();
                let _ = write!(out, "\n[{}] ", channel.as_deref().unwrap_or("message"));
            }
            if t.part == "content" || t.part == "raw" {
                let _ = write!(out, "{}", t.text);
            }
            let _ = out.flush();
        }
    };
    let options = GenerateOptions { max_new_tokens, sampler };
    let stats = pollster::block_on(generate(&mut engine, &tokenizer, &ids, &options, &mut print, || true))
        .map_err(|e| e.to_string())?;
    println!();
    eprintln!(
        "{} backend: prompt {} tokens, prefill {:.1} tokens/s ({:.0} ms to first token); {} generated, decode {:.1} tokens/s; stopped by {}",
        stats.backend,
        stats.prompt_tokens,
        stats.prefill_tokens_per_s,
        stats.time_to_first_token_ms,
        stats.generated,
        stats.decode_tokens_per_s,
        stats.stopped_by
    );
    Ok(())
}

/// `--reasoning low|medium|high` (default medium, Harmony's).
pub fn reasoning_effort(args: &mut Args) -> Result<ReasoningEffort, String> {
    match args.value(&["--reasoning"])?.as_deref() {
        None | Some("medium") => Ok(ReasoningEffort::Medium),
        Some("low") => Ok(ReasoningEffort::Low),
        Some("high") => Ok(ReasoningEffort::High),
        Some(other) => Err(format!("--reasoning: `{other}` is not low, medium or high")),
    }
}
