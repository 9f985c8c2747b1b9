//! The /gptoss page: the HUD. For now it shows the device and its self-test, and the LOAD MODEL button that
//! waits for a ready device.

use dioxus::prelude::*;
use gptoss_components::{Button, GpuStatus, Panel, Readout, Tone, WebGpuStatus};

use crate::webgpu::{use_webgpu, SelfTest};

#[component]
pub fn Gptoss() -> Element {
    let gpu = use_webgpu();
    let status = gpu.status.read().clone();
    let device_ready = matches!(status, GpuStatus::Ready(_));
    rsx! {
        main { class: "hud-page",
            header { class: "hud-header",
                h1 { class: "hud-brand", "GPT-OSS" span { class: "hud-brand-suffix", " // WEB" } }
                p { class: "hud-tagline", "open-weight GPT-OSS, running in this tab · Rust → wasm → WebGPU" }
            }
            Panel { title: "DEVICE", id: "device",
                WebGpuStatus { id: "webgpu-status", status }
                SelfTestLine { result: gpu.self_test.read().clone() }
            }
            Panel { title: "MODEL", id: "model",
                Readout { label: "MODEL", "not loaded" }
                div { class: "hud-actions",
                    Button {
                        id: "load-model",
                        disabled: !device_ready,
                        title: if device_ready { "Load the model onto the GPU" } else { "Needs a WebGPU device" },
                        "LOAD MODEL"
                    }
                }
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
