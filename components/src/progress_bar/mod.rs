use dioxus::prelude::*;

use crate::format::{format_bytes, format_duration, format_rate};

/// # ProgressBar
///
/// A transfer's progress: a bar filling with the bytes done, then the bytes, the percentage, the rate and the
/// time left, all computed from three numbers (done, total, time elapsed).
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::ProgressBar;
///
/// fn Download() -> Element {
///     rsx! { ProgressBar { label: "TENSORS", done: 12 << 20, total: Some(48 << 20), elapsed_ms: 800.0 } }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-progress[data-state="idle" | "running" | "done" | "failed"]`, `data-percent` (0–100, one decimal),
///   `data-done` and `data-total` (bytes), `role="progressbar"` with `aria-valuenow`
/// - `--progress-value`: the fill, 0–1, set inline; `.hud-progress-track`, `.hud-progress-fill`
/// - `.hud-progress-label`, `.hud-progress-text` (bytes · % · rate · ETA)
#[component]
pub fn ProgressBar(
    label: String,
    done: u64,
    total: Option<u64>,
    /// Milliseconds since the transfer began; the rate and the time left come from it.
    #[props(default)]
    elapsed_ms: f64,
    #[props(default)] failed: bool,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let fraction = match total {
        Some(t) if t > 0 => (done as f64 / t as f64).clamp(0.0, 1.0),
        Some(_) => 1.0,
        None => 0.0,
    };
    let finished = total.is_some_and(|t| done >= t);
    let state = if failed {
        "failed"
    } else if finished {
        "done"
    } else if done > 0 || elapsed_ms > 0.0 {
        "running"
    } else {
        "idle"
    };
    let rate = (elapsed_ms > 0.0).then(|| done as f64 / (elapsed_ms / 1000.0));
    let mut parts = vec![match total {
        Some(t) => format!("{} / {}", format_bytes(done), format_bytes(t)),
        None => format_bytes(done),
    }];
    if total.is_some() {
        parts.push(format!("{:.1}%", fraction * 100.0));
    }
    if let Some(rate) = rate {
        parts.push(format_rate(rate));
        if let (Some(t), false, true) = (total, finished, rate > 0.0) {
            parts.push(format!("ETA {}", format_duration((t - done.min(t)) as f64 / rate * 1000.0)));
        }
    }
    if finished && elapsed_ms > 0.0 {
        parts.push(format!("in {}", format_duration(elapsed_ms)));
    }
    let percent = format!("{:.1}", fraction * 100.0);
    rsx! {
        document::Stylesheet { href: asset!("/src/progress_bar/style.css") }
        div {
            class: "hud-progress",
            role: "progressbar",
            "aria-valuemin": "0",
            "aria-valuemax": "100",
            "aria-valuenow": percent.clone(),
            "data-state": state,
            "data-percent": percent,
            "data-done": done.to_string(),
            "data-total": total.map(|t| t.to_string()),
            style: "--progress-value: {fraction:.4}",
            ..attributes,
            span { class: "hud-progress-label", {label} }
            div { class: "hud-progress-track",
                div { class: "hud-progress-fill" }
            }
            span { class: "hud-progress-text", {parts.join(" · ")} }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn running_transfer_shows_rate_and_eta() {
        let html = render_to_string(|| {
            rsx! { ProgressBar { label: "TENSORS", done: 12 << 20, total: Some(48 << 20), elapsed_ms: 1000.0 } }
        });
        assert_snapshot("progress_bar/snapshots/running.html", &html);
        // 12 MiB in 1 s, 36 MiB to go: 3 s.
        assert!(html.contains("12 MiB / 48 MiB · 25.0% · 12.0 MiB/s · ETA 3.0 s"), "{html}");
    }

    #[test]
    fn finished_transfer_is_done_at_100() {
        let html = render_to_string(|| {
            rsx! { ProgressBar { label: "TENSORS", done: 100, total: Some(100), elapsed_ms: 2000.0 } }
        });
        assert!(html.contains(r#"data-state="done""#), "{html}");
        assert!(html.contains(r#"data-percent="100.0""#), "{html}");
        assert!(!html.contains("ETA"), "{html}");
        assert!(html.contains("in 2.0 s"), "{html}");
    }

    #[test]
    fn idle_and_failed() {
        let idle = render_to_string(|| rsx! { ProgressBar { label: "TENSORS", done: 0, total: None } });
        assert!(idle.contains(r#"data-state="idle""#), "{idle}");
        let failed = render_to_string(
            || rsx! { ProgressBar { label: "TENSORS", done: 5, total: Some(10), elapsed_ms: 10.0, failed: true } },
        );
        assert!(failed.contains(r#"data-state="failed""#), "{failed}");
    }
}
