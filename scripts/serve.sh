#!/usr/bin/env bash
# README's first command: install what is missing, then serve the app with `dx serve` (rebuilds on save).
#   ./scripts/serve.sh                 http://127.0.0.1:8080/gptoss
#   HOST=0.0.0.0 PORT=9000 ./scripts/serve.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/install.sh"
cd "$ROOT"

HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-8080}"
echo
echo "  gptoss-web will be at  http://$HOST:$PORT/gptoss  (first build takes a few minutes)"
echo
exec dx serve --platform web --features devtools --addr "$HOST" --port "$PORT" --open false --interactive false
