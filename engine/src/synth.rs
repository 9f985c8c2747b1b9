//! Synthetic gpt-oss models: GGUF files with the published layout (`gpt-oss.md` §3–4) and random weights.
//!
//! They stand in for the real checkpoints wherever the weights' values do not matter: the app's bundled default
//! model (`tiny`), GPU benchmarks at the real sizes (`gpt-oss-20b`, `gpt-oss-120b`), streaming and HUD tests.
//! Everything else is real: the tensor names, shapes and types of the ggml-org MXFP4 files (Q8_0 dense 2-D
//! weights, MXFP4 experts, F32 norms, biases, sinks and router), the metadata keys, and the o200k_harmony
//! vocabulary, built offline from the o200k_base ranks that `tiktoken-rs` embeds (`../shared/fixtures/README.md`
//! says how tokens and merges follow from the ranks).
//!
//! Weights are a pure function of (seed, tensor index), drawn with xoshiro256++ straight into the block bytes, and
//! written one tensor at a time through [`GgufWriter`], so a 12 GB file streams at disk speed in the memory of its
//! largest tensor. Spreads come from each matrix's fan-in, so every activation keeps unit scale at any width and
//! the LM head's logits have a standard deviation of [`LOGIT_GAIN`] (far from uniform) at every size.

use crate::events::{EventSink, NoEvents, Stage, StageTimer};
use crate::gguf::{split_file_name, GgmlType, GgufWriter, MetaArray, MetaValue, TensorInfo};
use crate::{Error, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Token array length of o200k_harmony: 199,998 BPE ranks plus the specials 199,998..=201,087 (`gpt-oss.md` §6.4).
pub const VOCAB_SIZE: u32 = 201_088;
/// Ids below this are o200k_base BPE ranks.
const FIRST_SPECIAL: u32 = 199_998;
/// The last id the Hugging Face tokenizer names (`<|endofprompt|>`); the converter calls later ids `[PAD<id>]`.
const LAST_NAMED_SPECIAL: u32 = 200_018;

/// `tokenizer.ggml.token_type` values (llama.cpp `llama_token_type`).
const TOKEN_NORMAL: i32 = 1;
const TOKEN_CONTROL: i32 = 3;
const TOKEN_UNUSED: i32 = 5;

/// Standard deviation of the LM head's logits: Gaussian logits over 201,088 ids with this spread have an entropy of
/// about 3.5 nats (uniform: ln 201088 = 12.2) and a top token of ~25% probability, so greedy decoding is decisive.
pub const LOGIT_GAIN: f32 = 5.0;
/// Standard deviation of the router's logits: wide enough that the 4th and 5th expert are rarely near-tied.
const ROUTER_GAIN: f32 = 2.0;
/// Biases are small next to the unit-scale activations they are added to.
const BIAS_RANGE: f32 = 0.1;

/// The sizes a gpt-oss GGUF's metadata records (`gpt-oss.md` §0, §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub layers: u64,
    pub embedding: u64,
    pub heads: u64,
    pub kv_heads: u64,
    pub head_dim: u64,
    pub experts: u64,
    pub experts_used: u64,
    pub expert_width: u64,
    pub sliding_window: u64,
    pub context_length: u64,
}

/// gpt-oss-20b (`gpt-oss.md` §0); the other presets differ from it only where said.
const GPT_OSS_20B: Shape = Shape {
    layers: 24,
    embedding: 2880,
    heads: 64,
    kv_heads: 8,
    head_dim: 64,
    experts: 32,
    experts_used: 4,
    expert_width: 2880,
    sliding_window: 128,
    context_length: 131_072,
};

/// Which synthetic model to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// gpt-oss-20b's structure (24 layers, 32 experts of which 4 are used, 64 q / 8 kv heads of 64, window 128) at
    /// width 64 (embedding and expert width), so the file is ~60 MB, most of it the vocabulary-sized embedding and LM
    /// head and the token strings.
    Tiny,
    Gpt20b,
    Gpt120b,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Preset::Tiny, Preset::Gpt20b, Preset::Gpt120b];

    /// The name `gptoss synth --preset` takes.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Gpt20b => "gpt-oss-20b",
            Preset::Gpt120b => "gpt-oss-120b",
        }
    }

    pub fn from_name(name: &str) -> Result<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|p| p.name()).collect();
            Error::Usage(format!("unknown preset `{name}` (expected one of {})", names.join(", ")))
        })
    }

    pub fn shape(self) -> Shape {
        match self {
            Preset::Tiny => Shape { embedding: 64, expert_width: 64, ..GPT_OSS_20B },
            Preset::Gpt20b => GPT_OSS_20B,
            Preset::Gpt120b => Shape { layers: 36, experts: 128, ..GPT_OSS_20B },
        }
    }

    /// `general.name`.
    pub fn display_name(self) -> String {
        match self {
            Preset::Tiny => "Synthetic gpt-oss tiny (gpt-oss-20b structure, random weights)".into(),
            _ => format!("Synthetic {} (random weights)", self.name()),
        }
    }
}

/// The o200k_harmony vocabulary as a gpt-oss GGUF stores it (`gpt-oss.md` §6.1).
#[derive(Debug, Clone, PartialEq)]
pub struct HarmonyVocab {
    /// `tokenizer.ggml.tokens`: BPE tokens in GPT-2's byte-to-unicode form, then the specials as literal text.
    pub tokens: Vec<String>,
    /// `tokenizer.ggml.token_type`: NORMAL for BPE ranks, CONTROL for the named specials, UNUSED for `[PAD<id>]`.
    pub token_types: Vec<i32>,
    /// `tokenizer.ggml.merges`: `"<left> <right>"`, merge priority = index.
    pub merges: Vec<String>,
}

impl HarmonyVocab {
    /// Builds the vocabulary from the o200k_base ranks embedded in `tiktoken-rs` (no network).
    pub fn from_o200k_base() -> Result<Self> {
        let bpe = tiktoken_rs::o200k_base().map_err(|e| Error::Tokenizer(format!("loading o200k_base: {e}")))?;
        let rank_bytes: Vec<Vec<u8>> = (0..FIRST_SPECIAL)
            .map(|rank| {
                bpe.decode_bytes(&[rank])
                    .map_err(|_| Error::Tokenizer(format!("o200k_base has no token of rank {rank}")))
            })
            .collect::<Result<_>>()?;

        let byte_chars = gpt2_byte_chars();
        let to_unicode = |bytes: &[u8]| -> String { bytes.iter().map(|&b| byte_chars[b as usize]).collect() };
        let mut tokens: Vec<String> = rank_bytes.iter().map(|b| to_unicode(b)).collect();
        let mut token_types = vec![TOKEN_NORMAL; tokens.len()];
        for id in FIRST_SPECIAL..VOCAB_SIZE {
            if id <= LAST_NAMED_SPECIAL {
                tokens.push(special_token_name(id));
                token_types.push(TOKEN_CONTROL);
            } else {
                // llama.cpp's converter names ids the HF tokenizer leaves undefined `[PAD<id>]` (`get_vocab_base`).
                tokens.push(format!("[PAD{id}]"));
                token_types.push(TOKEN_UNUSED);
            }
        }

        // Every split of a multi-byte token into two tokens, ordered by (token rank, left rank, right rank): the
        // order in which rank-based BPE would apply them, and the published files' merge list entry for entry.
        let rank_of: HashMap<&[u8], u32> =
            rank_bytes.iter().zip(0u32..).map(|(bytes, rank)| (bytes.as_slice(), rank)).collect();
        let mut splits: Vec<(u32, u32, u32)> = Vec::new();
        for (bytes, rank) in rank_bytes.iter().zip(0u32..) {
            for cut in 1..bytes.len() {
                if let (Some(&left), Some(&right)) = (rank_of.get(&bytes[..cut]), rank_of.get(&bytes[cut..])) {
                    splits.push((rank, left, right));
                }
            }
        }
        splits.sort_unstable();
        let merges = splits
            .iter()
            .map(|&(_, left, right)| format!("{} {}", tokens[left as usize], tokens[right as usize]))
            .collect();
        Ok(HarmonyVocab { tokens, token_types, merges })
    }
}

/// GPT-2's byte-to-unicode table: printable Latin-1 bytes stand for themselves, the other 68 bytes take U+0100..,
/// in byte order (so a space, 0x20, becomes `Ġ` U+0120).
fn gpt2_byte_chars() -> [char; 256] {
    let mut chars = ['\0'; 256];
    let mut next_unprintable = 0u32;
    for byte in 0..=255u8 {
        chars[byte as usize] = if matches!(byte, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF) {
            char::from(byte)
        } else {
            next_unprintable += 1;
            char::from_u32(0xFF + next_unprintable).expect("U+0100..=U+0143 are chars")
        };
    }
    chars
}

/// Names of the specials 199,998..=200,018 in the Hugging Face tokenizer and the GGUF (`gpt-oss.md` §6.4).
fn special_token_name(id: u32) -> String {
    let name = match id {
        199_998 => "<|startoftext|>",
        199_999 => "<|endoftext|>",
        200_002 => "<|return|>",
        200_003 => "<|constrain|>",
        200_005 => "<|channel|>",
        200_006 => "<|start|>",
        200_007 => "<|end|>",
        200_008 => "<|message|>",
        200_012 => "<|call|>",
        200_018 => "<|endofprompt|>",
        _ => return format!("<|reserved_{id}|>"),
    };
    name.to_string()
}

/// How a tensor's values are drawn. Every spread is the standard deviation of the dequantised values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Init {
    /// Zero mean with this standard deviation: uniform codes under per-block scales for Q8_0 and MXFP4, uniform
    /// values for F32.
    Spread(f32),
    /// Uniform in `[lo, hi)` (F32 only).
    Uniform(f32, f32),
}

/// A synthetic model, laid out and ready to stream.
pub struct SynthModel {
    seed: u64,
    /// The file's metadata (also in `writer`'s header): a split model's first shard carries it.
    metadata: Vec<(String, MetaValue)>,
    writer: GgufWriter,
    /// How each tensor of `writer.tensor_infos()` is drawn, same order.
    inits: Vec<Init>,
}

/// One file of a split synthetic model: its layout, and the index in the whole model of its first tensor.
pub struct SynthShard {
    pub writer: GgufWriter,
    pub first_tensor: usize,
}

impl SynthModel {
    /// Lays out `preset`'s file: metadata (the published file's keys, `gpt-oss.md` §3) and the tensor table (§4.1).
    pub fn new(preset: Preset, seed: u64, vocab: HarmonyVocab) -> Result<Self> {
        let shape = preset.shape();
        let plan = tensor_plan(&shape);
        let parameters: u64 = plan.iter().map(|(_, dims, _, _)| dims.iter().product::<u64>()).sum();
        let size_label = match preset {
            Preset::Tiny => format!("{}M", parameters.div_ceil(1_000_000)),
            Preset::Gpt20b => "20B".into(),
            Preset::Gpt120b => "120B".into(),
        };
        let card = ModelCard { name: preset.display_name(), size_label, license: "apache-2.0".into() };
        let metadata = metadata(&card, &shape, vocab);
        let inits = plan.iter().map(|&(_, _, _, init)| init).collect();
        let tensors = plan.into_iter().map(|(name, dims, ggml_type, _)| (name, dims, ggml_type)).collect();
        let writer = GgufWriter::new(metadata.clone(), tensors)?;
        Ok(SynthModel { seed, metadata, writer, inits })
    }

    /// The model laid out as `count` files the way llama.cpp's `gguf-split` cuts one: the tensors in file order
    /// in runs of about equal bytes, the first file with the whole metadata, every file with `split.no`,
    /// `split.count` and `split.tensors.count`.
    pub fn shards(&self, count: u32) -> Result<Vec<SynthShard>> {
        let infos = self.writer.tensor_infos();
        if count == 0 || count as usize > infos.len() {
            return Err(Error::Usage(format!(
                "a split into {count} files: between 1 and {} (one per tensor)",
                infos.len()
            )));
        }
        let total: u64 = infos.iter().map(|t| t.n_bytes).sum();
        let mut shards = Vec::with_capacity(count as usize);
        let mut first = 0;
        for no in 0..count {
            // This file ends at the first tensor that takes the bytes so far to its share of the whole, leaving at
            // least one tensor for each file after it.
            let share = total * (no as u64 + 1) / count as u64;
            let mut end = first + 1;
            let mut bytes: u64 = infos[..end].iter().map(|t| t.n_bytes).sum();
            while end < infos.len() - (count - no - 1) as usize && (bytes < share || no + 1 == count) {
                bytes += infos[end].n_bytes;
                end += 1;
            }
            let mut metadata = if no == 0 { self.metadata.clone() } else { Vec::new() };
            metadata.push(("split.no".into(), MetaValue::U16(no as u16)));
            metadata.push(("split.count".into(), MetaValue::U16(count as u16)));
            metadata.push(("split.tensors.count".into(), MetaValue::I32(infos.len() as i32)));
            let tensors = infos[first..end].iter().map(|t| (t.name.clone(), t.dims.clone(), t.ggml_type)).collect();
            shards.push(SynthShard { writer: GgufWriter::new(metadata, tensors)?, first_tensor: first });
            first = end;
        }
        Ok(shards)
    }

    /// The file's layout: header bytes, tensor infos, total size.
    pub fn writer(&self) -> &GgufWriter {
        &self.writer
    }

    /// Streams the whole file; the same seed always gives the same bytes.
    pub fn write_to<W: Write>(&self, out: &mut W) -> Result<()> {
        self.write_reporting(out, &mut NoEvents)
    }

    /// [`Self::write_to`], reporting a `write_gguf` stage with the bytes written before each tensor.
    fn write_reporting<W: Write>(&self, out: &mut W, events: &mut dyn EventSink) -> Result<()> {
        self.write_file_of(&self.writer, 0, out, events)
    }

    /// One file, `writer`'s, whose tensors are the model's from index `first_tensor` on, as a `write_gguf` stage.
    fn write_file_of<W: Write>(
        &self,
        writer: &GgufWriter,
        first_tensor: usize,
        out: &mut W,
        events: &mut dyn EventSink,
    ) -> Result<()> {
        let stage = StageTimer::start(Stage::WriteGguf, events);
        let (data_offset, total) = (writer.data_offset(), writer.total_file_bytes());
        let mut written = 0;
        let result = writer.write_to(out, |index, info, buf| {
            // The header, every earlier tensor and the padding before this one are with the writer.
            written = data_offset + info.offset;
            stage.progress(events, written, Some(total));
            // Drawn by the tensor's index in the whole model, so a split model has the one file's bytes.
            let index = first_tensor + index;
            let init = self.inits.get(index).copied().ok_or_else(|| {
                Error::Model(format!("synthetic model has no initialiser for tensor #{index} `{}`", info.name))
            })?;
            fill_tensor(&mut Xoshiro256pp::for_tensor(self.seed, index as u64), info, init, buf)
        });
        let bytes = if result.is_ok() { total } else { written };
        stage.end(events, result, bytes)
    }

    /// Writes the file at `path` (creating missing parent folders, e.g. the untracked `assets/models/`) through a
    /// buffered writer, reporting its progress to `events` as a `write_gguf` stage. A failed write removes what it
    /// left of a regular file, so a truncated model is never mistaken for a whole one; a pipe or device path is left
    /// alone.
    pub fn write_file(&self, path: &Path, events: &mut dyn EventSink) -> Result<()> {
        write_file_with(path, |out| self.write_reporting(out, events))
    }

    /// Writes the model as `count` files ([`Self::shards`]) named after `path` as llama.cpp names a split model's
    /// files (`model.gguf` → `model-00001-of-00003.gguf`, …) beside it, each as [`Self::write_file`] writes one,
    /// with the same tensor bytes as the one file. Returns the files' paths, the first first.
    pub fn write_split_files(&self, path: &Path, count: u32, events: &mut dyn EventSink) -> Result<Vec<PathBuf>> {
        let stem = path.file_stem().and_then(|s| s.to_str()).filter(|s| !s.is_empty());
        let stem = stem
            .ok_or_else(|| Error::Usage(format!("{}: no file name to name the split files after", path.display())))?;
        let mut paths = Vec::new();
        for (no, shard) in self.shards(count)?.iter().enumerate() {
            let shard_path = path.with_file_name(split_file_name(stem, no as u32 + 1, count));
            write_file_with(&shard_path, |out| self.write_file_of(&shard.writer, shard.first_tensor, out, events))?;
            paths.push(shard_path);
        }
        Ok(paths)
    }
}

/// What a file's `general.*` keys say about the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCard {
    pub name: String,
    /// e.g. `20B`, `6M`.
    pub size_label: String,
    pub license: String,
}

/// A model trained elsewhere (`training/`), written with the same layout, metadata and vocabulary as the
/// synthetic ones: only the tensor bytes come from outside.
pub struct TrainedModel {
    writer: GgufWriter,
    /// Each tensor's bytes in the writer's order.
    data: Vec<Vec<u8>>,
}

impl TrainedModel {
    /// `tensors` must be the published layout for `shape` (`gpt-oss.md` §4.1: names, dims and types, in order),
    /// each with exactly its type's byte count.
    pub fn new(
        shape: Shape,
        card: ModelCard,
        vocab: HarmonyVocab,
        tensors: Vec<(String, Vec<u64>, GgmlType, Vec<u8>)>,
    ) -> Result<Self> {
        let plan = tensor_plan(&shape);
        if tensors.len() != plan.len() {
            return Err(Error::Model(format!("{} tensors given; the layout has {}", tensors.len(), plan.len())));
        }
        for ((name, dims, ggml_type, _), (want_name, want_dims, want_type, _)) in tensors.iter().zip(&plan) {
            if (name, dims, ggml_type) != (want_name, want_dims, want_type) {
                return Err(Error::Model(format!(
                    "tensor `{name}` {dims:?} {ggml_type}: the layout has `{want_name}` {want_dims:?} {want_type} here"
                )));
            }
        }
        let (layout, data): (Vec<_>, Vec<_>) =
            tensors.into_iter().map(|(name, dims, ggml_type, bytes)| ((name, dims, ggml_type), bytes)).unzip();
        let writer = GgufWriter::new(metadata(&card, &shape, vocab), layout)?;
        for (info, bytes) in writer.tensor_infos().iter().zip(&data) {
            if bytes.len() as u64 != info.n_bytes {
                return Err(Error::Model(format!(
                    "tensor `{}`: {} bytes given, {} expected for {:?} {}",
                    info.name,
                    bytes.len(),
                    info.n_bytes,
                    info.dims,
                    info.ggml_type
                )));
            }
        }
        Ok(TrainedModel { writer, data })
    }

    pub fn writer(&self) -> &GgufWriter {
        &self.writer
    }

    /// Writes the file at `path` as [`SynthModel::write_file`] does.
    pub fn write_file(&self, path: &Path) -> Result<()> {
        write_file_with(path, |out| {
            self.writer.write_to(out, |index, _, buf| {
                buf.extend_from_slice(&self.data[index]);
                Ok(())
            })
        })
    }
}

/// Writes a file at `path` (creating missing parent folders) through a buffered writer. A failed write removes
/// what it left of a regular file, so a truncated model is never mistaken for a whole one; a pipe or device path
/// is left alone.
fn write_file_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<()>,
) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::Source(format!("{}: cannot create folder: {e}", parent.display())))?;
    }
    let file =
        std::fs::File::create(path).map_err(|e| Error::Source(format!("{}: cannot create: {e}", path.display())))?;
    let mut out = std::io::BufWriter::with_capacity(8 << 20, file);
    let result = write(&mut out)
        .and_then(|()| out.into_inner().map(drop).map_err(|e| Error::Source(format!("writing GGUF: {}", e.error()))));
    if let Err(e) = result {
        let removed = std::fs::metadata(path).is_ok_and(|m| m.is_file()) && std::fs::remove_file(path).is_ok();
        let note = if removed { " (incomplete file removed)" } else { "" };
        return Err(Error::Source(format!("{}: {e}{note}", path.display())));
    }
    Ok(())
}

/// The published files' tensors in their order (`gpt-oss.md` §4.1), with how each is drawn.
///
/// Spreads follow the fan-in so that every projection maps unit-scale inputs (RMSNorm's output, or the previous
/// projection's) to unit-scale outputs: q, k and v to ~N(0, 1) per component (attention scores ~N(0, 1) after the
/// 1/sqrt(head_dim) scaling), gate and up to ~N(0, 1) pre-activations (a few pass the ±7 SwiGLU clamp), down and the
/// attention output to ~unit residual updates. Embedding rows are unit-scale too, so the residual stream starts at
/// the scale the layers add to.
fn tensor_plan(shape: &Shape) -> Vec<(String, Vec<u64>, GgmlType, Init)> {
    let Shape { layers, embedding: e, heads, kv_heads, head_dim, experts, expert_width: f, .. } = *shape;
    let (q_width, kv_width) = (heads * head_dim, kv_heads * head_dim);
    let fan_in = |n: u64| Init::Spread(1.0 / (n as f32).sqrt());
    let norm = Init::Uniform(0.9, 1.1);
    let bias = Init::Uniform(-BIAS_RANGE, BIAS_RANGE);
    let vocab = VOCAB_SIZE as u64;
    use GgmlType::{F32, MXFP4, Q8_0};

    let mut plan = vec![("token_embd.weight".to_string(), vec![e, vocab], Q8_0, Init::Spread(1.0))];
    for layer in 0..layers {
        let tensors = [
            ("attn_norm.weight", vec![e], F32, norm),
            ("attn_q.weight", vec![e, q_width], Q8_0, fan_in(e)),
            ("attn_q.bias", vec![q_width], F32, bias),
            ("attn_k.weight", vec![e, kv_width], Q8_0, fan_in(e)),
            ("attn_k.bias", vec![kv_width], F32, bias),
            ("attn_v.weight", vec![e, kv_width], Q8_0, fan_in(e)),
            ("attn_v.bias", vec![kv_width], F32, bias),
            ("attn_output.weight", vec![q_width, e], Q8_0, fan_in(q_width)),
            ("attn_output.bias", vec![e], F32, bias),
            // Sink logits compete with unit-scale attention scores.
            ("attn_sinks.weight", vec![heads], F32, Init::Uniform(0.0, 1.0)),
            ("post_attention_norm.weight", vec![e], F32, norm),
            ("ffn_gate_inp.weight", vec![e, experts], F32, Init::Spread(ROUTER_GAIN / (e as f32).sqrt())),
            ("ffn_gate_inp.bias", vec![experts], F32, bias),
            ("ffn_gate_exps.weight", vec![e, f, experts], MXFP4, fan_in(e)),
            ("ffn_gate_exps.bias", vec![f, experts], F32, bias),
            ("ffn_up_exps.weight", vec![e, f, experts], MXFP4, fan_in(e)),
            ("ffn_up_exps.bias", vec![f, experts], F32, bias),
            ("ffn_down_exps.weight", vec![f, e, experts], MXFP4, fan_in(f)),
            ("ffn_down_exps.bias", vec![e, experts], F32, bias),
        ];
        plan.extend(tensors.into_iter().map(|(name, dims, t, init)| (format!("blk.{layer}.{name}"), dims, t, init)));
    }
    plan.push(("output_norm.weight".into(), vec![e], F32, norm));
    plan.push(("output.weight".into(), vec![e, vocab], Q8_0, Init::Spread(LOGIT_GAIN / (e as f32).sqrt())));
    plan
}

/// The 35 keys of the published 20b file (`gpt-oss.md` §3) less `tokenizer.chat_template`, which no offline
/// source here carries (the fixture has none either); readers fall back to the Harmony renderer.
fn metadata(card: &ModelCard, shape: &Shape, vocab: HarmonyVocab) -> Vec<(String, MetaValue)> {
    let u32_of = |v: u64| MetaValue::U32(v as u32);
    let string = |s: &str| MetaValue::String(s.to_string());
    let arch = |key: &str| format!("gpt-oss.{key}");
    let mut m: Vec<(String, MetaValue)> = vec![
        ("general.architecture".into(), string("gpt-oss")),
        ("general.type".into(), string("model")),
        ("general.name".into(), string(&card.name)),
        ("general.basename".into(), string("gpt-oss")),
        ("general.size_label".into(), string(&card.size_label)),
        ("general.license".into(), string(&card.license)),
        ("general.tags".into(), MetaValue::Array(MetaArray::String(vec!["vllm".into(), "text-generation".into()]))),
    ];
    let arch_keys = [
        ("block_count", u32_of(shape.layers)),
        ("context_length", u32_of(shape.context_length)),
        ("embedding_length", u32_of(shape.embedding)),
        ("feed_forward_length", u32_of(shape.expert_width)),
        ("attention.head_count", u32_of(shape.heads)),
        ("attention.head_count_kv", u32_of(shape.kv_heads)),
        ("rope.freq_base", MetaValue::F32(150_000.0)),
        ("attention.layer_norm_rms_epsilon", MetaValue::F32(1e-5)),
        ("expert_count", u32_of(shape.experts)),
        ("expert_used_count", u32_of(shape.experts_used)),
        ("attention.key_length", u32_of(shape.head_dim)),
        ("attention.value_length", u32_of(shape.head_dim)),
        ("attention.sliding_window", u32_of(shape.sliding_window)),
        ("expert_feed_forward_length", u32_of(shape.expert_width)),
        ("rope.scaling.type", string("yarn")),
        ("rope.scaling.factor", MetaValue::F32(32.0)),
        ("rope.scaling.original_context_length", MetaValue::U32(4096)),
    ];
    m.extend(arch_keys.into_iter().map(|(key, value)| (arch(key), value)));
    m.extend([
        ("tokenizer.ggml.model".into(), string("gpt2")),
        ("tokenizer.ggml.pre".into(), string("gpt-4o")),
        ("tokenizer.ggml.tokens".into(), MetaValue::Array(MetaArray::String(vocab.tokens))),
        ("tokenizer.ggml.token_type".into(), MetaValue::Array(MetaArray::I32(vocab.token_types))),
        ("tokenizer.ggml.merges".into(), MetaValue::Array(MetaArray::String(vocab.merges))),
        ("tokenizer.ggml.bos_token_id".into(), MetaValue::U32(199_998)),
        ("tokenizer.ggml.eos_token_id".into(), MetaValue::U32(200_002)),
        ("tokenizer.ggml.padding_token_id".into(), MetaValue::U32(199_999)),
        ("general.quantization_version".into(), MetaValue::U32(2)),
        // LLAMA_FTYPE_MOSTLY_MXFP4_MOE, as in the ggml-org files.
        ("general.file_type".into(), MetaValue::U32(38)),
    ]);
    m
}

/// Mean of q² over uniform int8 codes -128..=127: (2·Σ_{1..127} k² + 128²) / 256.
const Q8_0_CODE_MEAN_SQUARE: f32 = 5461.5;
/// Mean of v² over the 16 MXFP4 codes (`kvalues_mxfp4` = ±{0, 1, 2, 3, 4, 6, 8, 12}, the doubled E2M1 table).
const MXFP4_CODE_MEAN_SQUARE: f32 = 34.25;

/// Appends `info.n_bytes` bytes of `info`'s type drawn as `init` says.
fn fill_tensor(rng: &mut Xoshiro256pp, info: &TensorInfo, init: Init, buf: &mut Vec<u8>) -> Result<()> {
    let n_bytes = usize::try_from(info.n_bytes)
        .map_err(|_| Error::Model(format!("tensor `{}` ({} bytes) does not fit in memory", info.name, info.n_bytes)))?;
    let unsupported =
        || Error::Model(format!("synthetic tensor `{}`: cannot draw {:?} as {}", info.name, init, info.ggml_type));
    match (info.ggml_type, init) {
        (GgmlType::Q8_0, Init::Spread(sigma)) => {
            buf.resize(n_bytes, 0);
            rng.fill_bytes(buf);
            // Block scale d = base·j with j uniform in [0.5, 1.5) from the block's own random bytes, so blocks differ
            // as in a real file; E[j²] = 13/12 is divided out to keep the spread.
            let base = sigma / (Q8_0_CODE_MEAN_SQUARE * 13.0 / 12.0).sqrt();
            for block in buf.chunks_exact_mut(34) {
                let j = 0.5 + u16::from_le_bytes([block[0], block[1]]) as f32 / 65_536.0;
                block[..2].copy_from_slice(&half::f16::from_f32(base * j).to_le_bytes());
            }
        }
        (GgmlType::MXFP4, Init::Spread(sigma)) => {
            buf.resize(n_bytes, 0);
            rng.fill_bytes(buf);
            // Block scale 2^(e-128): the target s = sigma/rms(codes) lies in [2^k, 2^(k+1)); choosing k+1 with
            // probability p = (s²/4^k - 1)/3 gives exactly s² on average.
            let s = sigma / MXFP4_CODE_MEAN_SQUARE.sqrt();
            let k = s.log2().floor();
            let p = ((s / k.exp2()).powi(2) - 1.0) / 3.0;
            let e_low = (128.0 + k).clamp(0.0, 254.0) as u8;
            let threshold = (p * 256.0).round() as u16;
            for block in buf.chunks_exact_mut(17) {
                block[0] = if u16::from(block[0]) < threshold { e_low + 1 } else { e_low };
            }
        }
        (GgmlType::F32, init) => {
            let (lo, hi) = match init {
                Init::Spread(sigma) => (-(3f32.sqrt()) * sigma, 3f32.sqrt() * sigma),
                Init::Uniform(lo, hi) => (lo, hi),
            };
            buf.reserve(n_bytes);
            for _ in 0..info.n_elements() {
                buf.extend_from_slice(&(lo + (hi - lo) * rng.next_unit_f32()).to_le_bytes());
            }
        }
        _ => return Err(unsupported()),
    }
    Ok(())
}

/// xoshiro256++ (Blackman & Vigna): 8 random bytes per step in about a nanosecond, so drawing weights costs far
/// less than writing them.
struct Xoshiro256pp {
    s: [u64; 4],
}

impl Xoshiro256pp {
    /// An independent stream per (seed, tensor): the state is four SplitMix64 outputs, as the authors recommend.
    fn for_tensor(seed: u64, tensor: u64) -> Self {
        let mut x = seed ^ tensor.wrapping_add(1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut splitmix = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Xoshiro256pp { s: [splitmix(), splitmix(), splitmix(), splitmix()] }
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn fill_bytes(&mut self, buf: &mut [u8]) {
        let mut words = buf.chunks_exact_mut(8);
        for word in &mut words {
            word.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let tail = words.into_remainder();
        let last = self.next_u64().to_le_bytes();
        tail.copy_from_slice(&last[..tail.len()]);
    }

    /// Uniform in [0, 1) with 24 bits.
    fn next_unit_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}
