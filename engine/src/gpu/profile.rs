//! Per-dispatch GPU times of one step, for `gptoss bench`.

use super::model::GpuModel;
use super::plan::Dispatch;
use crate::sampler::SamplerConfig;
use crate::{Error, Result};

impl GpuModel {
    /// GPU time of every dispatch of one step over `tokens` (one token: a decode step; more: a prefill batch), in
    /// nanoseconds, labelled `kernel: what`. Uses timestamp queries with one compute pass per dispatch, so the sum
    /// is a little above a normal step's GPU time.
    pub async fn profile_step(&mut self, tokens: &[u32], sampling: &SamplerConfig) -> Result<Vec<(String, f64)>> {
        if !self.ctx.report.timestamp_query {
            return Err(Error::Gpu("the adapter has no timestamp queries; per-kernel times are unavailable".into()));
        }
        if tokens.len() > self.options.max_batch {
            return Err(Error::Usage(format!("a profiled step takes at most {} tokens", self.options.max_batch)));
        }
        self.check_room(tokens.len())?;
        let runs = |d: &&Dispatch| d.probe_layer.is_none() && self.plan.runs(d, tokens.len());
        let dispatches: Vec<&Dispatch> = self.plan.forward.iter().chain(&self.plan.sample).filter(runs).collect();
        let n = dispatches.len() as u32 * 2;
        let device = &self.ctx.device;
        let set = device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("profile"),
            ty: wgpu::QueryType::Timestamp,
            count: n,
        });
        let resolve = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile.resolve"),
            size: n as u64 * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let read = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("profile.read"),
            size: n as u64 * 8,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.write_step(Some(tokens), 1, Some(sampling));
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("profile") });
        for (i, d) in dispatches.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(&d.label),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &set,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            self.plan.record(&mut pass, d, tokens.len(), self.pos, 1);
        }
        encoder.resolve_query_set(&set, 0..n, &resolve, 0);
        encoder.copy_buffer_to_buffer(&resolve, 0, &read, 0, n as u64 * 8);
        self.ctx.queue.submit([encoder.finish()]);
        self.pos += tokens.len();
        self.steps = self.steps.wrapping_add(1);
        let bytes = self.ctx.read_buffer(&read).await?;
        let ticks: &[u64] = bytemuck::cast_slice(&bytes);
        let period = self.ctx.queue.get_timestamp_period() as f64;
        Ok(dispatches
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let ns = ticks[2 * i + 1].saturating_sub(ticks[2 * i]) as f64 * period;
                (format!("{}: {}", d.kernel.name(), d.label), ns)
            })
            .collect())
    }
}
