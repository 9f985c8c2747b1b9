//! Fuzzes the GGUF header parser with arbitrary bytes, both as a whole file of known length and as a prefix of
//! unknown length. Run from `engine/` with nightly, seeded with the checked-in corpus of broken files:
//!
//! ```sh
//! cargo +nightly fuzz run parse_header tests/corpus
//! ```
//!
//! `tests/gguf_corpus.rs` runs the same checks over deterministic mutations on stable Rust.

#![no_main]

use gptoss_engine::gguf::{parse_header, ParseOutcome};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Any outcome but a panic (or a hang, or an allocation the input does not justify) is fine.
    let _ = parse_header(data, Some(data.len() as u64), "fuzz.gguf");
    // A prefix that is not yet a whole header must ask for more than it holds, or the loader would loop.
    if let Ok(ParseOutcome::NeedMore { at_least }) = parse_header(data, None, "fuzz.gguf") {
        assert!(
            at_least > data.len() as u64,
            "NeedMore {at_least} with {} bytes",
            data.len()
        );
    }
});
