//! Charts: plain data in, plotters drawing out. Each chart's data implements [`Draw`]; the same drawing paints a
//! `<canvas>` in the browser (plotters-canvas, through [`ChartCanvas`]) and writes SVG natively
//! ([`Draw::to_svg`]), so the snapshot tests check the very drawing code the page runs. Every chart is shown in a
//! [`ChartFigure`]: the canvas (or why there is nothing to draw) above a caption.
//!
//! The canvas is painted with [`palette`]'s colours, the default theme's (see [`crate::theme`]); CSS variables
//! reach the figure's caption and frame, not the pixels.

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
