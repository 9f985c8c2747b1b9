#!/usr/bin/env bash
# Installs what serve.sh and test.sh need, each thing only if it is missing (safe to run again and again).
# Sourced by both, so the PATH and environment it sets carry over to them.
#
#   Debian:  chromium (the browser test), mesa-vulkan-drivers (lavapipe: native GPU tests without a GPU),
#            wamerican (/usr/share/dict/words: the browser test checks that the bundled model writes English)
#   rustup:  the wasm32-unknown-unknown target
#   cargo:   dioxus-cli 0.7.10 (`dx`), wasm-bindgen-cli at exactly Cargo.lock's wasm-bindgen version
#   npm:     esbuild 0.27.3 (dx 0.7.10 runs it on web builds), binaryen 129 (wasm-opt for dx's release build),
#            playwright-core (drives chromium)
#   pip:     openai-harmony 0.0.8 in .venv (scripts/harmony_reference.py checks our Harmony rendering against it),
#            with the o200k_base vocabulary from the tiktoken-rs crate so that it never downloads one
#   model:   public/models/wordnet-gpt-oss.gguf, the bundled model: a copy of the committed models/wordnet-gpt-oss.gguf
#            (a small gpt-oss trained on WordNet by training/; see training/README.md), and its PyTorch reference JSON

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DX_VERSION=0.7.10
ESBUILD_VERSION=0.27.3

# dx must never download tools (this machine reaches package registries only) or phone home.
export NO_DOWNLOADS=1
export DX_TELEMETRY_ENABLED=false
# dx's web debug profile (`wasm-dev`, which inherits `dev`) without DWARF: browsers ignore it without an extension,
# and leaving it out makes the wasm build much faster and the .wasm many times smaller.
export CARGO_PROFILE_WASM_DEV_DEBUG=false
export PATH="$HOME/.cargo/bin:$ROOT/node_modules/.bin:$PATH"

say() { printf '\033[36m[install]\033[0m %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

install_debian_packages() {
    local missing=()
    for pkg in chromium mesa-vulkan-drivers wamerican; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "apt-get install ${missing[*]}"
        as_root apt-get update
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y --no-install-recommends "${missing[@]}"
    fi
}

install_wasm_target() {
    rustup target list --installed | grep -x wasm32-unknown-unknown >/dev/null || {
        say "rustup target add wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    }
}

install_dx() {
    if [ "$(dx --version 2>/dev/null | awk '{print $2}')" != "$DX_VERSION" ]; then
        say "cargo install dioxus-cli $DX_VERSION (about 20 minutes on 2 cores)"
        cargo install dioxus-cli --version "$DX_VERSION" --locked
    fi
}

install_wasm_bindgen() {
    # dx refuses to build unless the CLI matches the wasm-bindgen crate in Cargo.lock exactly.
    local want
    want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' "$ROOT/Cargo.lock")"
    [ -n "$want" ] || { echo "Cargo.lock has no wasm-bindgen entry" >&2; exit 1; }
    if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$want" ]; then
        say "cargo install wasm-bindgen-cli $want"
        cargo install wasm-bindgen-cli --version "$want"
    fi
}

# npm ci only when an installed version differs from one that package.json pins.
install_npm() {
    local dir="$1" stale
    stale="$(node -e '
        const dir = process.argv[1];
        const want = require(dir + "/package.json").devDependencies;
        const have = (p) => { try { return require(dir + "/node_modules/" + p + "/package.json").version } catch { return "" } };
        console.log(Object.keys(want).filter((p) => have(p) !== want[p]).join(" "));
    ' "$dir")"
    if [ -n "$stale" ]; then
        say "npm ci in ${dir#"$ROOT"/} ($stale)"
        (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
}

# The page's default model and its PyTorch reference (the browser test's second oracle), copied where dx serves them
# from whenever the committed file differs. Copied under another name and renamed, so an interrupted run leaves no
# half file.
bundle_model() {
    local name out
    for name in wordnet-gpt-oss.gguf wordnet-gpt-oss.reference.json; do
        out="$ROOT/public/models/$name"
        if ! cmp -s "$ROOT/models/$name" "$out"; then
            say "cp models/$name public/models/ (the bundled model)"
            mkdir -p "$(dirname "$out")"
            cp "$ROOT/models/$name" "$out.partial"
            mv "$out.partial" "$out"
        fi
    done
}

# openai-harmony, the reference renderer, in a virtual environment; its vocabulary comes from the tiktoken-rs crate
# (a dependency of the engine), named by TIKTOKEN_ENCODINGS_BASE.
HARMONY_VERSION=0.0.8
install_harmony_reference() {
    local venv="$ROOT/.venv" vocab_dir="$ROOT/.venv/tiktoken"
    [ -x "$venv/bin/python" ] || { say "python3 -m venv .venv"; python3 -m venv "$venv"; }
    if [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("openai-harmony"))' 2>/dev/null)" != "$HARMONY_VERSION" ]; then
        say "pip install openai-harmony==$HARMONY_VERSION (in .venv)"
        "$venv/bin/pip" install --quiet "openai-harmony==$HARMONY_VERSION"
    fi
    if [ ! -s "$vocab_dir/o200k_base.tiktoken" ]; then
        local crate
        crate="$(cd "$ROOT" && cargo metadata --format-version 1 | node -p '
            const m = JSON.parse(require("fs").readFileSync(0));
            require("path").dirname(m.packages.find((p) => p.name === "tiktoken-rs").manifest_path)')"
        [ -s "$crate/assets/o200k_base.tiktoken" ] || { echo "no o200k_base.tiktoken in $crate/assets" >&2; exit 1; }
        mkdir -p "$vocab_dir"
        cp "$crate/assets/o200k_base.tiktoken" "$vocab_dir/"
    fi
    export TIKTOKEN_ENCODINGS_BASE="$vocab_dir"
}

install_debian_packages
install_wasm_target
install_dx
install_wasm_bindgen
install_npm "$ROOT"
install_npm "$ROOT/tests/browser"
install_harmony_reference
bundle_model
[ "$(esbuild --version)" = "$ESBUILD_VERSION" ] || { echo "esbuild on PATH is not $ESBUILD_VERSION" >&2; exit 1; }
say "tools ready: $(dx --version), wasm-bindgen $(wasm-bindgen --version | awk '{print $2}'), esbuild $ESBUILD_VERSION"
