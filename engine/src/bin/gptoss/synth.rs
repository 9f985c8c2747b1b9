//! `gptoss synth --preset tiny|gpt-oss-20b|gpt-oss-120b [--seed N] [--split N] -o FILE`: writes a gpt-oss GGUF with
//! random weights (`gptoss_engine::synth`), as one file or split into several, with its progress (bytes written,
//! rate, time left) on stderr.

use crate::args::named;
use crate::progress::Progress;
use gptoss_engine::synth::{HarmonyVocab, Preset, SynthModel};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct SynthArgs {
    /// The shapes to write: `tiny` is gpt-oss-20b's structure at width 64; the others are full size
    #[arg(long, value_parser = named(&Preset::ALL, Preset::name))]
    preset: Preset,
    /// Seed of the random weights; the same seed always writes the same bytes
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the GGUF file (missing folders are created)
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Write N files, as llama.cpp splits a model: FILE's name with -00001-of-0000N and so on
    #[arg(long, value_name = "N")]
    split: Option<u32>,
}

pub fn run(args: SynthArgs) -> Result<(), String> {
    let start = Instant::now();
    let vocab = HarmonyVocab::from_o200k_base().map_err(|e| e.to_string())?;
    let model = SynthModel::new(args.preset, args.seed, vocab).map_err(|e| e.to_string())?;
    let total = model.writer().total_file_bytes();
    let mut progress = Progress::on_stderr();
    progress.note(&format!(
        "synth: {} (seed {}): {} tensors, {:.1} MB ({:.3} GiB) -> {}; vocabulary and layout {:.2} s",
        args.preset.name(),
        args.seed,
        model.writer().tensor_infos().len(),
        total as f64 / 1e6,
        total as f64 / (1u64 << 30) as f64,
        args.output.display(),
        start.elapsed().as_secs_f64()
    ));
    match args.split {
        None => model.write_file(&args.output, &mut progress).map_err(|e| e.to_string()),
        Some(count) => {
            let paths = model.write_split_files(&args.output, count, &mut progress).map_err(|e| e.to_string())?;
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            progress.note(&format!("synth: split into {count} files: {}", names.join(", ")));
            Ok(())
        }
    }
}
