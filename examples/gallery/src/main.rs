//! The gptoss-components gallery: every component of the crate with made-up data and its variants, in an app that
//! is not the gptoss page (no engine, no GPU). It shows the crate is usable on its own, and it is where a
//! component is developed in isolation: `dx serve --platform web -p gptoss-gallery`.
//! `tests/browser/gallery.test.mjs` opens it and checks that every exported component rendered.

use dioxus::html::FileData;
use dioxus::prelude::*;
use gptoss_components::plotters::coord::Shift;
use gptoss_components::plotters::prelude::{Color, DrawingArea, DrawingBackend, Rectangle};
use gptoss_components::*;

fn main() {
    // A component that panics says why in the console (a wasm panic is otherwise a bare `unreachable`).
    #[cfg(target_arch = "wasm32")]
    std::panic::set_hook(Box::new(|info| web_sys::console::error_1(&format!("gallery: {info}").into())));
    dioxus::launch(Gallery);
}

/// One component's entry: a panel named after it, holding its variants.
#[component]
fn Item(name: String, children: Element) -> Element {
    rsx! {
        Panel { title: name.to_uppercase(), "data-component": name,
            div { class: "gallery-variants", {children} }
        }
    }
}

#[component]
fn Gallery() -> Element {
    rsx! {
        Theme {}
        document::Stylesheet { href: asset!("/assets/gallery.css") }
        main { class: "gallery",
            h1 { class: "gallery-title", "GPTOSS-COMPONENTS" }
            p { class: "gallery-note", "Every component with made-up data. The last panel overrides the theme's variables." }
            div { class: "gallery-grid",
                Controls {}
                Status {}
                Loading {}
                Tokens {}
                Charts {}
                Chat {}
            }
        }
    }
}

/// Buttons and fields: the inputs.
#[component]
fn Controls() -> Element {
    let mut busy = use_signal(|| false);
    let mut temperature = use_signal(|| 0.7);
    let mut effort = use_signal(|| "medium".to_string());
    let mut picked = use_signal(|| "bundled".to_string());
    let mut file = use_signal(|| None::<String>);
    let presets = vec![
        SourcePreset { id: "bundled".into(), label: "bundled".into(), detail: "a 4-layer model, 12 MiB".into() },
        SourcePreset { id: "20b".into(), label: "gpt-oss-20b".into(), detail: "24 layers, 12 GiB".into() },
    ];
    rsx! {
        Item { name: "Button",
            div { class: "gallery-row",
                Button { id: "gallery-button", busy: busy(), onclick: move |_| busy.set(true), "START" }
                Button { disabled: true, "DISABLED" }
                Button { busy: true, "BUSY" }
                Button { disabled: !busy(), onclick: move |_| busy.set(false), "RESET" }
            }
        }
        Item { name: "NumberField",
            NumberField { id: "gallery-temperature", label: "temperature", value: temperature(), min: 0.0, max: 2.0,
                step: 0.05, onchange: move |v| temperature.set(v) }
            NumberField { label: "disabled", value: 4096.0, min: 256.0, max: 131072.0, disabled: true, onchange: |_| {} }
        }
        Item { name: "SelectField",
            SelectField { label: "reasoning effort", value: effort(),
                options: ["low", "medium", "high"].map(|e| (e.to_string(), e.to_string())).to_vec(),
                onchange: move |v| effort.set(v) }
        }
        Item { name: "SourcePicker",
            SourcePicker {
                presets,
                selected: picked(),
                file_name: file(),
                onpreset: move |id| picked.set(id),
                onurl: move |_url: String| picked.set(SOURCE_URL.to_string()),
                onfile: move |f: FileData| {
                    picked.set(SOURCE_FILE.to_string());
                    file.set(Some(f.name()));
                },
            }
        }
        Item { name: "Readout",
            Readout { label: "DATA", "temperature {temperature():.2} · effort {effort}" }
            Readout { label: "PENDING", tone: Tone::Pending, "reading the header…" }
            Readout { label: "WARNING", tone: Tone::Warning, "no shader-f16: f32 weights" }
            Readout { label: "DONE", tone: Tone::Done, "verified" }
            Readout { label: "ERROR", tone: Tone::Error, "not a GGUF file" }
        }
    }
}

/// What a device and a model report.
#[component]
fn Status() -> Element {
    let adapter = AdapterSummary {
        vendor: "google".into(),
        architecture: "swiftshader".into(),
        description: "SwiftShader Device (Subzero)".into(),
        shader_f16: true,
        max_buffer_size: 2 << 30,
        max_storage_buffer_binding_size: 1 << 30,
    };
    rsx! {
        Item { name: "WebGpuStatus",
            WebGpuStatus { status: GpuStatus::Ready(adapter) }
            WebGpuStatus { status: GpuStatus::Probing }
            WebGpuStatus { status: GpuStatus::Unavailable("this browser does not expose WebGPU".into()) }
        }
        Item { name: "FactTable",
            FactTable {
                facts: vec![
                    Fact::new("model", "WordNet gpt-oss (4 layers)"),
                    Fact::new("GPU memory @ 4096 ctx", "38.2 MiB"),
                    Fact::new("shader-f16", "no").tone(Tone::Warning),
                    Fact::new("fits", "yes").tone(Tone::Done),
                ],
            }
        }
        Item { name: "Metric",
            div { class: "gallery-row",
                Metric { label: "DECODE", value: Some(41.27), unit: "tok/s" }
                Metric { label: "PROMPT", value: Some(63.0), unit: "tokens", decimals: 0 }
                Metric { label: "PREFILL", value: None, unit: "tok/s" }
            }
        }
        Item { name: "EventLog",
            EventLog {
                lines: vec![
                    LogLine { at_ms: 12.0, tone: Tone::Data, text: "source: /models/wordnet-gpt-oss.gguf".into() },
                    LogLine { at_ms: 840.0, tone: Tone::Warning, text: "max new tokens cut to 4032".into() },
                    LogLine { at_ms: 8512.0, tone: Tone::Done, text: "model resident: 38 MiB".into() },
                    LogLine { at_ms: 9100.0, tone: Tone::Error, text: "the GPU generated no token".into() },
                ],
            }
        }
        Item { name: "CachePanel",
            CachePanel {
                models: vec![
                    CachedModelRow {
                        model: "https://example.org/gpt-oss-20b-00001-of-00003.gguf".into(),
                        name: "https://example.org/gpt-oss-20b-00001-of-00003.gguf".into(),
                        files: 3,
                        bytes: 12 << 30,
                        cached_bytes: 12 << 30,
                        last_used: "2026-12-01 09:12".into(),
                    },
                    CachedModelRow {
                        model: "/models/wordnet-gpt-oss.gguf".into(),
                        name: "/models/wordnet-gpt-oss.gguf".into(),
                        files: 1,
                        bytes: 12 << 20,
                        cached_bytes: 5 << 20,
                        last_used: "2026-12-02 10:00".into(),
                    },
                    CachedModelRow {
                        model: "file:my-model.gguf:12582912:1796000000000".into(),
                        name: "my-model.gguf".into(),
                        files: 1,
                        bytes: 12 << 20,
                        cached_bytes: 12 << 20,
                        last_used: "2026-12-03 08:30".into(),
                    },
                ],
                usage: Some((12 << 30, 40 << 30)),
                on_use: |_| {},
                on_delete: |_| {},
                on_clear: |_| {},
            }
        }
    }
}

/// A load in progress.
#[component]
fn Loading() -> Element {
    let stage = |name: &str, state, bytes, total_bytes, duration_ms| StageRow {
        name: name.into(),
        state,
        bytes,
        total_bytes,
        duration_ms,
        detail: None,
    };
    let tensor = |name: &str, ggml_type: &str, shape: Vec<u64>, bytes| TensorRow {
        name: name.into(),
        ggml_type: ggml_type.into(),
        shape,
        bytes,
        ms: 3.5,
    };
    let buffer = |label: &str, bytes| BufferRow { label: label.into(), bytes };
    rsx! {
        Item { name: "ProgressBar",
            ProgressBar { label: "TENSORS", done: 5 << 20, total: Some(12 << 20), elapsed_ms: 2100.0 }
            ProgressBar { label: "DONE", done: 12 << 20, total: Some(12 << 20), elapsed_ms: 4800.0 }
            ProgressBar { label: "UNKNOWN SIZE", done: 3 << 20, total: None, elapsed_ms: 900.0 }
            ProgressBar { label: "FAILED", done: 7 << 20, total: Some(12 << 20), elapsed_ms: 3000.0, failed: true }
        }
        Item { name: "StageList",
            StageList {
                stages: vec![
                    stage("fetch_header", StageState::Done, 1 << 20, Some(1 << 20), Some(120.0)),
                    stage("tokenizer", StageState::Done, 0, None, Some(640.0)),
                    stage("fetch_tensors", StageState::Running, 5 << 20, Some(12 << 20), Some(2100.0)),
                    stage("gpu_build", StageState::Pending, 0, None, None),
                ],
            }
            StageList { stages: vec![stage("fetch_header", StageState::Failed, 0, None, Some(30.0))] }
        }
        Item { name: "TensorTicker",
            TensorTicker {
                rows: vec![
                    tensor("token_embd.weight", "Q8_0", vec![640, 201088], 136 << 20),
                    tensor("blk.0.attn_q.weight", "Q8_0", vec![640, 1024], 680 << 10),
                    tensor("blk.0.ffn_gate_exps.weight", "MXFP4", vec![640, 640, 32], 6 << 20),
                ],
                expected: Some(79),
            }
        }
        Item { name: "MemoryGauge",
            MemoryGauge {
                allocated: 30 << 20,
                budget: Some(38 << 20),
                buffers: vec![buffer("weights", 24 << 20), buffer("kv cache", 4 << 20), buffer("activations", 2 << 20)],
            }
            MemoryGauge { allocated: 46 << 20, budget: Some(38 << 20) }
            MemoryGauge { allocated: 0, budget: None }
        }
        Item { name: "ContextBar",
            ContextBar { used: 1800, window: 4096, reused: 400, prompt: 600 }
            ContextBar { used: 0, window: 0 }
        }
    }
}

/// A generation's tokens and their candidates.
#[component]
fn Tokens() -> Element {
    let words = [
        ("<|channel|>", None, "header"),
        ("analysis", None, "header"),
        ("Define", Some("analysis"), "content"),
        (" it", Some("analysis"), "content"),
        ("<|end|>", Some("analysis"), "end"),
        ("\"car\"", Some("final"), "content"),
        (" (noun)", Some("final"), "content"),
        (":", Some("final"), "content"),
        (" a", Some("final"), "content"),
        (" vehicle", Some("final"), "content"),
        ("\n", Some("final"), "content"),
    ];
    let tokens: Vec<StreamToken> = words
        .iter()
        .enumerate()
        .map(|(index, (text, channel, part))| StreamToken {
            index,
            id: 1000 + index as u32,
            text: text.to_string(),
            channel: channel.map(str::to_string),
            part: part.to_string(),
        })
        .collect();
    let candidates = vec![
        Candidate { id: 7, text: " vehicle".into(), prob: 0.62 },
        Candidate { id: 8, text: " machine".into(), prob: 0.21 },
        Candidate { id: 9, text: " road".into(), prob: 0.09 },
        Candidate { id: 10, text: " ".into(), prob: 0.05 },
        Candidate { id: 11, text: " cart".into(), prob: 0.03 },
    ];
    rsx! {
        Item { name: "TokenStream",
            TokenStream { tokens, live: true }
            TokenStream { tokens: Vec::new() }
        }
        Item { name: "TopProbabilities",
            TopProbabilities { candidates: candidates.clone(), chosen: Some(7) }
            TopProbabilities { candidates, chosen: Some(99) }
        }
    }
}

/// A bar per value, drawn by the gallery itself: a chart of one's own only needs its data to implement [`Draw`].
#[derive(Clone, Debug, PartialEq)]
struct Bars(Vec<f32>);

impl Draw for Bars {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, palette: &Palette) -> DrawResult<DB> {
        let (w, h) = area.dim_in_pixel();
        let max = self.0.iter().cloned().fold(0.0f32, f32::max);
        let width = w as i32 / self.0.len().max(1) as i32;
        for (i, v) in self.0.iter().enumerate() {
            let top = h as i32 - (v / max.max(f32::MIN_POSITIVE) * h as f32) as i32;
            let x = i as i32 * width;
            area.draw(&Rectangle::new([(x + 1, top), (x + width - 1, h as i32)], palette.data.filled()))?;
        }
        Ok(())
    }
}

/// The plotters charts, and a figure around a chart of the gallery's own.
#[component]
fn Charts() -> Element {
    let entropy: Vec<f32> = (0..40).map(|i| 2.0 + (i as f32 * 0.7).sin() * 1.5).collect();
    let routing = HeatmapData {
        rows: 4,
        cols: 8,
        values: (0..32).map(|i| if i % 5 == 0 { 0.5 + (i % 3) as f32 * 0.25 } else { 0.0 }).collect(),
        marked: vec![(0, 0), (1, 2), (2, 4), (3, 6)],
        ..HeatmapData::default()
    };
    let residency = HeatmapData {
        rows: 4,
        cols: 8,
        values: (0..32).map(|i| (i * 7 % 11) as f32).collect(),
        resident: (0..32).map(|i| i % 3 != 0).collect(),
        palette: HeatPalette::Warm,
        ..HeatmapData::default()
    };
    let waterfall = WaterfallData {
        rows: (0..12).map(|i| vec![0.9 - i as f32 * 0.05, 0.05 + i as f32 * 0.03, 0.05]).collect(),
        chosen: (0..12).map(|i| Some(i % 2)).collect(),
        capacity: 16,
    };
    let kv = KvFillData {
        layers: (0..8)
            .map(|il| KvLayer { sliding: il % 2 == 0, capacity: if il % 2 == 0 { 128 } else { 4096 }, written: 150 })
            .collect(),
    };
    rsx! {
        Item { name: "Sparkline",
            Sparkline { data: SparklineData { values: entropy, max: None }, label: "ENTROPY", unit: "nats" }
            Sparkline { data: SparklineData::default(), label: "EMPTY", unavailable: Some("no tokens yet".to_string()) }
        }
        Item { name: "Heatmap",
            Heatmap { data: routing, label: "ROUTING", rows_label: "layers", cols_label: "experts", height: 120 }
            Heatmap { data: residency, label: "RESIDENT · HITS", rows_label: "layers", cols_label: "experts", height: 120 }
            Heatmap { data: HeatmapData::default(), label: "ATTENTION", rows_label: "tokens", cols_label: "keys",
                unavailable: Some("no attention rows yet".to_string()) }
        }
        Item { name: "Waterfall",
            Waterfall { data: waterfall, label: "TOP-5 OF RECENT TOKENS" }
        }
        Item { name: "KvFill",
            KvFill { data: kv, label: "KV CACHE" }
        }
        Item { name: "ChartFigure",
            ChartFigure { kind: "bars", chart: Bars(vec![3.0, 5.0, 2.0, 8.0, 6.0]), width: 320, height: 80,
                caption: "A CHART OF THE GALLERY'S OWN" }
        }
        Item { name: "ChartCanvas",
            ChartCanvas { chart: Bars(vec![1.0, 2.0, 3.0]), width: 160, height: 40, label: "three bars" }
        }
    }
}

/// A conversation, with a tool call waiting and one answered; in a panel whose theme is overridden.
#[component]
fn Chat() -> Element {
    let mut output = use_signal(|| None::<String>);
    rsx! {
        Item { name: "ChatMessage",
            ChatMessage { author: "user", channel: None, text: "What does \"car\" mean?" }
            ChatMessage { author: "assistant", channel: Some("analysis".to_string()), text: "Define it briefly." }
            ChatMessage { author: "assistant", channel: Some("final".to_string()), text: "\"car\" (noun): a vehicle.", open: true }
        }
        Item { name: "ToolCallCard",
            ToolCallCard {
                tool: "functions.get_weather",
                arguments: r#"{"location":"Paris"}"#.to_string(),
                constraint: Some("<|constrain|>json".to_string()),
                output: output(),
                onresult: move |text| output.set(Some(text)),
            }
            ToolCallCard { tool: "functions.lookup", arguments: r#"{"word":"car"}"#.to_string(),
                output: Some(r#"{"definition":"a vehicle"}"#.to_string()) }
        }
        div { class: "gallery-warm",
            Item { name: "Panel",
                Readout { label: "THEME", "this panel sets --hud-data on its subtree" }
                div { class: "gallery-row",
                    Button { "WARM" }
                    Metric { label: "VALUE", value: Some(1.0), unit: "" }
                }
                // A cell at 0.6 of the largest value is drawn in exactly the data colour: the override's.
                Heatmap { data: HeatmapData { rows: 1, cols: 2, values: vec![0.6, 1.0], ..HeatmapData::default() },
                    label: "THEMED", rows_label: "", cols_label: "", height: 24 }
            }
        }
    }
}
