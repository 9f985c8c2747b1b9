//! Reusable Dioxus components and hooks for the gptoss HUD.
//!
//! Components are pure views: they take plain props, expose their state to CSS through `data-*` attributes and
//! carry their own stylesheet (`<component>/style.css`, linked once into the page head). The HUD's colours,
//! face and grid live in the app's `assets/hud.css` as CSS variables that these stylesheets read.

mod button;
mod panel;
mod readout;
mod webgpu_status;

pub use button::{Button, ButtonProps};
pub use panel::{Panel, PanelProps};
pub use readout::{Readout, ReadoutProps, Tone};
pub use webgpu_status::{format_bytes, AdapterSummary, GpuStatus, WebGpuStatus, WebGpuStatusProps};

/// Renders `root` once on the server side, the way every snapshot test in this crate checks its markup.
#[cfg(test)]
pub(crate) fn render_to_string(root: fn() -> Element) -> String {
    let mut dom = VirtualDom::new(root);
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

#[cfg(test)]
use dioxus::prelude::*;
