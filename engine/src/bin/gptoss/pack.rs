//! `gptoss pack --manifest FILE.json -o FILE.gguf`: writes a trained model (`training/`) as a gpt-oss GGUF with
//! the same layout, metadata and vocabulary as `gptoss synth` (`gptoss_engine::synth::TrainedModel`).
//!
//! The manifest names the model (`name`, `size_label`, `license`), gives its `shape` (the fields of
//! `synth::Shape`), and lists `tensors` as `{name, dims, type, offset, n_bytes}` into the raw file `data`
//! (relative to the manifest), each already in its GGUF type's bytes.

use gptoss_engine::gguf::GgmlType;
use gptoss_engine::synth::{HarmonyVocab, ModelCard, Shape, TrainedModel};
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct PackArgs {
    /// The manifest `training/export.py` writes (names, shape, tensor table into its raw data file)
    #[arg(long, value_name = "FILE.json")]
    manifest: PathBuf,
    /// Where to write the GGUF file
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

pub fn run(args: PackArgs) -> Result<(), String> {
    let manifest_path = args.manifest.display().to_string();
    let out = args.output.display().to_string();

    let text = std::fs::read_to_string(&manifest_path).map_err(|e| format!("{manifest_path}: {e}"))?;
    let manifest: Value = serde_json::from_str(&text).map_err(|e| format!("{manifest_path}: {e}"))?;
    let string = |v: &Value, key: &str| {
        v[key].as_str().map(str::to_string).ok_or_else(|| format!("{manifest_path}: no string `{key}`"))
    };
    let number = |v: &Value, key: &str| v[key].as_u64().ok_or_else(|| format!("{manifest_path}: no number `{key}`"));
    let card = ModelCard {
        name: string(&manifest, "name")?,
        size_label: string(&manifest, "size_label")?,
        license: string(&manifest, "license")?,
    };
    let s = &manifest["shape"];
    let shape = Shape {
        layers: number(s, "layers")?,
        embedding: number(s, "embedding")?,
        heads: number(s, "heads")?,
        kv_heads: number(s, "kv_heads")?,
        head_dim: number(s, "head_dim")?,
        experts: number(s, "experts")?,
        experts_used: number(s, "experts_used")?,
        expert_width: number(s, "expert_width")?,
        sliding_window: number(s, "sliding_window")?,
        context_length: number(s, "context_length")?,
    };
    let data_path = Path::new(&manifest_path).with_file_name(string(&manifest, "data")?);
    let data = std::fs::read(&data_path).map_err(|e| format!("{}: {e}", data_path.display()))?;
    let entries = manifest["tensors"].as_array().ok_or_else(|| format!("{manifest_path}: no `tensors` list"))?;
    let mut tensors = Vec::with_capacity(entries.len());
    for t in entries {
        let name = string(t, "name")?;
        let dims = t["dims"]
            .as_array()
            .and_then(|d| d.iter().map(Value::as_u64).collect::<Option<Vec<u64>>>())
            .ok_or_else(|| format!("{name}: `dims` is not a list of numbers"))?;
        let type_name = string(t, "type")?;
        let ggml_type = GgmlType::ALL
            .into_iter()
            .find(|g| g.name() == type_name)
            .ok_or_else(|| format!("{name}: unknown type `{type_name}`"))?;
        let (offset, n_bytes) = (number(t, "offset")? as usize, number(t, "n_bytes")? as usize);
        let bytes = data.get(offset..offset + n_bytes).ok_or_else(|| {
            format!("{name}: bytes {offset}..{} are past the end of {}", offset + n_bytes, data_path.display())
        })?;
        tensors.push((name, dims, ggml_type, bytes.to_vec()));
    }

    let vocab = HarmonyVocab::from_o200k_base().map_err(|e| e.to_string())?;
    let model = TrainedModel::new(shape, card, vocab, tensors).map_err(|e| e.to_string())?;
    model.write_file(Path::new(&out)).map_err(|e| e.to_string())?;
    eprintln!(
        "pack: {} tensors, {:.1} MB -> {out}",
        model.writer().tensor_infos().len(),
        model.writer().total_file_bytes() as f64 / 1e6
    );
    Ok(())
}
