//! `gptoss`: the engine's native command line. One module per command; each takes its arguments and returns the
//! process exit code. Errors print one line on stderr and exit 1, never a panic.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod inspect;
#[cfg(not(target_arch = "wasm32"))]
mod logits;
#[cfg(not(target_arch = "wasm32"))]
mod pack;
#[cfg(not(target_arch = "wasm32"))]
mod run;
#[cfg(not(target_arch = "wasm32"))]
mod synth;
#[cfg(not(target_arch = "wasm32"))]
mod tokenize;

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = argv.split_first() else {
        eprintln!("{}", USAGE);
        std::process::exit(2);
    };
    let rest = args::Args::new(rest.to_vec());
    let result: Result<(), String> = match command.as_str() {
        // Each command module is added here as it lands.
        "bench" => bench::run(rest),
        "inspect" => inspect::run(rest),
        "logits" => logits::run(rest),
        "pack" => pack::run(rest),
        "run" => run::run(rest),
        "synth" => synth::run(rest),
        "tokenize" => tokenize::tokenize(rest),
        "detokenize" => tokenize::detokenize(rest),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(target_arch = "wasm32"))]
const USAGE: &str = "usage: gptoss <command> [args]
commands:
  inspect <path-or-url>                         metadata, tensor table, totals per type
  logits <model> --tokens ID,.. [--backend cpu|gpu] [--last-logits FILE] [--greedy N]
  run <model> --prompt TEXT [--backend cpu|gpu]  generate with Harmony formatting
  tokenize <model> [--text TEXT | --file FILE]  print token ids as JSON
  tokenize <model> --conversations FILE.jsonl [--reasoning low|medium|high]
                                                Harmony training conversations as ids, one JSON line each
  detokenize <model> --ids ID,..                print text
  synth --preset tiny|gpt-oss-20b|gpt-oss-120b [--seed N] -o FILE
  pack --manifest FILE.json -o FILE            a trained model (training/) as a gpt-oss GGUF
  bench <model> [--json]";
