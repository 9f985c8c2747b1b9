//! The tiny synthetic model through the CPU forward pass: activations stay finite over a context longer than the
//! sliding window, the logits are far from uniform, the router spreads tokens over the experts.

use gptoss_engine::gguf::{parse_header, ParseOutcome};
use gptoss_engine::model::{CpuModel, GptOssConfig, TensorPlan};
use gptoss_engine::synth::{HarmonyVocab, Preset, SynthModel};

/// Entropy in nats of softmax(logits), in f64.
fn entropy(logits: &[f32]) -> f64 {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(l as f64));
    let weights: Vec<f64> = logits.iter().map(|&l| (l as f64 - max).exp()).collect();
    let z: f64 = weights.iter().sum();
    -weights.iter().map(|&w| w / z).filter(|&p| p > 0.0).map(|p| p * p.ln()).sum::<f64>()
}

#[test]
fn tiny_synthetic_model_gives_finite_peaked_logits() {
    // Seed 0 is what `gptoss synth --preset tiny` writes by default.
    let model = SynthModel::new(Preset::Tiny, 0, HarmonyVocab::from_o200k_base().unwrap()).unwrap();
    let mut bytes = Vec::new();
    model.write_to(&mut bytes).unwrap();
    let header = match parse_header(&bytes, Some(bytes.len() as u64), "tiny-synth.gguf").unwrap() {
        ParseOutcome::Complete(h) => h,
        ParseOutcome::NeedMore { at_least } => panic!("whole file given but parser wants {at_least}"),
    };
    let config = GptOssConfig::from_header(&header).unwrap();
    let plan = TensorPlan::new(&config, &header.tensors).unwrap();
    let cpu = CpuModel::load(&config, &plan, |info| {
        let start = (header.data_offset + info.offset) as usize;
        Ok(bytes[start..start + info.n_bytes as usize].to_vec())
    })
    .unwrap();
    assert_eq!(config.n_vocab, 201_088);

    // 160 positions: past the 128-token window of the even layers. Ordinary ids spread over the vocabulary, with
    // Harmony control tokens among them.
    let tokens: Vec<u32> = (0..160u32).map(|i| if i % 16 == 0 { 200_006 } else { (i * 7919 + 13) % 199_998 }).collect();
    let uniform = (201_088f64).ln();
    let mut state = cpu.new_state();
    let mut entropies = Vec::new();
    let mut argmaxes = std::collections::BTreeSet::new();
    let mut experts_seen = std::collections::BTreeSet::new();
    let mut top_weight_sum = 0.0f64;
    let mut routed = 0usize;
    for (pos, &token) in tokens.iter().enumerate() {
        let logits = cpu.forward(&mut state, token, pos).unwrap();
        assert!(logits.iter().all(|l| l.is_finite()), "non-finite logit at position {pos}");
        entropies.push(entropy(&logits));
        let best = (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b])).unwrap();
        argmaxes.insert(best);
        for layer in state.routing() {
            assert_eq!(layer.len(), 4);
            let sum: f32 = layer.iter().map(|c| c.weight).sum();
            assert!((sum - 1.0).abs() < 1e-4 && layer.iter().all(|c| c.weight.is_finite()));
            experts_seen.extend(layer.iter().map(|c| c.expert));
            top_weight_sum += layer[0].weight as f64;
            routed += 1;
        }
    }
    let max_entropy = entropies.iter().cloned().fold(0.0, f64::max);
    let mean_entropy = entropies.iter().sum::<f64>() / entropies.len() as f64;
    let mean_top_weight = top_weight_sum / routed as f64;
    eprintln!(
        "entropy: mean {mean_entropy:.3} max {max_entropy:.3} nats (uniform {uniform:.3}); {} distinct argmax ids \
         over {} positions; {} experts used; mean top-expert weight {mean_top_weight:.3}",
        argmaxes.len(),
        tokens.len(),
        experts_seen.len()
    );
    // Far from uniform at every position: Gaussian logits of spread 5 have ~3.5 nats.
    assert!(max_entropy < uniform / 2.0, "entropy up to {max_entropy} nats");
    // The logits depend on the input, and every expert gets traffic.
    assert!(argmaxes.len() > tokens.len() / 2, "only {} distinct argmax ids", argmaxes.len());
    assert_eq!(experts_seen.len(), 32);
    // The softmax over the chosen four is decisive, not flat (flat would be 0.25).
    assert!(mean_top_weight > 0.4, "mean top-expert weight {mean_top_weight}");
}
