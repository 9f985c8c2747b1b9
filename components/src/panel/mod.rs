use dioxus::prelude::*;

/// # Panel
///
/// A HUD frame: a titled section with corner brackets drawn at its four corners. Everything on the page sits in
/// one.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::Panel;
///
/// fn Device() -> Element {
///     rsx! {
///         Panel { title: "DEVICE", "adapter details go here" }
///     }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-panel`: the frame; `data-panel` carries the title in lower case for tests and CSS hooks.
/// - `.hud-panel-title`: the title bar.
/// - `.hud-panel-corner[data-corner="tl" | "tr" | "bl" | "br"]`: the four brackets.
/// - `--hud-panel-bracket` (length, default `14px`) and `--hud-panel-bracket-color` (default `var(--hud-data)`).
#[component]
pub fn Panel(
    /// Shown in the title bar, upper case by convention.
    title: String,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
    children: Element,
) -> Element {
    rsx! {
        document::Stylesheet { href: asset!("/src/panel/style.css") }
        section {
            class: "hud-panel",
            "data-panel": title.to_lowercase(),
            ..attributes,
            for corner in ["tl", "tr", "bl", "br"] {
                span { class: "hud-panel-corner", "data-corner": corner, "aria-hidden": "true" }
            }
            h2 { class: "hud-panel-title", "{title}" }
            div { class: "hud-panel-body", {children} }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::render_to_string;

    #[test]
    fn renders_title_corners_and_children() {
        let html = render_to_string(|| {
            rsx! {
                Panel { title: "DEVICE", id: "device", p { "inside" } }
            }
        });
        assert_eq!(
            html,
            concat!(
                r#"<section class="hud-panel" data-panel="device" id="device">"#,
                r#"<span class="hud-panel-corner" data-corner="tl" aria-hidden="true"></span>"#,
                r#"<span class="hud-panel-corner" data-corner="tr" aria-hidden="true"></span>"#,
                r#"<span class="hud-panel-corner" data-corner="bl" aria-hidden="true"></span>"#,
                r#"<span class="hud-panel-corner" data-corner="br" aria-hidden="true"></span>"#,
                r#"<h2 class="hud-panel-title">DEVICE</h2>"#,
                r#"<div class="hud-panel-body"><p>inside</p></div></section>"#,
            )
        );
    }
}
