use dioxus::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{Draw, DrawResult};
use super::figure::ChartFigure;
use super::palette::Palette;

/// Recent tokens' top candidates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WaterfallData {
    /// One row per token, oldest first: its candidates' probabilities, most likely first.
    pub rows: Vec<Vec<f32>>,
    /// Per row, the rank of the sampled token among its candidates (none when it was not among them).
    pub chosen: Vec<Option<usize>>,
    /// Rows the chart has room for; the newest `capacity` rows are drawn, newest at the bottom.
    pub capacity: usize,
}

const MARGIN: i32 = 2;

/// Candidate colours by rank: the most likely brightest.
const RANK_SHADES: [f32; 5] = [0.6, 0.45, 0.33, 0.24, 0.16];

impl Draw for WaterfallData {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, palette: &Palette) -> DrawResult<DB> {
        let data = self;
        let capacity = data.capacity.max(1);
        let (w, h) = area.dim_in_pixel();
        let width = (w as i32 - 2 * MARGIN) as f32;
        let row_h = (h as i32 - 2 * MARGIN) as f32 / capacity as f32;
        let skip = data.rows.len().saturating_sub(capacity);
        for (slot, (r, row)) in data.rows.iter().enumerate().skip(skip).enumerate() {
            let y0 = MARGIN + (slot as f32 * row_h).round() as i32;
            let y1 = (MARGIN + ((slot + 1) as f32 * row_h).round() as i32 - i32::from(row_h >= 4.0)).max(y0 + 1);
            area.draw(&Rectangle::new([(MARGIN, y0), (MARGIN + width as i32, y1)], palette.track.filled()))?;
            let mut x = 0.0f32;
            for (rank, p) in row.iter().enumerate() {
                let p = if p.is_finite() { p.clamp(0.0, 1.0) } else { 0.0 };
                let x0 = MARGIN + (x * width).round() as i32;
                x = (x + p).min(1.0);
                let x1 = MARGIN + (x * width).round() as i32;
                if x1 <= x0 {
                    continue;
                }
                let shade = RANK_SHADES[rank.min(RANK_SHADES.len() - 1)];
                area.draw(&Rectangle::new([(x0, y0), (x1, y1)], palette.ramp(palette.data, shade).filled()))?;
                if data.chosen.get(r).copied().flatten() == Some(rank) {
                    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], palette.done.stroke_width(1)))?;
                }
            }
        }
        Ok(())
    }
}

/// # Waterfall
///
/// Recent tokens' top candidates, one row per token with the newest at the bottom: each row splits the width
/// by probability, most likely first; the sampled candidate is outlined. A confident run shows as wide single
/// blocks, an uncertain one as many thin slices.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{Waterfall, WaterfallData};
///
/// fn Recent() -> Element {
///     let data = WaterfallData { rows: vec![vec![0.7, 0.2, 0.1]], chosen: vec![Some(0)], capacity: 16 };
///     rsx! { Waterfall { data, label: "TOP-5 · RECENT TOKENS" } }
/// }
/// ```
///
/// ## Styling
///
/// - a [`ChartFigure`] with `data-chart="waterfall"` and `data-rows`
#[component]
pub fn Waterfall(
    data: WaterfallData,
    label: String,
    #[props(default = 360)] width: u32,
    #[props(default = 192)] height: u32,
    /// Why there is nothing to draw; shown instead of the chart.
    #[props(default)]
    unavailable: Option<String>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let shown = data.rows.len().min(data.capacity);
    let caption = format!("{label} · last {shown}");
    let mut attributes = attributes;
    attributes.push(Attribute::new("data-rows", shown.to_string(), None, false));
    rsx! {
        ChartFigure {
            kind: "waterfall",
            chart: data,
            width,
            height,
            caption,
            label,
            unavailable,
            attributes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn newest_rows_at_the_bottom_as_svg() {
        let data = WaterfallData {
            rows: vec![vec![0.5, 0.5], vec![0.75, 0.125, 0.125], vec![0.25, 0.25, 0.25, 0.25]],
            chosen: vec![Some(1), Some(0), None],
            capacity: 2,
        };
        let svg = data.to_svg(104, 24, &Palette::DEFAULT).unwrap();
        assert_snapshot("charts/snapshots/waterfall/two_rows.svg", &svg);
        // Rows 2 and 3 only (capacity 2): 2 tracks + 3 + 4 slices + 1 outline, plus the background.
        assert_eq!(svg.matches("<rect").count(), 1 + 2 + 7 + 1, "{svg}");
    }

    #[test]
    fn figure_counts_rows() {
        let html = render_to_string(|| {
            rsx! { Waterfall { data: WaterfallData { rows: vec![vec![1.0]], chosen: vec![Some(0)], capacity: 16 }, label: "TOP-5" } }
        });
        assert_snapshot("charts/snapshots/waterfall/figure.html", &html);
    }
}
