//! `gptoss bench <MODEL> [--json] [--decode-tokens N] [--prefill 128,1024] [--contexts 0,1024,4096]
//! [--max-batch N] [--tiled-from N] [--expert-budget min|N%|BYTES] [--reads 8x8,4x32]`, with each phase's progress on stderr.

use std::sync::LazyLock;

use gptoss_engine::bench::{self, BenchOptions};

use crate::args::{ExpertBudgetArg, ModelArg};
use crate::progress::Progress;

/// The engine's default lists, as the comma-separated text the flags take.
static DEFAULT_PREFILL: LazyLock<String> = LazyLock::new(|| comma_list(&BenchOptions::default().prefill_lengths));
static DEFAULT_CONTEXTS: LazyLock<String> = LazyLock::new(|| comma_list(&BenchOptions::default().decode_contexts));

fn comma_list(values: &[usize]) -> String {
    values.iter().map(usize::to_string).collect::<Vec<_>>().join(",")
}

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Print the report as JSON on stdout (the readable report goes to stderr)
    #[arg(long)]
    json: bool,
    /// Tokens decoded and timed at each context length
    #[arg(long, value_name = "N", default_value_t = BenchOptions::default().decode_tokens)]
    decode_tokens: usize,
    /// Prompt lengths whose prefill is timed, comma-separated
    #[arg(long, value_name = "N,..", value_delimiter = ',', default_value = DEFAULT_PREFILL.as_str())]
    prefill: Vec<usize>,
    /// Context lengths at which decoding is timed, comma-separated
    #[arg(long, value_name = "N,..", value_delimiter = ',', default_value = DEFAULT_CONTEXTS.as_str())]
    contexts: Vec<usize>,
    /// The largest prefill batch (longer prompts run in batches of this many tokens)
    #[arg(long, value_name = "N", default_value_t = BenchOptions::default().max_batch)]
    max_batch: usize,
    /// Batches of at least this many tokens run the tiled mat-mul kernels (a large N: never; 1: always)
    #[arg(long, value_name = "N", default_value_t = BenchOptions::default().tiled_from)]
    tiled_from: usize,
    #[command(flatten)]
    expert_budget: ExpertBudgetArg,
    /// Other read patterns whose fetch ceiling is measured too: reads in flight x MiB per read, comma-separated
    #[arg(long, value_name = "NxMIB,..", value_delimiter = ',')]
    reads: Vec<gptoss_engine::gguf::StreamOptions>,
}

pub fn run(args: BenchArgs) -> Result<(), String> {
    let options = BenchOptions {
        prefill_lengths: args.prefill,
        decode_contexts: args.contexts,
        decode_tokens: args.decode_tokens,
        max_batch: args.max_batch,
        tiled_from: args.tiled_from,
        expert_budget: args.expert_budget.expert_budget,
        reads: args.reads,
        ..BenchOptions::default()
    };
    let mut progress = Progress::on_stderr();
    let report =
        pollster::block_on(bench::run(&args.model.model, &options, &mut progress)).map_err(|e| e.to_string())?;
    if args.json {
        // The readable report still goes to stderr, so one run gives both.
        eprint!("{}", report.text());
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
