//! `gptoss`: the engine's native command line, declared with clap. One module per command; each takes its parsed
//! arguments. Exit codes: 0 done; 1 a refused input (a broken file, a prompt longer than the context), with one
//! `error:` line on stderr, never a panic; 2 a usage error, in clap's form, naming the flag.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
mod args;
#[cfg(not(target_arch = "wasm32"))]
mod bench;
#[cfg(not(target_arch = "wasm32"))]
mod chat;
#[cfg(not(target_arch = "wasm32"))]
mod inspect;
#[cfg(not(target_arch = "wasm32"))]
mod logits;
#[cfg(not(target_arch = "wasm32"))]
mod pack;
#[cfg(not(target_arch = "wasm32"))]
mod progress;
#[cfg(not(target_arch = "wasm32"))]
mod run;
#[cfg(not(target_arch = "wasm32"))]
mod synth;
#[cfg(not(target_arch = "wasm32"))]
mod tokenize;

#[cfg(not(target_arch = "wasm32"))]
use clap::{CommandFactory, Parser, Subcommand};

/// gpt-oss on the GPU (Vulkan) through the same WGSL kernels as in the browser.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Parser)]
#[command(name = "gptoss", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[cfg(not(target_arch = "wasm32"))]
#[derive(Subcommand)]
enum Command {
    /// A GGUF file's metadata (long arrays summarised), its tensor table and the totals per type
    Inspect(inspect::InspectArgs),
    /// Per-position top-20 logits and log-sum-exp of token ids as JSON, in the fixture goldens' layout
    Logits(logits::LogitsArgs),
    /// Harmony-formatted generation, streamed (analysis and final channels labelled), with prefill/decode tokens/s
    Run(run::RunArgs),
    /// A Harmony chat on stdin, turn by turn, each turn prefilling only what the KV cache lacks; /effort, /system,
    /// /clear, /regen
    Chat(chat::ChatArgs),
    /// Token ids of a text as a JSON array, with the model's own o200k_harmony tokenizer
    Tokenize(tokenize::TokenizeArgs),
    /// The text of token ids, with the model's own o200k_harmony tokenizer
    Detokenize(tokenize::DetokenizeArgs),
    /// Write a gpt-oss GGUF with random weights, the published shapes and types, and the real vocabulary
    Synth(synth::SynthArgs),
    /// Write a trained model (`training/`) as a gpt-oss GGUF with the published layout, metadata and vocabulary
    Pack(pack::PackArgs),
    /// Load, prefill and decode timings against a read-bandwidth ceiling measured in the same run, with per-kernel
    /// GPU times
    Bench(bench::BenchArgs),
    /// Print a completion script for a shell, e.g. `gptoss completions bash > /etc/bash_completion.d/gptoss`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    let result = match Cli::parse().command {
        Command::Inspect(args) => inspect::run(args),
        Command::Logits(args) => logits::run(args),
        Command::Run(args) => run::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Tokenize(args) => tokenize::tokenize(args),
        Command::Detokenize(args) => tokenize::detokenize(args),
        Command::Synth(args) => synth::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Completions { shell } => {
            // clap_complete panics on a failed write; a closed pipe (`… | head`) is not an error worth a message.
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "gptoss", &mut script);
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &script);
            Ok(())
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
