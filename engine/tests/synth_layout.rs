//! Synthetic models: the published layouts' sizes (`gpt-oss.md` §4), the tiny preset's file read back, and the
//! weights' spreads measured by dequantising them here with the formulas of `gpt-oss.md` §2.

use gptoss_engine::gguf::{parse_header, GgmlType, GgufHeader, MetaValue, ParseOutcome, TensorInfo};
use gptoss_engine::synth::{HarmonyVocab, Preset, SynthModel};
use std::sync::OnceLock;

fn vocab() -> HarmonyVocab {
    static VOCAB: OnceLock<HarmonyVocab> = OnceLock::new();
    VOCAB.get_or_init(|| HarmonyVocab::from_o200k_base().unwrap()).clone()
}

/// Count of tensors per type and the data section's size, as the file's reader would find them.
fn census(infos: &[TensorInfo]) -> (usize, usize, usize, u64) {
    let count = |t: GgmlType| infos.iter().filter(|i| i.ggml_type == t).count();
    let last = infos.last().unwrap();
    (count(GgmlType::F32), count(GgmlType::Q8_0), count(GgmlType::MXFP4), last.offset + last.n_bytes)
}

#[test]
fn gpt_oss_20b_layout_matches_published_file() {
    let model = SynthModel::new(Preset::Gpt20b, 0, vocab()).unwrap();
    let infos = model.writer().tensor_infos();
    // gpt-oss.md §4.1: 459 tensors, 289 F32 + 98 Q8_0 + 72 MXFP4; §4.2: 12,096,558,336 data bytes.
    assert_eq!(infos.len(), 459);
    assert_eq!(census(infos), (289, 98, 72, 12_096_558_336));
    assert_eq!(infos.iter().map(|t| t.n_bytes).sum::<u64>(), 12_096_558_336, "no padding between tensors");
    let experts: Vec<_> = infos.iter().filter(|t| t.ggml_type == GgmlType::MXFP4).collect();
    assert!(experts.iter().all(|t| t.n_bytes == 141_004_800), "2880 x 2880 x 32 MXFP4");
    let embd = infos.iter().find(|t| t.name == "token_embd.weight").unwrap();
    assert_eq!((embd.dims.clone(), embd.n_bytes), (vec![2880, 201_088], 2880 / 32 * 34 * 201_088));
    let q = infos.iter().find(|t| t.name == "blk.23.attn_q.weight").unwrap();
    assert_eq!((q.dims.clone(), q.ggml_type), (vec![2880, 4096], GgmlType::Q8_0));
    let o = infos.iter().find(|t| t.name == "blk.0.attn_output.weight").unwrap();
    assert_eq!(o.n_bytes / 2880, 4352, "a Q8_0 4096-row is 4352 bytes");
    // ~12.1 GB file: header (vocabulary) plus data.
    let total = model.writer().total_file_bytes();
    assert!(total > 12_096_558_336 && total < 12_096_558_336 + 20_000_000, "{total}");
}

#[test]
fn gpt_oss_120b_layout_matches_published_file() {
    let model = SynthModel::new(Preset::Gpt120b, 0, vocab()).unwrap();
    let infos = model.writer().tensor_infos();
    // gpt-oss.md §4.1: 687 tensors (36 layers x 19 + 3); §4.2: 63,374,323,968 data bytes, experts 108 x 564,019,200.
    assert_eq!(infos.len(), 687);
    assert_eq!(census(infos), (36 * 12 + 1, 36 * 4 + 2, 108, 63_374_323_968));
    let experts: Vec<_> = infos.iter().filter(|t| t.ggml_type == GgmlType::MXFP4).collect();
    assert!(experts.iter().all(|t| t.n_bytes == 564_019_200));
    let router = infos.iter().find(|t| t.name == "blk.35.ffn_gate_inp.weight").unwrap();
    assert_eq!((router.dims.clone(), router.ggml_type), (vec![2880, 128], GgmlType::F32));
}

fn parse(bytes: &[u8]) -> GgufHeader {
    match parse_header(bytes, Some(bytes.len() as u64), "tiny-synth.gguf").unwrap() {
        ParseOutcome::Complete(h) => h,
        ParseOutcome::NeedMore { at_least } => panic!("whole file given but parser wants {at_least}"),
    }
}

/// A tensor's values, dequantised here.
fn values(bytes: &[u8], header: &GgufHeader, name: &str) -> Vec<f32> {
    let t = header.tensor(name).unwrap_or_else(|| panic!("no tensor {name}"));
    let start = (header.data_offset + t.offset) as usize;
    dequantise(t, &bytes[start..start + t.n_bytes as usize])
}

/// Dequantisation written from gpt-oss.md §2 (Q8_0: f16 d then 32 int8; MXFP4: E8M0 e then 16 bytes, value =
/// kvalues[code]·2^(e−128)); F32 little-endian.
fn dequantise(info: &TensorInfo, bytes: &[u8]) -> Vec<f32> {
    const KVALUES: [f32; 16] = [0., 1., 2., 3., 4., 6., 8., 12., 0., -1., -2., -3., -4., -6., -8., -12.];
    match info.ggml_type {
        GgmlType::F32 => bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect(),
        GgmlType::Q8_0 => bytes
            .chunks_exact(34)
            .flat_map(|b| {
                let d = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
                b[2..].iter().map(move |&q| d * q as i8 as f32)
            })
            .collect(),
        GgmlType::MXFP4 => bytes
            .chunks_exact(17)
            .flat_map(|b| {
                let scale = 2f32.powi(b[0] as i32 - 128);
                let low = b[1..].iter().map(move |&q| KVALUES[(q & 15) as usize] * scale);
                let high = b[1..].iter().map(move |&q| KVALUES[(q >> 4) as usize] * scale);
                low.chain(high).collect::<Vec<_>>()
            })
            .collect(),
        other => panic!("unexpected type {other}"),
    }
}

fn rms(v: &[f32]) -> f32 {
    (v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / v.len() as f64).sqrt() as f32
}

#[test]
fn tiny_preset_reads_back_with_intended_spreads() {
    let model = SynthModel::new(Preset::Tiny, 7, vocab()).unwrap();
    let mut bytes = Vec::new();
    model.write_to(&mut bytes).unwrap();
    assert_eq!(bytes.len() as u64, model.writer().total_file_bytes());
    let h = parse(&bytes);

    // The published 20b file's keys (gpt-oss.md §3) less tokenizer.chat_template, in its order.
    let keys: Vec<&str> = h.metadata.iter().map(|(k, _)| k.as_str()).collect();
    let published = [
        "general.architecture",
        "general.type",
        "general.name",
        "general.basename",
        "general.size_label",
        "general.license",
        "general.tags",
        "gpt-oss.block_count",
        "gpt-oss.context_length",
        "gpt-oss.embedding_length",
        "gpt-oss.feed_forward_length",
        "gpt-oss.attention.head_count",
        "gpt-oss.attention.head_count_kv",
        "gpt-oss.rope.freq_base",
        "gpt-oss.attention.layer_norm_rms_epsilon",
        "gpt-oss.expert_count",
        "gpt-oss.expert_used_count",
        "gpt-oss.attention.key_length",
        "gpt-oss.attention.value_length",
        "gpt-oss.attention.sliding_window",
        "gpt-oss.expert_feed_forward_length",
        "gpt-oss.rope.scaling.type",
        "gpt-oss.rope.scaling.factor",
        "gpt-oss.rope.scaling.original_context_length",
        "tokenizer.ggml.model",
        "tokenizer.ggml.pre",
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.token_type",
        "tokenizer.ggml.merges",
        "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id",
        "tokenizer.ggml.padding_token_id",
        "general.quantization_version",
        "general.file_type",
    ];
    assert_eq!(keys, published);
    let u = |k: &str| h.require_u64(k).unwrap();
    // gpt-oss-20b's structure at width 64.
    assert_eq!([u("gpt-oss.block_count"), u("gpt-oss.expert_count"), u("gpt-oss.expert_used_count")], [24, 32, 4]);
    assert_eq!(
        [u("gpt-oss.attention.head_count"), u("gpt-oss.attention.head_count_kv"), u("gpt-oss.attention.key_length")],
        [64, 8, 64]
    );
    assert_eq!([u("gpt-oss.attention.sliding_window"), u("gpt-oss.embedding_length")], [128, 64]);
    assert_eq!([u("tokenizer.ggml.bos_token_id"), u("tokenizer.ggml.eos_token_id")], [199_998, 200_002]);
    assert_eq!(h.require_f64("gpt-oss.rope.scaling.factor").unwrap(), 32.0);
    assert_eq!(h.get("general.architecture"), Some(&MetaValue::String("gpt-oss".into())));
    assert_eq!(h.tensors.len(), 24 * 19 + 3);
    assert!(bytes.len() < 70_000_000, "tiny file is {} bytes", bytes.len());

    // Spreads: dense and expert weights ~ gain/sqrt(fan_in) (within 3%), router 2/sqrt(64), LM head 5/sqrt(64),
    // embedding 1; norms in [0.9, 1.1); sinks in [0, 1); biases within ±0.1.
    let spread = |name: &str, expected: f32| {
        let got = rms(&values(&bytes, &h, name));
        assert!((got / expected - 1.0).abs() < 0.03, "{name}: rms {got}, expected {expected}");
    };
    spread("token_embd.weight", 1.0);
    spread("output.weight", 5.0 / 8.0);
    for layer in [0, 23] {
        spread(&format!("blk.{layer}.attn_q.weight"), 1.0 / 8.0);
        spread(&format!("blk.{layer}.attn_k.weight"), 1.0 / 8.0);
        spread(&format!("blk.{layer}.attn_output.weight"), 1.0 / 64.0);
        spread(&format!("blk.{layer}.ffn_gate_inp.weight"), 2.0 / 8.0);
        spread(&format!("blk.{layer}.ffn_gate_exps.weight"), 1.0 / 8.0);
        spread(&format!("blk.{layer}.ffn_up_exps.weight"), 1.0 / 8.0);
        spread(&format!("blk.{layer}.ffn_down_exps.weight"), 1.0 / 8.0);
    }
    let within = |name: &str, lo: f32, hi: f32| {
        let v = values(&bytes, &h, name);
        assert!(v.iter().all(|x| (lo..hi).contains(x)), "{name} outside [{lo}, {hi})");
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean - (lo + hi) / 2.0).abs() < (hi - lo) / 4.0, "{name}: mean {mean}");
    };
    within("output_norm.weight", 0.9, 1.1);
    within("blk.5.attn_norm.weight", 0.9, 1.1);
    within("blk.5.attn_sinks.weight", 0.0, 1.0);
    within("blk.5.attn_q.bias", -0.1, 0.1);
    within("blk.5.ffn_down_exps.bias", -0.1, 0.1);
}

#[test]
fn weights_are_a_function_of_the_seed() {
    let write = |seed| {
        let mut bytes = Vec::new();
        SynthModel::new(Preset::Tiny, seed, vocab()).unwrap().write_to(&mut bytes).unwrap();
        bytes
    };
    let (a, b, c) = (write(1), write(1), write(2));
    assert!(a == b, "same seed, different bytes");
    let header_len = parse(&a).data_offset as usize;
    assert_eq!(a[..header_len], c[..header_len], "the seed changes only the weights");
    let differing = a[header_len..].iter().zip(&c[header_len..]).filter(|(x, y)| x != y).count();
    assert!(differing > (a.len() - header_len) * 9 / 10, "only {differing} bytes differ between seeds");
}

#[test]
fn a_split_model_holds_the_one_files_tensors_and_loads_as_one() {
    use gptoss_engine::events::NoEvents;
    use gptoss_engine::gguf::GgufModel;
    use gptoss_engine::source::ByteSource;

    let model = SynthModel::new(Preset::Tiny, 5, vocab()).unwrap();
    let mut whole = Vec::new();
    model.write_to(&mut whole).unwrap();
    let one = parse(&whole);
    let dir = std::env::temp_dir().join(format!("gptoss-synth-split-{}", std::process::id()));
    let paths = model.write_split_files(&dir.join("tiny.gguf"), 3, &mut NoEvents).unwrap();
    let names: Vec<_> = paths.iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_string()).collect();
    assert_eq!(names, ["tiny-00001-of-00003.gguf", "tiny-00002-of-00003.gguf", "tiny-00003-of-00003.gguf"]);
    for (no, path) in paths.iter().enumerate() {
        let h = parse(&std::fs::read(path).unwrap());
        let key = |k: &str| h.metadata.iter().find(|(name, _)| name == k).map(|(_, v)| v.clone());
        assert_eq!(key("split.no"), Some(MetaValue::U16(no as u16)));
        assert_eq!(key("split.count"), Some(MetaValue::U16(3)));
        assert_eq!(key("split.tensors.count"), Some(MetaValue::I32(one.tensors.len() as i32)));
        assert_eq!(key("general.architecture").is_some(), no == 0, "only the first file has the model's metadata");
    }

    let split = pollster::block_on(GgufModel::open(ByteSource::file(&paths[0]), &mut NoEvents)).unwrap();
    assert_eq!(split.shards().len(), 3);
    assert_eq!(split.tensors().count(), one.tensors.len());
    for t in &one.tensors {
        let start = (one.data_offset + t.offset) as usize;
        let bytes = pollster::block_on(split.read_tensor(&t.name)).unwrap();
        assert!(bytes == whole[start..start + t.n_bytes as usize], "tensor {} differs in the split model", t.name);
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // gpt-oss-120b in three files as published: about a third of its 63.4 GB each (within one expert tensor).
    let big = SynthModel::new(Preset::Gpt120b, 0, vocab()).unwrap();
    let shards = big.shards(3).unwrap();
    let third = 63_374_323_968 / 3;
    for shard in &shards {
        let bytes: u64 = shard.writer.tensor_infos().iter().map(|t| t.n_bytes).sum();
        assert!(bytes.abs_diff(third) <= 564_019_200, "a shard of {bytes} bytes against a third of {third}");
    }
    assert_eq!(shards.iter().map(|s| s.writer.tensor_infos().len()).sum::<usize>(), 687);
    assert!(big.shards(0).is_err() && big.shards(688).is_err());
}
