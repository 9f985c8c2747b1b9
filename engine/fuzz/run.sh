#!/usr/bin/env bash
# libFuzzer campaigns on stable Rust (no cargo-fuzz, no nightly): the same sanitizer-coverage instrumentation
# cargo-fuzz passes, given as stable -C flags (no AddressSanitizer, which needs nightly; Rust's own bounds and overflow
# checks are on). Two targets:
#   parse_header  the GGUF header parser and the gpt-oss config and tensor-plan checks; seeded with the broken-file
#                 corpus (tests/corpus) too; replayed by tests/gguf_corpus.rs
#   http_reply    the HTTP range reader's handling of scripted server answers (src/source/scripted.rs); replayed by
#                 that file's unit test
# New inputs that add coverage are merged, minimised, into corpus/<target>. A crash is written as crash-<sha1> here:
# add it to the replayed corpus with a test of its expected error.
#
#   bash engine/fuzz/run.sh [TARGET] [SECONDS] [EXECUTIONS]   (default parse_header, 120 s; with EXECUTIONS, that
#                                                             many runs, however long they take: SECONDS is ignored)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
FUZZ_TARGET=${1:-parse_header}
SECONDS_TO_RUN=${2:-120}
EXECUTIONS=${3:-}
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# An explicit target keeps RUSTFLAGS off build scripts and proc macros.
TARGET=x86_64-unknown-linux-gnu
cargo build --release --target $TARGET --bin "$FUZZ_TARGET"
BIN=target/$TARGET/release/$FUZZ_TARGET
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "corpus/$FUZZ_TARGET"
cp -r "corpus/$FUZZ_TARGET/." "$WORK"/
if [ "$FUZZ_TARGET" = parse_header ]; then cp ../tests/corpus/*.gguf "$WORK"/; fi
if [ -n "$EXECUTIONS" ]; then LENGTH=(-runs="$EXECUTIONS"); else LENGTH=(-max_total_time="$SECONDS_TO_RUN"); fi
"$BIN" "$WORK" "${LENGTH[@]}" -timeout=1 -rss_limit_mb=512 -max_len=65536 -print_final_stats=1
"$BIN" -merge=1 "corpus/$FUZZ_TARGET" "$WORK" >/dev/null 2>&1
echo "corpus/$FUZZ_TARGET: $(ls "corpus/$FUZZ_TARGET" | wc -l) inputs, $(du -sh "corpus/$FUZZ_TARGET" | cut -f1)"
