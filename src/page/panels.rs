//! The page's panel contents that follow the engine: each takes the memos of what it draws (narrow props that
//! change only when its picture does) and lays out components from `gptoss-components`.

use dioxus::prelude::*;
use gptoss_components::{
    format_bytes, Button, Candidate, HeatmapData, KvFillData, MemoryGauge, Metric, NumberField, ProgressBar, Readout,
    SparklineData, StageList, StreamToken, TensorTicker, TokenStream, Tone, TopProbabilities, Waterfall, WaterfallData,
};
use gptoss_components::{Heatmap, KvFill, Sparkline};
use gptoss_engine::events::PagingStats;

use crate::hud::Parity;
use crate::session::{GptossSession, Settings, PARITY_TOKENS};
use crate::view::{LoadView, MemoryView, SpeedFigures};
use crate::webgpu::SelfTest;

/// The tensor stream's progress bar, its stages and the tensors fetched so far.
#[component]
pub fn LoadProgress(view: ReadSignal<LoadView>) -> Element {
    let v = view.read();
    rsx! {
        ProgressBar {
            id: "progress",
            label: "TENSORS",
            done: v.transfer.done,
            total: v.transfer.total,
            elapsed_ms: v.transfer.elapsed_ms(),
            failed: v.transfer.failed,
        }
        div { class: "hud-columns",
            StageList { id: "stages", stages: v.stages.clone() }
            TensorTicker { id: "tensor-ticker", rows: v.tensors.clone(), expected: v.expected_tensors }
        }
    }
}

/// The GPU memory gauge, and the resident model's figures once it is ready.
#[component]
pub fn Memory(view: ReadSignal<MemoryView>) -> Element {
    let v = view.read();
    rsx! {
        MemoryGauge { id: "memory-gauge", allocated: v.allocated, budget: v.budget, buffers: v.buffers.clone() }
        if let Some((bytes, dispatches, pipelines)) = v.ready {
            Readout { id: "model-ready", label: "RESIDENT", tone: Tone::Done,
                "{format_bytes(bytes)} · {pipelines} pipelines · {dispatches} dispatches per token"
            }
        }
    }
}

#[component]
pub fn Stream(tokens: ReadSignal<Vec<StreamToken>>, live: bool) -> Element {
    rsx! { TokenStream { id: "token-stream", tokens: tokens.cloned(), live } }
}

#[component]
pub fn Speed(figures: ReadSignal<SpeedFigures>) -> Element {
    let f = figures.read();
    rsx! {
        div { class: "hud-metrics", id: "speed",
            Metric { id: "tokens-count", label: "TOKENS", value: Some(f.tokens as f64), unit: "", decimals: 0 }
            Metric { id: "decode-rate", label: "DECODE", value: f.decode_tokens_per_s, unit: "tok/s" }
            Metric { id: "ttft", label: "TIME TO FIRST TOKEN", value: f.time_to_first_token_ms, unit: "ms", decimals: 0 }
            Metric { id: "prefill-rate", label: "PREFILL", value: f.prefill_tokens_per_s, unit: "tok/s" }
            Metric { id: "prompt-tokens", label: "PROMPT", value: Some(f.prompt_tokens as f64), unit: "tokens", decimals: 0 }
        }
    }
}

/// The newest token's candidates, the recent tokens' waterfall and the entropy series.
#[component]
pub fn NextToken(
    candidates: ReadSignal<Option<(Vec<Candidate>, u32)>>,
    waterfall: ReadSignal<WaterfallData>,
    entropy: ReadSignal<SparklineData>,
) -> Element {
    let (candidates, chosen) = match candidates.cloned() {
        Some((candidates, chosen)) => (candidates, Some(chosen)),
        None => (Vec::new(), None),
    };
    rsx! {
        TopProbabilities { id: "top5", candidates, chosen }
        Waterfall { id: "waterfall", data: waterfall.cloned(), label: "TOP-5 OF RECENT TOKENS" }
        Sparkline { id: "entropy", data: entropy.cloned(), label: "ENTROPY", unit: "nats" }
    }
}

/// The KV caches' fill, the experts on the GPU and their hits, and the generation's paging.
#[component]
pub fn Caches(
    kv_fill: ReadSignal<KvFillData>,
    residency: ReadSignal<Option<HeatmapData>>,
    paging: ReadSignal<Option<PagingStats>>,
) -> Element {
    let residency = residency.cloned();
    rsx! {
        KvFill { id: "kv-fill", data: kv_fill.cloned(), label: "KV CACHE" }
        Heatmap {
            id: "residency",
            unavailable: residency.is_none().then(|| "load a model to see its experts".to_string()),
            data: residency.unwrap_or_default(),
            label: "EXPERTS · RESIDENT (GREEN) · HITS (AMBER)",
            rows_label: "layers",
            cols_label: "experts",
            height: 180,
        }
        if let Some(p) = paging.cloned() {
            Readout { id: "paging", label: "PAGING",
                "{p.hits} hits · {p.misses} misses · {p.evictions} evictions · {format_bytes(p.bytes_uploaded)} uploaded · {p.stall_ms:.0} ms stalled"
            }
        }
    }
}

/// The newest token's routing, layers × experts.
#[component]
pub fn Routing(data: ReadSignal<Option<HeatmapData>>) -> Element {
    let data = data.cloned();
    rsx! {
        Heatmap {
            id: "routing-heatmap",
            unavailable: data.is_none().then(|| "no tokens yet".to_string()),
            data: data.unwrap_or_default(),
            label: "ROUTING OF THE NEWEST TOKEN",
            rows_label: "layers",
            cols_label: "experts",
        }
    }
}

/// One layer's and head's attention over the recent key positions; choosing another tells the engine.
#[component]
pub fn AttentionView(
    app: GptossSession,
    /// `(layers, heads)` of the chosen model.
    shape: ReadSignal<(usize, usize)>,
    view: Signal<(usize, usize)>,
    data: ReadSignal<(HeatmapData, Option<String>)>,
) -> Element {
    let ((n_layer, n_head), (layer, head)) = (shape(), view());
    let (data, unavailable) = data.cloned();
    let (for_layer, for_head) = (app.clone(), app);
    rsx! {
        div { class: "hud-attention",
            div { class: "hud-fields",
                NumberField { id: "attention-layer", label: "attention layer", value: layer as f64, min: 0.0,
                    max: (n_layer - 1) as f64,
                    onchange: move |v: f64| {
                        let head = view().1;
                        view.set((v as usize, head));
                        for_layer.set_attention_view(v as usize, head);
                    },
                }
                NumberField { id: "attention-head", label: "head", value: head as f64, min: 0.0, max: (n_head - 1) as f64,
                    onchange: move |v: f64| {
                        let layer = view().0;
                        view.set((layer, v as usize));
                        for_head.set_attention_view(layer, v as usize);
                    },
                }
            }
            Heatmap {
                id: "attention-heatmap",
                data,
                label: format!("ATTENTION · LAYER {layer} HEAD {head}"),
                rows_label: "tokens",
                cols_label: "key positions",
                unavailable,
            }
        }
    }
}

/// The GPU-against-CPU check: its button, and both sides' ids (in data attributes for the browser test).
#[component]
pub fn ParityView(
    app: GptossSession,
    settings: ReadSignal<Settings>,
    parity: ReadSignal<Parity>,
    enabled: bool,
) -> Element {
    let parity = parity.cloned();
    let (state, gpu, cpu) = match &parity {
        Parity::NotRun => ("not-run", None, None),
        Parity::Running => ("running", None, None),
        Parity::Done { gpu, cpu } => ("done", Some(gpu.clone()), Some(cpu.clone())),
        Parity::Failed(_) => ("failed", None, None),
    };
    let ids = |v: &Option<Vec<u32>>| v.as_ref().map(|v| v.iter().map(u32::to_string).collect::<Vec<_>>().join(","));
    let equal = gpu.is_some() && gpu == cpu;
    rsx! {
        p { class: "hud-note",
            "The first {PARITY_TOKENS} greedy ids after the prompt on the GPU (those of the last generation when it ran at "
            "temperature 0) and on the CPU reference (f32, in wasm)."
        }
        div {
            id: "parity",
            class: "hud-parity",
            "data-state": state,
            "data-gpu-ids": ids(&gpu),
            "data-cpu-ids": ids(&cpu),
            "data-equal": (state == "done").then(|| equal.to_string()),
            Button {
                id: "parity-run",
                busy: state == "running",
                disabled: !enabled,
                onclick: move |_| app.check_parity(settings.cloned()),
                "RUN CHECK"
            }
            match &parity {
                Parity::NotRun => rsx! { Readout { label: "RESULT", tone: Tone::Pending, "not run" } },
                Parity::Running => rsx! { Readout { label: "RESULT", tone: Tone::Pending, "running…" } },
                Parity::Failed(e) => rsx! { Readout { label: "RESULT", tone: Tone::Error, {e.clone()} } },
                Parity::Done { gpu, cpu } => rsx! {
                    Readout { label: "GPU", "{gpu:?}" }
                    Readout { label: "CPU", "{cpu:?}" }
                    Readout { label: "RESULT", tone: if equal { Tone::Done } else { Tone::Error },
                        if equal { "identical" } else { "DIFFERENT" }
                    }
                },
            }
        }
    }
}

/// The engine's one-dispatch self-test, with its numbers in data attributes for the browser test.
#[component]
pub fn SelfTestLine(result: SelfTest) -> Element {
    match result {
        SelfTest::Running => rsx! {
            Readout { id: "self-test", label: "SELF-TEST", tone: Tone::Pending, "data-state": "running",
                "dispatching…"
            }
        },
        SelfTest::Passed(check) => rsx! {
            Readout {
                id: "self-test",
                label: "SELF-TEST",
                tone: Tone::Done,
                "data-state": "passed",
                "data-elements": check.elements.to_string(),
                "data-checksum": check.checksum.to_string(),
                "compute dispatch verified · {check.elements} elements · checksum {check.checksum} · {check.ms:.1} ms"
            }
        },
        SelfTest::Failed(reason) => rsx! {
            Readout { id: "self-test", label: "SELF-TEST", tone: Tone::Error, "data-state": "failed", "FAILED — {reason}" }
        },
        SelfTest::NotRun => rsx! {
            Readout { id: "self-test", label: "SELF-TEST", tone: Tone::Warning, "data-state": "not-run",
                "not run — no WebGPU device"
            }
        },
    }
}
