//! Charts: plain data in, plotters drawing out. The same `draw` paints a `<canvas>` in the browser
//! (plotters-canvas) and writes SVG natively (plotters' SVG backend), so the snapshot tests check the very
//! drawing code the page runs.

use dioxus::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{HeatmapData, KvFillData, SparklineData, WaterfallData};

/// What a drawing function returns.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The HUD's colours (assets/hud.css) for drawing.
pub mod palette {
    use plotters::style::RGBColor;

    pub const BACKGROUND: RGBColor = RGBColor(5, 8, 10);
    /// An empty cell or track: a shade above the background.
    pub const TRACK: RGBColor = RGBColor(14, 26, 31);
    pub const DATA: RGBColor = RGBColor(127, 211, 229);
    pub const DIM: RGBColor = RGBColor(79, 135, 147);
    pub const WARNING: RGBColor = RGBColor(255, 153, 0);
    pub const DONE: RGBColor = RGBColor(0, 255, 136);
    /// The backdrop of a resident expert.
    pub const RESIDENT: RGBColor = RGBColor(8, 52, 38);
    const HOT: RGBColor = RGBColor(240, 253, 255);

    fn lerp(a: RGBColor, b: RGBColor, t: f32) -> RGBColor {
        let mix = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// Intensity 0–1 from the track colour through `mid` to near-white.
    pub fn ramp(mid: RGBColor, t: f32) -> RGBColor {
        let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
        if t < 0.6 {
            lerp(TRACK, mid, t / 0.6)
        } else {
            lerp(mid, HOT, (t - 0.6) / 0.4)
        }
    }
}

/// Every chart the HUD draws.
#[derive(Clone, Debug, PartialEq)]
pub enum Chart {
    Sparkline(SparklineData),
    Heatmap(HeatmapData),
    Waterfall(WaterfallData),
    KvFill(KvFillData),
}

impl Chart {
    /// Draws onto any plotters area (a canvas, an SVG document).
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        area.fill(&palette::BACKGROUND)?;
        match self {
            Chart::Sparkline(d) => crate::sparkline::draw(d, area),
            Chart::Heatmap(d) => crate::heatmap::draw(d, area),
            Chart::Waterfall(d) => crate::waterfall::draw(d, area),
            Chart::KvFill(d) => crate::kv_fill::draw(d, area),
        }
    }

    /// The chart as an SVG document of `width × height` pixels.
    pub fn to_svg(&self, width: u32, height: u32) -> Result<String, String> {
        let mut svg = String::new();
        {
            let area = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            self.draw(&area).map_err(|e| e.to_string())?;
            area.present().map_err(|e| e.to_string())?;
        }
        Ok(svg)
    }
}

/// # ChartCanvas
///
/// A `<canvas>` that [`Chart::draw`] paints whenever the chart changes. Server-side it renders the empty element
/// (use [`Chart::to_svg`] for a picture there).
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{Chart, ChartCanvas, SparklineData};
///
/// fn Entropy() -> Element {
///     let chart = Chart::Sparkline(SparklineData { values: vec![2.0, 3.5, 1.0], max: None });
///     rsx! { ChartCanvas { chart, width: 320, height: 60, label: "entropy per token" } }
/// }
/// ```
///
/// ## Styling
///
/// - `canvas.hud-chart-canvas` with `role="img"` and `aria-label`; drawn at `width × height` pixels and scaled to
///   its box by CSS (`max-width: 100%`)
#[component]
pub fn ChartCanvas(
    chart: Chart,
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

/// Paints the canvas once it is mounted and again whenever `chart` changes.
#[cfg(target_arch = "wasm32")]
fn use_painter(chart: Chart) -> impl FnMut(MountedEvent) + 'static {
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
fn paint(canvas: &web_sys::HtmlCanvasElement, chart: &Chart) {
    let Some(backend) = plotters_canvas::CanvasBackend::with_canvas_object(canvas.clone()) else {
        web_sys::console::error_1(&"chart: the canvas has no 2D context".into());
        return;
    };
    let area = backend.into_drawing_area();
    if let Err(e) = chart.draw(&area).and_then(|()| area.present()) {
        web_sys::console::error_1(&format!("chart: drawing failed: {e}").into());
    }
}

/// Natively (server-side rendering, tests) there is no canvas to paint.
#[cfg(not(target_arch = "wasm32"))]
fn use_painter(_chart: Chart) -> impl FnMut(MountedEvent) + 'static {
    |_event: MountedEvent| {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canvas_renders_empty_server_side() {
        let html = crate::render_to_string(|| {
            rsx! {
                ChartCanvas {
                    chart: Chart::Sparkline(SparklineData { values: vec![1.0, 2.0], max: None }),
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
    fn ramp_runs_from_track_to_hot() {
        assert_eq!(palette::ramp(palette::DATA, 0.0), palette::TRACK);
        assert_eq!(palette::ramp(palette::DATA, 0.6), palette::DATA);
        assert_eq!(palette::ramp(palette::DATA, 1.0), RGBColor(240, 253, 255));
        assert_eq!(palette::ramp(palette::DATA, f32::NAN), palette::TRACK);
    }
}
