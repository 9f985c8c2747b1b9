//! The one trait every chart's data implements.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::palette::Palette;

/// What a drawing function returns.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Chart data that draws itself onto any plotters area: a browser canvas or an SVG document.
///
/// ## Example
///
/// ```rust
/// use gptoss_components::{Draw, Palette, SparklineData};
///
/// let svg = SparklineData { values: vec![1.0, 3.0, 2.0], max: None }.to_svg(120, 40, &Palette::DEFAULT).unwrap();
/// assert!(svg.starts_with("<svg"));
/// ```
pub trait Draw {
    /// Draws the chart onto `area` in `palette`'s colours; the area is already filled with its background.
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>, palette: &Palette) -> DrawResult<DB>;

    /// The chart as an SVG document of `width × height` pixels, as a canvas under `palette`'s theme shows it.
    fn to_svg(&self, width: u32, height: u32, palette: &Palette) -> Result<String, String> {
        let mut svg = String::new();
        paint(self, &SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area(), palette)?;
        Ok(svg)
    }
}

/// The background, then the chart, presented: what both the canvas and the SVG show.
pub(crate) fn paint<T: Draw + ?Sized, DB: DrawingBackend>(
    chart: &T,
    area: &DrawingArea<DB, Shift>,
    palette: &Palette,
) -> Result<(), String> {
    area.fill(&palette.background)
        .and_then(|()| chart.draw(area, palette))
        .and_then(|()| area.present())
        .map_err(|e| e.to_string())
}
