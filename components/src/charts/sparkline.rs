use dioxus::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{Draw, DrawResult};
use super::figure::ChartFigure;
use super::palette::Palette;

/// A series drawn as a line over a shaded area.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparklineData {
    /// Oldest first.
    pub values: Vec<f32>,
    /// The value at the top edge; `None` scales to the largest value.
    pub max: Option<f32>,
}

const MARGIN: i32 = 4;

impl Draw for SparklineData {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, palette: &Palette) -> DrawResult<DB> {
        let data = self;
        let (w, h) = area.dim_in_pixel();
        let (w, h) = (w as i32, h as i32);
        let bottom = h - MARGIN;
        area.draw(&PathElement::new(vec![(MARGIN, bottom), (w - MARGIN, bottom)], palette.dim.stroke_width(1)))?;
        let finite: Vec<f32> = data.values.iter().map(|v| if v.is_finite() { v.max(0.0) } else { 0.0 }).collect();
        if finite.is_empty() {
            return Ok(());
        }
        let top = data
            .max
            .filter(|m| m.is_finite() && *m > 0.0)
            .unwrap_or_else(|| finite.iter().cloned().fold(0.0, f32::max));
        let span = (h - 2 * MARGIN) as f32;
        let step = if finite.len() > 1 { (w - 2 * MARGIN) as f32 / (finite.len() - 1) as f32 } else { 0.0 };
        let points: Vec<(i32, i32)> = finite
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let y = if top > 0.0 { (v / top).min(1.0) * span } else { 0.0 };
                ((MARGIN as f32 + i as f32 * step).round() as i32, (bottom as f32 - y).round() as i32)
            })
            .collect();
        if points.len() > 1 {
            let mut shade = points.clone();
            shade.push((points[points.len() - 1].0, bottom));
            shade.push((points[0].0, bottom));
            area.draw(&Polygon::new(shade, palette.data.mix(0.15).filled()))?;
            area.draw(&PathElement::new(points.clone(), palette.data.stroke_width(2)))?;
        }
        let last = points[points.len() - 1];
        area.draw(&Circle::new(last, 3, palette.done.filled()))?;
        Ok(())
    }
}

/// # Sparkline
///
/// A small line chart of a series (entropy per token, tokens per second), newest value dotted, with a caption
/// naming it and its latest value.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{Sparkline, SparklineData};
///
/// fn Entropy() -> Element {
///     let data = SparklineData { values: vec![2.1, 3.4, 0.8, 1.9], max: None };
///     rsx! { Sparkline { data, label: "ENTROPY", unit: "nats", width: 360, height: 64 } }
/// }
/// ```
///
/// ## Styling
///
/// - a [`ChartFigure`] with `data-chart="sparkline"`, `data-count` and `data-last`
#[component]
pub fn Sparkline(
    data: SparklineData,
    label: String,
    #[props(default)] unit: String,
    #[props(default = 360)] width: u32,
    #[props(default = 64)] height: u32,
    /// Why there is nothing to draw; shown instead of the chart.
    #[props(default)]
    unavailable: Option<String>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let last = data.values.last().copied();
    let caption = match last {
        Some(v) => format!("{label} · {v:.2} {unit}"),
        None => format!("{label} · —"),
    };
    let mut attributes = attributes;
    attributes.push(Attribute::new("data-count", data.values.len().to_string(), None, false));
    if let Some(v) = last {
        attributes.push(Attribute::new("data-last", v.to_string(), None, false));
    }
    rsx! {
        ChartFigure {
            kind: "sparkline",
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
    fn entropy_series_as_svg() {
        let data = SparklineData { values: vec![2.0, 3.5, 1.0, 4.0, 2.5], max: None };
        let svg = data.to_svg(120, 40, &Palette::DEFAULT).unwrap();
        assert_snapshot("charts/snapshots/sparkline/series.svg", &svg);
        // Five points: the last (4th index, 2.5 of 4.0) is the dot at x = 116.
        assert!(svg.contains(r#"<circle cx="116""#), "{svg}");
    }

    #[test]
    fn drawn_in_the_palette_it_is_given() {
        let data = SparklineData { values: vec![2.0, 3.5, 1.0], max: None };
        let palette = Palette { data: RGBColor(255, 0, 0), done: RGBColor(0, 0, 255), ..Palette::DEFAULT };
        let svg = data.to_svg(120, 40, &palette).unwrap();
        assert!(svg.contains("#FF0000") && svg.contains("#0000FF"), "{svg}");
        assert!(!svg.contains("#7FD3E5"), "{svg}");
    }

    #[test]
    fn empty_and_single_value() {
        let empty = SparklineData::default().to_svg(60, 20, &Palette::DEFAULT).unwrap();
        assert!(!empty.contains("<circle"), "{empty}");
        let one = SparklineData { values: vec![f32::NAN], max: Some(1.0) }.to_svg(60, 20, &Palette::DEFAULT).unwrap();
        assert!(one.contains("<circle"), "{one}");
    }

    #[test]
    fn figure_with_caption() {
        let html = render_to_string(|| {
            rsx! { Sparkline { data: SparklineData { values: vec![1.0, 2.25], max: None }, label: "ENTROPY", unit: "nats" } }
        });
        assert_snapshot("charts/snapshots/sparkline/figure.html", &html);
        assert!(html.contains("ENTROPY · 2.25 nats"), "{html}");
    }
}
