//! `gptoss tokenize <model> [--text TEXT | --file FILE]` prints the ids as a JSON array;
//! `gptoss detokenize <model> --ids ID,ID,...` prints the text. Both read only the model's header (the tokenizer
//! lives in its metadata), never the tensor data.

use crate::args::Args;
use gptoss_engine::events::NoEvents;
use gptoss_engine::gguf::read_header;
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

pub fn detokenize(mut args: Args) -> Result<(), String> {
    let list = args.value(&["--ids"])?.ok_or("--ids ID,ID,... is required")?;
    let ids = Args::parse_ids(&list, "--ids")?;
    let model = args.positional("a model path")?;
    args.finish()?;
    let text = load_tokenizer(&model)?.decode(&ids).map_err(|e| e.to_string())?;
    print(&text);
    Ok(())
}
