//! The synthetic models' vocabulary, built from tiktoken-rs's o200k_base ranks, must be the fixture's exactly.

use gptoss_engine::gguf::{parse_header, MetaArray, ParseOutcome};
use gptoss_engine::synth::HarmonyVocab;

#[test]
fn vocabulary_equals_fixture() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/tiny.gguf");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()));
    let header = match parse_header(&bytes, Some(bytes.len() as u64), "tiny.gguf").unwrap() {
        ParseOutcome::Complete(h) => h,
        ParseOutcome::NeedMore { at_least } => panic!("whole file given but parser wants {at_least}"),
    };
    let strings = |key: &str| match header.get(key) {
        Some(gptoss_engine::gguf::MetaValue::Array(MetaArray::String(v))) => v.clone(),
        other => panic!("fixture {key} is {other:?}, expected a string array"),
    };
    let (tokens, merges) = (strings("tokenizer.ggml.tokens"), strings("tokenizer.ggml.merges"));
    let token_types = match header.get("tokenizer.ggml.token_type") {
        Some(gptoss_engine::gguf::MetaValue::Array(MetaArray::I32(v))) => v.clone(),
        other => panic!("fixture token_type is {other:?}, expected an i32 array"),
    };

    let vocab = HarmonyVocab::from_o200k_base().unwrap();

    // Lengths first (the fixture README's numbers), then the first difference, so a failure says where.
    assert_eq!((tokens.len(), token_types.len(), merges.len()), (201_088, 201_088, 446_189));
    let first_difference = |a: &[String], b: &[String]| a.iter().zip(b).position(|(x, y)| x != y);
    assert_eq!(vocab.tokens.len(), tokens.len());
    if let Some(i) = first_difference(&vocab.tokens, &tokens) {
        panic!("token {i}: built {:?}, fixture {:?}", vocab.tokens[i], tokens[i]);
    }
    assert_eq!(vocab.token_types.len(), token_types.len());
    if let Some(i) = vocab.token_types.iter().zip(&token_types).position(|(x, y)| x != y) {
        panic!("token_type {i}: built {}, fixture {}", vocab.token_types[i], token_types[i]);
    }
    assert_eq!(vocab.merges.len(), merges.len());
    if let Some(i) = first_difference(&vocab.merges, &merges) {
        panic!("merge {i}: built {:?}, fixture {:?}", vocab.merges[i], merges[i]);
    }

    // Spot values from gpt-oss.md §6: token 0 is "!", a space is written "Ġ", specials are literal and CONTROL,
    // the ids past 200,018 are `[PAD<id>]` and UNUSED.
    assert_eq!(vocab.tokens[0], "!");
    assert_eq!(vocab.merges[0], "Ġ Ġ");
    assert_eq!(vocab.tokens[200_006], "<|start|>");
    assert_eq!(vocab.tokens[200_018], "<|endofprompt|>");
    assert_eq!(vocab.tokens[201_087], "[PAD201087]");
    assert_eq!((vocab.token_types[199_997], vocab.token_types[199_998], vocab.token_types[200_019]), (1, 3, 5));
}
