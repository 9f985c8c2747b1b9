use dioxus::prelude::*;

use crate::format::whitespace_label;

/// One generated token as the stream shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StreamToken {
    /// 0 for the first generated token.
    pub index: usize,
    pub id: u32,
    /// Its text: whole characters only (the engine holds back bytes of a character split across tokens).
    pub text: String,
    /// Harmony channel: `analysis`, `commentary`, `final`, or none (headers, raw text).
    pub channel: Option<String>,
    /// `header`, `content`, `end` or `raw`.
    pub part: String,
}

/// Consecutive tokens of one channel: the stream shows each as its own block.
struct Run<'a> {
    channel: Option<&'a str>,
    tokens: &'a [StreamToken],
}

fn runs(tokens: &[StreamToken]) -> Vec<Run<'_>> {
    let mut runs: Vec<Run> = Vec::new();
    let mut start = 0;
    for i in 1..=tokens.len() {
        if i == tokens.len() || tokens[i].channel != tokens[start].channel {
            runs.push(Run { channel: tokens[start].channel.as_deref(), tokens: &tokens[start..i] });
            start = i;
        }
    }
    runs
}

/// # TokenStream
///
/// The generated text, token by token: channels kept apart (one block per run of a Harmony channel; `analysis`
/// dimmed, `final` bright), Harmony's format tokens shown small, whitespace-only tokens labelled (`␣`, `⏎`), the
/// newest token pulsing and a blinking cursor while generation runs. Model output is rendered as text.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{StreamToken, TokenStream};
///
/// fn Output() -> Element {
///     let tokens = vec![StreamToken {
///         index: 0,
///         id: 12194,
///         text: "Paris".into(),
///         channel: Some("final".into()),
///         part: "content".into(),
///     }];
///     rsx! { TokenStream { tokens, live: true } }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-stream[data-live="true" | "false"]` with `data-count`
/// - `.hud-stream-run[data-channel="analysis" | "commentary" | "final" | "none"]`, `.hud-stream-channel` (its tag)
/// - `.hud-token[data-part][data-index][data-id]`; `[data-whitespace="true"]` for labelled whitespace;
///   `[data-newest="true"]` pulses (a new element per token, so the animation replays)
/// - `.hud-stream-cursor` blinks while live
#[component]
pub fn TokenStream(
    tokens: Vec<StreamToken>,
    /// Generation is running: show the cursor.
    #[props(default)]
    live: bool,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let newest = tokens.last().map(|t| t.index);
    let runs = runs(&tokens);
    let last_run = runs.len().saturating_sub(1);
    rsx! {
        document::Stylesheet { href: asset!("/src/token_stream/style.css") }
        div {
            class: "hud-stream",
            "data-live": live.to_string(),
            "data-count": tokens.len().to_string(),
            "aria-live": "polite",
            ..attributes,
            if tokens.is_empty() && !live {
                span { class: "hud-stream-empty", "no tokens yet" }
            }
            for (r, run) in runs.iter().enumerate() {
                div {
                    key: "{run.tokens[0].index}",
                    class: "hud-stream-run",
                    "data-channel": run.channel.unwrap_or("none"),
                    if let Some(channel) = run.channel {
                        span { class: "hud-stream-channel", {channel.to_string()} }
                    }
                    for token in run.tokens {
                        TokenSpan { key: "{token.index}", token: token.clone(), newest: Some(token.index) == newest }
                    }
                    if live && r == last_run {
                        span { class: "hud-stream-cursor", "aria-hidden": "true", "▌" }
                    }
                }
            }
            if live && runs.is_empty() {
                span { class: "hud-stream-cursor", "aria-hidden": "true", "▌" }
            }
        }
    }
}

#[component]
fn TokenSpan(token: StreamToken, newest: bool) -> Element {
    let label = whitespace_label(&token.text);
    let whitespace = label.is_some();
    let title = format!("#{} · id {}", token.index, token.id);
    rsx! {
        span {
            class: "hud-token",
            "data-index": token.index.to_string(),
            "data-id": token.id.to_string(),
            "data-part": token.part.clone(),
            "data-whitespace": whitespace.then_some("true"),
            "data-newest": newest.then_some("true"),
            title: "{title}",
            {label.unwrap_or(token.text)}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    fn token(index: usize, text: &str, channel: Option<&str>, part: &str) -> StreamToken {
        StreamToken {
            index,
            id: 1000 + index as u32,
            text: text.into(),
            channel: channel.map(Into::into),
            part: part.into(),
        }
    }

    #[test]
    fn channels_apart_whitespace_labelled_newest_marked() {
        let html = render_to_string(|| {
            rsx! {
                TokenStream {
                    live: true,
                    tokens: vec![
                        token(0, "<|channel|>", None, "header"),
                        token(1, "Think", Some("analysis"), "content"),
                        token(2, " ", Some("analysis"), "content"),
                        token(3, "<|end|>", Some("analysis"), "end"),
                        token(4, "Paris", Some("final"), "content"),
                        token(5, "\n", Some("final"), "content"),
                    ],
                }
            }
        });
        assert_snapshot("token_stream/snapshots/channels.html", &html);
        assert_eq!(html.matches(r#"class="hud-stream-run""#).count(), 3, "{html}");
        assert!(html.contains(r#"data-whitespace="true""#), "{html}");
        assert!(html.contains(">␣<") && html.contains(">⏎<"), "{html}");
        assert_eq!(html.matches(r#"data-newest="true""#).count(), 1, "{html}");
        assert_eq!(html.matches("hud-stream-cursor").count(), 1, "{html}");
        // Format tokens from the model are shown as text.
        assert!(html.contains("&#60;|channel|&#62;"), "{html}");
    }

    #[test]
    fn markup_in_model_output_stays_text() {
        let html = render_to_string(|| {
            rsx! { TokenStream { tokens: vec![token(0, "<script>alert(1)</script>", Some("final"), "content")] } }
        });
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("hud-stream-cursor"), "{html}");
    }

    #[test]
    fn empty_and_idle() {
        let html = render_to_string(|| rsx! { TokenStream { tokens: vec![] } });
        assert!(html.contains("no tokens yet"), "{html}");
    }
}
