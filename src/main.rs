//! gptoss-web: the app. `/` leads to `/gptoss`, the HUD page.
use dioxus::prelude::*;

fn main() {
    dioxus::launch(App);
}

#[component]
fn App() -> Element {
    rsx! { "gptoss" }
}
