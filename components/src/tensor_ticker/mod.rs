use dioxus::prelude::*;

use crate::format::{format_bytes, format_duration};

/// One tensor that arrived, as the ticker lists it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TensorRow {
    pub name: String,
    /// The GGML type name (`Q8_0`, `MXFP4`, `F32`, …).
    pub ggml_type: String,
    /// Dimensions in GGUF order (fastest first).
    pub shape: Vec<u64>,
    pub bytes: u64,
    /// From its first byte requested to its last byte handed on.
    pub ms: f64,
}

/// # TensorTicker
///
/// A scrolling list of every tensor as it lands — name, type, shape, bytes, time — newest on top, under a count
/// of how many of the expected have arrived. Tensor names come from the file and are rendered as text.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{TensorRow, TensorTicker};
///
/// fn Ticker() -> Element {
///     let rows = vec![TensorRow {
///         name: "token_embd.weight".into(),
///         ggml_type: "Q8_0".into(),
///         shape: vec![64, 201088],
///         bytes: 13_673_984,
///         ms: 210.0,
///     }];
///     rsx! { TensorTicker { rows, expected: Some(459) } }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-ticker` with `data-count` (rows) and `data-expected`
/// - `.hud-ticker-count`, `.hud-ticker-list` (the scroll box; `--hud-ticker-height`, default `220px`)
/// - `.hud-ticker-row[data-type=<ggml type>]` (the newest also has `data-newest="true"`), with
///   `.hud-ticker-name`, `.hud-ticker-type`, `.hud-ticker-shape`, `.hud-ticker-bytes`, `.hud-ticker-ms`
#[component]
pub fn TensorTicker(
    rows: Vec<TensorRow>,
    /// How many tensors the load will bring, when known.
    expected: Option<usize>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let count = rows.len();
    let total_bytes: u64 = rows.iter().map(|r| r.bytes).sum();
    let counted = match expected {
        Some(n) => format!("{count} / {n} tensors · {}", format_bytes(total_bytes)),
        None => format!("{count} tensors · {}", format_bytes(total_bytes)),
    };
    rsx! {
        document::Stylesheet { href: asset!("/src/tensor_ticker/style.css") }
        div {
            class: "hud-ticker",
            "data-count": count.to_string(),
            "data-expected": expected.map(|n| n.to_string()),
            ..attributes,
            div { class: "hud-ticker-count", {counted} }
            ol { class: "hud-ticker-list", reversed: true,
                for (i, row) in rows.iter().enumerate().rev() {
                    li {
                        key: "{row.name}",
                        class: "hud-ticker-row",
                        "data-type": row.ggml_type.clone(),
                        "data-newest": (i + 1 == count).then_some("true"),
                        span { class: "hud-ticker-name", {row.name.clone()} }
                        span { class: "hud-ticker-type", {row.ggml_type.clone()} }
                        span { class: "hud-ticker-shape", {shape_text(&row.shape)} }
                        span { class: "hud-ticker-bytes", {format_bytes(row.bytes)} }
                        span { class: "hud-ticker-ms", {format_duration(row.ms)} }
                    }
                }
            }
        }
    }
}

fn shape_text(shape: &[u64]) -> String {
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    format!("[{}]", dims.join("×"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn newest_first_with_count() {
        let html = render_to_string(|| {
            rsx! {
                TensorTicker {
                    expected: Some(459),
                    rows: vec![
                        TensorRow {
                            name: "token_embd.weight".into(),
                            ggml_type: "Q8_0".into(),
                            shape: vec![64, 201088],
                            bytes: 13_673_984,
                            ms: 210.0,
                        },
                        TensorRow {
                            name: "blk.0.attn_norm.weight".into(),
                            ggml_type: "F32".into(),
                            shape: vec![64],
                            bytes: 256,
                            ms: 0.4,
                        },
                    ],
                }
            }
        });
        assert_snapshot("tensor_ticker/snapshots/two_rows.html", &html);
        let newest = html.find("blk.0.attn_norm.weight").unwrap();
        let oldest = html.find("token_embd.weight").unwrap();
        assert!(newest < oldest, "newest first: {html}");
        assert!(html.contains("2 / 459 tensors"), "{html}");
    }

    #[test]
    fn hostile_names_are_text() {
        let html = render_to_string(|| {
            rsx! {
                TensorTicker {
                    expected: None,
                    rows: vec![TensorRow { name: "<img src=x onerror=alert(1)>".into(), ..Default::default() }],
                }
            }
        });
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("&#60;img src=x onerror=alert(1)&#62;"), "{html}");
    }
}
