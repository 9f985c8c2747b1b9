//! Reusable Dioxus components and hooks for the gptoss HUD.
//!
//! Components are pure views: they take plain props, expose their state to CSS through `data-*` attributes and
//! carry their own stylesheet (`<component>/style.css`, linked once into the page head). The HUD's colours,
//! face and grid live in the app's `assets/hud.css` as CSS variables that these stylesheets read. Text that comes
//! from a model or a file (token strings, tensor names, errors) is always rendered as text, never as markup.
//!
//! Charts ([`Sparkline`], [`Heatmap`], [`Waterfall`], [`KvFill`]) are drawn with plotters: on a canvas in the
//! browser, as SVG natively ([`Chart::to_svg`]), from the same drawing code.

mod button;
mod cache_panel;
mod chart;
mod chat_message;
mod context_bar;
mod event_log;
mod fact_table;
mod format;
mod heatmap;
mod kv_fill;
mod memory_gauge;
mod metric;
mod number_field;
mod panel;
mod progress_bar;
mod readout;
mod select_field;
mod source_picker;
mod sparkline;
mod stage_list;
mod tensor_ticker;
mod token_stream;
mod tool_call_card;
mod top_probabilities;
mod waterfall;
mod webgpu_status;

pub use button::{Button, ButtonProps};
pub use cache_panel::{CachePanel, CachePanelProps, CachedModelRow};
pub use chart::{palette, Chart, ChartCanvas, ChartCanvasProps, DrawResult};
pub use chat_message::{ChatMessage, ChatMessageProps};
pub use context_bar::{ContextBar, ContextBarProps};
pub use event_log::{EventLog, EventLogProps, LogLine};
pub use fact_table::{Fact, FactTable, FactTableProps};
pub use format::{file_text, format_bytes, format_duration, format_rate, whitespace_label};
pub use heatmap::{HeatPalette, Heatmap, HeatmapData, HeatmapProps};
pub use kv_fill::{KvFill, KvFillData, KvFillProps, KvLayer};
pub use memory_gauge::{BufferRow, MemoryGauge, MemoryGaugeProps};
pub use metric::{Metric, MetricProps};
pub use number_field::{NumberField, NumberFieldProps};
pub use panel::{Panel, PanelProps};
pub use progress_bar::{ProgressBar, ProgressBarProps};
pub use readout::{Readout, ReadoutProps, Tone};
pub use select_field::{SelectField, SelectFieldProps};
pub use source_picker::{SourcePicker, SourcePickerProps, SourcePreset, SOURCE_FILE, SOURCE_URL};
pub use sparkline::{Sparkline, SparklineData, SparklineProps};
pub use stage_list::{StageList, StageListProps, StageRow, StageState};
pub use tensor_ticker::{TensorRow, TensorTicker, TensorTickerProps};
pub use token_stream::{StreamToken, TokenStream, TokenStreamProps};
pub use tool_call_card::{ToolCallCard, ToolCallCardProps};
pub use top_probabilities::{Candidate, TopProbabilities, TopProbabilitiesProps};
pub use waterfall::{Waterfall, WaterfallData, WaterfallProps};
pub use webgpu_status::{AdapterSummary, GpuStatus, WebGpuStatus, WebGpuStatusProps};

/// Renders `root` once on the server side, the way every snapshot test in this crate checks its markup.
#[cfg(test)]
pub(crate) fn render_to_string(root: fn() -> Element) -> String {
    let mut dom = VirtualDom::new(root);
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

/// Compares `actual` with the committed snapshot `src/<path>`. `UPDATE_SNAPSHOTS=1` rewrites the file instead
/// (review the diff before committing it); a missing snapshot fails.
#[cfg(test)]
pub(crate) fn assert_snapshot(path: &str, actual: &str) {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(path);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(file.parent().expect("snapshot path has a folder")).expect("create snapshot folder");
        std::fs::write(&file, actual).unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("snapshot {} is missing ({e}); run with UPDATE_SNAPSHOTS=1 to create it", file.display())
    });
    assert_eq!(actual, expected, "snapshot {} differs (UPDATE_SNAPSHOTS=1 rewrites it)", file.display());
}

#[cfg(test)]
use dioxus::prelude::*;
