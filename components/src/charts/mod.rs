//! Charts: plain data in, plotters drawing out. Each chart's data implements [`Draw`]; the same drawing paints a
//! `<canvas>` in the browser (plotters-canvas, through [`ChartCanvas`]) and writes SVG natively
//! ([`Draw::to_svg`]), so the snapshot tests check the very drawing code the page runs. Every chart is shown in a
//! [`ChartFigure`]: the canvas (or why there is nothing to draw) above a caption.
//!
//! The canvas is painted in a [`palette::Palette`] read from the theme's CSS variables where the canvas is shown
//! (see [`crate::theme`]), so an app's or a subtree's override reaches the pixels as it reaches the caption.

mod draw;
mod figure;
mod heatmap;
mod kv_fill;
pub mod palette;
mod sparkline;
mod waterfall;

pub use draw::{Draw, DrawResult};
pub use figure::{ChartCanvas, ChartCanvasProps, ChartFigure, ChartFigureProps};
pub use heatmap::{HeatPalette, Heatmap, HeatmapData, HeatmapProps};
pub use kv_fill::{KvFill, KvFillData, KvFillProps, KvLayer};
pub use sparkline::{Sparkline, SparklineData, SparklineProps};
pub use waterfall::{Waterfall, WaterfallData, WaterfallProps};
