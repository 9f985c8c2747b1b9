//! Expert paging: with any budget that holds one token's experts, the logits are bit for bit those of the fully
//! resident model (same kernels, only the slots differ: paging runs a token at a time, so the resident model is
//! held to the per-token kernels too); a failed expert fetch stops generation with an error.

mod support;

use std::rc::Rc;

use gptoss_engine::events::NoEvents;
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::gpu::{load_model, ExpertBudget, GpuContext, GpuModel, GpuOptions, KvStorage};
use gptoss_engine::sampler::SamplerConfig;
use gptoss_engine::source::ByteSource;

fn load(ctx: &Rc<GpuContext>, path: &std::path::Path, budget: ExpertBudget) -> GpuModel {
    let file = pollster::block_on(GgufModel::open(ByteSource::file(path), &mut NoEvents)).unwrap();
    let options = GpuOptions {
        context: 128,
        max_batch: 64,
        max_logit_rows: 64,
        kv_storage: Some(KvStorage::F32),
        expert_budget: budget,
        // Paging steps one token at a time, through the per-token kernels; so does the resident model here.
        tiled_from: usize::MAX,
        ..Default::default()
    };
    pollster::block_on(load_model(ctx.clone(), &file, options, &mut NoEvents)).unwrap()
}

#[test]
fn paged_logits_are_bit_identical_to_resident() {
    let ctx = Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (mesa-vulkan-drivers)"));
    let path = support::fixtures().join("tiny.gguf");
    let goldens = support::goldens();
    let case = goldens.cases.iter().find(|c| c.name == "harmony").expect("harmony case");
    // Paging runs a token at a time with a sync per layer: 24 positions keep the test quick on lavapipe.
    let tokens = &case.tokens[..24];
    let mut resident = load(&ctx, &path, ExpertBudget::All);
    assert_eq!(resident.expert_slots(), 8);
    let want = pollster::block_on(resident.logits(tokens)).unwrap();
    for budget in [ExpertBudget::Fraction(0.75), ExpertBudget::Fraction(0.5), ExpertBudget::Min] {
        let mut paged = load(&ctx, &path, budget);
        assert!(paged.expert_slots() < 8, "{budget:?}");
        let got = pollster::block_on(paged.logits(tokens)).unwrap();
        for (p, (a, b)) in want.iter().zip(&got).enumerate() {
            assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "{budget:?}: position {p} differs");
        }
        // Greedy generation through the paged path: same tokens, and the cache did work.
        paged.reset();
        resident.reset();
        let greedy = SamplerConfig::greedy();
        let mut a = pollster::block_on(resident.step(tokens, &greedy)).unwrap();
        let mut b = pollster::block_on(paged.step(tokens, &greedy)).unwrap();
        let stats = b.paging.clone().expect("paging stats");
        assert!(stats.misses > 0 && stats.syncs as usize == 4 * tokens.len(), "{stats:?}");
        for _ in 0..8 {
            assert_eq!(a.choice.token, b.choice.token, "{budget:?}");
            a = pollster::block_on(resident.step(&[a.choice.token], &greedy)).unwrap();
            b = pollster::block_on(paged.step(&[b.choice.token], &greedy)).unwrap();
        }
        let residency = paged.expert_residency();
        assert!(residency.iter().all(|l| l.iter().filter(|r| **r).count() == paged.expert_slots()));
        eprintln!("{budget:?}: {} slots per layer; last token {:?}", paged.expert_slots(), b.paging);
    }
}

#[test]
fn failed_expert_fetch_stops_with_an_error() {
    let ctx = Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (mesa-vulkan-drivers)"));
    let dir = std::env::temp_dir().join(format!("gptoss-paging-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("tiny.gguf");
    std::fs::copy(support::fixtures().join("tiny.gguf"), &copy).unwrap();
    let mut model = load(&ctx, &copy, ExpertBudget::Min);
    // The file goes away after loading: the first miss cannot be fetched.
    std::fs::remove_file(&copy).unwrap();
    let tokens: Vec<u32> = (0..32u32).map(|i| i * 977 % 199_998).collect();
    let err = pollster::block_on(model.step(&tokens, &SamplerConfig::greedy())).unwrap_err().to_string();
    assert!(err.contains("paging in expert") && err.contains("ffn_gate_exps"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The same on a synthetic model with gpt-oss-20b's structure (24 layers, 32 experts, top-4): 50% and the minimum.
#[test]
fn paged_synthetic_model_matches_resident() {
    let ctx = Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (mesa-vulkan-drivers)"));
    let vocab = gptoss_engine::synth::HarmonyVocab::from_o200k_base().unwrap();
    let synth = gptoss_engine::synth::SynthModel::new(gptoss_engine::synth::Preset::Tiny, 3, vocab).unwrap();
    let dir = std::env::temp_dir().join(format!("gptoss-paging-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tiny-synth.gguf");
    synth.write_file(&path, &mut NoEvents).unwrap();
    let tokens: Vec<u32> = (0..6u32).map(|i| 1000 + i * 4099).collect();
    let mut resident = load(&ctx, &path, ExpertBudget::All);
    assert_eq!(resident.expert_slots(), 32);
    let want = pollster::block_on(resident.logits(&tokens)).unwrap();
    for budget in [ExpertBudget::Fraction(0.5), ExpertBudget::Min] {
        let mut paged = load(&ctx, &path, budget);
        let got = pollster::block_on(paged.logits(&tokens)).unwrap();
        for (p, (a, b)) in want.iter().zip(&got).enumerate() {
            assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()), "{budget:?}: position {p} differs");
        }
        eprintln!("{budget:?}: {} of 32 slots per layer, bit-identical", paged.expert_slots());
    }
    std::fs::remove_dir_all(&dir).ok();
}
