//! Failures that arrive outside any task's `Result`: Rust panics, and JavaScript errors and unhandled promise
//! rejections. (GPU errors no error scope caught come back from the engine's next readback as an `Error`.) Each is logged to the console
//! and queued here; the HUD's frame pump takes them and shows them, so none is only in the console.

use std::cell::RefCell;

thread_local! {
    static FAULTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Records a fault for the HUD and writes it to the console.
pub fn report(what: String) {
    console_error(&what);
    // A panic inside `take` itself must not recurse here; try_borrow_mut keeps this re-entrant.
    FAULTS.with(|f| {
        if let Ok(mut faults) = f.try_borrow_mut() {
            faults.push(what);
        }
    });
}

/// Faults recorded since the last call.
pub fn take() -> Vec<String> {
    FAULTS.with(|f| f.try_borrow_mut().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default())
}

/// Installs the panic hook (and, in the browser, the window's error listeners). Call once, before launch.
pub fn install() {
    std::panic::set_hook(Box::new(|info| report(format!("panic: {info}"))));
    #[cfg(target_arch = "wasm32")]
    listen_for_js_errors();
}

#[cfg(target_arch = "wasm32")]
fn console_error(what: &str) {
    web_sys::console::error_1(&what.into());
}

#[cfg(not(target_arch = "wasm32"))]
fn console_error(what: &str) {
    eprintln!("{what}");
}

/// `error` and `unhandledrejection` on the window: exceptions from JavaScript (a failed `mapAsync`, a wasm trap)
/// that no Rust future observed.
#[cfg(target_arch = "wasm32")]
fn listen_for_js_errors() {
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};
    let Some(window) = web_sys::window() else {
        return;
    };
    let describe = |value: JsValue| -> String {
        value
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| value.as_string())
            .unwrap_or_else(|| format!("{value:?}"))
    };
    let on_error = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
        let message = js_sys::Reflect::get(&event, &"message".into()).unwrap_or(JsValue::UNDEFINED);
        push_only(format!("script error: {}", describe(message)));
    });
    let on_rejection = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
        let reason = js_sys::Reflect::get(&event, &"reason".into()).unwrap_or(JsValue::UNDEFINED);
        push_only(format!("unhandled promise rejection: {}", describe(reason)));
    });
    let _ = window.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    let _ = window.add_event_listener_with_callback("unhandledrejection", on_rejection.as_ref().unchecked_ref());
    // The listeners live as long as the page.
    on_error.forget();
    on_rejection.forget();
}

/// The browser has already logged these to the console; only the HUD needs them.
#[cfg(target_arch = "wasm32")]
fn push_only(what: String) {
    FAULTS.with(|f| {
        if let Ok(mut faults) = f.try_borrow_mut() {
            faults.push(what);
        }
    });
}
