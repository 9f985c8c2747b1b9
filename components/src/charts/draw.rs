//! The one trait every chart's data implements.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::palette;

/// What a drawing function returns.
pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Chart data that draws itself onto any plotters area: a browser canvas or an SVG document.
///
/// ## Example
///
/// ```rust
/// use gptoss_components::{Draw, SparklineData};
///
/// let svg = SparklineData { values: vec![1.0, 3.0, 2.0], max: None }.to_svg(120, 40).unwrap();
/// assert!(svg.starts_with("<svg"));
/// ```
pub trait Draw {
    /// Draws the chart onto `area`, which is already filled with [`palette::BACKGROUND`].
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult<DB>;

    /// The chart as an SVG document of `width × height` pixels, as the canvas shows it.
    fn to_svg(&self, width: u32, height: u32) -> Result<String, String> {
        let mut svg = String::new();
        paint(self, &SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area())?;
        Ok(svg)
    }
}

/// The background, then the chart, presented: what both the canvas and the SVG show.
pub(crate) fn paint<T: Draw + ?Sized, DB: DrawingBackend>(
    chart: &T,
    area: &DrawingArea<DB, Shift>,
) -> Result<(), String> {
    area.fill(&palette::BACKGROUND)
        .and_then(|()| chart.draw(area))
        .and_then(|()| area.present())
        .map_err(|e| e.to_string())
}
