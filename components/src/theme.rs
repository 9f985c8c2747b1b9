use dioxus::prelude::*;

/// # Theme
///
/// Links the HUD theme: the CSS variables every component's stylesheet reads, declared on `:root` with no
/// specificity, so an app overrides any of them with its own `:root` rule. The components render without it
/// (each stylesheet falls back to the same values); link it once to style the page around them the same way.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{Readout, Theme, Tone};
///
/// fn App() -> Element {
///     rsx! {
///         Theme {}
///         // A warmer primary colour for this app.
///         document::Style { ":root {{ --hud-data: #ffd27f; }}" }
///         Readout { label: "STATUS", tone: Tone::Data, "ready" }
///     }
/// }
/// ```
///
/// ## Styling
///
/// - `--hud-bg`, `--hud-grid-dot`: page background and its dot grid
/// - `--hud-data` (primary data), `--hud-dim` (labels, pending), `--hud-warning`, `--hud-done`, `--hud-error`: the
///   colours of the [`Tone`](crate::Tone)s
/// - `--hud-text`: body text; `--hud-font`: the monospace face
/// - `--hud-track` (an empty chart cell), `--hud-resident` (a resident expert's backdrop): chart colours only
///
/// Charts read these variables where their canvas is shown, before each paint (see [`Palette`](crate::Palette)):
/// in hex or `rgb()` notation they recolour the pixels too.
#[component]
pub fn Theme() -> Element {
    rsx! { document::Stylesheet { href: asset!("/src/theme.css") } }
}
