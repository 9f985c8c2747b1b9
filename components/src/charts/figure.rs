//! Where a chart is shown: a canvas painted from its [`Draw`] data, inside a captioned figure.

use dioxus::prelude::*;

use super::draw::Draw;

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

/// Paints the canvas once it is mounted and again whenever `chart` changes.
#[cfg(target_arch = "wasm32")]
fn use_painter<T: Draw + Clone + PartialEq + 'static>(chart: T) -> impl FnMut(MountedEvent) + 'static {
    use wasm_bindgen::JsCast;
    let mut canvas = use_signal(|| None::<web_sys::HtmlCanvasElement>);
    use_effect(use_reactive(&chart, move |chart| {
        if let Some(canvas) = &*canvas.read() {
            paint(canvas, &chart);
        }
    }));
    move |event: MountedEvent| {
        let element = event.data().downcast::<web_sys::Element>().cloned();
        canvas.set(element.and_then(|e| e.dyn_into::<web_sys::HtmlCanvasElement>().ok()));
    }
}

#[cfg(target_arch = "wasm32")]
fn paint<T: Draw>(canvas: &web_sys::HtmlCanvasElement, chart: &T) {
    let Some(backend) = plotters_canvas::CanvasBackend::with_canvas_object(canvas.clone()) else {
        web_sys::console::error_1(&"chart: the canvas has no 2D context".into());
        return;
    };
    if let Err(e) = super::draw::paint(chart, &plotters::prelude::IntoDrawingArea::into_drawing_area(backend)) {
        web_sys::console::error_1(&format!("chart: drawing failed: {e}").into());
    }
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
