//! The bundled trained model (`models/wordnet-gpt-oss.gguf`, from `training/`) against PyTorch, a second
//! implementation of the forward pass written independently of the engine (`training/gptoss_model.py`): on
//! held-out conversations, every position's log-probability of the next token from the CPU reference and from the
//! GPU (f32 KV, lavapipe natively) within 2e-3 of PyTorch's on the dequantised exported weights
//! (`models/wordnet-gpt-oss.reference.json`), and the greedy continuation of each prompt identical.

mod support;

use std::path::PathBuf;
use std::rc::Rc;

use gptoss_engine::gguf::GgufHeader;
use gptoss_engine::gpu::{GpuContext, GpuLoader, GpuModel, GpuOptions, KvStorage};
use gptoss_engine::model::{CpuModel, GptOssConfig, TensorPlan};
use gptoss_engine::sampler::SamplerConfig;

const TOLERANCE: f64 = 2e-3;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn model() -> (GgufHeader, Vec<u8>) {
    let path = models().join("wordnet-gpt-oss.gguf");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
    (support::whole_header(&bytes), bytes)
}

struct Case {
    word: String,
    tokens: Vec<u32>,
    prompt_tokens: usize,
    /// log p(tokens[i + 1] | tokens[..= i]).
    log_probs: Vec<f64>,
    greedy: Vec<u32>,
}

fn cases() -> Vec<Case> {
    let path = models().join("wordnet-gpt-oss.reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("reference JSON");
    let ids = |x: &serde_json::Value| x.as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as u32).collect();
    let cases: Vec<Case> = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Case {
            word: c["word"].as_str().unwrap().to_string(),
            tokens: ids(&c["tokens"]),
            prompt_tokens: c["prompt_tokens"].as_u64().unwrap() as usize,
            log_probs: c["log_probs"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect(),
            greedy: ids(&c["greedy"]),
        })
        .collect();
    assert!(cases.len() >= 8, "{} reference cases", cases.len());
    for c in &cases {
        assert_eq!(c.log_probs.len(), c.tokens.len() - 1, "{}", c.word);
        assert_eq!(c.greedy.len(), 32, "{}: 32 greedy tokens", c.word);
    }
    cases
}

/// log-softmax in f64 of f32 logits: an f32 log-sum-exp over 201,088 logits is off by ~4e-4.
fn log_prob(logits: &[f32], id: u32) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let z: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    logits[id as usize] as f64 - max - z.ln()
}

/// Checks one case's per-position logits; returns (max |Δ log-prob|, the engine's summed reply NLL, reply tokens).
fn compare(case: &Case, logits: &[Vec<f32>]) -> (f64, f64, usize) {
    assert_eq!(logits.len(), case.tokens.len() - 1);
    let mut worst = 0f64;
    let mut nll = 0f64;
    for (i, row) in logits.iter().enumerate() {
        let got = log_prob(row, case.tokens[i + 1]);
        let want = case.log_probs[i];
        assert!((got - want).abs() <= TOLERANCE, "{} position {i}: log-prob {got} vs PyTorch {want}", case.word);
        worst = worst.max((got - want).abs());
        if i + 1 >= case.prompt_tokens {
            nll -= got;
        }
    }
    (worst, nll, case.tokens.len() - case.prompt_tokens)
}

fn report(backend: &str, cases: &[Case], results: &[(f64, f64, usize)]) {
    let worst = results.iter().map(|r| r.0).fold(0f64, f64::max);
    let (nll, n) = results.iter().fold((0.0, 0), |(a, b), r| (a + r.1, b + r.2));
    let pytorch: f64 = cases.iter().map(|c| -c.log_probs[c.prompt_tokens - 1..].iter().sum::<f64>()).sum();
    eprintln!(
        "{backend}: {} held-out conversations, max |Δ log-prob| vs PyTorch {worst:.2e}; reply perplexity engine {:.4}, \
         PyTorch {:.4} ({n} tokens)",
        cases.len(),
        (nll / n as f64).exp(),
        (pytorch / n as f64).exp()
    );
}

#[test]
fn cpu_reference_matches_pytorch() {
    let (header, bytes) = model();
    let config = GptOssConfig::from_header(&header).unwrap();
    let plan = TensorPlan::new(&config, &header.tensors).unwrap();
    let cpu = CpuModel::load(&config, &plan, |info| {
        let start = (header.data_offset + info.offset) as usize;
        Ok(bytes[start..start + info.n_bytes as usize].to_vec())
    })
    .unwrap();
    let cases = cases();
    let mut results = Vec::new();
    for case in &cases {
        let mut state = cpu.new_state();
        let inputs = &case.tokens[..case.tokens.len() - 1];
        let logits: Vec<Vec<f32>> =
            inputs.iter().enumerate().map(|(pos, &t)| cpu.forward(&mut state, t, pos).unwrap()).collect();
        results.push(compare(case, &logits));

        let mut state = cpu.new_state();
        let prompt = &case.tokens[..case.prompt_tokens];
        let mut next = support::argmax(&cpu.prefill(&mut state, prompt, 0).unwrap());
        let mut greedy = vec![next];
        while greedy.len() < case.greedy.len() {
            next = support::argmax(&cpu.forward(&mut state, next, prompt.len() + greedy.len() - 1).unwrap());
            greedy.push(next);
        }
        assert_eq!(greedy, case.greedy, "{}: CPU greedy continuation", case.word);
    }
    report("CPU reference", &cases, &results);
}

#[test]
fn gpu_matches_pytorch() {
    let ctx = Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (mesa-vulkan-drivers)"));
    eprintln!("adapter: {} ({})", ctx.report.name, ctx.report.backend);
    let (header, bytes) = model();
    let config = GptOssConfig::from_header(&header).unwrap();
    let plan = TensorPlan::new(&config, &header.tensors).unwrap();
    let options = GpuOptions {
        context: 512,
        max_batch: 64,
        max_logit_rows: 64,
        kv_storage: Some(KvStorage::F32),
        ..Default::default()
    };
    let events = &mut gptoss_engine::events::NoEvents;
    let mut loader = GpuLoader::new(ctx.clone(), config, plan.clone(), options, events).unwrap();
    for t in &plan.tensors {
        let start = (header.data_offset + t.info.offset) as usize;
        loader.push(&t.info.name, &bytes[start..start + t.info.n_bytes as usize]).unwrap();
    }
    let mut model: GpuModel = pollster::block_on(loader.finish(events)).unwrap();
    let cases = cases();
    let mut results = Vec::new();
    for case in &cases {
        model.reset();
        let logits = pollster::block_on(model.logits(&case.tokens[..case.tokens.len() - 1])).unwrap();
        results.push(compare(case, &logits));

        model.reset();
        let greedy_step = |model: &mut GpuModel, tokens: &[u32]| {
            pollster::block_on(model.step(tokens, &SamplerConfig::greedy())).unwrap().choice.token
        };
        let mut greedy = vec![greedy_step(&mut model, &case.tokens[..case.prompt_tokens])];
        while greedy.len() < case.greedy.len() {
            let last = *greedy.last().unwrap();
            greedy.push(greedy_step(&mut model, &[last]));
        }
        assert_eq!(greedy, case.greedy, "{}: GPU greedy continuation", case.word);
    }
    report("GPU (f32 KV)", &cases, &results);
}
