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
