//! `gptoss tokenize <MODEL> (--text TEXT | --file FILE)` prints the ids as a JSON array;
//! `gptoss tokenize <MODEL> --conversations FILE.jsonl [--reasoning low|medium|high]` renders each line's
//! `{"user", "analysis", "final"}` as a Harmony training conversation (`Conversation::completion_ids`) and prints
//! `{"prompt_tokens": N, "ids": [..]}` per line, in order;
//! `gptoss detokenize <MODEL> --ids ID,ID,...` prints the text. Both read only the model's header (the tokenizer
//! lives in its metadata), never the tensor data.

use crate::args::{named, ModelArg, EFFORTS};
use crate::progress::Progress;
use gptoss_engine::gguf::read_header;
use gptoss_engine::harmony::{Conversation, Message, ReasoningEffort};
use gptoss_engine::source::ByteSource;
use gptoss_engine::tokenizer::Tokenizer;
use std::io::Write as _;
use std::path::PathBuf;

#[derive(clap::Args)]
#[group(id = "input", required = true, multiple = false, args = ["text", "file", "conversations"])]
pub struct TokenizeArgs {
    #[command(flatten)]
    model: ModelArg,
    /// The text to tokenize
    #[arg(long, value_name = "TEXT")]
    text: Option<String>,
    /// A UTF-8 file whose whole content is tokenized
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// JSON lines of `{"user", "analysis", "final"}`, each rendered as a Harmony training conversation
    #[arg(long, value_name = "FILE.jsonl")]
    conversations: Option<PathBuf>,
    /// The reasoning effort the conversations' system message states (with --conversations)
    #[arg(long, default_value = "medium", value_parser = named(&EFFORTS, ReasoningEffort::as_str))]
    reasoning: ReasoningEffort,
}

#[derive(clap::Args)]
pub struct DetokenizeArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Token ids, comma-separated
    #[arg(long, value_name = "ID,..", value_delimiter = ',', required = true)]
    ids: Vec<u32>,
}

fn load_tokenizer(model: &str) -> Result<Tokenizer, String> {
    // `read_header` fetches a first chunk and grows it while the parser answers NeedMore.
    let header = pollster::block_on(read_header(&ByteSource::from_path_or_url(model), &mut Progress::on_terminal()))
        .map_err(|e| e.to_string())?;
    Tokenizer::from_gguf(&header).map_err(|e| format!("{model}: {e}"))
}

fn print(text: &str) {
    // A closed pipe (`gptoss tokenize … | head`) is not an error worth a message.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

pub fn tokenize(args: TokenizeArgs) -> Result<(), String> {
    if let Some(path) = &args.conversations {
        return tokenize_conversations(&args.model.model, path, args.reasoning);
    }
    let text = match (args.text, args.file) {
        (Some(text), _) => text,
        (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| format!("--file {}: {e}", path.display()))?,
        // clap's `input` group requires one of the two.
        (None, None) => return Err("give --text TEXT or --file FILE".into()),
    };
    let ids = load_tokenizer(&args.model.model)?.encode(&text).map_err(|e| e.to_string())?;
    print(&serde_json::to_string(&ids).map_err(|e| e.to_string())?);
    Ok(())
}

fn tokenize_conversations(model: &str, path: &std::path::Path, reasoning: ReasoningEffort) -> Result<(), String> {
    let tokenizer = load_tokenizer(model)?;
    let path = path.display().to_string();
    let lines = std::fs::read_to_string(&path).map_err(|e| format!("--conversations {path}: {e}"))?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (n, line) in lines.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |e: String| format!("{path}:{}: {e}", n + 1);
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| at(e.to_string()))?;
        let field = |key: &str| v[key].as_str().ok_or_else(|| at(format!("no string field `{key}`")));
        let mut conversation = Conversation { messages: vec![Message::user(field("user")?)], ..Default::default() };
        conversation.system.reasoning_effort = reasoning;
        let reply = [Message::assistant_analysis(field("analysis")?), Message::assistant_final(field("final")?)];
        let prompt_tokens = conversation.prompt_ids(&tokenizer).map_err(|e| at(e.to_string()))?.len();
        let ids = conversation.completion_ids(&tokenizer, &reply).map_err(|e| at(e.to_string()))?;
        let record = serde_json::json!({ "prompt_tokens": prompt_tokens, "ids": ids });
        writeln!(out, "{record}").map_err(|e| format!("writing ids: {e}"))?;
    }
    out.flush().map_err(|e| format!("writing ids: {e}"))
}

pub fn detokenize(args: DetokenizeArgs) -> Result<(), String> {
    let text = load_tokenizer(&args.model.model)?.decode(&args.ids).map_err(|e| e.to_string())?;
    print(&text);
    Ok(())
}
