//! The hook that brings up the engine's one WebGPU device for the page and proves it computes.
//!
//! The device itself belongs to the engine ([`GpuContext::shared`]); later stages reuse the same one. This hook
//! only asks for it once, turns its adapter report into the HUD's status line, and runs the engine's one-dispatch
//! self-test so a broken device shows up before a model load, not halfway through one.

use dioxus::prelude::*;
use gptoss_components::{AdapterSummary, GpuStatus};
use gptoss_engine::gpu::{compute_check, AdapterReport, ComputeCheck, GpuContext};

/// The outcome of the engine's self-test dispatch.
#[derive(Clone, Debug, PartialEq)]
pub enum SelfTest {
    /// Waiting for the device, or for the dispatch to read back.
    Running,
    Passed(ComputeCheck),
    Failed(String),
    /// There is no device to test.
    NotRun,
}

/// What the page shows about the device; both fields update as bring-up proceeds.
#[derive(Clone, Copy, PartialEq)]
pub struct WebGpu {
    pub status: Signal<GpuStatus>,
    pub self_test: Signal<SelfTest>,
}

/// Brings up the shared device once, when the calling component mounts.
pub fn use_webgpu() -> WebGpu {
    let mut status = use_signal(|| GpuStatus::Probing);
    let mut self_test = use_signal(|| SelfTest::Running);
    use_future(move || async move {
        if let Some(reason) = webgpu_missing() {
            status.set(GpuStatus::Unavailable(reason.into()));
            self_test.set(SelfTest::NotRun);
            return;
        }
        let ctx = match GpuContext::shared().await {
            Ok(ctx) => ctx,
            Err(e) => {
                status.set(GpuStatus::Unavailable(e.to_string()));
                self_test.set(SelfTest::NotRun);
                return;
            }
        };
        status.set(GpuStatus::Ready(summary(&ctx.report)));
        self_test.set(match compute_check(&ctx).await {
            Ok(check) => SelfTest::Passed(check),
            Err(e) => SelfTest::Failed(e.to_string()),
        });
    });
    WebGpu { status, self_test }
}

/// Why this browser has no WebGPU at all, checked before the engine asks for an adapter so the HUD can say
/// what to do instead of showing a bare "no adapter".
fn webgpu_missing() -> Option<&'static str> {
    let navigator = web_sys::window()?.navigator();
    let has_gpu = js_sys::Reflect::get(&navigator, &"gpu".into()).is_ok_and(|gpu| !gpu.is_undefined());
    (!has_gpu).then_some(
        "this browser does not expose WebGPU (navigator.gpu is missing): use a current Chrome or Edge, or enable \
         WebGPU in your browser's settings; it also needs a secure context (https or localhost)",
    )
}

fn summary(report: &AdapterReport) -> AdapterSummary {
    // The browser's description is the most specific name it gives; wgpu's name is the fallback.
    let description = if report.description.is_empty() { report.name.clone() } else { report.description.clone() };
    AdapterSummary {
        vendor: report.vendor.clone(),
        architecture: report.architecture.clone(),
        description,
        shader_f16: report.shader_f16,
        max_buffer_size: report.max_buffer_size,
        max_storage_buffer_binding_size: report.max_storage_buffer_binding_size,
    }
}
