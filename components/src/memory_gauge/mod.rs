use dioxus::prelude::*;

use crate::format::format_bytes;

/// One GPU buffer allocation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BufferRow {
    pub label: String,
    pub bytes: u64,
}

/// # MemoryGauge
///
/// GPU memory allocated against a budget (WebGPU cannot report free memory, so the budget is what the caller
/// expects to need), and the list of buffer allocations behind it, newest first. Labels are rendered as text.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{BufferRow, MemoryGauge};
///
/// fn Memory() -> Element {
///     let buffers = vec![BufferRow { label: "token_embd.weight".into(), bytes: 13_673_984 }];
///     rsx! { MemoryGauge { allocated: 13_673_984, budget: Some(64 << 20), buffers } }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-memory[data-state="empty" | "filling" | "over"]` with `data-allocated` and `data-budget` (bytes)
/// - `--memory-value`: allocated / budget, 0–1, set inline; `.hud-memory-track`, `.hud-memory-fill`
/// - `.hud-memory-text`; `.hud-memory-buffers` (scroll box) of `.hud-memory-buffer` rows with
///   `.hud-memory-buffer-label` and `.hud-memory-buffer-bytes`
#[component]
pub fn MemoryGauge(
    allocated: u64,
    /// What the allocations are measured against, when known.
    budget: Option<u64>,
    #[props(default)] buffers: Vec<BufferRow>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let fraction = match budget {
        Some(b) if b > 0 => allocated as f64 / b as f64,
        _ => 0.0,
    };
    let fill = fraction.min(1.0);
    let state = if allocated == 0 {
        "empty"
    } else if fraction > 1.0 {
        "over"
    } else {
        "filling"
    };
    let text = match budget {
        Some(b) => format!(
            "{} of {} ({:.1}%) · {} buffers",
            format_bytes(allocated),
            format_bytes(b),
            fraction * 100.0,
            buffers.len()
        ),
        None => format!("{} · {} buffers", format_bytes(allocated), buffers.len()),
    };
    rsx! {
        document::Stylesheet { href: asset!("/src/memory_gauge/style.css") }
        div {
            class: "hud-memory",
            "data-state": state,
            "data-allocated": allocated.to_string(),
            "data-budget": budget.map(|b| b.to_string()),
            style: "--memory-value: {fill:.4}",
            ..attributes,
            div { class: "hud-memory-track", div { class: "hud-memory-fill" } }
            div { class: "hud-memory-text", {text} }
            if !buffers.is_empty() {
                ol { class: "hud-memory-buffers", reversed: true,
                    for (i, buffer) in buffers.iter().enumerate().rev() {
                        li { key: "{i}", class: "hud-memory-buffer",
                            span { class: "hud-memory-buffer-label", {buffer.label.clone()} }
                            span { class: "hud-memory-buffer-bytes", {format_bytes(buffer.bytes)} }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn gauge_against_budget_with_buffers() {
        let html = render_to_string(|| {
            rsx! {
                MemoryGauge {
                    allocated: 48 << 20,
                    budget: Some(64 << 20),
                    buffers: vec![
                        BufferRow { label: "token_embd.weight".into(), bytes: 40 << 20 },
                        BufferRow { label: "blk.0.kv_cache".into(), bytes: 8 << 20 },
                    ],
                }
            }
        });
        assert_snapshot("memory_gauge/snapshots/filling.html", &html);
        assert!(html.contains("48 MiB of 64 MiB (75.0%) · 2 buffers"), "{html}");
        assert!(html.contains("--memory-value: 0.7500"), "{html}");
    }

    #[test]
    fn over_budget_and_empty() {
        let over = render_to_string(|| rsx! { MemoryGauge { allocated: 10, budget: Some(5) } });
        assert!(over.contains(r#"data-state="over""#), "{over}");
        let empty = render_to_string(|| rsx! { MemoryGauge { allocated: 0, budget: None } });
        assert!(empty.contains(r#"data-state="empty""#), "{empty}");
        assert!(empty.contains(r#"data-allocated="0""#), "{empty}");
    }
}
