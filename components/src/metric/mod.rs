use dioxus::prelude::*;

/// # Metric
///
/// One headline number with its unit and a small label under it (tokens/s, time to first token). An unknown
/// value shows as `—`.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::Metric;
///
/// fn Speed() -> Element {
///     rsx! { Metric { label: "DECODE", value: Some(23.4), unit: "tok/s" } }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-metric[data-known="true" | "false"]` with `data-value` (the number, unrounded) when known
/// - `.hud-metric-value`, `.hud-metric-unit`, `.hud-metric-label`
#[component]
pub fn Metric(
    label: String,
    value: Option<f64>,
    unit: String,
    /// Digits after the decimal point.
    #[props(default = 1)]
    decimals: usize,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let shown = match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "—".to_string(),
    };
    rsx! {
        document::Stylesheet { href: asset!("/src/metric/style.css") }
        div {
            class: "hud-metric",
            "data-known": value.is_some_and(f64::is_finite).to_string(),
            "data-value": value.map(|v| v.to_string()),
            ..attributes,
            span { class: "hud-metric-value", {shown} }
            span { class: "hud-metric-unit", {unit} }
            span { class: "hud-metric-label", {label} }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn known_and_unknown() {
        let html = render_to_string(|| {
            rsx! {
                Metric { label: "DECODE", value: Some(23.456), unit: "tok/s" }
                Metric { label: "TTFT", value: None, unit: "ms", decimals: 0 }
            }
        });
        assert_snapshot("metric/snapshots/metrics.html", &html);
        assert!(html.contains(">23.5<"), "{html}");
        assert!(html.contains(">—<"), "{html}");
    }
}
