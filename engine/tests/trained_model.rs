//! The bundled trained model (`models/wordnet-gpt-oss.gguf`, from `training/`) against PyTorch, a second
//! implementation of the forward pass written independently of the engine (`training/gptoss_model.py`): on
//! held-out conversations, every position's log-probability of the next token from the CPU reference and from the
//! GPU (f32 KV, lavapipe natively) within 2e-3 of PyTorch's on the dequantised exported weights
//! (`models/wordnet-gpt-oss.reference.json`), and the greedy continuation of each prompt identical. The browser
//! test runs the same GPU check on SwiftShader through the page's reference mode.

mod support;

use std::path::PathBuf;
use std::rc::Rc;

use gptoss_engine::gguf::GgufHeader;
use gptoss_engine::gpu::{GpuContext, GpuLoader, GpuModel};
use gptoss_engine::model::{CpuModel, GptOssConfig, TensorPlan};
use gptoss_engine::reference::{check_gpu, gpu_options, CaseCheck, GreedyCheck, Reference, LOG_PROB_TOLERANCE};

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn model() -> (GgufHeader, Vec<u8>) {
    let path = models().join("wordnet-gpt-oss.gguf");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
    (support::whole_header(&bytes), bytes)
}

fn reference() -> Reference {
    let path = models().join("wordnet-gpt-oss.reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{} missing: {e}", path.display()));
    let reference = Reference::from_json(&text).unwrap();
    assert!(reference.cases.len() >= 8, "{} reference cases", reference.cases.len());
    for c in &reference.cases {
        assert_eq!(c.greedy.len(), 32, "{}: 32 greedy tokens", c.word);
    }
    reference
}

/// Asserts every case within the tolerance and greedy-identical, and prints the figures the README quotes.
fn assert_and_report(backend: &str, checks: &[CaseCheck]) {
    for c in checks {
        assert!(
            c.max_abs_delta <= LOG_PROB_TOLERANCE,
            "{backend}, {} position {}: |Δ log-prob| {:.3e} vs PyTorch",
            c.word,
            c.worst_position,
            c.max_abs_delta
        );
        assert_eq!(c.greedy, c.greedy_expected, "{backend}, {}: greedy continuation", c.word);
    }
    let worst = checks.iter().map(|c| c.max_abs_delta).fold(0f64, f64::max);
    let n: usize = checks.iter().map(|c| c.reply_tokens).sum();
    let (engine, pytorch) = checks.iter().fold((0.0, 0.0), |(a, b), c| (a + c.reply_nll, b + c.pytorch_reply_nll));
    eprintln!(
        "{backend}: {} held-out conversations, max |Δ log-prob| vs PyTorch {worst:.2e}; reply perplexity engine {:.4}, \
         PyTorch {:.4} ({n} tokens)",
        checks.len(),
        (engine / n as f64).exp(),
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
    let checks: Vec<CaseCheck> = reference()
        .cases
        .iter()
        .map(|case| {
            let mut state = cpu.new_state();
            let logits: Vec<Vec<f32>> =
                case.inputs().iter().enumerate().map(|(pos, &t)| cpu.forward(&mut state, t, pos).unwrap()).collect();

            let mut state = cpu.new_state();
            let prompt = case.prompt();
            let mut next = support::argmax(&cpu.prefill(&mut state, prompt, 0).unwrap());
            let mut greedy = vec![next];
            while greedy.len() < case.greedy.len() {
                next = support::argmax(&cpu.forward(&mut state, next, prompt.len() + greedy.len() - 1).unwrap());
                greedy.push(next);
            }
            case.check(&logits, greedy).unwrap()
        })
        .collect();
    assert_and_report("CPU reference", &checks);
}

#[test]
fn gpu_matches_pytorch() {
    let ctx = Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (mesa-vulkan-drivers)"));
    eprintln!("adapter: {} ({})", ctx.report.name, ctx.report.backend);
    let (header, bytes) = model();
    let config = GptOssConfig::from_header(&header).unwrap();
    let plan = TensorPlan::new(&config, &header.tensors).unwrap();
    let reference = reference();
    let events = &mut gptoss_engine::events::NoEvents;
    let mut loader =
        pollster::block_on(GpuLoader::new(ctx.clone(), config, plan.clone(), gpu_options(&reference), events)).unwrap();
    for t in &plan.tensors {
        let start = (header.data_offset + t.info.offset) as usize;
        loader.push(&t.info.name, &bytes[start..start + t.info.n_bytes as usize]).unwrap();
    }
    let mut model: GpuModel = pollster::block_on(loader.finish(events)).unwrap();
    let checks: Vec<CaseCheck> = reference
        .cases
        .iter()
        .map(|case| pollster::block_on(check_gpu(&mut model, case, GreedyCheck::Stepped)).unwrap())
        .collect();
    assert_and_report("GPU (f32 KV)", &checks);
}
