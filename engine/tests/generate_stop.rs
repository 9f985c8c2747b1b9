//! Stop pressed at ten points of a sampled generation on the GPU, where two steps are in flight ahead of the token
//! being handled: the stopped generation is a prefix of the whole one, and after a reset the same seed gives the
//! whole one again — the steps in flight are discarded, and neither the KV position nor the sampler's stream
//! leaks into the next generation. Lavapipe natively; the tiny fixture.

mod support;

use std::rc::Rc;

use gptoss_engine::events::NoEvents;
use gptoss_engine::generate::{generate_after, Backend, GenerateOptions, Generation};
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::gpu::{load_model, GpuContext, GpuOptions, KvStorage};
use gptoss_engine::harmony::{Conversation, Message};
use gptoss_engine::sampler::SamplerConfig;
use gptoss_engine::source::ByteSource;
use gptoss_engine::tokenizer::Tokenizer;

const TOKENS: usize = 12;

fn run(backend: &mut Backend, tokenizer: &Tokenizer, prompt: &[u32], stop_after: Option<usize>) -> Generation {
    let options = GenerateOptions {
        max_new_tokens: TOKENS,
        sampler: SamplerConfig { temperature: 1.0, top_k: 0, top_p: 1.0, seed: 7 },
    };
    let mut asked = 0;
    let keep_going = || {
        asked += 1;
        stop_after.is_none_or(|n| asked < n)
    };
    backend.reset();
    pollster::block_on(generate_after(backend, tokenizer, prompt, 0, &options, &mut NoEvents, keep_going))
        .expect("the generation runs")
}

#[test]
fn stop_at_any_token_leaves_the_next_generation_unchanged() {
    let ctx = Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (mesa-vulkan-drivers)"));
    let path = support::fixtures().join("tiny.gguf");
    let file = pollster::block_on(GgufModel::open(ByteSource::file(&path), &mut NoEvents)).expect("open tiny.gguf");
    let options = GpuOptions { context: 256, kv_storage: Some(KvStorage::F32), ..Default::default() };
    let model = pollster::block_on(load_model(ctx, &file, options, &mut NoEvents)).expect("load on the GPU");
    let mut backend = Backend::Gpu(Box::new(model));
    let tokenizer = Tokenizer::from_gguf(&support::tiny().0).expect("tokenizer");
    let conversation = Conversation { messages: vec![Message::user("What is 2 + 2?")], ..Conversation::default() };
    let prompt = conversation.prompt_ids(&tokenizer).expect("the prompt renders");

    let whole = run(&mut backend, &tokenizer, &prompt, None);
    // The random model may end its message early; the rest needs tokens to stop among.
    assert!(whole.ids.len() >= 6, "only {} tokens: {:?}", whole.ids.len(), whole.ids);
    // Seeded stop points: every early one, then a spread up to the last token.
    let mut points: Vec<usize> = (1..=4).collect();
    let mut x = 0x2545_f491u64;
    while points.len() < 10 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        points.push(1 + (x % whole.ids.len() as u64) as usize);
    }
    for stop_after in points {
        let stopped = run(&mut backend, &tokenizer, &prompt, Some(stop_after));
        let what = format!("stopped after {stop_after} tokens");
        assert!(whole.ids.starts_with(&stopped.ids), "{what}: {:?} is not a prefix of {:?}", stopped.ids, whole.ids);
        if stop_after < whole.ids.len() {
            assert_eq!((stopped.ids.len(), stopped.stats.stopped_by.as_str()), (stop_after, "stopped"), "{what}");
        }
        assert_eq!(backend.position(), prompt.len() + stopped.ids.len() - 1, "{what}: the KV position");
        let again = run(&mut backend, &tokenizer, &prompt, None);
        assert_eq!(again.ids, whole.ids, "{what}: the next generation with the same seed");
    }
}
