//! The whole GPU forward pass (on lavapipe natively in CI) against the fixture goldens, with the CPU path's
//! tolerances: every position's top-20, sampled logits, log-sum-exp and the last full logits; greedy continuation
//! identical, sampled on the GPU.

mod support;

use std::rc::Rc;

use gptoss_engine::events::{Event, EventSink};
use gptoss_engine::gguf::GgufHeader;
use gptoss_engine::gpu::{GpuContext, GpuLoader, GpuModel, GpuOptions, KvStorage, StepOutput};
use gptoss_engine::model::{GptOssConfig, TensorPlan};
use gptoss_engine::sampler::SamplerConfig;

fn load(ctx: &Rc<GpuContext>, options: GpuOptions, events: &mut dyn EventSink) -> GpuModel {
    let (header, bytes) = support::tiny();
    let config = GptOssConfig::from_header(&header).unwrap();
    let plan = TensorPlan::new(&config, &header.tensors).unwrap();
    load_parts(ctx, &header, &bytes, config, plan, options, events)
}

fn load_parts(
    ctx: &Rc<GpuContext>,
    header: &GgufHeader,
    bytes: &[u8],
    config: GptOssConfig,
    plan: TensorPlan,
    options: GpuOptions,
    events: &mut dyn EventSink,
) -> GpuModel {
    let mut loader = pollster::block_on(GpuLoader::new(ctx.clone(), config, plan.clone(), options, events)).unwrap();
    for t in &plan.tensors {
        let start = (header.data_offset + t.info.offset) as usize;
        let data = &bytes[start..start + t.info.n_bytes as usize];
        // Odd chunk sizes exercise the row streaming the HTTP source will feed.
        for chunk in data.chunks(100_003) {
            loader.push(&t.info.name, chunk).unwrap();
        }
    }
    pollster::block_on(loader.finish(events)).unwrap()
}

fn context() -> Rc<GpuContext> {
    let ctx = Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (mesa-vulkan-drivers)"));
    eprintln!("adapter: {} ({}), shader-f16 {}", ctx.report.name, ctx.report.backend, ctx.report.shader_f16);
    ctx
}

/// The f32 path: the CPU issue's tolerance of 2e-3.
#[test]
fn gpu_forward_matches_goldens() {
    check_goldens(KvStorage::F32, 2e-3, 1e-4);
}

/// f16 KV storage (the default where the adapter has shader-f16; lavapipe has it): tolerance 1e-2.
#[test]
fn gpu_forward_with_f16_kv_matches_goldens() {
    check_goldens(KvStorage::F16, 1e-2, 1e-2);
}

fn check_goldens(kv: KvStorage, tol: f32, swap_gap: f32) {
    let ctx = context();
    let goldens = support::goldens();
    let mut buffers = 0;
    let mut gpu_bytes = 0;
    let mut sink = |e: Event| {
        if let Event::GpuBufferAllocated { total_gpu_bytes, .. } = e {
            buffers += 1;
            gpu_bytes = total_gpu_bytes;
        }
    };
    let mut model = load(
        &ctx,
        GpuOptions { context: 256, max_batch: 64, max_logit_rows: 64, kv_storage: Some(kv), ..Default::default() },
        &mut sink,
    );
    assert!(buffers > 0 && gpu_bytes > 30 << 20, "{buffers} buffers, {gpu_bytes} bytes");
    assert_eq!(model.kv_storage(), kv);
    eprintln!("{kv:?} KV: {} dispatches per token, {} GPU bytes", model.dispatches_per_token(), model.gpu_bytes());
    for case in &goldens.cases {
        model.reset();
        let logits = pollster::block_on(model.logits(&case.tokens)).unwrap();
        support::check_case(case, &goldens.sample_ids, &logits, tol, swap_gap);

        // Greedy continuation, sampled on the GPU: prefill then one token per step.
        model.reset();
        let mut out = pollster::block_on(model.step(&case.tokens, &SamplerConfig::greedy())).unwrap();
        let mut greedy = vec![out.choice.token];
        while greedy.len() < case.greedy.len() {
            out = pollster::block_on(model.step(&[out.choice.token], &SamplerConfig::greedy())).unwrap();
            greedy.push(out.choice.token);
        }
        assert_eq!(greedy, case.greedy, "{}: greedy continuation", case.name);
        assert_eq!(out.routes.len(), 4);
        assert!(out.choice.entropy.is_finite() && out.choice.top.len() == 5);
    }
}

/// Past the goldens' 64 tokens: 600 positions, so full-attention layers span three key splits and the
/// sliding-window ring wraps many times; the GPU's last logits against the CPU reference's.
#[test]
fn gpu_long_context_matches_cpu() {
    let ctx = context();
    let cpu = support::tiny_cpu();
    let tokens: Vec<u32> = (0..600u32).map(|i| (i * 7919 + 13) % 199_998).collect();
    let want = cpu.prefill(&mut cpu.new_state(), &tokens, 0).unwrap();
    let options = GpuOptions {
        context: 700,
        max_batch: 64,
        max_logit_rows: 1,
        kv_storage: Some(KvStorage::F32),
        ..Default::default()
    };
    let mut model = load(&ctx, options, &mut gptoss_engine::events::NoEvents);
    // Prefill in chunks, then the last token alone through the decode path.
    pollster::block_on(model.step(&tokens[..599], &SamplerConfig::greedy())).unwrap();
    let got = pollster::block_on(model.logits(&tokens[599..])).unwrap().pop().unwrap();
    let err = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    eprintln!("600 positions: max |Δ| GPU vs CPU {err:.2e}");
    assert!(err < 2e-3, "{err}");
}

/// A 2,000-token greedy generation the way the app runs one: each step submitted ahead of the last one's readback
/// (two in flight), the sampled id never leaving the GPU. The sliding-window ring (16 positions in the fixture)
/// wraps over a hundred times, and full-attention layers grow from one key split to 63. Every token the GPU chose
/// is the CPU reference's greedy choice on the same history, up to the forward pass's tolerance of 2e-3. The
/// fixture with its vocabulary cut to its first 8,192 ids (the embedding's and LM head's first rows): the 201,088-row
/// LM head is most of a token's time on a CPU driver (90 ms on lavapipe), and the positions are what is tested.
#[test]
fn a_2000_token_generation_matches_the_cpu_reference_at_every_step() {
    const GENERATED: usize = 2000;
    const VOCAB: u64 = 8192;
    let ctx = context();
    let (mut header, bytes) = support::tiny();
    for t in header.tensors.iter_mut().filter(|t| t.name == "token_embd.weight" || t.name == "output.weight") {
        t.n_bytes = t.n_bytes / t.dims[1] * VOCAB;
        t.dims[1] = VOCAB;
    }
    let mut config = GptOssConfig::from_header(&header).unwrap();
    config.n_vocab = VOCAB as usize;
    let plan = TensorPlan::new(&config, &header.tensors).unwrap();
    let cpu = support::cpu_model(&header, &bytes, &config, &plan);
    let prompt = [3575u32, 553, 261, 10, 7, 4242, 8000, 1];
    let options = GpuOptions {
        context: prompt.len() + GENERATED,
        max_batch: 64,
        max_logit_rows: 1,
        kv_storage: Some(KvStorage::F32),
        ..Default::default()
    };
    let mut model = load_parts(&ctx, &header, &bytes, config, plan, options, &mut gptoss_engine::events::NoEvents);
    let greedy = SamplerConfig::greedy();
    let mut ids = vec![pollster::block_on(model.step(&prompt, &greedy)).unwrap().choice.token];
    let mut ahead = std::collections::VecDeque::new();
    while ids.len() < GENERATED {
        while ahead.len() < 2 && ids.len() + ahead.len() < GENERATED {
            ahead.push_back(model.submit_ahead(&greedy).unwrap());
        }
        let step = ahead.pop_front().unwrap();
        ids.push(pollster::block_on(model.receive(step)).unwrap().choice.token);
    }
    assert_eq!(model.position(), prompt.len() + GENERATED - 1);

    let mut state = cpu.new_state();
    let mut logits = cpu.prefill(&mut state, &prompt, 0).unwrap();
    let (mut exact, mut worst) = (0, 0f32);
    for (i, &id) in ids.iter().enumerate() {
        let (best, max) = logits.iter().enumerate().fold((0, f32::MIN), |b, (j, &l)| if l > b.1 { (j, l) } else { b });
        let short = max - logits[id as usize];
        assert!(short < 2e-3, "token {i}: the GPU chose {id}, {short} below the CPU's choice {best}");
        exact += usize::from(best == id as usize);
        worst = worst.max(short);
        if i + 1 < ids.len() {
            logits = cpu.prefill(&mut state, &[id], prompt.len() + i).unwrap();
        }
    }
    let distinct = ids.iter().collect::<std::collections::HashSet<_>>().len();
    eprintln!(
        "{GENERATED} tokens ({distinct} distinct): {exact} the CPU's exact argmax, the rest within {worst:.1e} of it"
    );
}

/// The GPU sampler against the CPU sampler (same semantics, same seeded hash) on the reference logits of the
/// harmony case's last position: greedy, pure temperature (Gumbel-max over the whole vocabulary), top-k, top-p;
/// the same token, top-5 probabilities and entropy.
#[test]
fn gpu_sampler_matches_cpu_sampler() {
    let ctx = context();
    let goldens = support::goldens();
    let case = goldens.cases.iter().find(|c| c.name == "harmony").expect("harmony case");
    let options = GpuOptions {
        context: 128,
        max_batch: 64,
        max_logit_rows: 1,
        kv_storage: Some(KvStorage::F32),
        ..Default::default()
    };
    let mut model = load(&ctx, options, &mut gptoss_engine::events::NoEvents);
    let configs = [
        SamplerConfig::greedy(),
        SamplerConfig { temperature: 1.0, top_k: 0, top_p: 1.0, seed: 7 },
        SamplerConfig { temperature: 2.0, top_k: 0, top_p: 1.0, seed: 11 },
        SamplerConfig { temperature: 0.8, top_k: 20, top_p: 1.0, seed: 3 },
        SamplerConfig { temperature: 1.0, top_k: 0, top_p: 0.5, seed: 5 },
    ];
    for (i, cfg) in configs.iter().enumerate() {
        // Back to position 0 with the sampler's stream kept (a reset would start it again): the model has drawn
        // i times before this step.
        assert_eq!(model.rewind(0), 0);
        let gpu = pollster::block_on(model.step(&case.tokens, cfg)).unwrap().choice;
        let cpu = gptoss_engine::sampler::sample(&case.last_logits, cfg, i as u32);
        eprintln!("{cfg:?}: gpu {} cpu {}, entropy {} / {}", gpu.token, cpu.token, gpu.entropy, cpu.entropy);
        assert_eq!(gpu.token, cpu.token, "{cfg:?}");
        assert_eq!(gpu.top.iter().map(|t| t.0).collect::<Vec<_>>(), cpu.top.iter().map(|t| t.0).collect::<Vec<_>>());
        for (a, b) in gpu.top.iter().zip(&cpu.top) {
            assert!((a.1 - b.1).abs() < 1e-3, "{cfg:?}: p {} vs {}", a.1, b.1);
        }
        assert!((gpu.entropy - cpu.entropy).abs() < 1e-3, "{cfg:?}");
        assert!((gpu.logsumexp - cpu.logsumexp).abs() < 2e-3, "{cfg:?}");
    }
}

/// The attention view against the reference trace: head 0's weights over the keys of the `short` case's last
/// position, in every layer (the trace excludes the sink; its share is what the weights leave of 1).
#[test]
fn attention_probe_matches_trace() {
    let ctx = context();
    let path = support::fixtures().join("tiny.trace.short.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()));
    let trace: serde_json::Value = serde_json::from_str(&text).unwrap();
    let tokens: Vec<u32> = trace["tokens"].as_array().unwrap().iter().map(|t| t.as_u64().unwrap() as u32).collect();
    let last = trace["positions"].as_array().unwrap().last().unwrap();
    let options = GpuOptions {
        context: 64,
        max_batch: 64,
        max_logit_rows: 1,
        kv_storage: Some(KvStorage::F32),
        ..Default::default()
    };
    let mut model = load(&ctx, options, &mut gptoss_engine::events::NoEvents);
    for (layer, reference) in last["layers"].as_array().unwrap().iter().enumerate() {
        let want: Vec<f32> =
            reference["attn_probs_head0"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap() as f32).collect();
        let first = reference["attended_positions"][0].as_u64().unwrap() as usize;
        model.reset();
        model.set_attention_probe(Some((layer, 0))).unwrap();
        let out = pollster::block_on(model.step(&tokens, &SamplerConfig::greedy())).unwrap();
        let row = out.attention.expect("attention row");
        assert_eq!((row.layer, row.head, row.first_position), (layer, 0, first));
        assert_eq!(row.weights.len(), want.len());
        for (g, w) in row.weights.iter().zip(&want) {
            assert!((g - w).abs() < 1e-5, "layer {layer}: {:?} vs {want:?}", row.weights);
        }
        let total: f32 = row.weights.iter().sum::<f32>() + row.sink;
        assert!((total - 1.0).abs() < 1e-5, "weights and sink sum to {total}");
    }
    model.set_attention_probe(None).unwrap();
    model.reset();
    assert!(pollster::block_on(model.step(&tokens, &SamplerConfig::greedy())).unwrap().attention.is_none());
    assert!(model.set_attention_probe(Some((99, 0))).is_err());
}

/// Weights split as a small binding limit forces (the way 128 MiB splits gpt-oss-20b's LM head and expert
/// tensors): the 201,088-row embedding and LM head in row ranges, each layer's experts over several pools.
/// Same logits as unsplit, bit for bit.
#[test]
fn split_weights_give_identical_logits() {
    let ctx = context();
    let goldens = support::goldens();
    let case = goldens.cases.iter().find(|c| c.name == "short").expect("short case");
    let options = GpuOptions {
        context: 64,
        max_batch: 64,
        max_logit_rows: 64,
        kv_storage: Some(KvStorage::F32),
        ..Default::default()
    };
    let mut whole = load(&ctx, options.clone(), &mut gptoss_engine::events::NoEvents);
    let want = pollster::block_on(whole.logits(&case.tokens)).unwrap();
    let mut labels = Vec::new();
    let mut sink = |e: Event| {
        if let Event::GpuBufferAllocated { label, .. } = e {
            labels.push(label);
        }
    };
    // 1 MiB: the 13.7 MB LM head and embedding split into row ranges; 16 KiB pools hold two of the tiny experts.
    let mut split = load(&ctx, GpuOptions { weight_binding_limit: Some(1 << 20), ..options.clone() }, &mut sink);
    let got = pollster::block_on(split.logits(&case.tokens)).unwrap();
    assert!(labels.iter().filter(|l| l.starts_with("output.weight[rows")).count() >= 10, "{labels:?}");
    for (a, b) in want.iter().zip(&got) {
        assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
    let mut labels = Vec::new();
    let mut sink = |e: Event| {
        if let Event::GpuBufferAllocated { label, .. } = e {
            labels.push(label);
        }
    };
    let mut pools = load(&ctx, GpuOptions { weight_binding_limit: Some(16 << 10), ..options }, &mut sink);
    let got = pollster::block_on(pools.logits(&case.tokens)).unwrap();
    assert!(labels.iter().any(|l| l == "blk.0.experts[pool 3]"), "{labels:?}");
    for (a, b) in want.iter().zip(&got) {
        assert!(a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }
}

/// Decoding ahead (each step submitted before the previous one is read back, fed the sampled id on the GPU) gives
/// exactly the tokens, probabilities and routes of steps run one at a time, sampled at temperature 1 so each draw's
/// step index matters; a step submitted ahead and discarded leaves the position and the next draw as if it had
/// never run.
#[test]
fn steps_submitted_ahead_match_steps_run_one_by_one() {
    let ctx = context();
    let goldens = support::goldens();
    let case = goldens.cases.iter().find(|c| c.name == "harmony").expect("harmony case");
    let options = GpuOptions { context: 128, max_batch: 64, kv_storage: Some(KvStorage::F32), ..Default::default() };
    let sampler = SamplerConfig { temperature: 1.0, top_k: 0, top_p: 1.0, seed: 9 };
    let n = 12;
    type Seen = (u32, Vec<(u32, f32)>, Vec<Vec<(u32, f32)>>);
    let seen = |o: &StepOutput| -> Seen { (o.choice.token, o.choice.top.clone(), o.routes.clone()) };
    let run = |ahead: bool| -> (Vec<Seen>, usize) {
        let mut model = load(&ctx, options.clone(), &mut gptoss_engine::events::NoEvents);
        let mut out = pollster::block_on(model.step(&case.tokens, &sampler)).unwrap();
        let mut got = vec![seen(&out)];
        let mut pending = None;
        for i in 0..n {
            out = if ahead {
                let this = pending.take().unwrap_or_else(|| model.submit_ahead(&sampler).unwrap());
                if i + 1 < n {
                    pending = Some(model.submit_ahead(&sampler).unwrap());
                }
                pollster::block_on(model.receive(this)).unwrap()
            } else {
                pollster::block_on(model.step(&[out.choice.token], &sampler)).unwrap()
            };
            got.push(seen(&out));
        }
        if ahead {
            let dropped = model.submit_ahead(&sampler).unwrap();
            model.discard(dropped);
        }
        got.push(seen(&pollster::block_on(model.step(&[out.choice.token], &sampler)).unwrap()));
        (got, model.position())
    };
    let (one_by_one, ahead) = (run(false), run(true));
    assert_eq!(ahead.1, case.tokens.len() + n + 1, "position after decoding ahead and a discard");
    assert_eq!(ahead, one_by_one);
}
