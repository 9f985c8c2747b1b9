//! `gptoss bench <model> [--json] [--decode-tokens N] [--prefill 128,1024] [--contexts 0,1024,4096]
//! [--max-batch N] [--expert-budget min|N%|BYTES]`

use gptoss_engine::bench::{self, BenchOptions};
use gptoss_engine::gpu::ExpertBudget;

use crate::args::Args;

pub fn run(mut args: Args) -> Result<(), String> {
    let json = args.flag("--json");
    let mut options = BenchOptions::default();
    if let Some(n) = args.value(&["--decode-tokens"])? {
        options.decode_tokens = n.parse().map_err(|_| format!("--decode-tokens: `{n}` is not a count"))?;
    }
    let list = |v: String, flag: &str| -> Result<Vec<usize>, String> {
        Args::parse_ids(&v, flag).map(|ids| ids.into_iter().map(|x| x as usize).collect())
    };
    if let Some(v) = args.value(&["--prefill"])? {
        options.prefill_lengths = list(v, "--prefill")?;
    }
    if let Some(v) = args.value(&["--contexts"])? {
        options.decode_contexts = list(v, "--contexts")?;
    }
    if let Some(v) = args.value(&["--max-batch"])? {
        options.max_batch = v.parse().map_err(|_| format!("--max-batch: `{v}` is not a count"))?;
    }
    if let Some(v) = args.value(&["--expert-budget"])? {
        options.expert_budget = ExpertBudget::parse(&v).map_err(|e| e.to_string())?;
    }
    let model = args.positional("model path or URL")?;
    args.finish()?;
    let report = pollster::block_on(bench::run(&model, &options)).map_err(|e| e.to_string())?;
    if json {
        // The readable report still goes to stderr, so one run gives both.
        eprint!("{}", report.text());
        println!("{}", serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}
