//! Where a chart is shown: a canvas painted from its [`Draw`] data, inside a captioned figure.

use dioxus::prelude::*;

use super::draw::Draw;
#[cfg(target_arch = "wasm32")]
use super::palette::Palette;

/// # ChartCanvas
///
/// A `<canvas>` that its chart's [`Draw`] paints whenever the chart changes. Server-side it renders the empty
/// element (use [`Draw::to_svg`] for a picture there).
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{ChartCanvas, SparklineData};
///
/// fn Entropy() -> Element {
///     let chart = SparklineData { values: vec![2.0, 3.5, 1.0], max: None };
///     rsx! { ChartCanvas { chart, width: 320, height: 60, label: "entropy per token" } }
/// }
/// ```
///
/// ## Styling
///
/// - `canvas.hud-chart-canvas` with `role="img"` and `aria-label`; drawn at `width × height` pixels and scaled to
///   its box by CSS (`max-width: 100%`)
#[component]
pub fn ChartCanvas<T: Draw + Clone + PartialEq + 'static>(
    chart: T,
    width: u32,
    height: u32,
    /// What the picture shows, for screen readers.
    #[props(default)]
    label: String,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let onmounted = use_painter(chart);
    rsx! {
        canvas {
            class: "hud-chart-canvas",
            width: width.to_string(),
            height: height.to_string(),
            role: "img",
            "aria-label": label,
            onmounted,
            ..attributes,
        }
    }
}

/// # ChartFigure
///
/// The figure every chart of this crate is shown in: its [`ChartCanvas`] above a caption, or, when the data does
/// not exist, the reason instead of the canvas. Use it to show a chart of your own: implement [`Draw`] for its data.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{ChartFigure, SparklineData};
///
/// fn Loss() -> Element {
///     let chart = SparklineData { values: vec![2.4, 1.9, 1.7], max: None };
///     rsx! { ChartFigure { kind: "loss", chart, width: 320, height: 60, caption: "LOSS · 1.70" } }
/// }
/// ```
///
/// ## Styling
///
/// - `figure.hud-chart[data-chart=<kind>][data-available="true" | "false"]`
/// - `.hud-chart-unavailable` (the reason, when unavailable); `figcaption.hud-chart-caption`
#[component]
pub fn ChartFigure<T: Draw + Clone + PartialEq + 'static>(
    /// Which chart this is (`data-chart`).
    kind: String,
    chart: T,
    width: u32,
    height: u32,
    caption: String,
    /// What the canvas shows, for screen readers; the caption when empty.
    #[props(default)]
    label: String,
    /// Why there is nothing to draw; shown instead of the canvas.
    #[props(default)]
    unavailable: Option<String>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let label = if label.is_empty() { caption.clone() } else { label };
    let available = unavailable.is_none().to_string();
    rsx! {
        document::Stylesheet { href: asset!("/src/charts/style.css") }
        figure {
            class: "hud-chart",
            "data-chart": kind,
            "data-available": available,
            ..attributes,
            match unavailable {
                Some(reason) => rsx! { div { class: "hud-chart-unavailable", {reason} } },
                None => rsx! { ChartCanvas { chart, width, height, label } },
            }
            figcaption { class: "hud-chart-caption", {caption} }
        }
    }
}

/// Paints the canvas once it is mounted, again whenever `chart` changes, and again when a stylesheet finishes
/// loading. The theme's colours are read at the first paint and again when a stylesheet loads (it may change
/// them), not at every paint: each read has the browser compute the page's style (profiled on the SwiftShader
/// machine: 65 ms of the page's 487 ms of script over a generation's 44 HUD repaints).
#[cfg(target_arch = "wasm32")]
fn use_painter<T: Draw + Clone + PartialEq + 'static>(chart: T) -> impl FnMut(MountedEvent) + 'static {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;
    use wasm_bindgen::JsCast;
    let mut canvas = use_signal(|| None::<web_sys::HtmlCanvasElement>);
    // What the canvas shows now, for the repaint when a stylesheet loads.
    let shown = use_hook(|| Rc::new(RefCell::new(None::<(web_sys::HtmlCanvasElement, T)>)));
    let palette = use_hook(|| Rc::new(Cell::new(None::<Palette>)));
    use_hook({
        let (shown, palette) = (shown.clone(), palette.clone());
        move || {
            Rc::new(StylesheetWatch::new(move || {
                if let Some((canvas, chart)) = &*shown.borrow() {
                    let colours = theme_palette(canvas);
                    palette.set(Some(colours));
                    paint(canvas, chart, &colours);
                }
            }))
        }
    });
    use_effect(use_reactive(&chart, move |chart| {
        if let Some(canvas) = &*canvas.read() {
            let colours = palette.get().unwrap_or_else(|| theme_palette(canvas));
            palette.set(Some(colours));
            paint(canvas, &chart, &colours);
            *shown.borrow_mut() = Some((canvas.clone(), chart));
        }
    }));
    move |event: MountedEvent| {
        let element = event.data().downcast::<web_sys::Element>().cloned();
        canvas.set(element.and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok()));
    }
}

/// Calls its function whenever a `<link>` (a stylesheet) of the document finishes loading, until dropped.
#[cfg(target_arch = "wasm32")]
struct StylesheetWatch(Option<wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>>);

#[cfg(target_arch = "wasm32")]
impl StylesheetWatch {
    fn new(on_load: impl Fn() + 'static) -> StylesheetWatch {
        use wasm_bindgen::JsCast;
        let listener =
            wasm_bindgen::closure::Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                let target = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok());
                if target.is_some_and(|e| e.tag_name().eq_ignore_ascii_case("link")) {
                    on_load();
                }
            });
        // `load` does not bubble: listen in the capture phase, where every element's reaches the document.
        let added = web_sys::window()
            .and_then(|w| w.document())
            .map(|d| d.add_event_listener_with_callback_and_bool("load", listener.as_ref().unchecked_ref(), true));
        match added {
            Some(Ok(())) => StylesheetWatch(Some(listener)),
            _ => {
                web_sys::console::warn_1(&"chart: cannot watch stylesheets load; a late theme will not repaint".into());
                StylesheetWatch(None)
            }
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl Drop for StylesheetWatch {
    fn drop(&mut self) {
        use wasm_bindgen::JsCast;
        let (Some(listener), Some(document)) = (&self.0, web_sys::window().and_then(|w| w.document())) else {
            return;
        };
        let _ = document.remove_event_listener_with_callback_and_bool("load", listener.as_ref().unchecked_ref(), true);
    }
}

#[cfg(target_arch = "wasm32")]
fn paint<T: Draw>(canvas: &web_sys::HtmlCanvasElement, chart: &T, palette: &Palette) {
    let Some(backend) = plotters_canvas::CanvasBackend::with_canvas_object(canvas.clone()) else {
        web_sys::console::error_1(&"chart: the canvas has no 2D context".into());
        return;
    };
    let area = plotters::prelude::IntoDrawingArea::into_drawing_area(backend);
    if let Err(e) = super::draw::paint(chart, &area, palette) {
        web_sys::console::error_1(&format!("chart: drawing failed: {e}").into());
    }
}

/// The theme's colours where `canvas` is shown. A variable whose value this cannot read as a colour is drawn in
/// the default theme's colour, and said once in the console.
#[cfg(target_arch = "wasm32")]
fn theme_palette(canvas: &web_sys::Element) -> Palette {
    use std::sync::atomic::{AtomicBool, Ordering};
    static WARNED: AtomicBool = AtomicBool::new(false);
    let style = web_sys::window().and_then(|w| w.get_computed_style(canvas).ok().flatten());
    let Some(style) = style else { return Palette::DEFAULT };
    let (palette, unread) = Palette::from_variables(|name| style.get_property_value(name).ok());
    if !unread.is_empty() && !WARNED.swap(true, Ordering::Relaxed) {
        let message =
            format!("chart: {} not in hex or rgb() notation; drawn in the default theme's colour", unread.join(", "));
        web_sys::console::warn_1(&message.into());
    }
    palette
}

/// Natively (server-side rendering, tests) there is no canvas to paint.
#[cfg(not(target_arch = "wasm32"))]
fn use_painter<T>(_chart: T) -> impl FnMut(MountedEvent) + 'static {
    |_event: MountedEvent| {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::sparkline::SparklineData;
    use crate::testing::render_to_string;

    #[test]
    fn canvas_renders_empty_server_side() {
        let html = render_to_string(|| {
            rsx! {
                ChartCanvas {
                    chart: SparklineData { values: vec![1.0, 2.0], max: None },
                    width: 200,
                    height: 40,
                    label: "entropy",
                }
            }
        });
        assert_eq!(
            html,
            r#"<canvas class="hud-chart-canvas" width="200" height="40" role="img" aria-label="entropy"></canvas>"#
        );
    }

    #[test]
    fn figure_shows_the_reason_instead_of_the_canvas() {
        let html = render_to_string(|| {
            rsx! {
                ChartFigure {
                    kind: "loss",
                    chart: SparklineData::default(),
                    width: 200,
                    height: 40,
                    caption: "LOSS",
                    unavailable: Some("no run yet".to_string()),
                    "data-count": "0",
                }
            }
        });
        assert_eq!(
            html,
            concat!(
                r#"<figure class="hud-chart" data-chart="loss" data-available="false" data-count="0">"#,
                r#"<div class="hud-chart-unavailable">no run yet</div>"#,
                r#"<figcaption class="hud-chart-caption">LOSS</figcaption></figure>"#,
            )
        );
    }
}
