use dioxus::prelude::*;

/// # ToolCallCard
///
/// A function call the model made: the tool, its arguments and their constraint type. No tool runs in the
/// browser: while the call waits, the card has a box for its output, which `onresult` receives (the chat gives it
/// to the model as the tool's message); an answered call shows its output.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::ToolCallCard;
///
/// fn Call() -> Element {
///     rsx! {
///         ToolCallCard {
///             tool: "functions.get_weather",
///             arguments: r#"{"location":"SF"}"#.to_string(),
///             constraint: Some("<|constrain|>json".to_string()),
///             onresult: move |output: String| println!("{output}"),
///         }
///     }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-tool-call[data-state="waiting" | "answered"]`
/// - `.hud-tool-call-name`, `.hud-tool-call-constraint`, `.hud-tool-call-arguments`, `.hud-tool-call-output`
/// - `textarea.hud-tool-call-input` and the submit button while waiting
#[component]
pub fn ToolCallCard(
    /// The recipient, `functions.NAME`.
    tool: String,
    arguments: String,
    /// The content type of the arguments (`<|constrain|>json`), if the model gave one.
    constraint: Option<String>,
    /// The tool's output, once given.
    output: Option<String>,
    /// Receives the typed output while the call waits.
    onresult: Option<EventHandler<String>>,
    #[props(default)] disabled: bool,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let mut typed = use_signal(String::new);
    let constraint = constraint.map(|c| c.replace("<|constrain|>", "constrain: ")).unwrap_or_else(|| "text".into());
    let state = if output.is_some() { "answered" } else { "waiting" };
    let body = match output {
        Some(output) => rsx! { pre { class: "hud-tool-call-output", "→ " {output} } },
        None => rsx! {
            textarea {
                class: "hud-tool-call-input",
                placeholder: "the tool's output",
                value: typed(),
                disabled,
                oninput: move |e| typed.set(e.value()),
            }
            button {
                class: "hud-tool-call-submit",
                r#type: "button",
                disabled: disabled || typed().trim().is_empty(),
                onclick: move |_| {
                    if let Some(handler) = &onresult {
                        handler.call(typed());
                    }
                    typed.set(String::new());
                },
                "RETURN OUTPUT"
            }
        },
    };
    rsx! {
        document::Stylesheet { href: asset!("/src/tool_call_card/style.css") }
        div {
            class: "hud-tool-call",
            "data-state": state,
            ..attributes,
            div {
                span { class: "hud-tool-call-name", "CALL " {tool} }
                span { class: "hud-tool-call-constraint", {constraint} }
            }
            pre { class: "hud-tool-call-arguments", {arguments} }
            {body}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn waiting_and_answered_calls() {
        let html = render_to_string(|| {
            rsx! {
                ToolCallCard { tool: "functions.get_weather", arguments: r#"{"location":"SF"}"#.to_string(),
                    constraint: Some("<|constrain|>json".to_string()) }
                ToolCallCard { tool: "functions.get_time", arguments: "{}".to_string(), output: Some("12:00".to_string()) }
            }
        });
        assert_snapshot("tool_call_card/snapshots/calls.html", &html);
        assert!(html.contains("data-state=\"waiting\"") && html.contains("data-state=\"answered\""), "{html}");
        assert!(html.contains("constrain: json"), "{html}");
    }
}
