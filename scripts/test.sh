#!/usr/bin/env bash
# README's second command: install what is missing, then run every test the project has.
#   1. cargo test --workspace: unit tests, component snapshots (SSR), GGUF fixture tests and the native GPU tests
#      (on lavapipe, Mesa's CPU Vulkan driver, where there is no GPU); then `gptoss bench` on the tiny fixture.
#   2. Browser smoke test: dx builds the app for the web, a static server serves it on 127.0.0.1, and headless
#      Chromium opens /gptoss (tests/browser/smoke.test.mjs): the device, then LOAD MODEL on the bundled model
#      through generation, Stop, a reload, the GPU-vs-CPU check and error display. It prints the paths of the
#      screenshots it saves. Then tests/browser/chat.test.mjs: two chat turns (the second prefilling only its new
#      tokens) and a tool call card; and tests/browser/reference.test.mjs: the trained model's log-probabilities on
#      the browser's GPU against PyTorch's; and tests/browser/cache.test.mjs: the model cache in OPFS (a reload
#      loads from it, a picked file is cached and loaded again through the cache panel's USE, a corrupt chunk is
#      repaired, a cut-off load resumes, delete, a quota that refuses writes, a server without range support); and tests/browser/transport.test.mjs: broken range answers named in the HUD.
#      With GPTOSS_ENDURANCE=1 also tests/browser/endurance.test.mjs (20 load → generate cycles, memory measured,
#      and 50 random Stops: about 7 minutes on SwiftShader, more than CI's time allows, so not by default).
#   3. Component gallery: dx builds examples/gallery (every gptoss-components component with made-up data, no
#      engine) and tests/browser/gallery.test.mjs checks that each exported component rendered (seconds).
# Every stage runs even if an earlier one failed; the exit status is non-zero if any failed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/install.sh"
cd "$ROOT"

# Mesa's lavapipe complains on stderr when there is no runtime dir (as under CI); give it a private one.
if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d)"
    export XDG_RUNTIME_DIR
fi

failed=()
run_stage() {
    local name="$1"
    shift
    printf '\n\033[36m== %s\033[0m\n' "$name"
    if "$@"; then return 0; fi
    failed+=("$name")
    return 1
}

run_stage "cargo test --workspace" cargo test --workspace || true

# The Harmony conversations our renderer is held to (engine/tests/harmony_reference.rs), rendered again by
# openai-harmony itself: expected.json must be what the reference writes.
run_stage "openai-harmony reference renderings" "$ROOT/.venv/bin/python" scripts/harmony_reference.py || true

# The benchmark harness at tiny size on lavapipe: proves it runs end to end; no timing is asserted.
run_stage "gptoss bench smoke (tiny model, lavapipe)" cargo run -q -p gptoss-engine --bin gptoss -- \
    bench "$ROOT/../shared/fixtures/tiny.gguf" --prefill 16 --contexts 0,32 --decode-tokens 4 --max-batch 64 || true

# A debug build: it needs no wasm-opt, and with no `devtools` feature and our own index.html it has neither
# dx's live-reload socket nor dx's internet web font, so it runs from a plain static server.
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | node -p 'JSON.parse(require("fs").readFileSync(0)).target_directory')"
APP_DIR="$TARGET_DIR/dx/gptoss-web/debug/web/public"
if run_stage "dx build --platform web" dx build --platform web; then
    run_stage "browser smoke test" env APP_DIR="$APP_DIR" SCREENSHOT="$TARGET_DIR/browser/gptoss.screenshot.png" \
        node --test --test-reporter=spec tests/browser/smoke.test.mjs || true
    run_stage "browser chat test" env APP_DIR="$APP_DIR" \
        node --test --test-reporter=spec tests/browser/chat.test.mjs || true
    run_stage "browser PyTorch reference check" env APP_DIR="$APP_DIR" \
        node --test --test-reporter=spec tests/browser/reference.test.mjs || true
    run_stage "browser model cache test" env APP_DIR="$APP_DIR" \
        node --test --test-reporter=spec tests/browser/cache.test.mjs || true
    run_stage "browser transport faults test" env APP_DIR="$APP_DIR" \
        node --test --test-reporter=spec tests/browser/transport.test.mjs || true
    # 20 load → generate cycles and 50 random Stops take about 7 minutes on SwiftShader (a warm cycle is 8–10 s
    # there), more than CI's time allows: run on request.
    if [ "${GPTOSS_ENDURANCE:-0}" = 1 ]; then
        run_stage "browser endurance test" env APP_DIR="$APP_DIR" \
            node --test --test-reporter=spec tests/browser/endurance.test.mjs || true
    fi
fi

GALLERY_DIR="$TARGET_DIR/dx/gptoss-gallery/debug/web/public"
if run_stage "dx build --platform web -p gptoss-gallery" dx build --platform web -p gptoss-gallery; then
    run_stage "browser component gallery test" env GALLERY_DIR="$GALLERY_DIR" \
        node --test --test-reporter=spec tests/browser/gallery.test.mjs || true
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
    printf '\033[31mFAILED:\033[0m %s\n' "${failed[@]}"
    exit 1
fi
echo "all test stages passed"
