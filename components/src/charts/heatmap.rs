use dioxus::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{Draw, DrawResult};
use super::figure::ChartFigure;
use super::palette::Palette;

/// Which colour a heatmap's intensity runs through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeatPalette {
    /// Cyan: weights and probabilities.
    #[default]
    Data,
    /// Amber: counts (hits).
    Warm,
}

/// A rows × columns grid of intensities.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeatmapData {
    pub rows: usize,
    pub cols: usize,
    /// Row-major, `rows × cols` values ≥ 0; drawn relative to the largest. Missing values count as 0.
    pub values: Vec<f32>,
    /// Cells outlined (row, column): say, the experts the newest token chose.
    pub marked: Vec<(usize, usize)>,
    /// Cells drawn on a green backdrop where their value is 0: resident experts not hit yet. Empty = none.
    pub resident: Vec<bool>,
    pub palette: HeatPalette,
}

const MARGIN: i32 = 2;

impl Draw for HeatmapData {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, palette: &Palette) -> DrawResult<DB> {
        let data = self;
        if data.rows == 0 || data.cols == 0 {
            return Ok(());
        }
        let (w, h) = area.dim_in_pixel();
        let cell_w = (w as i32 - 2 * MARGIN) as f32 / data.cols as f32;
        let cell_h = (h as i32 - 2 * MARGIN) as f32 / data.rows as f32;
        // A one-pixel gap between cells when they are big enough to spare it.
        let gap = |size: f32| i32::from(size >= 4.0);
        let max = data.values.iter().cloned().filter(|v| v.is_finite()).fold(0.0f32, f32::max);
        let mid = match data.palette {
            HeatPalette::Data => palette.data,
            HeatPalette::Warm => palette.warning,
        };
        let cell = |r: usize, c: usize| {
            let x0 = MARGIN + (c as f32 * cell_w).round() as i32;
            let y0 = MARGIN + (r as f32 * cell_h).round() as i32;
            let x1 = MARGIN + ((c + 1) as f32 * cell_w).round() as i32 - gap(cell_w);
            let y1 = MARGIN + ((r + 1) as f32 * cell_h).round() as i32 - gap(cell_h);
            [(x0, y0), (x1.max(x0 + 1), y1.max(y0 + 1))]
        };
        for r in 0..data.rows {
            for c in 0..data.cols {
                let i = r * data.cols + c;
                let v = data.values.get(i).copied().filter(|v| v.is_finite()).unwrap_or(0.0).max(0.0);
                let colour = if v > 0.0 && max > 0.0 {
                    palette.ramp(mid, v / max)
                } else if data.resident.get(i).copied().unwrap_or(false) {
                    palette.resident
                } else {
                    palette.track
                };
                area.draw(&Rectangle::new(cell(r, c), colour.filled()))?;
            }
        }
        for &(r, c) in &data.marked {
            if r < data.rows && c < data.cols {
                area.draw(&Rectangle::new(cell(r, c), palette.done.stroke_width(1)))?;
            }
        }
        Ok(())
    }
}

/// # Heatmap
///
/// A rows × columns intensity grid (layers × experts routing, expert residency and hits, attention weights)
/// with a caption naming its axes. When the data does not exist it says why instead of drawing anything.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{Heatmap, HeatmapData};
///
/// fn Routing() -> Element {
///     let data = HeatmapData { rows: 2, cols: 4, values: vec![0.6, 0.0, 0.4, 0.0, 0.0, 1.0, 0.0, 0.0],
///                              ..Default::default() };
///     rsx! { Heatmap { data, label: "ROUTING", rows_label: "layer", cols_label: "expert" } }
/// }
/// ```
///
/// ## Styling
///
/// - a [`ChartFigure`] with `data-chart="heatmap"`, `data-rows` and `data-cols`
#[component]
pub fn Heatmap(
    data: HeatmapData,
    label: String,
    rows_label: String,
    cols_label: String,
    /// Why there is nothing to draw; shown instead of the chart.
    #[props(default)]
    unavailable: Option<String>,
    #[props(default = 480)] width: u32,
    #[props(default = 240)] height: u32,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let caption = format!("{label} · {} {rows_label} × {} {cols_label}", data.rows, data.cols);
    let mut attributes = attributes;
    attributes.push(Attribute::new("data-rows", data.rows.to_string(), None, false));
    attributes.push(Attribute::new("data-cols", data.cols.to_string(), None, false));
    rsx! {
        ChartFigure {
            kind: "heatmap",
            chart: data,
            width,
            height,
            caption,
            unavailable,
            attributes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    fn routing() -> HeatmapData {
        // 3 layers × 4 experts; the newest token chose experts 2 and 0 in layer 0, 1 and 3 in layer 1, …
        HeatmapData {
            rows: 3,
            cols: 4,
            values: vec![0.25, 0.0, 0.75, 0.0, 0.0, 0.5, 0.0, 0.5, 1.0, 0.0, 0.0, 0.0],
            marked: vec![(0, 2), (1, 1), (2, 0)],
            resident: vec![],
            palette: HeatPalette::Data,
        }
    }

    #[test]
    fn routing_grid_as_svg() {
        let svg = routing().to_svg(84, 36, &Palette::DEFAULT).unwrap();
        assert_snapshot("charts/snapshots/heatmap/routing.svg", &svg);
        // 12 cells and 3 outlines.
        assert_eq!(svg.matches("<rect").count(), 1 + 12 + 3, "{svg}");
    }

    #[test]
    fn residency_backdrop_and_warm_hits() {
        let data = HeatmapData {
            rows: 1,
            cols: 3,
            values: vec![0.0, 4.0, 2.0],
            resident: vec![true, true, false],
            palette: HeatPalette::Warm,
            ..Default::default()
        };
        let svg = data.to_svg(40, 12, &Palette::DEFAULT).unwrap();
        assert_snapshot("charts/snapshots/heatmap/residency.svg", &svg);
        assert!(svg.contains("#083426"), "resident backdrop: {svg}");
    }

    #[test]
    fn unavailable_says_why() {
        let html = render_to_string(|| {
            rsx! {
                Heatmap {
                    data: HeatmapData::default(),
                    label: "ATTENTION",
                    rows_label: "token",
                    cols_label: "key",
                    unavailable: Some("no attention data from this engine build".to_string()),
                }
            }
        });
        assert_snapshot("charts/snapshots/heatmap/unavailable.html", &html);
        assert!(!html.contains("<canvas"), "{html}");
    }
}
