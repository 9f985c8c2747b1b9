//! Reusable Dioxus components for instrument-style pages: the gptoss HUD's buttons, fields, stage list, gauges,
//! token stream and charts, usable in any Dioxus 0.7 app (`examples/gallery` is one, showing every component).
//!
//! Components are pure views: they take plain props, expose their state to CSS through `data-*` attributes and
//! carry their own stylesheet (`src/<component>/style.css`, a Dioxus asset linked into the page head when the
//! component first renders). Colours and face are CSS variables a [`Theme`] declares and an app may override. Text
//! that comes from a model or a file (token strings, tensor names, errors) is always rendered as text, never as
//! markup. Nothing here depends on the engine: data comes in as the plain structs below.
//!
//! ```rust
//! use dioxus::prelude::*;
//! use gptoss_components::{Panel, ProgressBar, Theme};
//!
//! fn Download() -> Element {
//!     rsx! {
//!         Theme {}
//!         Panel { title: "DOWNLOAD",
//!             ProgressBar { label: "BYTES", done: 3 << 20, total: Some(8 << 20), elapsed_ms: 1500.0 }
//!         }
//!     }
//! }
//! ```
//!
//! Charts ([`Sparkline`], [`Heatmap`], [`Waterfall`], [`KvFill`]) are data that implements [`Draw`], shown in a
//! [`ChartFigure`]: drawn with plotters on a canvas in the browser and as SVG natively ([`Draw::to_svg`]), from the
//! same drawing code.

mod button;
mod cache_panel;
mod charts;
mod chat_message;
mod context_bar;
mod event_log;
mod fact_table;
mod format;
mod memory_gauge;
mod metric;
mod number_field;
mod panel;
mod progress_bar;
mod readout;
mod select_field;
mod source_picker;
mod stage_list;
mod tensor_ticker;
#[cfg(test)]
mod testing;
mod theme;
mod token_stream;
mod tone;
mod tool_call_card;
mod top_probabilities;
mod webgpu_status;

pub use button::{Button, ButtonProps};
pub use cache_panel::{CachePanel, CachePanelProps, CachedModelRow};
pub use charts::{
    palette, palette::Palette, ChartCanvas, ChartCanvasProps, ChartFigure, ChartFigureProps, Draw, DrawResult,
    HeatPalette, Heatmap, HeatmapData, HeatmapProps, KvFill, KvFillData, KvFillProps, KvLayer, Sparkline,
    SparklineData, SparklineProps, Waterfall, WaterfallData, WaterfallProps,
};
pub use chat_message::{ChatMessage, ChatMessageProps};
pub use context_bar::{ContextBar, ContextBarProps};
pub use event_log::{EventLog, EventLogProps, LogLine};
pub use fact_table::{Fact, FactTable, FactTableProps};
pub use format::{file_text, format_bytes, format_duration, format_rate, whitespace_label};
pub use memory_gauge::{BufferRow, MemoryGauge, MemoryGaugeProps};
pub use metric::{Metric, MetricProps};
pub use number_field::{NumberField, NumberFieldProps};
pub use panel::{Panel, PanelProps};
pub use progress_bar::{ProgressBar, ProgressBarProps};
pub use readout::{Readout, ReadoutProps};
pub use select_field::{SelectField, SelectFieldProps};
pub use source_picker::{SourcePicker, SourcePickerProps, SourcePreset, SOURCE_FILE, SOURCE_URL};
pub use stage_list::{StageList, StageListProps, StageRow, StageState};
pub use tensor_ticker::{TensorRow, TensorTicker, TensorTickerProps};
pub use theme::Theme;
pub use token_stream::{StreamToken, TokenStream, TokenStreamProps};
pub use tone::Tone;
pub use tool_call_card::{ToolCallCard, ToolCallCardProps};
pub use top_probabilities::{Candidate, TopProbabilities, TopProbabilitiesProps};
pub use webgpu_status::{AdapterSummary, GpuStatus, WebGpuStatus, WebGpuStatusProps};

/// The plotters version [`Draw`] is written against, for charts of one's own.
pub use plotters;
