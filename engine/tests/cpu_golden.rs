//! The CPU forward pass against the fixture goldens (an independent float64 implementation that llama.cpp's CPU
//! backend reproduces), and the model config / tensor plan against the fixture's documented shape.

mod support;

use gptoss_engine::gguf::{GgmlType, GgufHeader, MetaValue};
use gptoss_engine::model::{GptOssConfig, TensorPlan};

/// Every position of every golden case, with the tolerances (2e-3; swaps of ids whose reference logits
/// differ by less than 1e-4), the greedy continuation, and the chosen experts of every (position, layer).
#[test]
fn tiny_forward_matches_golden_logits() {
    let model = support::tiny_cpu();
    let goldens = support::goldens();
    let n_layer = model.config().n_layer;
    assert_eq!(goldens.cases.len(), 2, "golden cases");
    for case in &goldens.cases {
        assert_eq!(case.experts.len(), (case.tokens.len() + case.greedy.len()) * n_layer);
        let mut state = model.new_state();
        let mut experts = Vec::new();
        let mut rows = Vec::new();
        let mut route = |state: &gptoss_engine::model::CpuState| {
            experts.extend(state.routing().iter().map(|l| l.iter().map(|c| c.expert).collect::<Vec<_>>()))
        };
        for (pos, &token) in case.tokens.iter().enumerate() {
            rows.push(model.forward(&mut state, token, pos).expect("forward"));
            route(&state);
        }
        support::check_case(case, &goldens.sample_ids, &rows, 2e-3, 1e-4);
        let mut logits = rows.pop().expect("a position");
        let mut greedy = Vec::new();
        for i in 0..case.greedy.len() {
            let next = support::argmax(&logits);
            greedy.push(next);
            logits = model.forward(&mut state, next, case.tokens.len() + i).expect("forward");
            route(&state);
        }
        assert_eq!(greedy, case.greedy, "{}: greedy continuation", case.name);
        for (i, (ours, want)) in experts.iter().zip(&case.experts).enumerate() {
            assert_eq!(ours, want, "{}: experts at position {} layer {}", case.name, i / n_layer, i % n_layer);
        }
        println!(
            "{}: greedy {} ids identical; experts identical at {} (position, layer)",
            case.name,
            greedy.len(),
            experts.len()
        );
    }
}

/// Prefill gives the last position's logits in one call, and forwarding at an earlier position rewinds the cache.
#[test]
fn tiny_prefill_and_rewind_match_golden() {
    let model = support::tiny_cpu();
    let goldens = support::goldens();
    let case = &goldens.cases[0];
    let tokens = &case.tokens;
    let mut state = model.new_state();
    let logits = model.prefill(&mut state, tokens, 0).expect("prefill");
    assert_eq!(state.len(), tokens.len());
    let err = support::max_abs_diff(&logits, &case.last_logits);
    // Overwrite positions 2.. with other tokens, then rewind to 2 and replay the real ones.
    model.prefill(&mut state, &[0, 1, 2], 2).expect("overwrite");
    let logits = model.prefill(&mut state, &tokens[2..], 2).expect("replay");
    let err_rewind = support::max_abs_diff(&logits, &case.last_logits);
    println!("prefill: last logits max |Δ| {err:.2e}; after rewind {err_rewind:.2e}");
    assert!(err <= 2e-3 && err_rewind <= 2e-3, "{err} {err_rewind}");
    assert!(model.forward(&mut state, tokens[0], tokens.len() + 1).is_err(), "skipping a position must fail");
    assert!(model.forward(&mut state, 201_088, 0).is_err(), "a token past the vocabulary must fail");
}

#[test]
fn tiny_config_from_header() {
    let bytes = support::tiny_bytes();
    let header = support::whole_header(&bytes);
    let c = GptOssConfig::from_header(&header).expect("config");
    // The fixture README's table: 4 layers, 64 wide, 4 / 2 heads of 16, 8 experts (4 used) of width 64, window 16.
    assert_eq!((c.n_layer, c.n_embd, c.n_head, c.n_head_kv, c.head_dim, c.value_dim), (4, 64, 4, 2, 16, 16));
    assert_eq!((c.n_expert, c.n_expert_used, c.n_ff_expert), (8, 4, 64));
    assert_eq!((c.n_vocab, c.context_length, c.sliding_window), (201_088, 4096, 16));
    assert_eq!((0..4).map(|il| c.is_sliding(il)).collect::<Vec<_>>(), [true, false, true, false]);
    assert!((c.rms_eps - 1e-5).abs() < 1e-12);
    let r = &c.rope;
    assert_eq!((r.n_dims, r.n_ctx_orig), (16, 4096));
    assert_eq!((r.freq_base, r.freq_base_swa, r.freq_scale), (150_000.0, 150_000.0, 1.0 / 32.0));
    assert_eq!((r.ext_factor, r.attn_factor, r.beta_fast, r.beta_slow), (1.0, 1.0, 32.0, 1.0));

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
    let bytes = support::tiny_bytes();
    let header = support::whole_header(&bytes);
    let c = GptOssConfig::from_header(&header).expect("config");
    let plan_err = |edit: &dyn Fn(&mut GgufHeader)| {
        let mut h = header.clone();
        edit(&mut h);
        TensorPlan::new(&c, &h.tensors).expect_err("plan must fail").to_string()
    };
    let missing = plan_err(&|h| h.tensors.retain(|t| t.name != "blk.2.attn_sinks.weight"));
    assert!(missing.contains("`blk.2.attn_sinks.weight` is missing"), "{missing}");
    let shape = plan_err(&|h| {
        let t = h.tensors.iter_mut().find(|t| t.name == "blk.1.attn_q.weight").expect("attn_q");
        t.dims = vec![32, 128];
    });
    assert!(shape.contains("`blk.1.attn_q.weight` has shape [32, 128], expected [64, 64]"), "{shape}");
    let class = plan_err(&|h| {
        let t = h.tensors.iter_mut().find(|t| t.name == "output_norm.weight").expect("output_norm");
        t.ggml_type = GgmlType::Q8_0;
    });
    assert!(class.contains("`output_norm.weight` has type Q8_0"), "{class}");
    let undecodable = plan_err(&|h| {
        let t = h.tensors.iter_mut().find(|t| t.name == "blk.0.attn_q.weight").expect("attn_q");
        t.ggml_type = GgmlType::Q2_K;
    });
    assert!(undecodable.contains("`blk.0.attn_q.weight` has type Q2_K"), "{undecodable}");
    let size = plan_err(&|h| {
        let t = h.tensors.iter_mut().find(|t| t.name == "blk.0.attn_k.weight").expect("attn_k");
        t.n_bytes -= 2;
    });
    assert!(size.contains("`blk.0.attn_k.weight` is 4094 bytes, expected 4096"), "{size}");
}

#[test]
fn tiny_config_names_the_offending_key() {
    let bytes = support::tiny_bytes();
    let header = support::whole_header(&bytes);
    let config_err = |edit: &dyn Fn(&mut GgufHeader)| {
        let mut h = header.clone();
        edit(&mut h);
        GptOssConfig::from_header(&h).expect_err("config must fail").to_string()
    };
    let no_key_length = config_err(&|h| h.metadata.retain(|(k, _)| k != "gpt-oss.attention.key_length"));
    assert!(no_key_length.contains("gpt-oss.attention.key_length"), "{no_key_length}");
    let no_tokens = config_err(&|h| h.metadata.retain(|(k, _)| k != "tokenizer.ggml.tokens"));
    assert!(no_tokens.contains("tokenizer.ggml.tokens"), "{no_tokens}");
    let arch = config_err(&|h| {
        h.metadata.iter_mut().find(|(k, _)| k == "general.architecture").expect("arch").1 =
            MetaValue::String("llama".into())
    });
    assert!(arch.contains("`llama`"), "{arch}");
    let heads = config_err(&|h| {
        h.metadata.iter_mut().find(|(k, _)| k == "gpt-oss.attention.head_count_kv").expect("kv heads").1 =
            MetaValue::U32(3)
    });
    assert!(heads.contains("gpt-oss.attention.head_count_kv"), "{heads}");
    // Optional keys take llama.cpp's defaults.
    let mut h = header.clone();
    h.metadata.push(("gpt-oss.attention.sliding_window_pattern".into(), MetaValue::U32(3)));
    h.metadata.push(("gpt-oss.rope.freq_base_swa".into(), MetaValue::F32(10_000.0)));
    let c = GptOssConfig::from_header(&h).expect("config");
    assert_eq!((0..4).map(|il| c.is_sliding(il)).collect::<Vec<_>>(), [true, true, false, true]);
    assert_eq!(c.rope.freq_base_swa, 10_000.0);
}
