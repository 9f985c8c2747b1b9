use dioxus::prelude::*;

/// # ContextBar
///
/// How much of the context window a conversation fills, and how much of the last prompt came from the KV cache.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::ContextBar;
///
/// fn Used() -> Element {
///     rsx! { ContextBar { used: 300, window: 4096, reused: 280, prompt: 290 } }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-context-bar[data-used][data-window][data-reused][data-prompt][data-full="true" | "false"]`
/// - `.hud-context-bar-track` with `.hud-context-bar-fill` (width: the used share), `.hud-context-bar-label`
#[component]
pub fn ContextBar(
    used: usize,
    window: usize,
    /// Of the last prompt's tokens, those taken from the cache.
    #[props(default)]
    reused: usize,
    #[props(default)] prompt: usize,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let share = if window == 0 { 0.0 } else { (used as f64 / window as f64).min(1.0) };
    let label = if window == 0 {
        "no model loaded".to_string()
    } else if prompt > 0 {
        format!(
            "{used} / {window} positions · last prompt {prompt} tokens, {reused} reused, {} prefilled",
            prompt.saturating_sub(reused)
        )
    } else {
        format!("{used} / {window} positions")
    };
    let width = format!("width: {:.1}%", share * 100.0);
    rsx! {
        document::Stylesheet { href: asset!("/src/context_bar/style.css") }
        div {
            class: "hud-context-bar",
            "data-used": used,
            "data-window": window,
            "data-reused": reused,
            "data-prompt": prompt,
            "data-full": (window > 0 && used >= window).to_string(),
            ..attributes,
            div { class: "hud-context-bar-track",
                div { class: "hud-context-bar-fill", style: width }
            }
            span { class: "hud-context-bar-label", {label} }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn share_of_the_window_and_the_reused_prompt() {
        let html = render_to_string(|| {
            rsx! {
                ContextBar { used: 1024, window: 4096, reused: 900, prompt: 1000 }
                ContextBar { used: 0, window: 0 }
            }
        });
        assert_snapshot("context_bar/snapshots/bars.html", &html);
        assert!(html.contains("width: 25.0%"), "{html}");
        assert!(html.contains("900 reused, 100 prefilled"), "{html}");
    }

    #[test]
    fn more_reused_than_the_prompt_holds_is_no_panic() {
        let html = render_to_string(|| rsx! { ContextBar { used: 10, window: 64, reused: 12, prompt: 8 } });
        assert!(html.contains("8 tokens, 12 reused, 0 prefilled"), "{html}");
    }
}
