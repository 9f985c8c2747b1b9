//! The CONTROLS panel: the prompt and sampling settings, and the LOAD MODEL / GENERATE / STOP buttons.

use dioxus::prelude::*;
use gptoss_components::{Button, NumberField, SelectField};
use gptoss_engine::gpu::ExpertBudget;
use gptoss_engine::harmony::ReasoningEffort;

use crate::hud::Phase;
use crate::session::{GptossSession, Settings};

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

/// The fields of the next generation; the context and expert budget apply at the next load.
#[component]
pub fn Controls(settings: Signal<Settings>, disabled: bool) -> Element {
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

/// LOAD MODEL (its label follows the phase and the load's percent), GENERATE and STOP. The settings are read when
/// a button is pressed, so typing a prompt does not re-render the buttons.
#[component]
pub fn Actions(
    app: GptossSession,
    settings: ReadSignal<Settings>,
    phase: Phase,
    device_ready: bool,
    loaded: bool,
    percent: ReadSignal<Option<f64>>,
) -> Element {
    let label = match phase {
        Phase::Loading => match percent() {
            Some(p) => format!("LOADING {p:.0}%"),
            None => "LOADING".to_string(),
        },
        Phase::Generating => "GENERATING".to_string(),
        Phase::Stopping => "STOPPING".to_string(),
        Phase::Checking => "CHECKING".to_string(),
        Phase::Idle | Phase::Inspecting | Phase::Failed => "LOAD MODEL".to_string(),
    };
    let (start, generate, stop) = (app.clone(), app.clone(), app);
    rsx! {
        div { class: "hud-actions",
            Button {
                id: "load-model",
                "data-phase": phase.as_str(),
                busy: phase.busy(),
                disabled: !device_ready,
                title: if device_ready { "Load the model onto the GPU and generate" } else { "Needs a WebGPU device" },
                onclick: move |_| start.start(settings.cloned()),
                {label}
            }
            Button {
                id: "generate",
                disabled: !device_ready || !loaded || phase.busy(),
                title: "Generate again on the loaded model",
                onclick: move |_| generate.generate(settings.cloned()),
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
