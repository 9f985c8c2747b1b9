use dioxus::prelude::*;

use crate::format::{format_bytes, format_duration};

/// Where one stage of a load stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StageState {
    /// Not started yet.
    #[default]
    Pending,
    Running,
    Done,
    Failed,
    /// Stopped by the user before it finished.
    Stopped,
}

impl StageState {
    /// The `data-state` value CSS keys on.
    pub fn as_str(self) -> &'static str {
        match self {
            StageState::Pending => "pending",
            StageState::Running => "running",
            StageState::Done => "done",
            StageState::Failed => "failed",
            StageState::Stopped => "stopped",
        }
    }

    fn glyph(self) -> &'static str {
        match self {
            StageState::Pending => "○",
            StageState::Running => "◐",
            StageState::Done => "●",
            StageState::Failed => "✕",
            StageState::Stopped => "■",
        }
    }
}

/// One row of a [`StageList`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageRow {
    /// The stage's name as the engine reports it (`fetch_header`, `fetch_tensors`, …).
    pub name: String,
    pub state: StageState,
    /// Bytes the stage has moved so far.
    pub bytes: u64,
    pub total_bytes: Option<u64>,
    /// How long it ran (running stages: so far).
    pub duration_ms: Option<f64>,
    /// The error of a failed stage, or a note.
    pub detail: Option<String>,
}

/// # StageList
///
/// The stages of a load in order, each with a status glyph, the bytes it moved and how long it took; a failed
/// stage shows its error under it. Names and errors are rendered as text.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{StageList, StageRow, StageState};
///
/// fn Stages() -> Element {
///     let stages = vec![
///         StageRow { name: "fetch_header".into(), state: StageState::Done, bytes: 13 << 20,
///                    duration_ms: Some(120.0), ..Default::default() },
///         StageRow { name: "fetch_tensors".into(), state: StageState::Running, bytes: 1 << 20,
///                    total_bytes: Some(48 << 20), ..Default::default() },
///     ];
///     rsx! { StageList { stages } }
/// }
/// ```
///
/// ## Styling
///
/// - `ol.hud-stages`, each `li.hud-stage[data-stage=<name>][data-state="pending" | "running" | "done" |
///   "failed" | "stopped"]`
/// - `.hud-stage-glyph`, `.hud-stage-name`, `.hud-stage-bytes`, `.hud-stage-time`, `.hud-stage-detail`
#[component]
pub fn StageList(stages: Vec<StageRow>, #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>) -> Element {
    rsx! {
        document::Stylesheet { href: asset!("/src/stage_list/style.css") }
        ol { class: "hud-stages", ..attributes,
            if stages.is_empty() {
                li { class: "hud-stage", "data-state": "pending",
                    span { class: "hud-stage-glyph", "○" }
                    span { class: "hud-stage-name", "no stages yet" }
                }
            }
            for stage in stages {
                li {
                    key: "{stage.name}",
                    class: "hud-stage",
                    "data-stage": stage.name.clone(),
                    "data-state": stage.state.as_str(),
                    span { class: "hud-stage-glyph", "aria-hidden": "true", {stage.state.glyph()} }
                    span { class: "hud-stage-name", {stage.name.clone()} }
                    span { class: "hud-stage-bytes", {bytes_text(stage.bytes, stage.total_bytes)} }
                    span { class: "hud-stage-time",
                        {stage.duration_ms.map(format_duration).unwrap_or_default()}
                    }
                    if let Some(detail) = stage.detail {
                        span { class: "hud-stage-detail", {detail} }
                    }
                }
            }
        }
    }
}

fn bytes_text(bytes: u64, total: Option<u64>) -> String {
    match total {
        Some(total) => format!("{} / {}", format_bytes(bytes), format_bytes(total)),
        None if bytes > 0 => format_bytes(bytes),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn stages_with_state_bytes_time_and_error() {
        let html = render_to_string(|| {
            rsx! {
                StageList {
                    id: "stages",
                    stages: vec![
                        StageRow {
                            name: "fetch_header".into(),
                            state: StageState::Done,
                            bytes: 13 << 20,
                            total_bytes: None,
                            duration_ms: Some(120.4),
                            detail: None,
                        },
                        StageRow {
                            name: "fetch_tensors".into(),
                            state: StageState::Failed,
                            bytes: 1 << 20,
                            total_bytes: Some(48 << 20),
                            duration_ms: Some(2500.0),
                            detail: Some("<b>404</b> not found".into()),
                        },
                    ],
                }
            }
        });
        assert_snapshot("stage_list/snapshots/stages.html", &html);
        // Error text from the network is text, never markup.
        assert!(html.contains("&#60;b&#62;404&#60;/b&#62; not found"), "{html}");
    }

    #[test]
    fn empty_list_says_so() {
        let html = render_to_string(|| rsx! { StageList { stages: vec![] } });
        assert!(html.contains("no stages yet"), "{html}");
    }
}
