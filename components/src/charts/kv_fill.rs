use dioxus::prelude::*;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{Draw, DrawResult};
use super::figure::ChartFigure;
use super::palette::Palette;

/// One layer's KV cache.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KvLayer {
    /// A sliding-window layer keeps a ring of the last `capacity` positions; a full layer keeps the whole context.
    pub sliding: bool,
    /// Positions the cache holds: the window, or the context.
    pub capacity: usize,
    /// Positions written so far (a ring wraps past its capacity).
    pub written: usize,
}

/// Every layer's KV cache.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KvFillData {
    pub layers: Vec<KvLayer>,
}

const MARGIN: i32 = 3;
/// Arcs a ring is drawn with, at most.
const RING_SEGMENTS: usize = 32;

impl Draw for KvFillData {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, palette: &Palette) -> DrawResult<DB> {
        let data = self;
        let n = data.layers.len();
        if n == 0 {
            return Ok(());
        }
        let (w, h) = area.dim_in_pixel();
        let cell = (w as i32 - 2 * MARGIN) as f32 / n as f32;
        let height = h as i32 - 2 * MARGIN;
        for (i, layer) in data.layers.iter().enumerate() {
            let x0 = MARGIN + (i as f32 * cell).round() as i32;
            let x1 = MARGIN + ((i + 1) as f32 * cell).round() as i32;
            if layer.sliding {
                ring(
                    area,
                    palette,
                    layer,
                    ((x0 + x1) / 2, MARGIN + height / 2),
                    ((x1 - x0).min(height) / 2 - 1).max(3),
                )?;
            } else {
                bar(area, palette, layer, x0 + 1, (x1 - 2).max(x0 + 2), height)?;
            }
        }
        Ok(())
    }
}

/// A full layer: a bar filling from the bottom with written / capacity.
fn bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    palette: &Palette,
    layer: &KvLayer,
    x0: i32,
    x1: i32,
    height: i32,
) -> DrawResult<DB> {
    let (top, bottom) = (MARGIN, MARGIN + height);
    area.draw(&Rectangle::new([(x0, top), (x1, bottom)], palette.track.filled()))?;
    let fraction = if layer.capacity > 0 { (layer.written as f32 / layer.capacity as f32).min(1.0) } else { 0.0 };
    if layer.written > 0 {
        // At least a pixel once anything is written, so a long context still shows activity.
        let filled = ((height as f32 * fraction).round() as i32).max(1);
        area.draw(&Rectangle::new([(x0, bottom - filled), (x1, bottom)], palette.data.filled()))?;
    }
    area.draw(&Rectangle::new([(x0, top), (x1, bottom)], palette.dim.stroke_width(1)))
}

/// A sliding layer: a ring of the window, arcs lit where positions are held, the next write position amber.
fn ring<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    palette: &Palette,
    layer: &KvLayer,
    centre: (i32, i32),
    radius: i32,
) -> DrawResult<DB> {
    let capacity = layer.capacity.max(1);
    let segments = capacity.min(RING_SEGMENTS);
    let held = layer.written.min(capacity);
    let head = layer.written % capacity;
    let inner = (radius as f32 * 0.55).max(1.0);
    for s in 0..segments {
        // Positions [first, end) of the window fall in this arc.
        let first = s * capacity / segments;
        let end = (s + 1) * capacity / segments;
        let colour = if (first..end).contains(&head) && layer.written > 0 {
            palette.warning
        } else if first < held {
            palette.data
        } else {
            palette.track
        };
        area.draw(&Polygon::new(arc(centre, inner, radius as f32, s, segments), colour.filled()))?;
    }
    Ok(())
}

/// The outline of arc `s` of `segments`, clockwise from 12 o'clock, between two radii.
fn arc(centre: (i32, i32), inner: f32, outer: f32, s: usize, segments: usize) -> Vec<(i32, i32)> {
    let turn = std::f32::consts::TAU / segments as f32;
    // A small gap between arcs.
    let (a0, a1) = (s as f32 * turn + 0.04, (s + 1) as f32 * turn - 0.04);
    let point = |r: f32, a: f32| (centre.0 + (r * a.sin()).round() as i32, centre.1 - (r * a.cos()).round() as i32);
    let steps = 3;
    let mut points: Vec<(i32, i32)> =
        (0..=steps).map(|k| point(outer, a0 + (a1 - a0) * k as f32 / steps as f32)).collect();
    points.extend((0..=steps).rev().map(|k| point(inner, a0 + (a1 - a0) * k as f32 / steps as f32)));
    points
}

/// # KvFill
///
/// How full each layer's KV cache is: full-attention layers as bars filling towards the context length,
/// sliding-window layers as rings of the window (lit where positions are held, amber at the next write, wrapping
/// round once the window is full).
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{KvFill, KvFillData, KvLayer};
///
/// fn Caches() -> Element {
///     let layers = (0..4)
///         .map(|il| KvLayer { sliding: il % 2 == 0, capacity: if il % 2 == 0 { 128 } else { 4096 }, written: 90 })
///         .collect();
///     rsx! { KvFill { data: KvFillData { layers }, label: "KV CACHE" } }
/// }
/// ```
///
/// ## Styling
///
/// - a [`ChartFigure`] with `data-chart="kv-fill"`, `data-layers` and `data-written` (the largest)
#[component]
pub fn KvFill(
    data: KvFillData,
    label: String,
    #[props(default = 640)] width: u32,
    #[props(default = 40)] height: u32,
    /// Why there is nothing to draw; shown instead of the chart.
    #[props(default)]
    unavailable: Option<String>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let written = data.layers.iter().map(|l| l.written).max().unwrap_or(0);
    let sliding = data.layers.iter().find(|l| l.sliding).map(|l| l.capacity);
    let full = data.layers.iter().find(|l| !l.sliding).map(|l| l.capacity);
    let mut caption = format!("{label} · {written} positions");
    if let Some(c) = full {
        caption += &format!(" · bars: full layers of {c}");
    }
    if let Some(c) = sliding {
        caption += &format!(" · rings: sliding window of {c}");
    }
    let mut attributes = attributes;
    attributes.push(Attribute::new("data-layers", data.layers.len().to_string(), None, false));
    attributes.push(Attribute::new("data-written", written.to_string(), None, false));
    rsx! {
        ChartFigure {
            kind: "kv-fill",
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

    #[test]
    fn rings_and_bars_as_svg() {
        // gpt-oss alternates: even layers slide (window 8 here), odd layers hold the context (64).
        let layers = (0..4)
            .map(|il| KvLayer { sliding: il % 2 == 0, capacity: if il % 2 == 0 { 8 } else { 64 }, written: 11 })
            .collect();
        let svg = KvFillData { layers }.to_svg(96, 30, &Palette::DEFAULT).unwrap();
        assert_snapshot("charts/snapshots/kv_fill/four_layers.svg", &svg);
        // Two rings of 8 arcs; 11 written wraps a window of 8: all held, next write at 3 (amber).
        assert_eq!(svg.matches("<polygon").count(), 16, "{svg}");
        assert_eq!(svg.matches("#FF9900").count(), 2, "{svg}");
    }

    #[test]
    fn figure_caption_names_both_kinds() {
        let html = render_to_string(|| {
            rsx! {
                KvFill {
                    label: "KV CACHE",
                    data: KvFillData {
                        layers: vec![
                            KvLayer { sliding: true, capacity: 128, written: 90 },
                            KvLayer { sliding: false, capacity: 4096, written: 90 },
                        ],
                    },
                }
            }
        });
        assert_snapshot("charts/snapshots/kv_fill/figure.html", &html);
        assert!(html.contains("90 positions · bars: full layers of 4096 · rings: sliding window of 128"), "{html}");
    }
}
