//! `gptoss tokenize <model> [--text TEXT | --file FILE]` prints the ids as a JSON array;
//! `gptoss tokenize <model> --conversations FILE.jsonl [--reasoning low|medium|high]` renders each line's
//! `{"user", "analysis", "final"}` as a Harmony training conversation (`Conversation::completion_ids`) and prints
//! `{"prompt_tokens": N, "ids": [..]}` per line, in order;
//! `gptoss detokenize <model> --ids ID,ID,...` prints the text. All read only the model's header (the tokenizer
//! lives in its metadata), never the tensor data.

use crate::args::Args;
use gptoss_engine::events::NoEvents;
use gptoss_engine::gguf::read_header;
use gptoss_engine::harmony::{Conversation, Message};
use gptoss_engine::source::ByteSource;
use gptoss_engine::tokenizer::Tokenizer;
use std::io::Write as _;

fn load_tokenizer(model: &str) -> Result<Tokenizer, String> {
    // `read_header` fetches a first chunk and grows it while the parser answers NeedMore.
    let header = pollster::block_on(read_header(&ByteSource::from_path_or_url(model), &mut NoEvents))
        .map_err(|e| e.to_string())?;
    Tokenizer::from_gguf(&header).map_err(|e| format!("{model}: {e}"))
}

fn print(text: &str) {
    // A closed pipe (`gptoss tokenize … | head`) is not an error worth a message.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

pub fn tokenize(mut args: Args) -> Result<(), String> {
    let text = args.value(&["--text"])?;
    let file = args.value(&["--file"])?;
    if let Some(conversations) = args.value(&["--conversations"])? {
        if text.is_some() || file.is_some() {
            return Err("--conversations takes neither --text nor --file".into());
        }
        return tokenize_conversations(args, &conversations);
    }
    let model = args.positional("a model path")?;
    args.finish()?;
    let text = match (text, file) {
        (Some(text), None) => text,
        (None, Some(path)) => std::fs::read_to_string(&path).map_err(|e| format!("--file {path}: {e}"))?,
        _ => return Err("give exactly one of --text TEXT or --file FILE".into()),
    };
    let ids = load_tokenizer(&model)?.encode(&text).map_err(|e| e.to_string())?;
    print(&serde_json::to_string(&ids).map_err(|e| e.to_string())?);
    Ok(())
}

fn tokenize_conversations(mut args: Args, path: &str) -> Result<(), String> {
    let reasoning = crate::run::reasoning_effort(&mut args)?;
    let model = args.positional("a model path")?;
    args.finish()?;
    let tokenizer = load_tokenizer(&model)?;
    let lines = std::fs::read_to_string(path).map_err(|e| format!("--conversations {path}: {e}"))?;
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

pub fn detokenize(mut args: Args) -> Result<(), String> {
    let list = args.value(&["--ids"])?.ok_or("--ids ID,ID,... is required")?;
    let ids = Args::parse_ids(&list, "--ids")?;
    let model = args.positional("a model path")?;
    args.finish()?;
    let text = load_tokenizer(&model)?.decode(&ids).map_err(|e| e.to_string())?;
    print(&text);
    Ok(())
}
