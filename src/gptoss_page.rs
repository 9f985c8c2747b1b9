//! The /gptoss page: the HUD. One click loads the chosen model onto the GPU and generates; every stage of that
//! shows as it happens. The page only lays out components from `gptoss-components`; the engine session and its
//! events live in [`crate::session`], the state they build in [`crate::hud`].

use dioxus::html::FileData;
use dioxus::prelude::*;
use gptoss_components::{
    format_bytes, Button, Candidate, EventLog, Fact, FactTable, GpuStatus, HeatPalette, Heatmap, HeatmapData, KvFill,
    KvFillData, KvLayer, MemoryGauge, Metric, NumberField, Panel, ProgressBar, Readout, SelectField, SourcePicker,
    Sparkline, SparklineData, StageList, StreamToken, TensorTicker, TokenStream, Tone, TopProbabilities, Waterfall,
    WaterfallData, WebGpuStatus, SOURCE_URL,
};
use gptoss_engine::events::TokenEvent;
use gptoss_engine::gpu::ExpertBudget;
use gptoss_engine::harmony::{ReasoningEffort, TokenPart};
use gptoss_engine::source::ByteSource;

use crate::chat_panel::ChatPanel;
use crate::estimate::{self, Limits};
use crate::hud::{Hud, Parity, Phase};
use crate::session::{use_gptoss, GptossSession, Settings, PARITY_TOKENS};
use crate::sources::{self, BUNDLED};
use crate::webgpu::{use_webgpu, SelfTest};

/// Recent tokens the waterfall shows.
const WATERFALL_ROWS: usize = 16;
/// Recent tokens (rows) and key positions (columns) the attention view shows.
const ATTENTION_ROWS: usize = 24;
const ATTENTION_KEYS: usize = 128;

/// The expert budgets the controls offer: below "all", the engine pages experts through an LRU cache of slots.
const EXPERT_BUDGETS: [(&str, &str, ExpertBudget); 4] = [
    ("all", "all resident", ExpertBudget::All),
    ("half", "50% per layer (paged)", ExpertBudget::Fraction(0.5)),
    ("quarter", "25% per layer (paged)", ExpertBudget::Fraction(0.25)),
    ("min", "k per layer (paged)", ExpertBudget::Min),
];

fn budget_name(budget: ExpertBudget) -> &'static str {
    EXPERT_BUDGETS.iter().find(|(_, _, b)| *b == budget).map_or("all", |(name, _, _)| name)
}

/// The picker's state: which source is selected, and what the URL box and file line show.
#[derive(Clone, Debug, PartialEq)]
struct Picked {
    selected: String,
    url: String,
    file_name: Option<String>,
}

#[component]
pub fn Gptoss() -> Element {
    let gpu = use_webgpu();
    let app = use_gptoss();
    let settings = use_signal(Settings::default);
    let mut picked = use_signal(|| match sources::gguf_param() {
        Some(url) => Picked { selected: SOURCE_URL.into(), url, file_name: None },
        None => Picked { selected: BUNDLED.into(), url: String::new(), file_name: None },
    });
    // The page opens with its source chosen: the header is read at once for the pre-load summary.
    use_hook({
        let app = app.clone();
        move || {
            let p = picked.peek();
            let url = if p.selected == SOURCE_URL { p.url.clone() } else { sources::BUNDLED_URL.to_string() };
            app.choose(ByteSource::http(url));
        }
    });

    let status = gpu.status.read().clone();
    let limits = match &status {
        GpuStatus::Ready(a) => Some(Limits {
            max_buffer_size: a.max_buffer_size,
            max_storage_buffer_binding_size: a.max_storage_buffer_binding_size,
            shader_f16: a.shader_f16,
        }),
        _ => None,
    };
    let device_ready = limits.is_some();
    let hud = app.hud.read();
    let phase = hud.phase;
    let s = settings.read().clone();

    let onpreset = {
        let app = app.clone();
        move |id: String| {
            if let Some(preset) = sources::preset(&id) {
                picked.with_mut(|p| p.selected = id.clone());
                app.choose(ByteSource::http(preset.url));
            }
        }
    };
    let onurl = {
        let app = app.clone();
        move |url: String| {
            picked.with_mut(|p| {
                p.selected = SOURCE_URL.into();
                p.url = url.clone();
            });
            app.choose(ByteSource::http(url));
        }
    };
    let onfile = {
        let app = app.clone();
        move |file: FileData| choose_file(&app, picked, file)
    };

    rsx! {
        main { class: "hud-page",
            header { class: "hud-header",
                h1 { class: "hud-brand", "GPT-OSS" span { class: "hud-brand-suffix", " // WEB" } }
                p { class: "hud-tagline", "open-weight GPT-OSS, running in this tab · Rust → wasm → WebGPU" }
            }
            div { class: "hud-grid",
                Panel { title: "DEVICE", id: "device", "data-wide": "true",
                    WebGpuStatus { id: "webgpu-status", status: status.clone() }
                    SelfTestLine { result: gpu.self_test.read().clone() }
                }
                Panel { title: "SOURCE", id: "source",
                    SourcePicker {
                        id: "source-picker",
                        presets: sources::picker_presets(),
                        selected: picked.read().selected.clone(),
                        url: picked.read().url.clone(),
                        file_name: picked.read().file_name.clone(),
                        disabled: phase.busy(),
                        onpreset,
                        onurl,
                        onfile,
                    }
                    PreloadSummary { hud: (*hud).clone(), context: s.context, experts: s.experts, limits }
                }
                Panel { title: "CONTROLS", id: "controls",
                    Controls { settings, disabled: phase.busy() }
                    Actions { app: app.clone(), settings: s.clone(), phase, device_ready, loaded: hud.ready.is_some(), percent: percent(&hud) }
                    if let Some(error) = hud.error.clone() {
                        Readout { id: "hud-error", label: "ERROR", tone: Tone::Error, {error} }
                    }
                }
                Panel { title: "LOAD", id: "load", "data-wide": "true",
                    ProgressBar {
                        id: "progress",
                        label: "TENSORS",
                        done: hud.transfer.done,
                        total: hud.transfer.total,
                        elapsed_ms: hud.transfer.elapsed_ms(),
                        failed: hud.transfer.failed,
                    }
                    div { class: "hud-columns",
                        StageList { id: "stages", stages: hud.stages.clone() }
                        TensorTicker {
                            id: "tensor-ticker",
                            rows: hud.tensors.clone(),
                            expected: hud.facts.as_ref().map(|f| f.tensor_count),
                        }
                    }
                }
                Panel { title: "GPU MEMORY", id: "gpu-memory",
                    MemoryGauge { id: "memory-gauge", allocated: hud.gpu_bytes, budget: budget(&hud, limits), buffers: hud.buffers.clone() }
                    if let Some((bytes, dispatches, pipelines)) = hud.ready {
                        Readout { id: "model-ready", label: "RESIDENT", tone: Tone::Done,
                            "{format_bytes(bytes)} · {pipelines} pipelines · {dispatches} dispatches per token"
                        }
                    }
                }
                Panel { title: "ADAPTER", id: "adapter",
                    FactTable { id: "adapter-facts", facts: adapter_facts(&hud, &status) }
                }
                Panel { title: "OUTPUT", id: "output", "data-wide": "true",
                    TokenStream {
                        id: "token-stream",
                        tokens: hud.tokens.iter().map(stream_token).collect::<Vec<_>>(),
                        live: matches!(phase, Phase::Generating | Phase::Stopping),
                    }
                    Speed { hud: (*hud).clone() }
                }
                Panel { title: "NEXT TOKEN", id: "next-token",
                    TopProbabilities {
                        id: "top5",
                        candidates: hud.tokens.last().map(candidates).unwrap_or_default(),
                        chosen: hud.tokens.last().map(|t| t.id),
                    }
                    Waterfall { id: "waterfall", data: waterfall(&hud.tokens), label: "TOP-5 OF RECENT TOKENS" }
                    Sparkline {
                        id: "entropy",
                        data: SparklineData { values: hud.tokens.iter().map(|t| t.entropy).collect(), max: None },
                        label: "ENTROPY",
                        unit: "nats",
                    }
                }
                Panel { title: "CACHES", id: "caches",
                    KvFill { id: "kv-fill", data: kv_fill(&hud), label: "KV CACHE" }
                    Heatmap {
                        id: "residency",
                        data: residency(&hud),
                        label: "EXPERTS · RESIDENT (GREEN) · HITS (AMBER)",
                        rows_label: "layers",
                        cols_label: "experts",
                        unavailable: hud.kv.is_none().then(|| "load a model to see its experts".to_string()),
                        height: 180,
                    }
                    if let Some(p) = hud.paging.clone() {
                        Readout { id: "paging", label: "PAGING",
                            "{p.hits} hits · {p.misses} misses · {p.evictions} evictions · {format_bytes(p.bytes_uploaded)} uploaded · {p.stall_ms:.0} ms stalled"
                        }
                    }
                }
                Panel { title: "ROUTING & ATTENTION", id: "routing", "data-wide": "true",
                    div { class: "hud-columns",
                        Heatmap {
                            id: "routing-heatmap",
                            data: routing(&hud),
                            label: "ROUTING OF THE NEWEST TOKEN",
                            rows_label: "layers",
                            cols_label: "experts",
                            unavailable: hud.tokens.is_empty().then(|| "no tokens yet".to_string()),
                        }
                        AttentionView { app: app.clone(), hud: (*hud).clone() }
                    }
                }
                Panel { title: "MODEL CACHE", id: "model-cache",
                    crate::model_cache::CacheSection { app: app.clone(), view: hud.cache.clone() }
                }
                Panel { title: "CHAT", id: "chat-panel", "data-wide": "true",
                    ChatPanel { app: app.clone(), settings: s.clone(), chat: hud.chat.clone(), busy: phase.busy(), device_ready }
                }
                Panel { title: "GPU ⇄ CPU CHECK", id: "check",
                    ParityView { app: app.clone(), settings: s.clone(), parity: hud.parity.clone(), enabled: hud.ready.is_some() && !phase.busy() }
                }
                Panel { title: "LOG", id: "log",
                    EventLog { id: "event-log", lines: hud.log.clone() }
                }
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn choose_file(app: &GptossSession, mut picked: Signal<Picked>, file: FileData) {
    let name = file.name();
    match file.inner().downcast_ref::<web_sys::File>() {
        Some(f) => {
            picked.with_mut(|p| {
                p.selected = gptoss_components::SOURCE_FILE.into();
                p.file_name = Some(name.clone());
            });
            app.choose(ByteSource::blob(name, f.clone().into()));
        }
        None => crate::faults::report(format!("{name}: the browser gave no File object for it")),
    }
}

/// Natively there are no browser files.
#[cfg(not(target_arch = "wasm32"))]
fn choose_file(_app: &GptossSession, _picked: Signal<Picked>, file: FileData) {
    crate::faults::report(format!("{}: local files are read in the browser only", file.name()));
}

fn percent(hud: &Hud) -> Option<f64> {
    let total = hud.transfer.total?;
    (total > 0).then(|| hud.transfer.done as f64 / total as f64 * 100.0)
}

/// What the model is expected to need on the GPU at the loaded (or chosen) context.
fn budget(hud: &Hud, limits: Option<Limits>) -> Option<u64> {
    let (facts, kv, limits) = (hud.facts.as_ref()?, hud.kv.as_ref()?, limits?);
    estimate::estimate(facts, kv.context, &limits, kv.experts).ok().map(|e| e.total)
}

#[component]
fn PreloadSummary(hud: Hud, context: usize, experts: ExpertBudget, limits: Option<Limits>) -> Element {
    let facts = match (&hud.facts, hud.phase) {
        (Some(facts), _) => estimate::summary(facts, context, experts, limits),
        (None, Phase::Inspecting) => {
            vec![Fact::new("model", "reading the header…").tone(Tone::Pending)]
        }
        (None, _) => vec![Fact::new("model", "no header read").tone(Tone::Warning)],
    };
    rsx! { FactTable { id: "preload-summary", facts } }
}

#[component]
fn Controls(settings: Signal<Settings>, disabled: bool) -> Element {
    let s = settings.read().clone();
    let efforts = [ReasoningEffort::Low, ReasoningEffort::Medium, ReasoningEffort::High]
        .map(|e| (e.as_str().to_string(), e.as_str().to_string()))
        .to_vec();
    rsx! {
        label { class: "hud-field hud-prompt",
            span { class: "hud-field-label", "prompt" }
            textarea {
                id: "prompt",
                class: "hud-field-input",
                rows: "3",
                disabled,
                value: "{s.prompt}",
                oninput: move |e| settings.with_mut(|s| s.prompt = e.value()),
            }
        }
        div { class: "hud-fields",
            SelectField {
                label: "reasoning effort",
                value: s.effort.as_str().to_string(),
                options: efforts,
                disabled,
                onchange: move |v: String| {
                    let effort = match v.as_str() {
                        "low" => ReasoningEffort::Low,
                        "high" => ReasoningEffort::High,
                        _ => ReasoningEffort::Medium,
                    };
                    settings.with_mut(|s| s.effort = effort);
                },
            }
            NumberField { id: "temperature", label: "temperature", value: s.temperature as f64, min: 0.0, max: 2.0, step: 0.05, disabled,
                onchange: move |v: f64| settings.with_mut(|s| s.temperature = v as f32) }
            NumberField { label: "top-k (0 = off)", value: s.top_k as f64, min: 0.0, max: 32.0, disabled,
                onchange: move |v: f64| settings.with_mut(|s| s.top_k = v as u32) }
            NumberField { label: "top-p", value: s.top_p as f64, min: 0.01, max: 1.0, step: 0.01, disabled,
                onchange: move |v: f64| settings.with_mut(|s| s.top_p = v as f32) }
            NumberField { id: "max-new-tokens", label: "max new tokens", value: s.max_new_tokens as f64, min: 1.0, max: 8192.0, disabled,
                onchange: move |v: f64| settings.with_mut(|s| s.max_new_tokens = v as usize) }
            NumberField { label: "seed", value: s.seed as f64, min: 0.0, max: u32::MAX as f64, disabled,
                onchange: move |v: f64| settings.with_mut(|s| s.seed = v as u32) }
            NumberField { id: "context", label: "context (positions)", value: s.context as f64, min: 256.0, max: 131072.0,
                step: 256.0, disabled, onchange: move |v: f64| settings.with_mut(|s| s.context = v as usize) }
            SelectField {
                id: "expert-budget",
                label: "experts on the GPU",
                value: budget_name(s.experts).to_string(),
                options: EXPERT_BUDGETS.iter().map(|(name, label, _)| (name.to_string(), label.to_string())).collect::<Vec<_>>(),
                disabled,
                onchange: move |v: String| {
                    if let Some((_, _, budget)) = EXPERT_BUDGETS.iter().find(|(name, _, _)| *name == v) {
                        settings.with_mut(|s| s.experts = *budget);
                    }
                },
            }
        }
    }
}

#[component]
fn Actions(
    app: GptossSession,
    settings: Settings,
    phase: Phase,
    device_ready: bool,
    loaded: bool,
    percent: Option<f64>,
) -> Element {
    let label = match phase {
        Phase::Loading => match percent {
            Some(p) => format!("LOADING {p:.0}%"),
            None => "LOADING".to_string(),
        },
        Phase::Generating => "GENERATING".to_string(),
        Phase::Stopping => "STOPPING".to_string(),
        Phase::Checking => "CHECKING".to_string(),
        Phase::Idle | Phase::Inspecting | Phase::Failed => "LOAD MODEL".to_string(),
    };
    let (start, generate, stop) = (app.clone(), app.clone(), app.clone());
    let (load_settings, generate_settings) = (settings.clone(), settings);
    rsx! {
        div { class: "hud-actions",
            Button {
                id: "load-model",
                "data-phase": phase.as_str(),
                busy: phase.busy(),
                disabled: !device_ready,
                title: if device_ready { "Load the model onto the GPU and generate" } else { "Needs a WebGPU device" },
                onclick: move |_| start.start(load_settings.clone()),
                {label}
            }
            Button {
                id: "generate",
                disabled: !device_ready || !loaded || phase.busy(),
                title: "Generate again on the loaded model",
                onclick: move |_| generate.generate(generate_settings.clone()),
                "GENERATE"
            }
            Button {
                id: "stop",
                disabled: !phase.busy() || phase == Phase::Stopping,
                title: "Stop loading or generating",
                onclick: move |_| stop.stop(),
                "STOP"
            }
        }
    }
}

#[component]
fn Speed(hud: Hud) -> Element {
    let stats = hud.stats.as_ref();
    rsx! {
        div { class: "hud-metrics", id: "speed",
            Metric { id: "tokens-count", label: "TOKENS", value: Some(hud.tokens.len() as f64), unit: "", decimals: 0 }
            Metric { id: "decode-rate", label: "DECODE", value: hud.live_decode_rate(), unit: "tok/s" }
            Metric {
                id: "ttft",
                label: "TIME TO FIRST TOKEN",
                value: stats.map(|s| s.time_to_first_token_ms).or(hud.tokens.first().map(|t| t.elapsed_ms)),
                unit: "ms",
                decimals: 0,
            }
            Metric { id: "prefill-rate", label: "PREFILL", value: stats.map(|s| s.prefill_tokens_per_s), unit: "tok/s" }
            Metric { id: "prompt-tokens", label: "PROMPT", value: Some(hud.prompt_tokens as f64), unit: "tokens", decimals: 0 }
        }
    }
}

#[component]
fn AttentionView(app: GptossSession, hud: Hud) -> Element {
    let mut layer = use_signal(|| 1usize);
    let mut head = use_signal(|| 0usize);
    let (n_layer, n_head) = match hud.facts.as_ref().and_then(|f| f.config.as_ref().ok()) {
        Some(c) => (c.n_layer, c.n_head),
        None => (1, 1),
    };
    let (data, unavailable) = attention(&hud.tokens, (layer(), head()));
    let (for_layer, for_head) = (app.clone(), app);
    rsx! {
        div { class: "hud-attention",
            div { class: "hud-fields",
                NumberField { id: "attention-layer", label: "attention layer", value: layer() as f64, min: 0.0,
                    max: (n_layer - 1) as f64,
                    onchange: move |v: f64| {
                        layer.set(v as usize);
                        for_layer.set_attention_view(v as usize, head());
                    },
                }
                NumberField { id: "attention-head", label: "head", value: head() as f64, min: 0.0, max: (n_head - 1) as f64,
                    onchange: move |v: f64| {
                        head.set(v as usize);
                        for_head.set_attention_view(layer(), v as usize);
                    },
                }
            }
            Heatmap {
                id: "attention-heatmap",
                data,
                label: format!("ATTENTION · LAYER {} HEAD {}", layer(), head()),
                rows_label: "tokens",
                cols_label: "key positions",
                unavailable,
            }
        }
    }
}

#[component]
fn ParityView(app: GptossSession, settings: Settings, parity: Parity, enabled: bool) -> Element {
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
                onclick: move |_| app.check_parity(settings.clone()),
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
fn SelfTestLine(result: SelfTest) -> Element {
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

/// A token as the stream shows it. Harmony header tokens carry no message text; the stream shows their vocabulary
/// string (known when the token is among its top candidates) so a malformed header is visible.
fn stream_token(t: &TokenEvent) -> StreamToken {
    let vocabulary_text = || t.top.iter().position(|&(id, _)| id == t.id).and_then(|i| t.top_text.get(i)).cloned();
    let text = match t.part {
        TokenPart::Header | TokenPart::End if t.text.is_empty() => vocabulary_text().unwrap_or_default(),
        _ => t.text.clone(),
    };
    let channel = t.channel.map(|c| c.as_str().to_string());
    StreamToken { index: t.index, id: t.id, text, channel, part: t.part.as_str().to_string() }
}

fn candidates(t: &TokenEvent) -> Vec<Candidate> {
    t.top
        .iter()
        .zip(t.top_text.iter().chain(std::iter::repeat(&String::new())))
        .map(|(&(id, prob), text)| Candidate { id, text: text.clone(), prob })
        .collect()
}

fn waterfall(tokens: &[TokenEvent]) -> WaterfallData {
    let recent = &tokens[tokens.len().saturating_sub(WATERFALL_ROWS)..];
    WaterfallData {
        rows: recent.iter().map(|t| t.top.iter().map(|&(_, p)| p).collect()).collect(),
        chosen: recent.iter().map(|t| t.top.iter().position(|&(id, _)| id == t.id)).collect(),
        capacity: WATERFALL_ROWS,
    }
}

fn kv_fill(hud: &Hud) -> KvFillData {
    let Some(kv) = &hud.kv else {
        return KvFillData::default();
    };
    let written = hud.kv_positions();
    KvFillData {
        layers: kv
            .sliding
            .iter()
            .map(|&sliding| KvLayer { sliding, capacity: if sliding { kv.window } else { kv.context }, written })
            .collect(),
    }
}

fn residency(hud: &Hud) -> HeatmapData {
    let Some(kv) = &hud.kv else {
        return HeatmapData::default();
    };
    let cells = kv.sliding.len() * kv.n_expert;
    let resident = match &hud.residency {
        Some(layers) => layers.iter().flat_map(|l| l.iter().copied()).collect(),
        // Without paging every expert is on the GPU.
        None => vec![true; cells],
    };
    HeatmapData {
        rows: kv.sliding.len(),
        cols: kv.n_expert,
        values: hud.hits.iter().map(|&h| h as f32).collect(),
        resident,
        palette: HeatPalette::Warm,
        ..HeatmapData::default()
    }
}

fn routing(hud: &Hud) -> HeatmapData {
    let (Some(kv), Some(token)) = (&hud.kv, hud.tokens.last()) else {
        return HeatmapData::default();
    };
    let cols = kv.n_expert;
    let mut values = vec![0.0; token.routes.len() * cols];
    let mut marked = Vec::new();
    for (layer, routes) in token.routes.iter().enumerate() {
        for &(expert, weight) in routes {
            if (expert as usize) < cols {
                values[layer * cols + expert as usize] = weight;
                marked.push((layer, expert as usize));
            }
        }
    }
    HeatmapData { rows: token.routes.len(), cols, values, marked, ..HeatmapData::default() }
}

/// Recent tokens' attention rows for `(layer, head)`, laid out over the last [`ATTENTION_KEYS`] key positions.
fn attention(tokens: &[TokenEvent], view: (usize, usize)) -> (HeatmapData, Option<String>) {
    let rows: Vec<_> =
        tokens.iter().filter_map(|t| t.attention.as_ref()).filter(|a| (a.layer, a.head) == view).collect();
    let rows = &rows[rows.len().saturating_sub(ATTENTION_ROWS)..];
    if rows.is_empty() {
        let why = if tokens.is_empty() {
            "no tokens yet".to_string()
        } else {
            format!(
                "no attention rows for layer {} head {} yet: the view applies from the next generation",
                view.0, view.1
            )
        };
        return (HeatmapData::default(), Some(why));
    }
    let end = rows.iter().map(|a| a.first_position + a.weights.len()).max().unwrap_or(0);
    let start = end.saturating_sub(ATTENTION_KEYS);
    let cols = end - start;
    let mut values = vec![0.0; rows.len() * cols];
    for (r, a) in rows.iter().enumerate() {
        for (k, &w) in a.weights.iter().enumerate() {
            let pos = a.first_position + k;
            if pos >= start {
                values[r * cols + pos - start] = w;
            }
        }
    }
    (HeatmapData { rows: rows.len(), cols, values, ..HeatmapData::default() }, None)
}

fn adapter_facts(hud: &Hud, status: &GpuStatus) -> Vec<Fact> {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    match (&hud.adapter, status) {
        (Some(r), _) => vec![
            Fact::new("adapter", format!("{} {} {}", r.vendor, r.architecture, r.description)),
            Fact::new("backend", r.backend.clone()),
            Fact::new("maxBufferSize", format_bytes(r.max_buffer_size)),
            Fact::new("maxStorageBufferBindingSize", format_bytes(r.max_storage_buffer_binding_size)),
            Fact::new("maxStorageBuffersPerShaderStage", r.max_storage_buffers_per_shader_stage.to_string()),
            Fact::new("shader-f16", yes_no(r.shader_f16)).tone(if r.shader_f16 { Tone::Done } else { Tone::Warning }),
            Fact::new("timestamp-query", yes_no(r.timestamp_query)),
        ],
        (None, GpuStatus::Ready(a)) => vec![
            Fact::new("adapter", format!("{} {} {}", a.vendor, a.architecture, a.description)),
            Fact::new("maxBufferSize", format_bytes(a.max_buffer_size)),
            Fact::new("maxStorageBufferBindingSize", format_bytes(a.max_storage_buffer_binding_size)),
            Fact::new("shader-f16", yes_no(a.shader_f16)).tone(if a.shader_f16 { Tone::Done } else { Tone::Warning }),
        ],
        (None, GpuStatus::Probing) => vec![Fact::new("adapter", "requesting…").tone(Tone::Pending)],
        (None, GpuStatus::Unavailable(why)) => {
            vec![Fact::new("adapter", why.clone()).tone(Tone::Error)]
        }
    }
}
