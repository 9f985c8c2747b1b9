use dioxus::prelude::*;

/// # ChatMessage
///
/// One message of a chat. Analysis (the model's chain of thought) is a collapsible block, open while it is the
/// newest message, so that it reads apart from the answer below it; other messages are a labelled block of text.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::ChatMessage;
///
/// fn Answer() -> Element {
///     rsx! {
///         ChatMessage { author: "assistant", channel: Some("analysis".to_string()), text: "Simple sum." }
///         ChatMessage { author: "assistant", channel: Some("final".to_string()), text: "4" }
///     }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-chat-message[data-author="user" | "assistant" | …][data-channel="analysis" | "final" | …]`
/// - `details.hud-chat-analysis` with `summary.hud-chat-label` (analysis), `.hud-chat-label` otherwise
/// - `.hud-chat-text`: the text, whitespace kept
#[component]
pub fn ChatMessage(
    /// `user`, `assistant`, or a tool's name.
    author: String,
    channel: Option<String>,
    text: String,
    /// An analysis block starts open (the newest thinking) or closed.
    #[props(default)]
    open: bool,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let label = match &channel {
        Some(channel) => format!("{author} · {channel}"),
        None => author.clone(),
    };
    let analysis = channel.as_deref() == Some("analysis");
    rsx! {
        document::Stylesheet { href: asset!("/src/chat_message/style.css") }
        div {
            class: "hud-chat-message",
            "data-author": author,
            "data-channel": channel.clone().unwrap_or_default(),
            ..attributes,
            if analysis {
                details { class: "hud-chat-analysis", open,
                    summary { class: "hud-chat-label", {label} }
                    div { class: "hud-chat-text", {text} }
                }
            } else {
                div { class: "hud-chat-label", {label} }
                div { class: "hud-chat-text", {text} }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn analysis_collapses_apart_from_the_answer() {
        let html = render_to_string(|| {
            rsx! {
                ChatMessage { author: "user", text: "What is 2 + 2?" }
                ChatMessage { author: "assistant", channel: Some("analysis".to_string()), text: "<b>sum</b>" }
                ChatMessage { author: "assistant", channel: Some("final".to_string()), text: "4" }
            }
        });
        assert_snapshot("chat_message/snapshots/messages.html", &html);
        assert!(html.contains("<details class=\"hud-chat-analysis\""), "{html}");
        assert!(html.contains("&#60;b&#62;sum"), "model text is text, not markup: {html}");
    }
}
