use dioxus::prelude::*;

/// # Button
///
/// A HUD command button. Hover and press are tracked from pointer events so that CSS and tests read every state
/// from data attributes; a busy button shows a running stripe and ignores clicks until its work ends.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::Button;
///
/// fn LoadModel() -> Element {
///     let mut busy = use_signal(|| false);
///     rsx! {
///         Button { busy: busy(), onclick: move |_| busy.set(true), "LOAD MODEL" }
///     }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-button[data-state="idle" | "busy" | "disabled"]`: busy wins over disabled; both set the `disabled`
///   attribute, and busy sets `aria-busy="true"`.
/// - `[data-hovered="true"]` while the pointer is over it, `[data-pressed="true"]` while it is held down.
/// - `.hud-button-label` (the children), `.hud-button-stripe` (the busy indicator).
/// - `--hud-button-color` (default `var(--hud-data)`): frame and text colour.
#[component]
pub fn Button(
    /// Work started by this button is running: the button shows it and takes no clicks.
    #[props(default)]
    busy: bool,
    /// The button cannot be used now (say, WebGPU is not ready).
    #[props(default)]
    disabled: bool,
    onclick: Option<EventHandler<MouseEvent>>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
    children: Element,
) -> Element {
    let mut hovered = use_signal(|| false);
    let mut pressed = use_signal(|| false);
    let state = if busy {
        "busy"
    } else if disabled {
        "disabled"
    } else {
        "idle"
    };
    let inert = busy || disabled;
    rsx! {
        document::Stylesheet { href: asset!("/src/button/style.css") }
        button {
            class: "hud-button",
            r#type: "button",
            disabled: inert,
            "aria-busy": busy,
            "data-state": state,
            "data-hovered": hovered() && !inert,
            "data-pressed": pressed() && !inert,
            onpointerenter: move |_| hovered.set(true),
            onpointerleave: move |_| {
                hovered.set(false);
                pressed.set(false);
            },
            onpointerdown: move |_| pressed.set(true),
            onpointerup: move |_| pressed.set(false),
            onclick: move |event| {
                if let Some(handler) = onclick {
                    if !inert {
                        handler.call(event);
                    }
                }
            },
            ..attributes,
            span { class: "hud-button-label", {children} }
            if busy {
                span { class: "hud-button-stripe", "aria-hidden": "true" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::render_to_string;

    #[test]
    fn idle_button_is_enabled() {
        let html = render_to_string(|| rsx! { Button { id: "load", "LOAD MODEL" } });
        assert_eq!(
            html,
            concat!(
                r#"<button class="hud-button" type="button" aria-busy=false data-state="idle" "#,
                r#"data-hovered=false data-pressed=false id="load">"#,
                r#"<span class="hud-button-label">LOAD MODEL</span></button>"#,
            )
        );
    }

    #[test]
    fn disabled_button_is_inert() {
        let html = render_to_string(|| rsx! { Button { disabled: true, "LOAD MODEL" } });
        assert!(html.contains(r#"disabled=true"#), "{html}");
        assert!(html.contains(r#"data-state="disabled""#), "{html}");
        assert!(!html.contains("hud-button-stripe"), "{html}");
    }

    #[test]
    fn busy_wins_over_disabled_and_shows_the_stripe() {
        let html = render_to_string(|| rsx! { Button { busy: true, disabled: true, "LOAD MODEL" } });
        assert!(html.contains(r#"data-state="busy""#), "{html}");
        assert!(html.contains(r#"aria-busy=true"#), "{html}");
        assert!(html.contains(r#"disabled=true"#), "{html}");
        assert!(html.contains(r#"<span class="hud-button-stripe" aria-hidden="true"></span>"#), "{html}");
    }
}
