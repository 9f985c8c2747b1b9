//! The CPU forward pass against the fixture goldens (an independent float64 implementation that llama.cpp's CPU
//! backend reproduces), and the model config / tensor plan against the fixture's documented shape.

use gptoss_engine::gguf::{parse_header, GgmlType, GgufHeader, MetaValue, ParseOutcome};
use gptoss_engine::model::{CpuModel, GptOssConfig, TensorPlan};
use serde_json::Value;
use std::path::PathBuf;

/// Tolerances of the issue: top-20 / sampled logits, log-sum-exp and full last logits within 2e-3; ids whose
/// reference logits differ by less than 1e-4 may swap places.
const MAX_LOGIT_ERR: f64 = 2e-3;
const SWAP_GAP: f64 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures")
        .join(name);
    assert!(path.exists(), "fixture {} is missing", path.display());
    path
}

fn read(name: &str) -> Vec<u8> {
    let path = fixture(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

fn tiny_header(bytes: &[u8]) -> GgufHeader {
    match parse_header(bytes, Some(bytes.len() as u64), "tiny.gguf").expect("tiny.gguf parses") {
        ParseOutcome::Complete(h) => h,
        ParseOutcome::NeedMore { at_least } => {
            panic!("whole file given but the parser wants {at_least} bytes")
        }
    }
}

/// Load the tiny model the way a streaming caller would: one tensor's bytes at a time.
fn load_tiny() -> CpuModel {
    let bytes = read("tiny.gguf");
    let header = tiny_header(&bytes);
    let config = GptOssConfig::from_header(&header).expect("config");
    let plan = TensorPlan::new(&config, &header.tensors).expect("tensor plan");
    CpuModel::load(&config, &plan, |info| {
        let start = (header.data_offset + info.offset) as usize;
        Ok(bytes[start..start + info.n_bytes as usize].to_vec())
    })
    .expect("load")
}

fn golden() -> Value {
    serde_json::from_slice(&read("tiny.golden.json")).expect("tiny.golden.json is JSON")
}

fn read_f32s(name: &str) -> Vec<f32> {
    read(name)
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_u64().expect("id") as u32)
        .collect()
}

/// log Σ exp(l), in f64.
fn logsumexp(logits: &[f32]) -> f64 {
    let max = logits
        .iter()
        .fold(f64::NEG_INFINITY, |m, &l| m.max(l as f64));
    max + logits
        .iter()
        .map(|&l| (l as f64 - max).exp())
        .sum::<f64>()
        .ln()
}

fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// The k highest logits' ids, descending.
fn top_ids(logits: &[f32], k: usize) -> Vec<u32> {
    let mut idx: Vec<u32> = (0..logits.len() as u32).collect();
    idx.sort_by(|&a, &b| logits[b as usize].total_cmp(&logits[a as usize]));
    idx.truncate(k);
    idx
}

#[derive(Default)]
struct MaxErr {
    top: f64,
    sample: f64,
    lse: f64,
    last: f64,
}

/// Compare one position's logits with its golden entry; returns the errors seen.
fn check_position(
    case: &str,
    pos: usize,
    logits: &[f32],
    golden: &Value,
    sample_ids: &[u32],
    err: &mut MaxErr,
) {
    let top: Vec<(u32, f64)> = golden["top"]
        .as_array()
        .expect("top")
        .iter()
        .map(|e| {
            (
                e[0].as_u64().expect("id") as u32,
                e[1].as_f64().expect("logit"),
            )
        })
        .collect();
    assert_eq!(
        top.len(),
        20,
        "{case}@{pos}: golden top has {} entries",
        top.len()
    );
    let ours = top_ids(logits, top.len());
    for (k, &id) in ours.iter().enumerate() {
        if id == top[k].0 {
            continue;
        }
        let swapped = top
            .iter()
            .find(|(rid, _)| *rid == id)
            .map(|(_, l)| (l - top[k].1).abs());
        assert!(
            swapped.is_some_and(|gap| gap < SWAP_GAP),
            "{case}@{pos}: rank {k} is id {id}, golden has {} (reference gap {swapped:?})\nours   {ours:?}\ngolden {:?}",
            top[k].0,
            top.iter().map(|t| t.0).collect::<Vec<_>>()
        );
    }
    for &(id, want) in &top {
        err.top = err.top.max((logits[id as usize] as f64 - want).abs());
    }
    for (&id, want) in sample_ids
        .iter()
        .zip(golden["sample"].as_array().expect("sample"))
    {
        err.sample = err
            .sample
            .max((logits[id as usize] as f64 - want.as_f64().expect("logit")).abs());
    }
    err.lse = err
        .lse
        .max((logsumexp(logits) - golden["logsumexp"].as_f64().expect("logsumexp")).abs());
    assert!(
        err.top <= MAX_LOGIT_ERR && err.sample <= MAX_LOGIT_ERR && err.lse <= MAX_LOGIT_ERR,
        "{case}@{pos}: errors top {:.2e} sample {:.2e} logsumexp {:.2e} exceed {MAX_LOGIT_ERR}",
        err.top,
        err.sample,
        err.lse
    );
}

fn check_last_logits(case: &str, logits: &[f32], file: &str) -> f64 {
    let want = read_f32s(file);
    assert_eq!(
        want.len(),
        logits.len(),
        "{case}: {file} has {} logits",
        want.len()
    );
    let err = logits
        .iter()
        .zip(&want)
        .map(|(&a, &b)| (a as f64 - b as f64).abs())
        .fold(0.0, f64::max);
    assert!(
        err <= MAX_LOGIT_ERR,
        "{case}: last-position logits differ by {err:.2e}"
    );
    err
}

#[test]
fn tiny_forward_matches_golden_logits() {
    let model = load_tiny();
    let golden = golden();
    let sample_ids = ids(&golden["sample_ids"]);
    let n_layer = model.config().n_layer;
    let cases = golden["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 2, "golden cases");
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let tokens = ids(&case["tokens"]);
        let positions = case["positions"].as_array().expect("positions");
        assert_eq!(positions.len(), tokens.len());
        let want_greedy = ids(&case["greedy"]);
        // Router choices of every fed token, inputs and greedy continuation alike, layer by layer.
        let want_experts: Vec<Vec<usize>> = case["experts"]
            .as_array()
            .expect("experts")
            .iter()
            .map(|e| {
                e.as_array()
                    .expect("expert ids")
                    .iter()
                    .map(|x| x.as_u64().expect("id") as usize)
                    .collect()
            })
            .collect();
        assert_eq!(
            want_experts.len(),
            (tokens.len() + want_greedy.len()) * n_layer
        );

        let mut state = model.new_state();
        let mut err = MaxErr::default();
        let mut experts = Vec::new();
        let mut logits = Vec::new();
        for (pos, (&token, golden_pos)) in tokens.iter().zip(positions).enumerate() {
            logits = model.forward(&mut state, token, pos).expect("forward");
            experts.extend(
                state
                    .routing()
                    .iter()
                    .map(|l| l.iter().map(|c| c.expert).collect::<Vec<_>>()),
            );
            check_position(name, pos, &logits, golden_pos, &sample_ids, &mut err);
        }
        err.last = check_last_logits(
            name,
            &logits,
            case["last_logits_file"].as_str().expect("file"),
        );

        let mut greedy = Vec::new();
        for i in 0..want_greedy.len() {
            let next = argmax(&logits);
            greedy.push(next);
            logits = model
                .forward(&mut state, next, tokens.len() + i)
                .expect("forward");
            experts.extend(
                state
                    .routing()
                    .iter()
                    .map(|l| l.iter().map(|c| c.expert).collect::<Vec<_>>()),
            );
        }
        assert_eq!(greedy, want_greedy, "{name}: greedy continuation");
        for (i, (ours, want)) in experts.iter().zip(&want_experts).enumerate() {
            assert_eq!(
                ours,
                want,
                "{name}: experts at position {} layer {}",
                i / n_layer,
                i % n_layer
            );
        }
        println!(
            "{name}: {} positions, max |Δ| top-20 {:.2e}, sample {:.2e}, logsumexp {:.2e}, last logits {:.2e}; greedy {} ids identical; experts identical at {} (position, layer)",
            tokens.len(),
            err.top,
            err.sample,
            err.lse,
            err.last,
            greedy.len(),
            experts.len()
        );
    }
}

/// Prefill gives the last position's logits in one call, and forwarding at an earlier position rewinds the cache.
#[test]
fn tiny_prefill_and_rewind_match_golden() {
    let model = load_tiny();
    let golden = golden();
    let case = &golden["cases"][0];
    let tokens = ids(&case["tokens"]);
    let file = case["last_logits_file"].as_str().expect("file");
    let mut state = model.new_state();
    let logits = model.prefill(&mut state, &tokens, 0).expect("prefill");
    assert_eq!(state.len(), tokens.len());
    let err = check_last_logits("prefill", &logits, file);
    // Overwrite positions 2.. with other tokens, then rewind to 2 and replay the real ones.
    model.prefill(&mut state, &[0, 1, 2], 2).expect("overwrite");
    let logits = model.prefill(&mut state, &tokens[2..], 2).expect("replay");
    let err_rewind = check_last_logits("rewind", &logits, file);
    println!("prefill: last logits max |Δ| {err:.2e}; after rewind {err_rewind:.2e}");
    assert!(
        model
            .forward(&mut state, tokens[0], tokens.len() + 1)
            .is_err(),
        "skipping a position must fail"
    );
    assert!(
        model.forward(&mut state, 201_088, 0).is_err(),
        "a token past the vocabulary must fail"
    );
}

#[test]
fn tiny_config_from_header() {
    let bytes = read("tiny.gguf");
    let header = tiny_header(&bytes);
    let c = GptOssConfig::from_header(&header).expect("config");
    // The fixture README's table: 4 layers, 64 wide, 4 / 2 heads of 16, 8 experts (4 used) of width 64, window 16.
    assert_eq!(
        (
            c.n_layer,
            c.n_embd,
            c.n_head,
            c.n_head_kv,
            c.head_dim,
            c.value_dim
        ),
        (4, 64, 4, 2, 16, 16)
    );
    assert_eq!((c.n_expert, c.n_expert_used, c.n_ff_expert), (8, 4, 64));
    assert_eq!(
        (c.n_vocab, c.context_length, c.sliding_window),
        (201_088, 4096, 16)
    );
    assert_eq!(
        (0..4).map(|il| c.is_sliding(il)).collect::<Vec<_>>(),
        [true, false, true, false]
    );
    assert!((c.rms_eps - 1e-5).abs() < 1e-12);
    let r = &c.rope;
    assert_eq!((r.n_dims, r.n_ctx_orig), (16, 4096));
    assert_eq!(
        (r.freq_base, r.freq_base_swa, r.freq_scale),
        (150_000.0, 150_000.0, 1.0 / 32.0)
    );
    assert_eq!(
        (r.ext_factor, r.attn_factor, r.beta_fast, r.beta_slow),
        (1.0, 1.0, 32.0, 1.0)
    );

    let plan = TensorPlan::new(&c, &header.tensors).expect("plan");
    assert_eq!(plan.tensors.len(), 3 + 4 * 19);
    let ty = |name: &str| plan.get(name).expect(name).format.ggml_type();
    assert_eq!(ty("token_embd.weight"), GgmlType::Q8_0);
    assert_eq!(ty("blk.3.attn_k.weight"), GgmlType::F16);
    assert_eq!(ty("blk.3.attn_v.weight"), GgmlType::BF16);
    assert_eq!(ty("blk.0.ffn_down_exps.weight"), GgmlType::MXFP4);
    assert_eq!(ty("blk.0.ffn_gate_inp.weight"), GgmlType::F32);
}

#[test]
fn tiny_plan_names_the_offending_tensor() {
    let bytes = read("tiny.gguf");
    let header = tiny_header(&bytes);
    let c = GptOssConfig::from_header(&header).expect("config");
    let plan_err = |edit: &dyn Fn(&mut GgufHeader)| {
        let mut h = header.clone();
        edit(&mut h);
        TensorPlan::new(&c, &h.tensors)
            .expect_err("plan must fail")
            .to_string()
    };
    let missing = plan_err(&|h| h.tensors.retain(|t| t.name != "blk.2.attn_sinks.weight"));
    assert!(
        missing.contains("`blk.2.attn_sinks.weight` is missing"),
        "{missing}"
    );
    let shape = plan_err(&|h| {
        let t = h
            .tensors
            .iter_mut()
            .find(|t| t.name == "blk.1.attn_q.weight")
            .expect("attn_q");
        t.dims = vec![32, 128];
    });
    assert!(
        shape.contains("`blk.1.attn_q.weight` has shape [32, 128], expected [64, 64]"),
        "{shape}"
    );
    let class = plan_err(&|h| {
        let t = h
            .tensors
            .iter_mut()
            .find(|t| t.name == "output_norm.weight")
            .expect("output_norm");
        t.ggml_type = GgmlType::Q8_0;
    });
    assert!(
        class.contains("`output_norm.weight` has type Q8_0"),
        "{class}"
    );
    let undecodable = plan_err(&|h| {
        let t = h
            .tensors
            .iter_mut()
            .find(|t| t.name == "blk.0.attn_q.weight")
            .expect("attn_q");
        t.ggml_type = GgmlType::Q2_K;
    });
    assert!(
        undecodable.contains("`blk.0.attn_q.weight` has type Q2_K"),
        "{undecodable}"
    );
    let size = plan_err(&|h| {
        let t = h
            .tensors
            .iter_mut()
            .find(|t| t.name == "blk.0.attn_k.weight")
            .expect("attn_k");
        t.n_bytes -= 2;
    });
    assert!(
        size.contains("`blk.0.attn_k.weight` is 4094 bytes, expected 4096"),
        "{size}"
    );
}

#[test]
fn tiny_config_names_the_offending_key() {
    let bytes = read("tiny.gguf");
    let header = tiny_header(&bytes);
    let config_err = |edit: &dyn Fn(&mut GgufHeader)| {
        let mut h = header.clone();
        edit(&mut h);
        GptOssConfig::from_header(&h)
            .expect_err("config must fail")
            .to_string()
    };
    let no_key_length = config_err(&|h| {
        h.metadata
            .retain(|(k, _)| k != "gpt-oss.attention.key_length")
    });
    assert!(
        no_key_length.contains("gpt-oss.attention.key_length"),
        "{no_key_length}"
    );
    let no_tokens = config_err(&|h| h.metadata.retain(|(k, _)| k != "tokenizer.ggml.tokens"));
    assert!(no_tokens.contains("tokenizer.ggml.tokens"), "{no_tokens}");
    let arch = config_err(&|h| {
        h.metadata
            .iter_mut()
            .find(|(k, _)| k == "general.architecture")
            .expect("arch")
            .1 = MetaValue::String("llama".into())
    });
    assert!(arch.contains("`llama`"), "{arch}");
    let heads = config_err(&|h| {
        h.metadata
            .iter_mut()
            .find(|(k, _)| k == "gpt-oss.attention.head_count_kv")
            .expect("kv heads")
            .1 = MetaValue::U32(3)
    });
    assert!(heads.contains("gpt-oss.attention.head_count_kv"), "{heads}");
    // Optional keys take llama.cpp's defaults.
    let mut h = header.clone();
    h.metadata.push((
        "gpt-oss.attention.sliding_window_pattern".into(),
        MetaValue::U32(3),
    ));
    h.metadata.push((
        "gpt-oss.rope.freq_base_swa".into(),
        MetaValue::F32(10_000.0),
    ));
    let c = GptOssConfig::from_header(&h).expect("config");
    assert_eq!(
        (0..4).map(|il| c.is_sliding(il)).collect::<Vec<_>>(),
        [true, true, false, true]
    );
    assert_eq!(c.rope.freq_base_swa, 10_000.0);
}
