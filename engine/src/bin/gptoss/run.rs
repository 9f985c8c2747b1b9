//! `gptoss run <MODEL> --prompt TEXT [--backend cpu|gpu] [--max-tokens N] [--temperature T] [--top-k K]
//! [--top-p P] [--seed S] [--reasoning low|medium|high] [--context N] [--expert-budget min|N%|BYTES] [--json]`:
//! render a Harmony prompt, generate, and stream the text as it comes, each channel labelled (the analysis channel
//! also dimmed on a terminal), then print prefill/decode tokens/s on stderr; or, with `--json`, print one JSON
//! object at the end: the ids, the text per channel and the timings.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::rc::Rc;

use gptoss_engine::events::{Event, GenerationStats};
use gptoss_engine::generate::{generate, Backend, GenerateOptions};
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::gpu::{load_model, ExpertBudget, GpuContext, GpuOptions};
use gptoss_engine::harmony::{Channel, Conversation, Message, ReasoningEffort, TokenPart};
use gptoss_engine::model::CpuModel;
use gptoss_engine::tokenizer::Tokenizer;
use serde::Serialize;

use crate::args::{named, report_cache, BackendArg, CacheArg, ExpertBudgetArg, ModelArg, SamplerArgs, EFFORTS};
use crate::progress::Progress;

/// The label of content in no channel.
const NO_CHANNEL: &str = "message";

fn channel_name(channel: Option<Channel>) -> &'static str {
    channel.map_or(NO_CHANNEL, Channel::as_str)
}
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

#[derive(clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    model: ModelArg,
    /// The user message
    #[arg(long, value_name = "TEXT")]
    prompt: String,
    /// Where the forward pass runs
    #[arg(long, value_enum, default_value_t = BackendArg::Gpu)]
    backend: BackendArg,
    /// Tokens generated at most
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_tokens: usize,
    #[command(flatten)]
    sampler: SamplerArgs,
    /// The reasoning effort the system message asks for
    #[arg(long, default_value = "medium", value_parser = named(&EFFORTS, ReasoningEffort::as_str))]
    reasoning: ReasoningEffort,
    /// Positions the KV cache holds: the prompt plus the generated tokens
    #[arg(long, value_name = "N", default_value_t = 4096)]
    context: usize,
    #[command(flatten)]
    expert_budget: ExpertBudgetArg,
    #[command(flatten)]
    cache: CacheArg,
    /// Print one JSON object at the end (prompt and generated ids, text per channel, timings) instead of the
    /// streamed text
    #[arg(long)]
    json: bool,
}

/// What `--json` prints.
#[derive(Serialize)]
struct RunReport<'a> {
    prompt_ids: &'a [u32],
    ids: Vec<u32>,
    /// Content text per Harmony channel (`message` for content in none).
    channels: BTreeMap<String, String>,
    /// Output the Harmony parser could not place in a message.
    raw: String,
    stats: &'a GenerationStats,
}

pub fn run(args: RunArgs) -> Result<(), String> {
    let sampler = args.sampler.config();
    let mut progress = Progress::on_stderr();
    let (source, cache) = args.cache.source(&args.model)?;
    let loaded = pollster::block_on(GgufModel::open(source, &mut progress));
    report_cache(cache.as_ref(), |line| progress.note(line));
    let file = loaded.map_err(|e| e.to_string())?;
    let tokenizer = Tokenizer::from_gguf(file.header()).map_err(|e| e.to_string())?;
    let mut conversation = Conversation { messages: vec![Message::user(args.prompt)], ..Default::default() };
    conversation.system.reasoning_effort = args.reasoning;
    let ids = conversation.prompt_ids(&tokenizer).map_err(|e| e.to_string())?;
    if ids.len() + args.max_tokens > args.context {
        return Err(format!(
            "the prompt ({} tokens) plus --max-tokens {} exceed the context of {}",
            ids.len(),
            args.max_tokens,
            args.context
        ));
    }
    let mut engine = load_backend(&file, args.backend, args.context, args.expert_budget.expert_budget, &mut progress)?;
    report_cache(cache.as_ref(), |line| progress.note(line));
    let options = GenerateOptions { max_new_tokens: args.max_tokens, sampler };
    let stats = if args.json {
        let (mut generated, mut channels, mut raw) = (Vec::new(), BTreeMap::<String, String>::new(), String::new());
        let mut collect = |e: Event| {
            let Event::Token(t) = e else { return };
            generated.push(t.id);
            match t.part {
                TokenPart::Content => channels.entry(channel_name(t.channel).into()).or_default().push_str(&t.text),
                TokenPart::Raw => raw.push_str(&t.text),
                TokenPart::Header | TokenPart::End => {}
            }
        };
        let stats = pollster::block_on(generate(&mut engine, &tokenizer, &ids, &options, &mut collect, || true))
            .map_err(|e| e.to_string())?;
        let report = RunReport { prompt_ids: &ids, ids: generated, channels, raw, stats: &stats };
        println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
        stats
    } else {
        let mut stream = TextStream::new();
        let stats =
            pollster::block_on(generate(&mut engine, &tokenizer, &ids, &options, &mut |e| stream.print(e), || true))
                .map_err(|e| e.to_string())?;
        stream.end();
        stats
    };
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

/// The model on `backend`, its KV cache sized for `context` positions on the GPU.
pub(crate) fn load_backend(
    file: &GgufModel,
    backend: BackendArg,
    context: usize,
    expert_budget: ExpertBudget,
    progress: &mut Progress,
) -> Result<Backend, String> {
    Ok(match backend {
        BackendArg::Gpu => {
            let ctx = Rc::new(pollster::block_on(GpuContext::new()).map_err(|e| e.to_string())?);
            progress.note(&format!("gpu: {} ({})", ctx.report.name, ctx.report.backend));
            let options = GpuOptions { context, expert_budget, ..Default::default() };
            let model = pollster::block_on(load_model(ctx, file, options, progress)).map_err(|e| e.to_string())?;
            Backend::Gpu(Box::new(model))
        }
        BackendArg::Cpu => {
            let model = pollster::block_on(CpuModel::from_gguf(file)).map_err(|e| e.to_string())?;
            Backend::cpu(model)
        }
    })
}

/// The generated text on stdout as it comes: `[channel] ` before each message's content, the analysis channel dimmed
/// on a terminal.
pub(crate) struct TextStream {
    channel: Option<Channel>,
    dim: bool,
}

impl TextStream {
    /// Dims the analysis channel when stdout is a terminal.
    pub(crate) fn new() -> TextStream {
        TextStream { channel: None, dim: std::io::stdout().is_terminal() }
    }

    fn dimmed(&self) -> bool {
        self.dim && self.channel == Some(Channel::Analysis)
    }

    pub(crate) fn print(&mut self, event: Event) {
        let Event::Token(t) = event else { return };
        let mut out = std::io::stdout().lock();
        // A closed pipe (`gptoss run … | head`) is not an error worth a message.
        if t.part == TokenPart::Content && t.channel != self.channel {
            if self.dimmed() {
                let _ = write!(out, "{RESET}");
            }
            self.channel = t.channel;
            let _ = write!(out, "\n[{}] ", channel_name(self.channel));
            if self.dimmed() {
                let _ = write!(out, "{DIM}");
            }
        }
        if matches!(t.part, TokenPart::Content | TokenPart::Raw) {
            let _ = write!(out, "{}", t.text);
        }
        let _ = out.flush();
    }

    pub(crate) fn end(&mut self) {
        let reset = if self.dimmed() { RESET } else { "" };
        println!("{reset}");
        self.channel = None;
    }
}
