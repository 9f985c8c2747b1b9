//! `gptoss tokenize <MODEL> (--text TEXT | --file FILE)` prints the ids as a JSON array;
//! `gptoss detokenize <MODEL> --ids ID,ID,...` prints the text. Both read only the model's header (the tokenizer
//! lives in its metadata), never the tensor data.

use crate::args::ModelArg;
use crate::progress::Progress;
use gptoss_engine::gguf::read_header;
use gptoss_engine::source::ByteSource;
use gptoss_engine::tokenizer::Tokenizer;
use std::io::Write as _;
use std::path::PathBuf;

#[derive(clap::Args)]
#[group(id = "input", required = true, multiple = false, args = ["text", "file"])]
pub struct TokenizeArgs {
    #[command(flatten)]
    model: ModelArg,
    /// The text to tokenize
    #[arg(long, value_name = "TEXT")]
    text: Option<String>,
    /// A UTF-8 file whose whole content is tokenized
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
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

pub fn detokenize(args: DetokenizeArgs) -> Result<(), String> {
    let text = load_tokenizer(&args.model.model)?.decode(&args.ids).map_err(|e| e.to_string())?;
    print(&text);
    Ok(())
}
