//! `gptoss synth --preset tiny|gpt-oss-20b|gpt-oss-120b [--seed N] -o FILE`: writes a gpt-oss GGUF with random
//! weights (`gptoss_engine::synth`) and reports how fast it streamed.

use crate::args::Args;
use gptoss_engine::synth::{HarmonyVocab, Preset, SynthModel};
use std::time::Instant;

/// The seed when none is given, so `gptoss synth --preset tiny` always writes the same file.
const DEFAULT_SEED: u64 = 0;

pub fn run(mut args: Args) -> Result<(), String> {
    let preset = args.value(&["--preset"])?.ok_or("synth needs --preset tiny|gpt-oss-20b|gpt-oss-120b")?;
    let preset = Preset::from_name(&preset).map_err(|e| e.to_string())?;
    let seed = match args.value(&["--seed"])? {
        Some(s) => s.parse::<u64>().map_err(|_| format!("--seed: `{s}` is not an unsigned 64-bit integer"))?,
        None => DEFAULT_SEED,
    };
    let path = args.value(&["-o", "--output"])?.ok_or("synth needs -o FILE")?;
    args.finish()?;

    let start = Instant::now();
    let vocab = HarmonyVocab::from_o200k_base().map_err(|e| e.to_string())?;
    let model = SynthModel::new(preset, seed, vocab).map_err(|e| e.to_string())?;
    let laid_out = start.elapsed().as_secs_f64();
    let total = model.writer().total_file_bytes();
    eprintln!(
        "synth: {} (seed {seed}): {} tensors, {:.1} MB ({:.3} GiB) -> {path}",
        preset.name(),
        model.writer().tensor_infos().len(),
        total as f64 / 1e6,
        total as f64 / (1u64 << 30) as f64
    );

    let start = Instant::now();
    model.write_file(std::path::Path::new(&path)).map_err(|e| e.to_string())?;
    let written = start.elapsed().as_secs_f64();
    eprintln!(
        "synth: vocabulary and layout {laid_out:.2} s; wrote {:.1} MB in {written:.2} s ({:.0} MB/s)",
        total as f64 / 1e6,
        total as f64 / 1e6 / written.max(1e-9)
    );
    Ok(())
}
