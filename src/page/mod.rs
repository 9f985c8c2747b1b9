//! The /gptoss page: the HUD. One click loads the chosen model onto the GPU and generates; every stage of that
//! shows as it happens. This module lays out the panels; what each draws is a memo of a [`crate::view`]
//! projection of the [`Hud`], so an update re-renders only the panels whose data it changed (a token: the output,
//! next-token, caches and routing panels; not the layout, the controls or the log). The engine session and its
//! events live in [`crate::session`], the state they build in [`crate::hud`].

mod controls;
mod memos;
mod panels;
#[cfg(test)]
mod tests;

use dioxus::html::FileData;
use dioxus::prelude::*;
use gptoss_components::{
    EventLog, FactTable, Panel, Readout, SourcePicker, Tone, WebGpuStatus, SOURCE_FILE, SOURCE_URL,
};
use gptoss_engine::source::cache::{is_file_key, key_name};
use gptoss_engine::source::ByteSource;

use crate::hud::Phase;
use crate::session::{use_gptoss, GptossSession, Settings};
use crate::sources::{self, BUNDLED};
use crate::webgpu::{use_webgpu, WebGpu};
use controls::{Actions, Controls};
use memos::use_views;
use panels::{AttentionView, Caches, LoadProgress, Memory, NextToken, ParityView, SelfTestLine, Speed, Stream};

/// The picker's state: which source is selected, and what the URL box and file line show.
#[derive(Clone, Debug, PartialEq)]
struct Picked {
    selected: String,
    url: String,
    file_name: Option<String>,
}

#[component]
pub fn Gptoss() -> Element {
    let app = use_gptoss();
    let gpu = use_webgpu();
    rsx! { HudPage { app, gpu } }
}

/// The page around an engine session and a device: its settings, its picker and the panels.
#[component]
fn HudPage(app: GptossSession, gpu: WebGpu) -> Element {
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
    let views = use_views(app.hud, gpu, settings);
    // What the layout itself reads: it changes with the phase, the device and the loaded model, not per token.
    let phase = (views.phase)();
    let busy = phase.busy();
    let device_ready = (views.limits)().is_some();
    let loaded = (views.ready)().is_some();

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
    // A cached model chosen in the cache panel: the picker shows it as the file or URL it was.
    let oncached = {
        let app = app.clone();
        move |model: String| {
            picked.with_mut(|p| match is_file_key(&model) {
                true => {
                    p.selected = SOURCE_FILE.into();
                    p.file_name = Some(format!("{} (from the cache)", key_name(&model)));
                }
                false => {
                    p.selected = SOURCE_URL.into();
                    p.url = model.clone();
                }
            });
            app.use_cached(model);
        }
    };

    rsx! {
        main { class: "hud-page",
            header { class: "hud-header",
                h1 { class: "hud-brand", "GPT-OSS" span { class: "hud-brand-suffix", " // WEB" } }
                p { class: "hud-tagline", "open-weight GPT-OSS, running in this tab · Rust → wasm → WebGPU" }
            }
            div { class: "hud-grid",
                Panel { title: "DEVICE", id: "device", "data-wide": "true",
                    WebGpuStatus { id: "webgpu-status", status: gpu.status.read().clone() }
                    SelfTestLine { result: gpu.self_test.read().clone() }
                }
                Panel { title: "SOURCE", id: "source",
                    SourcePicker {
                        id: "source-picker",
                        presets: sources::picker_presets(),
                        selected: picked.read().selected.clone(),
                        url: picked.read().url.clone(),
                        file_name: picked.read().file_name.clone(),
                        disabled: busy,
                        onpreset,
                        onurl,
                        onfile,
                    }
                    FactTable { id: "preload-summary", facts: (views.preload)() }
                }
                Panel { title: "CONTROLS", id: "controls",
                    Controls { settings, disabled: busy }
                    Actions { app: app.clone(), settings, phase, device_ready, loaded, percent: views.percent }
                    if let Some(error) = (views.error)() {
                        Readout { id: "hud-error", label: "ERROR", tone: Tone::Error, {error} }
                    }
                }
                Panel { title: "LOAD", id: "load", "data-wide": "true",
                    LoadProgress { view: views.load }
                }
                Panel { title: "GPU MEMORY", id: "gpu-memory",
                    Memory { view: views.memory }
                }
                Panel { title: "ADAPTER", id: "adapter",
                    FactTable { id: "adapter-facts", facts: (views.adapter)() }
                }
                Panel { title: "OUTPUT", id: "output", "data-wide": "true",
                    Stream { tokens: views.stream, live: matches!(phase, Phase::Generating | Phase::Stopping) }
                    Speed { figures: views.speed }
                }
                Panel { title: "NEXT TOKEN", id: "next-token",
                    NextToken { candidates: views.candidates, waterfall: views.waterfall, entropy: views.entropy }
                }
                Panel { title: "CACHES", id: "caches",
                    Caches { kv_fill: views.kv_fill, residency: views.residency, paging: views.paging }
                }
                Panel { title: "ROUTING & ATTENTION", id: "routing", "data-wide": "true",
                    div { class: "hud-columns",
                        panels::Routing { data: views.routing }
                        AttentionView { app: app.clone(), shape: views.shape, view: views.attention_view, data: views.attention }
                    }
                }
                Panel { title: "MODEL CACHE", id: "model-cache",
                    crate::model_cache::CacheSection { app: app.clone(), view: (views.cache)(), on_use: oncached }
                }
                Panel { title: "CHAT", id: "chat-panel", "data-wide": "true",
                    crate::chat_panel::ChatPanel { app: app.clone(), settings, chat: views.chat, busy, device_ready }
                }
                Panel { title: "GPU ⇄ CPU CHECK", id: "check",
                    ParityView { app: app.clone(), settings, parity: views.parity, enabled: loaded && !busy }
                }
                Panel { title: "LOG", id: "log",
                    EventLog { id: "event-log", lines: (views.log)() }
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
