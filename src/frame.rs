//! The page's clock: milliseconds since it started, and (in the browser) a future for the next animation frame,
//! which paces how often queued engine events reach the signals.

use std::sync::OnceLock;

use web_time::Instant;

/// Milliseconds since the page (or the test) started.
pub fn now_ms() -> f64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

/// Resolves at the next `requestAnimationFrame` callback.
#[cfg(target_arch = "wasm32")]
pub async fn next_frame() {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.request_animation_frame(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

/// The user-timing measure of one HUD frame that applied engine updates, in the page's performance timeline.
pub const FRAME_MEASURE: &str = "hud-frame";
const FRAME_START: &str = "hud-frame-start";

/// Starts measuring this animation frame: the measure ends in the next task, so it covers applying the updates,
/// Dioxus's render and DOM edits, the charts' painting and the browser's style and layout of the frame.
#[cfg(target_arch = "wasm32")]
pub fn measure_frame() {
    use wasm_bindgen::JsCast;
    thread_local! {
        static END: js_sys::Function = wasm_bindgen::closure::Closure::<dyn Fn()>::new(|| {
            if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
                let _ = performance.measure_with_start_mark(FRAME_MEASURE, FRAME_START);
                performance.clear_marks_with_mark_name(FRAME_START);
            }
        })
        .into_js_value()
        .unchecked_into();
    }
    let Some(window) = web_sys::window() else { return };
    let Some(performance) = window.performance() else { return };
    if performance.mark(FRAME_START).is_ok() {
        END.with(|end| {
            let _ = window.set_timeout_with_callback(end);
        });
    }
}

/// Forgets the frames measured so far (a new generation is measured on its own).
#[cfg(target_arch = "wasm32")]
pub fn clear_frames() {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        performance.clear_measures_with_measure_name(FRAME_MEASURE);
    }
}

/// The frames measured since [`clear_frames`], in milliseconds each.
#[cfg(target_arch = "wasm32")]
pub fn measured_frames_ms() -> Vec<f64> {
    let Some(performance) = web_sys::window().and_then(|w| w.performance()) else { return Vec::new() };
    performance
        .get_entries_by_name_with_entry_type(FRAME_MEASURE, "measure")
        .iter()
        .filter_map(|entry| js_sys::Reflect::get(&entry, &"duration".into()).ok()?.as_f64())
        .collect()
}

/// How long frames took: their count, median, 95th percentile and maximum, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct FrameTimes {
    pub count: usize,
    pub median_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

impl FrameTimes {
    pub fn of(mut ms: Vec<f64>) -> FrameTimes {
        ms.retain(|v| v.is_finite());
        ms.sort_by(f64::total_cmp);
        let Some(&max_ms) = ms.last() else { return FrameTimes::default() };
        // Nearest rank: the smallest value with at least p of the frames at or below it.
        let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        FrameTimes { count: ms.len(), median_ms: rank(0.5), p95_ms: rank(0.95), max_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_times_are_nearest_rank_percentiles() {
        assert_eq!(FrameTimes::of(Vec::new()), FrameTimes::default());
        let times = FrameTimes::of((1..=20).rev().map(f64::from).chain([f64::NAN]).collect());
        assert_eq!(times, FrameTimes { count: 20, median_ms: 10.0, p95_ms: 19.0, max_ms: 20.0 });
        assert_eq!(FrameTimes::of(vec![4.0]), FrameTimes { count: 1, median_ms: 4.0, p95_ms: 4.0, max_ms: 4.0 });
    }
}
