//! `gptoss chat <MODEL> [--backend cpu|gpu] [--max-tokens N] [sampler flags] [--reasoning low|medium|high]
//! [--context N] [--expert-budget …] [--system TEXT] [--tools FILE.json]`: a Harmony chat on stdin/stdout. Each line
//! is a user message (or, after a tool call, the tool's output); each turn prefills only what the KV cache does not
//! hold yet. Commands: `/effort low|medium|high`, `/system TEXT` (developer instructions; empty clears them),
//! `/clear`, `/regen`, `/quit`.

use std::io::{BufRead, IsTerminal, Write};

use gptoss_engine::chat::{Chat, TurnEnd};
use gptoss_engine::generate::GenerateOptions;
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::harmony::{Conversation, FunctionTool, JsonValue, ReasoningEffort};
use gptoss_engine::source::ByteSource;
use gptoss_engine::tokenizer::Tokenizer;

use crate::args::{named, BackendArg, ExpertBudgetArg, ModelArg, SamplerArgs, EFFORTS};
use crate::progress::Progress;
use crate::run::{load_backend, TextStream};

const HELP: &str = "a line is your message (after a tool call: the tool's output); /effort low|medium|high, \
                    /system TEXT (developer instructions), /clear, /regen (answer the last message again), /quit";

#[derive(clap::Args)]
pub struct ChatArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Where the forward pass runs
    #[arg(long, value_enum, default_value_t = BackendArg::Gpu)]
    backend: BackendArg,
    /// Tokens generated at most per turn
    #[arg(long, value_name = "N", default_value_t = 256)]
    max_tokens: usize,
    #[command(flatten)]
    sampler: SamplerArgs,
    /// The reasoning effort the system message asks for (`/effort` changes it)
    #[arg(long, default_value = "medium", value_parser = named(&EFFORTS, ReasoningEffort::as_str))]
    reasoning: ReasoningEffort,
    /// Positions the KV cache holds: the whole conversation
    #[arg(long, value_name = "N", default_value_t = 4096)]
    context: usize,
    #[command(flatten)]
    expert_budget: ExpertBudgetArg,
    /// Developer instructions (`/system` changes them)
    #[arg(long, value_name = "TEXT")]
    system: Option<String>,
    /// Function tools the model may call: a JSON array of `{"name", "description", "parameters": JSON schema}`
    #[arg(long, value_name = "FILE.json")]
    tools: Option<std::path::PathBuf>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ToolSpec {
    name: String,
    #[serde(default)]
    description: String,
    parameters: Option<JsonValue>,
}

fn read_tools(path: &std::path::Path) -> Result<Vec<FunctionTool>, String> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(&e))?;
    let specs: Vec<ToolSpec> = serde_json::from_str(&text).map_err(|e| at(&e))?;
    specs
        .into_iter()
        .map(|t| {
            let schema = t.parameters.map(|p| p.to_string()).unwrap_or_default();
            FunctionTool::new(&t.name, &t.description, &schema).map_err(|e| at(&e))
        })
        .collect()
}

pub fn run(args: ChatArgs) -> Result<(), String> {
    let options = GenerateOptions { max_new_tokens: args.max_tokens, sampler: args.sampler.config() };
    let tools = args.tools.as_deref().map(read_tools).transpose()?.unwrap_or_default();
    let mut progress = Progress::on_stderr();
    let file = pollster::block_on(GgufModel::open(ByteSource::from_path_or_url(&args.model.model), &mut progress))
        .map_err(|e| e.to_string())?;
    let tokenizer = Tokenizer::from_gguf(file.header()).map_err(|e| e.to_string())?;
    let mut backend = load_backend(&file, args.backend, args.context, args.expert_budget.expert_budget, &mut progress)?;
    let mut chat = Chat::new(Conversation { developer_instructions: args.system, tools, ..Default::default() });
    chat.conversation.system.reasoning_effort = args.reasoning;

    let interactive = std::io::stdin().is_terminal();
    let ask = |waiting_for_tool: bool| {
        if interactive {
            eprint!("{}", if waiting_for_tool { "tool> " } else { "> " });
            let _ = std::io::stderr().flush();
        }
    };
    if interactive {
        eprintln!("{HELP}");
    }
    ask(false);
    let mut stream = TextStream::new();
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| format!("stdin: {e}"))?;
        let text = line.trim();
        let generate = match text.split_once(' ').unwrap_or((text, "")) {
            ("", _) => false,
            ("/quit" | "/exit", _) => break,
            ("/help", _) => {
                eprintln!("{HELP}");
                false
            }
            ("/effort", effort) => {
                match EFFORTS.iter().find(|e| e.as_str() == effort.trim()) {
                    Some(&e) => chat.conversation.system.reasoning_effort = e,
                    None => eprintln!("error: /effort takes low, medium or high"),
                }
                false
            }
            ("/system", instructions) => {
                let instructions = instructions.trim();
                chat.conversation.developer_instructions = (!instructions.is_empty()).then(|| instructions.to_owned());
                false
            }
            ("/clear", _) => {
                chat.clear();
                false
            }
            ("/regen", _) => chat.undo_reply() > 0,
            (command, _) if command.starts_with('/') => {
                eprintln!("error: unknown command {command}; {HELP}");
                false
            }
            _ => {
                let added =
                    if chat.conversation.pending_call().is_some() { chat.tool_result(text) } else { chat.user(text) };
                added.map_err(|e| e.to_string())?;
                true
            }
        };
        if generate {
            let turn =
                pollster::block_on(
                    chat.generate(&mut backend, &tokenizer, &options, &mut |e| stream.print(e), || true),
                );
            stream.end();
            match turn {
                Ok(turn) => {
                    if let TurnEnd::ToolCall { name, arguments, content_type } = &turn.reply.end {
                        let ty = content_type.as_deref().unwrap_or("text");
                        println!("[call] functions.{name} ({ty}): {arguments}");
                        eprintln!("type the output of functions.{name}");
                    }
                    let s = &turn.generation.stats;
                    eprintln!(
                        "{} backend: prompt {} tokens ({} reused, {} prefilled at {:.1} tokens/s); {} generated at \
                         {:.1} tokens/s; stopped by {}",
                        s.backend,
                        s.prompt_tokens,
                        s.reused_tokens,
                        s.prompt_tokens - s.reused_tokens,
                        s.prefill_tokens_per_s,
                        s.generated,
                        s.decode_tokens_per_s,
                        s.stopped_by
                    );
                }
                // A full context or a bad step ends the turn, not the chat: /clear makes room.
                Err(e) => eprintln!("error: {e}"),
            }
        }
        ask(chat.conversation.pending_call().is_some());
    }
    Ok(())
}
