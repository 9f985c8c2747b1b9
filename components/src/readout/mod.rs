use dioxus::prelude::*;

use crate::tone::Tone;

/// # Readout
///
/// One labelled line of instrument output: a fixed-width label, then the value in the colour of its [`Tone`].
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{Readout, Tone};
///
/// fn SelfTest() -> Element {
///     rsx! {
///         Readout { label: "SELF-TEST", tone: Tone::Done, "1024 elements verified" }
///     }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-readout[data-tone="data" | "pending" | "warning" | "done" | "error"]`
/// - `.hud-readout-label`, `.hud-readout-value`
/// - `--hud-readout-label-width` (default `12ch`)
#[component]
pub fn Readout(
    /// The fixed-width label at the left, upper case by convention.
    label: String,
    #[props(default)] tone: Tone,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
    children: Element,
) -> Element {
    rsx! {
        document::Stylesheet { href: asset!("/src/readout/style.css") }
        div {
            class: "hud-readout",
            role: "status",
            "data-tone": tone.as_str(),
            ..attributes,
            span { class: "hud-readout-label", {label} }
            span { class: "hud-readout-value", {children} }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::render_to_string;

    #[test]
    fn renders_label_value_and_tone() {
        let html = render_to_string(|| {
            rsx! {
                Readout { label: "SELF-TEST", tone: Tone::Done, "data-checksum": "42", "ok" }
            }
        });
        assert_eq!(
            html,
            concat!(
                r#"<div class="hud-readout" role="status" data-tone="done" data-checksum="42">"#,
                r#"<span class="hud-readout-label">SELF-TEST</span>"#,
                r#"<span class="hud-readout-value">ok</span></div>"#,
            )
        );
    }

    #[test]
    fn tone_defaults_to_data() {
        let html = render_to_string(|| rsx! { Readout { label: "MODEL", "none" } });
        assert!(html.contains(r#"data-tone="data""#), "{html}");
    }
}
