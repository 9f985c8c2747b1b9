//! gptoss-web: GPT-OSS running in the browser on WebGPU. `/` leads to `/gptoss`, the HUD page.
//!
//! The app is thin: [`page`] lays out the HUD from `gptoss-components`, each panel drawing a [`view`] projection of
//! [`hud`], the state the page shows; [`session`] is the hook that owns the engine (load → generate → stop) and
//! feeds its events to that state; [`webgpu`] is the hook that brings up the page's device and reports on it;
//! [`engine_host`] is the engine's side, which runs in a dedicated [`worker`] (or, where none can start, on the
//! page's thread).

// Natively the app is only compiled (and its pure parts tested): the frame pump that applies queued engine events,
// and the browser glue around it, exist in the wasm build alone.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

use dioxus::prelude::*;

mod bench_page;
mod chat_host;
mod chat_panel;
mod engine_host;
mod estimate;
mod faults;
mod frame;
mod hud;
mod model_cache;
mod page;
mod session;
mod sources;
mod view;
mod webgpu;
#[cfg(target_arch = "wasm32")]
mod worker;

use gptoss_components::{Panel, Readout, Theme, Tone};
use page::Gptoss;

#[derive(Routable, Clone, Debug, PartialEq)]
enum Route {
    #[redirect("/", || Route::Gptoss {})]
    #[route("/gptoss")]
    Gptoss {},
    #[route("/:..segments")]
    NotFound { segments: Vec<String> },
}

fn main() {
    // The same wasm starts the engine's worker: there it serves the page instead of drawing one.
    #[cfg(target_arch = "wasm32")]
    if worker::in_worker() {
        worker::serve();
        return;
    }
    faults::install();
    sources::capture_address();
    bench_page::requested();
    dioxus::launch(App);
}

#[component]
fn App() -> Element {
    rsx! {
        Theme {}
        document::Stylesheet { href: asset!("/assets/hud.css") }
        // `?bench=1` measures the engine with nothing else on the page (see bench_page).
        if let Some(request) = bench_page::requested() {
            bench_page::BenchPage { request }
        } else {
            Router::<Route> {}
        }
    }
}

/// Any other path: say so, and point at the page that exists.
#[component]
fn NotFound(segments: Vec<String>) -> Element {
    rsx! {
        main { class: "hud-page",
            Panel { title: "NO SUCH PAGE",
                Readout { label: "PATH", tone: Tone::Warning, "/{segments.join(\"/\")} is not a page of this app" }
                Link { class: "hud-link", to: Route::Gptoss {}, "→ /gptoss" }
            }
        }
    }
}
