//! A chat's turns reuse the KV cache: the next turn's prompt is rendered whole, the cache is rolled back to the
//! longest prefix it shares with it (Harmony's dropped analysis changes earlier text), and only the rest is
//! prefilled. The logits after that equal a fresh prefill of the whole rendered conversation, on the CPU reference
//! and on the GPU (lavapipe natively), and the prefilled tokens are counted.

mod support;

use std::rc::Rc;

use gptoss_engine::chat::Chat;
use gptoss_engine::events::NoEvents;
use gptoss_engine::generate::{Backend, GenerateOptions};
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::gpu::{load_model, GpuContext, GpuModel, GpuOptions, KvStorage};
use gptoss_engine::harmony::{Conversation, Message};
use gptoss_engine::sampler::SamplerConfig;
use gptoss_engine::source::ByteSource;
use gptoss_engine::tokenizer::Tokenizer;

fn tokenizer() -> Tokenizer {
    Tokenizer::from_gguf(&support::tiny().0).expect("tokenizer")
}

fn greedy(max_new_tokens: usize) -> GenerateOptions {
    GenerateOptions { max_new_tokens, sampler: SamplerConfig::greedy() }
}

fn gpu(max_batch: usize) -> GpuModel {
    let ctx = Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (mesa-vulkan-drivers)"));
    let path = support::fixtures().join("tiny.gguf");
    let file = pollster::block_on(GgufModel::open(ByteSource::file(&path), &mut NoEvents)).expect("open tiny.gguf");
    let options = GpuOptions {
        context: 256,
        max_batch,
        max_logit_rows: 64,
        kv_storage: Some(KvStorage::F32),
        // A reused cache prefills a few tokens where a fresh one prefills the whole prompt: with both on the
        // per-token kernels a position's arithmetic is the same whatever the batch, so the logits can be held to
        // bit identity (the tiled kernels sum in another order; gpu_golden holds them to the goldens).
        tiled_from: usize::MAX,
        ..Default::default()
    };
    pollster::block_on(load_model(ctx, &file, options, &mut NoEvents)).expect("load on the GPU")
}

/// Turn 1 thinks (its analysis is in the history, so the prompt shows it), then answers; turn 2's prompt drops
/// that analysis. Returns the chat after turn 1's generation with turn 2's messages added.
fn two_turns(backend: &mut Backend, tokenizer: &Tokenizer) -> Chat {
    let mut chat = Chat::new(Conversation::default());
    chat.user("What is 2 + 2?").unwrap();
    chat.conversation.messages.push(Message::assistant_analysis("Simple arithmetic: two plus two."));
    let thought = chat.conversation.messages.len();
    let turn = pollster::block_on(chat.generate(backend, tokenizer, &greedy(6), &mut NoEvents, || true)).unwrap();
    let first = &turn.generation.stats;
    assert_eq!((first.reused_tokens, first.generated), (0, 6), "turn 1 prefills everything");
    assert_eq!(chat.cached().len(), first.prompt_tokens + 5, "the cache holds the prompt and the run outputs");
    // Whatever the random model wrote, the turn ends with an answer (so Harmony drops the analysis) and a new
    // question.
    chat.conversation.messages.truncate(thought);
    chat.conversation.messages.push(Message::assistant_final("4"));
    chat.user("And 3 + 3?").unwrap();
    chat
}

#[test]
fn cpu_turn_two_prefills_only_new_tokens_and_matches_a_fresh_prefill() {
    let tok = tokenizer();
    let model = support::tiny_cpu();
    let mut backend = Backend::cpu(support::tiny_cpu());
    let chat = two_turns(&mut backend, &tok);
    let (prompt, common) = chat.next_prompt(&tok).unwrap();
    let analysis_at = tok.decode(&prompt[..common]).unwrap();
    assert!(analysis_at.ends_with("<|start|>assistant<|channel|>"), "shared prefix ends where the analysis was");
    assert!(common > 60 && common < prompt.len(), "{common} of {} shared", prompt.len());

    let Backend::Cpu { state, .. } = &mut backend else { unreachable!() };
    state.rewind(common);
    let reused = model.prefill(state, &prompt[common..], common).unwrap();
    let fresh = model.prefill(&mut model.new_state(), &prompt, 0).unwrap();
    assert_eq!(reused, fresh, "logits after the reused cache are bit-identical to a fresh prefill");
    println!("cpu: {} prompt tokens, {common} reused, {} prefilled", prompt.len(), prompt.len() - common);
}

#[test]
fn cpu_chat_generates_the_same_turn_as_a_fresh_backend() {
    let tok = tokenizer();
    let mut backend = Backend::cpu(support::tiny_cpu());
    let mut chat = two_turns(&mut backend, &tok);
    let (prompt, common) = chat.next_prompt(&tok).unwrap();
    let mut fresh_chat = chat.clone();
    fresh_chat.forget_cache();

    let turn = pollster::block_on(chat.generate(&mut backend, &tok, &greedy(8), &mut NoEvents, || true)).unwrap();
    assert_eq!(turn.generation.stats.reused_tokens, common);
    assert_eq!(turn.generation.stats.prompt_tokens, prompt.len());
    let mut fresh = Backend::cpu(support::tiny_cpu());
    let again = pollster::block_on(fresh_chat.generate(&mut fresh, &tok, &greedy(8), &mut NoEvents, || true)).unwrap();
    assert_eq!(again.generation.stats.reused_tokens, 0);
    assert_eq!(turn.generation.ids, again.generation.ids, "same greedy tokens with and without the reused cache");
}

#[test]
fn gpu_turn_two_prefills_only_new_tokens_and_matches_a_fresh_prefill() {
    let tok = tokenizer();
    let mut backend = Backend::Gpu(Box::new(gpu(64)));
    let mut chat = two_turns(&mut backend, &tok);
    let (prompt, common) = chat.next_prompt(&tok).unwrap();
    let Backend::Gpu(model) = &mut backend else { unreachable!() };
    assert_eq!(model.rewind(common), common, "a rollback of a few positions keeps the sliding window's ring");
    let reused = pollster::block_on(model.logits(&prompt[common..])).unwrap();
    let mut fresh_model = gpu(64);
    let fresh = pollster::block_on(fresh_model.logits(&prompt)).unwrap();
    let (last_reused, last_fresh) = (reused.last().unwrap(), fresh.last().unwrap());
    let diff = support::max_abs_diff(last_reused, last_fresh);
    println!("gpu: {} prompt tokens, {common} reused, max |Δlogit| {diff:e} against a fresh prefill", prompt.len());
    assert_eq!(last_reused, last_fresh, "logits after the reused cache are bit-identical to a fresh prefill");

    // Through the chat: the same count, and the turn's tokens as a fresh backend's.
    model.rewind(chat.cached().len().min(model.position()));
    let mut fresh_chat = chat.clone();
    fresh_chat.forget_cache();
    let turn = pollster::block_on(chat.generate(&mut backend, &tok, &greedy(8), &mut NoEvents, || true)).unwrap();
    assert_eq!(turn.generation.stats.reused_tokens, common);
    let mut fresh = Backend::Gpu(Box::new(fresh_model));
    fresh.reset();
    let again = pollster::block_on(fresh_chat.generate(&mut fresh, &tok, &greedy(8), &mut NoEvents, || true)).unwrap();
    assert_eq!(turn.generation.ids, again.generation.ids);
}

#[test]
fn gpu_rollback_past_the_sliding_ring_runs_everything_again() {
    // Batches of 2: sliding layers keep a ring of window + 1 positions, so rolling back more than 2 positions
    // would read keys the ring has overwritten. The chat then prefills the whole prompt, and stays exact.
    let tok = tokenizer();
    let mut backend = Backend::Gpu(Box::new(gpu(2)));
    let mut chat = two_turns(&mut backend, &tok);
    let (prompt, common) = chat.next_prompt(&tok).unwrap();
    assert!(chat.cached().len() - common > 2, "the analysis and turn 1's output are rolled back");
    let mut fresh_chat = chat.clone();
    fresh_chat.forget_cache();
    let turn = pollster::block_on(chat.generate(&mut backend, &tok, &greedy(4), &mut NoEvents, || true)).unwrap();
    assert_eq!(turn.generation.stats.reused_tokens, 0, "nothing reusable once the ring lost the window");
    assert_eq!(turn.generation.stats.prompt_tokens, prompt.len());
    let mut fresh = Backend::Gpu(Box::new(gpu(2)));
    let again = pollster::block_on(fresh_chat.generate(&mut fresh, &tok, &greedy(4), &mut NoEvents, || true)).unwrap();
    assert_eq!(turn.generation.ids, again.generation.ids);
}

#[test]
fn a_conversation_longer_than_the_window_is_refused_not_truncated() {
    let tok = tokenizer();
    let mut backend = Backend::Gpu(Box::new(gpu(64)));
    let mut chat = Chat::new(Conversation::default());
    chat.user("word ".repeat(300)).unwrap();
    let err = pollster::block_on(chat.generate(&mut backend, &tok, &greedy(4), &mut NoEvents, || true)).unwrap_err();
    assert!(err.to_string().contains("context window 256"), "{err}");
    assert_eq!(chat.conversation.messages.len(), 1, "the history is kept");
}
