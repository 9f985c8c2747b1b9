#!/usr/bin/env bash
# A libFuzzer campaign over the GGUF header parser on stable Rust (no cargo-fuzz, no nightly): the same
# sanitizer-coverage instrumentation cargo-fuzz passes, given as stable -C flags (no AddressSanitizer, which needs
# nightly; Rust's own bounds and overflow checks are on). Seeds: the broken-file corpus and the corpus it grew
# before; new inputs that add coverage are merged, minimised, into corpus/parse_header, which tests/gguf_corpus.rs
# replays in the test command. A crash is written as crash-<sha1> here: add it to tests/corpus with its error.
#
#   bash engine/fuzz/run.sh [SECONDS]      (default 120: about 15 million executions on one core)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
SECONDS_TO_RUN=${1:-120}
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# An explicit target keeps RUSTFLAGS off build scripts and proc macros.
TARGET=x86_64-unknown-linux-gnu
cargo build --release --target $TARGET --bin parse_header
BIN=target/$TARGET/release/parse_header
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp corpus/parse_header/* ../tests/corpus/*.gguf "$WORK"/
"$BIN" "$WORK" -max_total_time="$SECONDS_TO_RUN" -timeout=1 -rss_limit_mb=512 -max_len=65536 -print_final_stats=1
"$BIN" -merge=1 corpus/parse_header "$WORK" >/dev/null 2>&1
echo "corpus/parse_header: $(ls corpus/parse_header | wc -l) inputs, $(du -sh corpus/parse_header | cut -f1)"
