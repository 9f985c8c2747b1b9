use dioxus::prelude::*;

use crate::format::format_bytes;
use crate::readout::Readout;
use crate::tone::Tone;

/// The adapter facts the HUD shows, as the browser reports them (`GPUAdapter.info`, `GPUAdapter.limits`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdapterSummary {
    pub vendor: String,
    pub architecture: String,
    /// The adapter's name or driver description, whichever the browser gives.
    pub description: String,
    pub shader_f16: bool,
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
}

/// Where bringing up WebGPU stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum GpuStatus {
    /// Asking the browser for an adapter and device.
    #[default]
    Probing,
    /// A device is up on this adapter.
    Ready(AdapterSummary),
    /// No device: the reason, written for the person reading the HUD.
    Unavailable(String),
}

/// # WebGpuStatus
///
/// The WebGPU line of the HUD: which adapter the app computes on and the limits that decide what fits on it, or
/// why there is no WebGPU.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{AdapterSummary, GpuStatus, WebGpuStatus};
///
/// fn Device() -> Element {
///     let status = GpuStatus::Ready(AdapterSummary {
///         vendor: "google".into(),
///         architecture: "swiftshader".into(),
///         description: "SwiftShader Device (Subzero)".into(),
///         shader_f16: false,
///         max_buffer_size: 1 << 30,
///         max_storage_buffer_binding_size: 1 << 30,
///     });
///     rsx! { WebGpuStatus { status } }
/// }
/// ```
///
/// ## Styling
///
/// A `.hud-webgpu` wrapper around a [`Readout`](crate::Readout) labelled `WEBGPU` (tone pending, data or error):
/// - `.hud-webgpu[data-state="probing" | "ready" | "unavailable"]`
/// - on the wrapper when ready: `data-vendor`, `data-architecture`, `data-shader-f16` (`true`/`false`), `data-max-buffer-size`,
///   `data-max-storage-buffer-binding-size` (bytes)
/// - `.hud-webgpu-adapter`, `.hud-webgpu-description`, `.hud-webgpu-sep`, `.hud-webgpu-limit`,
///   `.hud-webgpu-f16[data-available="true" | "false"]` (orange when missing: kernels fall back to f32)
#[component]
pub fn WebGpuStatus(status: GpuStatus, #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>) -> Element {
    let (state, tone) = match &status {
        GpuStatus::Probing => ("probing", Tone::Pending),
        GpuStatus::Ready(_) => ("ready", Tone::Data),
        GpuStatus::Unavailable(_) => ("unavailable", Tone::Error),
    };
    let ready = match &status {
        GpuStatus::Ready(adapter) => Some(adapter),
        _ => None,
    };
    rsx! {
        document::Stylesheet { href: asset!("/src/webgpu_status/style.css") }
        div {
            class: "hud-webgpu",
            "data-state": state,
            "data-vendor": ready.map(|a| a.vendor.clone()),
            "data-architecture": ready.map(|a| a.architecture.clone()),
            "data-shader-f16": ready.map(|a| a.shader_f16.to_string()),
            "data-max-buffer-size": ready.map(|a| a.max_buffer_size.to_string()),
            "data-max-storage-buffer-binding-size": ready.map(|a| a.max_storage_buffer_binding_size.to_string()),
            ..attributes,
            Readout { label: "WEBGPU", tone,
                match &status {
                    GpuStatus::Probing => rsx! { "requesting adapter…" },
                    GpuStatus::Unavailable(reason) => rsx! { "UNAVAILABLE — {reason}" },
                    GpuStatus::Ready(adapter) => rsx! { AdapterFacts { adapter: adapter.clone() } },
                }
            }
        }
    }
}

/// The body of a ready line: who the adapter is, then the facts that decide what fits on it.
#[component]
fn AdapterFacts(adapter: AdapterSummary) -> Element {
    let vendor = if adapter.vendor.is_empty() { "unknown vendor" } else { adapter.vendor.as_str() };
    let f16 = if adapter.shader_f16 { "yes" } else { "no" };
    let architecture =
        if adapter.architecture.is_empty() { String::new() } else { format!(" · {}", adapter.architecture) };
    rsx! {
        span { class: "hud-webgpu-adapter", "{vendor}{architecture}" }
        if !adapter.description.is_empty() {
            span { class: "hud-webgpu-description", " ({adapter.description})" }
        }
        span { class: "hud-webgpu-sep", " │ " }
        span { class: "hud-webgpu-f16", "data-available": adapter.shader_f16.to_string(), "shader-f16 {f16}" }
        span { class: "hud-webgpu-sep", " │ " }
        span { class: "hud-webgpu-limit", "maxBufferSize {format_bytes(adapter.max_buffer_size)}" }
        span { class: "hud-webgpu-sep", " │ " }
        span { class: "hud-webgpu-limit",
            "maxStorageBufferBindingSize {format_bytes(adapter.max_storage_buffer_binding_size)}"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::render_to_string;

    #[test]
    fn ready_line_names_adapter_and_limits() {
        let html = render_to_string(|| {
            rsx! {
                WebGpuStatus {
                    status: GpuStatus::Ready(AdapterSummary {
                        vendor: "google".into(),
                        architecture: "swiftshader".into(),
                        description: "SwiftShader Device (Subzero)".into(),
                        shader_f16: false,
                        max_buffer_size: 1 << 32,
                        max_storage_buffer_binding_size: 128 << 20,
                    }),
                }
            }
        });
        assert_eq!(
            html,
            concat!(
                r#"<div class="hud-webgpu" data-state="ready" data-vendor="google" data-architecture="swiftshader" "#,
                r#"data-shader-f16="false" data-max-buffer-size="4294967296" "#,
                r#"data-max-storage-buffer-binding-size="134217728">"#,
                r#"<div class="hud-readout" role="status" data-tone="data">"#,
                r#"<span class="hud-readout-label">WEBGPU</span><span class="hud-readout-value">"#,
                r#"<span class="hud-webgpu-adapter">google · swiftshader</span>"#,
                r#"<span class="hud-webgpu-description"> (SwiftShader Device (Subzero))</span>"#,
                r#"<span class="hud-webgpu-sep"> │ </span>"#,
                r#"<span class="hud-webgpu-f16" data-available="false">shader-f16 no</span>"#,
                r#"<span class="hud-webgpu-sep"> │ </span>"#,
                r#"<span class="hud-webgpu-limit">maxBufferSize 4 GiB</span>"#,
                r#"<span class="hud-webgpu-sep"> │ </span>"#,
                r#"<span class="hud-webgpu-limit">maxStorageBufferBindingSize 128 MiB</span>"#,
                r#"</span></div></div>"#,
            )
        );
    }

    #[test]
    fn missing_webgpu_is_said_in_red() {
        let html = render_to_string(|| {
            rsx! {
                WebGpuStatus { status: GpuStatus::Unavailable("navigator.gpu is missing".into()) }
            }
        });
        assert!(html.contains(r#"data-tone="error""#), "{html}");
        assert!(html.contains(r#"data-state="unavailable""#), "{html}");
        assert!(html.contains("UNAVAILABLE — navigator.gpu is missing"), "{html}");
    }

    #[test]
    fn probing_is_pending() {
        let html = render_to_string(|| rsx! { WebGpuStatus { status: GpuStatus::Probing } });
        assert!(html.contains(r#"data-tone="pending""#), "{html}");
        assert!(html.contains(r#"data-state="probing""#), "{html}");
    }
}
