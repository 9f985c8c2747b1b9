//! Two one-shot probes of the device, outside any model: the page's compute self-test and the benchmark's
//! memory-read ceiling. Each is a single kernel with its own buffers, built by [`one_shot`].

use serde::Serialize;
use web_time::Instant;

use super::GpuContext;
use crate::{Error, Result};

/// A pipeline from a standalone WGSL file whose bindings 0, 1, … are `buffers`, and its bind group.
fn one_shot(
    ctx: &GpuContext,
    label: &str,
    wgsl: &str,
    buffers: &[&wgpu::Buffer],
) -> (wgpu::ComputePipeline, wgpu::BindGroup) {
    let pipeline = ctx.main_pipeline(label, wgsl.into());
    let entries: Vec<wgpu::BindGroupEntry> = buffers
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32, resource: b.as_entire_binding() })
        .collect();
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(label),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    (pipeline, bind)
}

fn buffer(ctx: &GpuContext, label: &str, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size, usage, mapped_at_creation: false })
}

/// Result of [`compute_check`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComputeCheck {
    pub elements: u32,
    pub checksum: u64,
    pub ms: f64,
}

/// One real compute dispatch through the device: out[i] = i*i + 7 for 1024 elements, read back and verified.
pub async fn compute_check(ctx: &GpuContext) -> Result<ComputeCheck> {
    const N: u32 = 1024;
    let start = Instant::now();
    let bytes = (N as u64) * 4;
    let out = buffer(ctx, "compute_check.out", bytes, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC);
    let staging =
        buffer(ctx, "compute_check.staging", bytes, wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST);
    let wgsl = include_str!("../../../shaders/compute_check.wgsl");
    let (pipeline, bind) = one_shot(ctx, "compute_check", wgsl, &[&out]);
    let mut encoder = ctx.device.create_command_encoder(&Default::default());
    {
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(N.div_ceil(64), 1, 1);
    }
    encoder.copy_buffer_to_buffer(&out, 0, &staging, 0, bytes);
    ctx.queue.submit([encoder.finish()]);
    let data = ctx.read_buffer(&staging).await?;
    let values: &[u32] = bytemuck::cast_slice(&data);
    let mut checksum = 0u64;
    for (i, &v) in values.iter().enumerate() {
        let want = (i as u32).wrapping_mul(i as u32).wrapping_add(7);
        if v != want {
            return Err(Error::Gpu(format!("compute check: element {i} is {v}, expected {want}")));
        }
        checksum += v as u64;
    }
    Ok(ComputeCheck { elements: N, checksum, ms: start.elapsed().as_secs_f64() * 1e3 })
}

/// The smallest read buffer worth timing: below this, launch latency rather than memory dominates.
const MIN_CEILING_BYTES: u64 = 64 << 20;

/// The read ceiling's source buffer: up to 1 GiB within the binding limits, halved while the device reports it
/// out of memory (SwiftShader advertises 1 GiB buffers but cannot allocate one). The size used is reported.
async fn ceiling_source(ctx: &GpuContext) -> Result<(wgpu::Buffer, u64)> {
    let limit = ctx.report.max_storage_buffer_binding_size.min(ctx.report.max_buffer_size);
    let mut bytes = (1u64 << 30).min(limit) / 16 * 16;
    loop {
        let scope = ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let src = buffer(ctx, "ceiling.src", bytes, wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST);
        match scope.pop().await {
            None => return Ok((src, bytes)),
            Some(_) if bytes / 2 >= MIN_CEILING_BYTES => bytes /= 2,
            Some(e) => return Err(Error::Gpu(format!("read ceiling: a {bytes}-byte buffer failed: {e}"))),
        }
    }
}

/// Result of [`read_ceiling`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ReadCeiling {
    pub gb_per_s: f64,
    /// Size of the buffer read: up to 1 GiB, less where the device could not allocate that.
    pub bytes: u64,
}

/// Best of a few runs of the read-bandwidth kernel over a buffer of up to 1 GiB.
pub async fn read_ceiling(ctx: &GpuContext) -> Result<ReadCeiling> {
    let (src, bytes) = ceiling_source(ctx).await?;
    // Non-zero contents, so no driver can skip reading a cleared buffer.
    let fill: Vec<u8> = (0..(16u32 << 20)).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let mut at = 0;
    while at < bytes {
        let n = (fill.len() as u64).min(bytes - at);
        ctx.queue.write_buffer(&src, at, &fill[..n as usize]);
        at += n;
    }
    let sink = buffer(ctx, "ceiling.sink", 4096, wgpu::BufferUsages::STORAGE);
    let wgsl = include_str!("../../../shaders/read_bandwidth.wgsl");
    let (pipeline, bind) = one_shot(ctx, "read_bandwidth", wgsl, &[&src, &sink]);
    ctx.wait_idle().await?;
    // Several reads per submission, so the submit → done latency (0.1–0.2 ms, in the browser too) is a small part
    // of what is timed.
    const READS: u64 = 8;
    let mut best = 0f64;
    for _ in 0..6 {
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            for _ in 0..READS {
                pass.dispatch_workgroups(4096, 1, 1);
            }
        }
        let start = Instant::now();
        ctx.queue.submit([encoder.finish()]);
        ctx.wait_idle().await?;
        best = best.max((READS * bytes) as f64 / start.elapsed().as_secs_f64() / 1e9);
    }
    Ok(ReadCeiling { gb_per_s: best, bytes })
}
