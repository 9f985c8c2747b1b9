#!/usr/bin/env bash
# Runs ON the GPU machine (the `device` tool): one synthetic gpt-oss model measured several ways, minutes apart —
#   server   the static server alone: 1 GiB of the model in 8 MiB ranges, 4 at a time (the load's ceiling)
#   probe    scripts/load-probe in the same Chrome: ranged fetches and GPU uploads alone (the browser's ceilings)
#   workers  the same ranged fetches from 1, 2, 4 and 8 workers at once (whether reads scale across threads)
#   inpage   the probe's reads inside the app's page, idle and after the benchmark mode's run
#   native   `gptoss bench --json` on wgpu/Vulkan (an upper bound: no browser in the way)
#   bench    the page's benchmark mode in headless Chrome, `/?bench=1&gguf=…` (the same measurements through the
#            same engine, the HUD not drawn)
#   hud      the real page with the whole HUD on screen: LOAD MODEL pressed once, 128 tokens generated, then
#            GENERATE pressed once more (HUD_QUERY adds parameters to its address)
#   hud-page the same with the engine on the page's thread (`engine=page`) instead of its worker
#   hud-repaint-N  the same with the HUD repainting at most every N ms while it generates (0: every frame)
# Everything it writes lands in $OUT: server.txt, probe.json, native.json, bench.json, bench-console.log,
# hud.json, hud-console.log, hud.png (and hud-page's). The app and the model are served by
# scripts/range-server.py (sendfile, so the server is not what a load's rate measures).
#
#   bash scripts/chrome-bench.sh APP_DIR GPTOSS_BINARY
# APP_DIR is a static build of the app (e.g. dx's `web/public` folder), GPTOSS_BINARY a release build of the CLI
# (it writes the model: `gptoss synth`). Chrome comes from ../shared/device-chrome, copied into the checkout as
# .device-chrome and staged by its stage.sh (see its README). Knobs: PRESET (gpt-oss-20b), SPLIT (N: the model in
# N files), RUNS ("native bench hud"), BENCH_QUERY (extra benchmark-mode parameters, e.g. `&contexts=0,1024`),
# MODELS (where models are written; a RAM disk by default).
set -uo pipefail
APP=${1:?static app folder}
BIN=${2:?gptoss binary}
PRESET=${PRESET:-gpt-oss-20b}
RUNS=${RUNS:-server probe native bench hud}
DC=${DC:-.device-chrome}
MODELS=${MODELS:-/dev/shm/gptoss-models}
O=${OUT:?OUT: the folder that comes back}
T=$(mktemp -d)

bash "$DC/stage.sh" || exit $?
# shellcheck source=/dev/null
source "$DC/env.sh"
nvidia-smi --query-gpu=name,driver_version,memory.used,memory.total --format=csv,noheader

mkdir -p "$MODELS"
# SPLIT=N writes the model as N files, as llama.cpp splits one; the page is given the first.
MODEL=$PRESET.gguf
[ -n "${SPLIT:-}" ] && MODEL=$(printf '%s-%05d-of-%05d.gguf' "$PRESET" 1 "$SPLIT")
if [ ! -s "$MODELS/$MODEL" ]; then
    t0=$(date +%s.%N)
    "$BIN" synth --preset "$PRESET" ${SPLIT:+--split "$SPLIT"} -o "$MODELS/$PRESET.gguf" >/dev/null || exit 1
    echo "synth $PRESET${SPLIT:+ in $SPLIT files}: $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s"
fi
ls -la "$MODELS"
# The page fetches the model from the same static server as the app.
ln -sfn "$MODELS" "$APP/bench-models"
ln -sfn "$(realpath scripts/load-probe)" "$APP/load-probe"
URL=/bench-models/$MODEL
PORT=8124
python3 scripts/range-server.py "$APP" $PORT &
SERVER=$!
trap 'kill $SERVER 2>/dev/null' EXIT
sleep 1

chrome() { # NAME PATH WAIT_EXPR TIMEOUT_S RESULT_EXPR
    local name=$1
    timeout $(($4 + 60)) python3 "$DC/cdp_run.py" --chrome "$CHROME" --url "http://127.0.0.1:$PORT$2" --wait-expr "$3" \
        --result-expr "$5" --timeout "$4" --settle 1 --quiet --out "$T/$name" -- \
        "${CHROME_BASE_FLAGS[@]}" "${CHROME_GPU_FLAGS[@]}"
    echo "$name: cdp_run rc=$?"
    cp "$T/$name/result.json" "$O/$name.json" 2>/dev/null
    cp "$T/$name/console.log" "$O/$name-console.log" 2>/dev/null
    grep -E 'GPTOSS_|rror' "$T/$name/console.log" | cut -c1-3000
}

# A wait expression that, once READY_EXPR holds, loads the probe into the page and runs its range reads (1 GiB).
inpage() {
    echo "(() => { if ((${1}) && !window.__probing) { window.__probing = 1; const s = document.createElement('script');
        s.src = '/load-probe/probe.js'; s.onload = () => { const t = document.createElement('script');
        t.src = '/load-probe/inpage.js'; t.onload = () => window.__inpageProbe('$URL', ${INPAGE_MIB:-1024}).then(r => window.__inpage = r);
        document.head.appendChild(t); }; document.head.appendChild(s); } return !!window.__inpage; })()"
}

for run in $RUNS; do
    case $run in
    server)
        python3 - "http://127.0.0.1:$PORT$URL" <<'PY' | tee "$O/server.txt"
import concurrent.futures, sys, time, urllib.request
url, chunk, n = sys.argv[1], 8 << 20, 128
def get(i):
    req = urllib.request.Request(url, headers={'Range': f'bytes={i * chunk}-{(i + 1) * chunk - 1}'})
    return len(urllib.request.urlopen(req).read())
t = time.time()
with concurrent.futures.ThreadPoolExecutor(4) as ex:
    got = sum(ex.map(get, range(n)))
print(f'server alone: {got / (time.time() - t) / 1e9:.2f} GB/s ({got >> 20} MiB in 8 MiB ranges, 4 at a time)')
PY
        ;;
    probe)
        chrome probe "/load-probe/index.html?url=$URL&mib=1024" 'window.__loadProbe' 300 'window.__loadProbe'
        ;;
    workers)
        chrome workers "/load-probe/workers.html?url=$URL&mib=${INPAGE_MIB:-512}" 'window.__loadProbe' 300 'window.__loadProbe'
        ;;
    native)
        "$BIN" bench "$MODELS/$MODEL" --json >"$O/native.json" && cat "$O/native.json" | head -c 4000
        echo
        ;;
    bench)
        chrome bench "/?bench=1&gguf=$URL${BENCH_QUERY:-}" 'window.__gptossBench || window.__gptossBenchError' 540 \
            'window.__gptossBench || window.__gptossBenchError'
        ;;
    inpage)
        # The probe's range reads inside the app's own page: idle (the device up, nothing loaded), then after the
        # benchmark mode's whole run in the same page.
        chrome inpage-idle "/gptoss?gguf=$URL" "$(inpage "document.querySelector('#webgpu-status[data-state=\"ready\"]')")" 200 'window.__inpage'
        chrome inpage-bench "/?bench=1&gguf=$URL${BENCH_QUERY:-}" "$(inpage 'window.__gptossBench || window.__gptossBenchError')" 540 \
            '({ probe: window.__inpage, bench: window.__gptossBench || window.__gptossBenchError })'
        ;;
    hud | hud-page | hud-repaint-*)
        # Press LOAD MODEL once the device is up, then GENERATE once the first generation is done (the second
        # runs on pipelines and buffers the first has used); done when the page has published both generations'
        # figures. hud-page runs the engine on the page's thread (`engine=page`) instead of its worker;
        # hud-repaint-N has the HUD repaint at most every N ms while generating (`repaint_ms=N`; 0: every frame).
        query=
        case $run in
        hud-page) query='&engine=page' ;;
        hud-repaint-*) query="&repaint_ms=${run#hud-repaint-}" ;;
        esac
        chrome $run "/gptoss?gguf=$URL$query${HUD_QUERY:-}" "(() => {
            const b = document.querySelector('#load-model'), g = document.querySelector('#generate');
            if (!window.__pressed && b && b.dataset.state === 'idle' &&
                document.querySelector('#webgpu-status[data-state=\"ready\"]')) { b.click(); window.__pressed = true; }
            const runs = (window.__gptossRuns || []).length;
            if (runs === 1 && !window.__again && g && !g.disabled) { g.click(); window.__again = true; }
            return runs >= 2 || !!document.querySelector('#event-log .hud-log-line[data-tone=error]');
        })()" 540 'window.__gptossRuns || null'
        cp "$T/$run/screenshot.png" "$O/$run.png" 2>/dev/null
        ;;
    esac
done
