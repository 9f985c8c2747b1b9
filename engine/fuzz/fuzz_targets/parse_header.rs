//! Fuzzes the GGUF header parser and the gpt-oss checks behind it (the metadata's config, the tensor plan) with
//! arbitrary bytes, as a whole file of known length and as a prefix of unknown length: libFuzzer, built on stable
//! Rust by `engine/fuzz/run.sh` with the sanitizer-coverage flags cargo-fuzz would pass. It grows
//! `engine/fuzz/corpus/parse_header`, which `tests/gguf_corpus.rs` replays through the same checks.

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/support/hostile_header.rs"]
mod hostile_header;

fuzz_target!(|data: &[u8]| {
    // Any outcome but a panic (or a hang, or an allocation the input does not justify) is fine.
    hostile_header::check_header(data);
});
