//! Fuzzes the HTTP range reader's handling of server answers (`source/http.rs`: statuses, `Content-Range`,
//! `Content-Length`, `Content-Type`, short, long, split and broken bodies, retries, resuming, the whole-file
//! fallback) with scripted answers built from arbitrary bytes (`source/scripted.rs`, feature `scripted-http`):
//! libFuzzer on stable Rust, built by `engine/fuzz/run.sh`. It grows `engine/fuzz/corpus/http_reply`, which the
//! engine's unit test replays through the same check.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    gptoss_engine::source::scripted::check_http(data);
});
