use dioxus::prelude::*;

use crate::format::format_duration;
use crate::tone::Tone;

/// One line of the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogLine {
    /// Milliseconds since the page started.
    pub at_ms: f64,
    pub tone: Tone,
    pub text: String,
}

/// # EventLog
///
/// The HUD's log: timestamped lines, newest at the bottom, errors in red. The text is rendered as text (it
/// quotes servers, files and model output).
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{EventLog, LogLine, Tone};
///
/// fn Log() -> Element {
///     let lines = vec![LogLine { at_ms: 1250.0, tone: Tone::Error, text: "not a GGUF file".into() }];
///     rsx! { EventLog { lines } }
/// }
/// ```
///
/// ## Styling
///
/// - `ol.hud-log` (scroll box, `--hud-log-height`, default `160px`) of `li.hud-log-line[data-tone]` with
///   `.hud-log-time` and `.hud-log-text`
#[component]
pub fn EventLog(lines: Vec<LogLine>, #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>) -> Element {
    rsx! {
        document::Stylesheet { href: asset!("/src/event_log/style.css") }
        ol { class: "hud-log", ..attributes,
            for (i, line) in lines.iter().enumerate() {
                li { key: "{i}", class: "hud-log-line", "data-tone": line.tone.as_str(),
                    span { class: "hud-log-time", {format_duration(line.at_ms)} }
                    span { class: "hud-log-text", {line.text.clone()} }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn lines_with_time_and_tone() {
        let html = render_to_string(|| {
            rsx! {
                EventLog {
                    lines: vec![
                        LogLine { at_ms: 40.0, tone: Tone::Data, text: "loading /models/tiny.gguf".into() },
                        LogLine { at_ms: 1250.0, tone: Tone::Error, text: "<html> is not a GGUF file".into() },
                    ],
                }
            }
        });
        assert_snapshot("event_log/snapshots/lines.html", &html);
        assert!(html.contains("&#60;html&#62; is not a GGUF file"), "{html}");
    }
}
