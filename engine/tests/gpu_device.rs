//! The device comes up natively (lavapipe in CI) and computes.

use gptoss_engine::gpu::{compute_check, GpuContext};

#[test]
fn device_computes() {
    let ctx = pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (install mesa-vulkan-drivers)");
    eprintln!("adapter: {:?}", ctx.report);
    assert!(ctx.report.max_storage_buffer_binding_size >= 128 << 20);
    let check = pollster::block_on(compute_check(&ctx)).unwrap();
    assert_eq!(check.elements, 1024);
    // Σ (i² + 7) for i < 1024, computed in closed form.
    let n = 1024u64;
    assert_eq!(check.checksum, (n - 1) * n * (2 * n - 1) / 6 + 7 * n);
}
