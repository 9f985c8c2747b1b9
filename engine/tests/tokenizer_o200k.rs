//! The tokenizer built from tiny.gguf's metadata against tiktoken's o200k_harmony ids
//! (`shared/fixtures/tokens-o200k-harmony.json`).

use gptoss_engine::gguf::{parse_header, GgufHeader, MetaArray, MetaValue, ParseOutcome};
use gptoss_engine::tokenizer::{StreamDecoder, Tokenizer};
use std::sync::OnceLock;
use std::time::Instant;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures").join(name)
}

fn header() -> &'static GgufHeader {
    static HEADER: OnceLock<GgufHeader> = OnceLock::new();
    HEADER.get_or_init(|| {
        let path = fixture("tiny.gguf");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()));
        match parse_header(&bytes, Some(bytes.len() as u64), "tiny.gguf").expect("tiny.gguf parses") {
            ParseOutcome::Complete(h) => h,
            ParseOutcome::NeedMore { at_least } => {
                panic!("whole file given but parser wants {at_least}")
            }
        }
    })
}

fn tokenizer() -> &'static Tokenizer {
    static TOKENIZER: OnceLock<Tokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let header = header();
        let start = Instant::now();
        let tokenizer = Tokenizer::from_gguf(header).expect("tokenizer builds from tiny.gguf");
        eprintln!("Tokenizer::from_gguf: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
        tokenizer
    })
}

struct Case {
    text: String,
    ids: Vec<u32>,
}

fn cases() -> Vec<Case> {
    let path = fixture("tokens-o200k-harmony.json");
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()));
    let doc: serde_json::Value = serde_json::from_str(&json).expect("golden is JSON");
    assert_eq!(doc["encoding"], "o200k_harmony");
    let cases: Vec<Case> = doc["cases"]
        .as_array()
        .expect("cases array")
        .iter()
        .map(|c| Case {
            text: c["text"].as_str().expect("text").to_owned(),
            ids: c["ids"].as_array().expect("ids").iter().map(|v| v.as_u64().expect("id") as u32).collect(),
        })
        .collect();
    assert_eq!(cases.len(), 24, "golden case count");
    cases
}

#[test]
fn encode_matches_tiktoken_on_every_case() {
    let tok = tokenizer();
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let ids = tok.encode(&case.text).expect("encode");
        if ids != case.ids {
            failures.push(format!("{:?}\n  expected {:?}\n  got      {:?}", case.text, case.ids, ids));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
    eprintln!("encode: {} cases, {} ids, all equal", cases.len(), cases.iter().map(|c| c.ids.len()).sum::<usize>());
}

#[test]
fn decode_round_trips_every_case() {
    let tok = tokenizer();
    for case in cases() {
        assert_eq!(tok.decode(&case.ids).expect("decode"), case.text);
        // The bytes behind each id, concatenated, are the text's bytes.
        let bytes: Vec<u8> = case.ids.iter().flat_map(|&id| tok.token_bytes(id).expect("token bytes")).collect();
        assert_eq!(bytes, case.text.as_bytes(), "{:?}", case.text);
    }
}

/// After each token the stream has released exactly the complete characters among the bytes seen so far:
/// the longest prefix of the golden text that ends on a character boundary.
#[test]
fn stream_decode_releases_whole_characters_only() {
    let tok = tokenizer();
    let mut split_characters = 0;
    for case in cases() {
        let mut stream = StreamDecoder::new();
        let mut released = String::new();
        let mut bytes_seen = 0;
        for &id in &case.ids {
            bytes_seen += tok.token_bytes(id).expect("token bytes").len();
            let chunk = stream.push(tok, id).expect("push");
            released.push_str(&chunk);
            let mut boundary = bytes_seen;
            while !case.text.is_char_boundary(boundary) {
                boundary -= 1;
            }
            if boundary != bytes_seen {
                split_characters += 1;
                assert!(stream.has_pending());
            }
            assert_eq!(released, case.text[..boundary], "{:?} after id {id}", case.text);
        }
        assert_eq!(stream.finish(), "");
        assert_eq!(released, case.text);
    }
    // The emoji and CJK cases split characters across tokens; make sure that was exercised.
    assert!(split_characters > 0, "no token ended inside a character");
    eprintln!("stream decode: {split_characters} tokens ended inside a character");
}

#[test]
fn stream_decode_of_a_split_emoji_and_a_lost_byte() {
    let tok = tokenizer();
    // 👋 is F0 9F 91 8B; tiktoken writes " 👋🏽" as [61138, 233, 52622, 121] (golden emoji case).
    let ids = [61138, 233, 52622, 121];
    assert_eq!(tok.decode(&ids).unwrap(), " 👋🏽");
    let mut stream = StreamDecoder::new();
    let chunks: Vec<String> = ids.iter().map(|&id| stream.push(tok, id).unwrap()).collect();
    assert_eq!(chunks.concat(), " 👋🏽");
    assert!(chunks.iter().any(|c| c.is_empty()), "some token must end inside a character: {chunks:?}");
    // A stream cut inside a character: the dangling bytes become one U+FFFD, as decode shows them.
    let mut cut = StreamDecoder::new();
    let head = cut.push(tok, ids[0]).unwrap();
    assert_eq!(head + &cut.finish(), tok.decode(&ids[..1]).unwrap());
    assert!(tok.decode(&ids[..1]).unwrap().ends_with('\u{FFFD}'));
}

#[test]
fn specials_and_known_ids() {
    let tok = tokenizer();
    assert_eq!(tok.vocab_size(), 201_088);
    for (text, id) in [
        ("<|startoftext|>", 199_998),
        ("<|endoftext|>", 199_999),
        ("<|return|>", 200_002),
        ("<|constrain|>", 200_003),
        ("<|channel|>", 200_005),
        ("<|start|>", 200_006),
        ("<|end|>", 200_007),
        ("<|message|>", 200_008),
        ("<|call|>", 200_012),
    ] {
        assert_eq!(tok.encode(text).unwrap(), vec![id], "{text}");
        assert_eq!(tok.token_id(text), Some(id), "{text}");
        assert_eq!(tok.token_text(id).unwrap(), text);
    }
    // Ids quoted in openai/harmony's docs and tests (gpt-oss.md §6.4).
    assert_eq!(tok.encode("analysis").unwrap(), vec![35644]);
    assert_eq!(tok.encode("assistant").unwrap(), vec![173781]);
    assert_eq!(tok.encode("final").unwrap(), vec![17196]);
    // Plain-text encoding leaves special spellings as text.
    let ordinary = tok.encode_ordinary("<|end|>").unwrap();
    assert!(ordinary.len() > 1 && !ordinary.contains(&200_007), "{ordinary:?}");
    assert_eq!(tok.decode(&ordinary).unwrap(), "<|end|>");
    // UNUSED [PAD…] tokens are not specials (llama.cpp does not match them either).
    assert_ne!(tok.encode("[PAD200019]").unwrap(), vec![200_019]);
    let ids = tok.special_ids();
    assert_eq!((ids.bos, ids.eos, ids.padding), (Some(199_998), Some(200_002), Some(199_999)));
    // Ids outside the vocabulary are errors, not silently dropped.
    let err = tok.decode(&[13225, 201_088]).unwrap_err().to_string();
    assert!(err.contains("201088"), "{err}");
}

fn with_value(key: &str, value: Option<MetaValue>) -> GgufHeader {
    let mut h = header().clone();
    h.metadata.retain(|(k, _)| k != key);
    if let Some(v) = value {
        h.metadata.push((key.to_owned(), v));
    }
    h
}

fn build_error(h: &GgufHeader) -> String {
    Tokenizer::from_gguf(h).expect_err("must fail").to_string()
}

#[test]
fn bad_metadata_errors_name_the_key() {
    let string = |s: &str| Some(MetaValue::String(s.into()));
    for key in [
        "tokenizer.ggml.model",
        "tokenizer.ggml.pre",
        "tokenizer.ggml.tokens",
        "tokenizer.ggml.token_type",
        "tokenizer.ggml.merges",
    ] {
        let err = build_error(&with_value(key, None));
        assert!(err.contains(key), "missing {key}: {err}");
    }
    let err = build_error(&with_value("tokenizer.ggml.model", string("llama")));
    assert!(err.contains("tokenizer.ggml.model") && err.contains("llama"), "{err}");
    let err = build_error(&with_value("tokenizer.ggml.pre", string("llama3")));
    assert!(err.contains("tokenizer.ggml.pre") && err.contains("llama3"), "{err}");
    let err =
        build_error(&with_value("tokenizer.ggml.token_type", Some(MetaValue::Array(MetaArray::I32(vec![1; 10])))));
    assert!(err.contains("tokenizer.ggml.token_type") && err.contains("201088"), "{err}");
    let err = build_error(&with_value("tokenizer.ggml.tokens", Some(MetaValue::U32(3))));
    assert!(err.contains("tokenizer.ggml.tokens"), "{err}");
    let err = build_error(&with_value("tokenizer.ggml.eos_token_id", Some(MetaValue::U32(300_000))));
    assert!(err.contains("tokenizer.ggml.eos_token_id") && err.contains("300000"), "{err}");

    let merges = |f: &dyn Fn(&mut Vec<String>)| {
        let Some(MetaValue::Array(MetaArray::String(m))) = header().get("tokenizer.ggml.merges") else {
            panic!("tiny.gguf merges are strings")
        };
        let mut m = m.clone();
        f(&mut m);
        with_value("tokenizer.ggml.merges", Some(MetaValue::Array(MetaArray::String(m))))
    };
    let err = build_error(&merges(&|m| m[5] = "nospace".into()));
    assert!(err.contains("tokenizer.ggml.merges") && err.contains("entry 5"), "{err}");
    let err = build_error(&merges(&|m| m.push("Ġ zzzz-not-a-token".into())));
    assert!(err.contains("tokenizer.ggml.merges") && err.contains("zzzz-not-a-token"), "{err}");

    let Some(MetaValue::Array(MetaArray::String(tokens))) = header().get("tokenizer.ggml.tokens") else {
        panic!("tiny.gguf tokens are strings")
    };
    let mut dup = tokens.clone();
    dup[7] = dup[3].clone();
    let err = build_error(&with_value("tokenizer.ggml.tokens", Some(MetaValue::Array(MetaArray::String(dup)))));
    assert!(err.contains("tokenizer.ggml.tokens") && err.contains("entries 3 and 7"), "{err}");
}
