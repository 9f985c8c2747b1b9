//! `gptoss bench`: load, prefill and decode measured on the real engine, with a read-bandwidth ceiling measured in
//! the same run so every decode figure is stated as a fraction of the roofline it implies.

use std::rc::Rc;

use serde::Serialize;
use web_time::Instant;

use crate::events::{EventSink, NoEvents, Stage, StageTimer};
use crate::gguf::{GgufModel, StreamOptions, StreamTimes, TensorInfo};
use crate::gpu::{
    load_model, read_ceiling, AdapterReport, ExpertBudget, GpuContext, GpuModel, GpuOptions, PagingStats, StepTiming,
};
use crate::model::GptOssConfig;
use crate::sampler::SamplerConfig;
use crate::source::{ByteSource, TransferStats};
use crate::Result;

#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// `native` (the CLI on wgpu's native backend) or the browser's runtime (the page's benchmark mode sets
    /// `chrome` and `browser`).
    pub runtime: String,
    pub browser: Option<String>,
    pub adapter: AdapterReport,
    /// The adapter's features by name (in the browser, as `GPUAdapter.features` lists them: wgpu requests only
    /// those it maps, so `subgroups` can be offered here and still not be used).
    pub adapter_features: Vec<String>,
    pub device: String,

    pub driver: String,
    pub backend: String,
    pub model: String,
    pub tensor_bytes: u64,
    pub load_s: f64,
    pub load_gb_per_s: f64,
    /// Of the tensor stream inside `load_s`: time waiting for bytes, and time uploading them (where a gap between
    /// the network's rate and the load's comes from).
    pub load_stream: StreamTimes,
    /// The rest of `load_s`: the header, allocating the buffers, building the pipelines, and waiting for the GPU to
    /// take in every upload.
    pub load_other_s: f64,
    /// The HTTP requests of the whole load (header included), when the model came over HTTP.
    pub load_transfer: Option<TransferStats>,
    /// The load's read path alone: the first tensors streamed the same way into nothing (no upload), before the
    /// load, in the same run.
    pub fetch_ceiling: FetchCeiling,
    /// The same with the other read patterns asked for (`BenchOptions::reads`).
    pub fetch_reads: Vec<FetchCeiling>,
    pub gpu_bytes: u64,
    /// Weight bytes one decoded token reads: the dense weights, one embedding row, k of n experts per layer.
    pub weight_bytes_per_token: u64,
    pub ceiling_gb_per_s: f64,
    /// The buffer the ceiling read (1 GiB unless the device could not allocate that).
    pub ceiling_bytes: u64,
    /// ceiling / weight bytes per token.
    pub roofline_tokens_per_s: f64,
    pub prefill: Vec<PrefillFigure>,
    pub decode: Vec<DecodeFigure>,
    pub dispatches_per_token: usize,
    pub submissions_per_token: usize,
    /// Expert paging while decoding (empty when every expert is resident).
    pub paging: Vec<PagingFigure>,
    /// GPU time per kernel family in one profiled decode step (empty without timestamp queries).
    pub kernels: Vec<KernelFigure>,
    pub kernel_total_ms: f64,
    /// The same for one prefill batch of `max_batch` tokens.
    pub prefill_batch_tokens: usize,
    /// Batches of this many tokens or more ran the tiled kernels.
    pub tiled_from: usize,
    pub prefill_kernels: Vec<KernelFigure>,
    pub prefill_kernel_total_ms: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct FetchCeiling {
    /// Reads in flight, and the largest read.
    pub concurrency: usize,
    pub chunk_mib: u64,
    pub bytes: u64,
    pub gb_per_s: f64,
}

/// Bytes the fetch ceiling streams: enough for many reads in flight, a fraction of a large model.
const FETCH_CEILING_BYTES: u64 = 2 << 30;

/// Stream the file's first tensors (up to [`FETCH_CEILING_BYTES`]) in reads as `reads` says, consuming nothing.
async fn stream_into_nothing(file: &GgufModel, reads: StreamOptions) -> Result<FetchCeiling> {
    let taken = std::cell::Cell::new(0u64);
    let select = |t: &TensorInfo| {
        let take = taken.get() < FETCH_CEILING_BYTES;
        taken.set(taken.get() + t.n_bytes * take as u64);
        take
    };
    let start = Instant::now();
    file.stream_tensors(select, reads, |_| Ok(()), &mut NoEvents).await?;
    let bytes = taken.get();
    Ok(FetchCeiling {
        concurrency: reads.concurrency,
        chunk_mib: reads.chunk_bytes >> 20,
        bytes,
        gb_per_s: bytes as f64 / start.elapsed().as_secs_f64() / 1e9,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct PrefillFigure {
    pub prompt_tokens: usize,
    pub seconds: f64,
    pub tokens_per_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DecodeFigure {
    pub context: usize,
    pub tokens_per_s: f64,
    pub ms_per_token: f64,
    /// Bytes per token over the measured time.
    pub implied_gb_per_s: f64,
    pub roofline_fraction: f64,
    /// Where a token's wall time goes (medians over the measured tokens, ms): the GPU's own time (the sum of the
    /// per-dispatch timestamps of one profiled step at this context; 0 without timestamp queries), recording the
    /// pass, the submit call, submit → readback mapped, and whatever is left (the caller between steps). Steps are
    /// submitted one ahead, so a step's submit → mapped overlaps the previous token's and the parts can add up to
    /// more than the wall time (`other_ms` is then 0).
    pub gpu_ms: f64,
    pub encode_ms: f64,
    pub submit_ms: f64,
    pub map_wait_ms: f64,
    pub other_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PagingFigure {
    pub context: usize,
    pub expert_slots_per_layer: usize,
    pub hit_rate: f64,
    pub bytes_moved_per_token: f64,
    pub stall_ms_per_token: f64,
    pub syncs_per_token: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct KernelFigure {
    pub name: String,
    pub dispatches: usize,
    pub ms: f64,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    pub prefill_lengths: Vec<usize>,
    pub decode_contexts: Vec<usize>,
    pub decode_tokens: usize,
    pub warmup_tokens: usize,
    pub max_batch: usize,
    /// Batches from this many tokens run the tiled kernels ([`GpuOptions::tiled_from`]).
    pub tiled_from: usize,
    pub expert_budget: ExpertBudget,
    /// Read patterns whose fetch ceiling is measured besides the load's own.
    pub reads: Vec<StreamOptions>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            prefill_lengths: vec![128, 1024],
            decode_contexts: vec![0, 1024, 4096],
            decode_tokens: 32,
            warmup_tokens: 4,
            max_batch: 256,
            tiled_from: crate::gpu::kernels::TILED_FROM,
            expert_budget: ExpertBudget::All,
            reads: Vec::new(),
        }
    }
}

/// Deterministic token ids spread over the ordinary vocabulary.
fn prompt(n: usize, vocab: usize, salt: u64) -> Vec<u32> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ salt;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % vocab.min(199_998) as u64) as u32
        })
        .collect()
}

/// Weight bytes read by one decoded token.
fn bytes_per_token(model: &GgufModel, config: &GptOssConfig) -> u64 {
    model
        .tensors()
        .map(|t| {
            let n = t.info.n_bytes;
            if t.info.name == "token_embd.weight" {
                n / config.n_vocab as u64
            } else if t.info.name.contains("_exps.") {
                n * config.n_expert_used as u64 / config.n_expert as u64
            } else {
                n
            }
        })
        .sum()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Of `n` decode steps (after `warmup`): the mean seconds per token, the medians of the host's split of a step, and
/// the paging totals of the measured tokens.
struct DecodeRun {
    seconds: f64,
    host: StepTiming,
    paging: Option<PagingStats>,
}

/// Steps go as generation runs them: each submitted before the previous one is read back, unless paging.
async fn decode_run(model: &mut GpuModel, n: usize, warmup: usize) -> Result<DecodeRun> {
    let greedy = SamplerConfig::greedy();
    let mut token = 0u32;
    let (mut times, mut encode, mut submit, mut map_wait) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut paging: Option<PagingStats> = None;
    let total = warmup + n;
    let mut ahead = if model.pages_experts() { None } else { Some(model.submit_ahead(&greedy)?) };
    let mut last = Instant::now();
    for i in 0..total {
        let out = match ahead.take() {
            Some(this) => {
                if i + 1 < total {
                    ahead = Some(model.submit_ahead(&greedy)?);
                }
                model.receive(this).await?
            }
            None => model.step(&[token], &greedy).await?,
        };
        token = out.choice.token;
        // A token's time is the interval between results, as a reader of the stream sees it.
        let now = Instant::now();
        let seconds = (now - last).as_secs_f64();
        last = now;
        if i >= warmup {
            times.push(seconds);
            encode.push(out.timing.encode_ms);
            submit.push(out.timing.submit_ms);
            map_wait.push(out.timing.map_wait_ms);
            if let Some(p) = out.paging {
                *paging.get_or_insert_with(PagingStats::default) += p;
            }
        }
    }
    let host = StepTiming { encode_ms: median(encode), submit_ms: median(submit), map_wait_ms: median(map_wait) };
    // The mean, not the median: with a step always in flight, results can arrive in uneven pairs.
    let seconds = times.iter().sum::<f64>() / times.len().max(1) as f64;
    Ok(DecodeRun { seconds, host, paging })
}

#[cfg(not(target_arch = "wasm32"))]
/// Run the whole benchmark on the model at `path_or_url`. Reports each phase to `events` as a stage (the header's
/// fetch, `read_ceiling`, the tensors' load, `prefill`, `decode`, `profile`).
pub async fn run(path_or_url: &str, options: &BenchOptions, events: &mut dyn EventSink) -> Result<BenchReport> {
    let device = async { Ok(Rc::new(GpuContext::new().await?)) };
    measure(device, ByteSource::from_path_or_url(path_or_url), path_or_url, options, events).await
}

/// The benchmark on the device `device` brings (the CLI's own or the page's, asked for once the header has
/// been read), reading the model from `source`. `runtime` is `native` here; the page's benchmark mode overwrites it
/// with the browser's.
pub async fn measure(
    device: impl std::future::Future<Output = Result<Rc<GpuContext>>>,
    source: ByteSource,
    label: &str,
    options: &BenchOptions,
    events: &mut dyn EventSink,
) -> Result<BenchReport> {
    // The header first, so a file that is not a model is refused before any GPU work; its time is load time.
    let start = Instant::now();
    let file = GgufModel::open(source, events).await?;
    let config = GptOssConfig::from_header(file.header())?;
    let header_s = start.elapsed().as_secs_f64();
    let ctx = device.await?;
    let stage = StageTimer::start(Stage::ReadCeiling, events);
    let ceiling = stage.end(events, read_ceiling(&ctx).await, 0)?;
    let fetch_ceiling = stream_into_nothing(&file, StreamOptions::default()).await?;
    let mut fetch_reads = Vec::new();
    for &reads in &options.reads {
        fetch_reads.push(stream_into_nothing(&file, reads).await?);
    }
    let start = Instant::now();
    let max_context =
        (options.decode_contexts.iter().max().copied().unwrap_or(0) + options.warmup_tokens + options.decode_tokens)
            .max(options.prefill_lengths.iter().max().copied().unwrap_or(0))
            .max(options.max_batch);
    let gpu_options = GpuOptions {
        context: max_context + 1,
        max_batch: options.max_batch,
        max_logit_rows: 1,
        kv_storage: None,
        expert_budget: options.expert_budget,
        weight_binding_limit: None,
        tiled_from: options.tiled_from,
    };
    let mut model = load_model(ctx.clone(), &file, gpu_options, events).await?;
    // The load is done when the GPU has every byte: wait for the queue.
    ctx.wait_idle().await?;
    let load_s = header_s + start.elapsed().as_secs_f64();
    let tensor_bytes = file.tensor_bytes();
    let weight_bytes_per_token = bytes_per_token(&file, &config);
    let roofline = ceiling.gb_per_s * 1e9 / weight_bytes_per_token as f64;

    let stage = StageTimer::start(Stage::Prefill, events);
    let prefill = stage.end(events, prefill_figures(&mut model, &config, options).await, 0)?;
    let stage = StageTimer::start(Stage::Decode, events);
    let measured = decode_figures(&ctx, &mut model, &config, options, weight_bytes_per_token, roofline).await;
    let (decode, paging) = stage.end(events, measured, 0)?;

    // Per-kernel profiles need every expert resident (a profiled pass does not page).
    let ((kernels, kernel_total_ms), (prefill_kernels, prefill_kernel_total_ms)) =
        if ctx.report.timestamp_query && model.expert_slots() == config.n_expert {
            let stage = StageTimer::start(Stage::Profile, events);
            stage.end(events, profile_kernels(&mut model, &config, options).await, 0)?
        } else {
            ((Vec::new(), 0.0), (Vec::new(), 0.0))
        };
    let info = ctx.adapter.get_info();
    Ok(BenchReport {
        runtime: "native".into(),
        browser: None,
        adapter: ctx.report.clone(),
        adapter_features: adapter_feature_names(&ctx.adapter),
        device: info.name.clone(),
        driver: format!("{} {}", info.driver, info.driver_info),
        backend: format!("{:?}", info.backend),
        model: label.to_string(),
        tensor_bytes,
        load_s,
        load_gb_per_s: tensor_bytes as f64 / load_s / 1e9,
        load_stream: model.load_times(),
        load_other_s: load_s - model.load_times().wait_s - model.load_times().consume_s,
        fetch_ceiling,
        fetch_reads,
        load_transfer: file.shards().iter().filter_map(|s| s.source.transfer()).reduce(|a, b| a + b),
        gpu_bytes: model.gpu_bytes(),
        weight_bytes_per_token,
        ceiling_gb_per_s: ceiling.gb_per_s,
        ceiling_bytes: ceiling.bytes,
        roofline_tokens_per_s: roofline,
        prefill,
        decode,
        dispatches_per_token: model.dispatches_per_token(),
        // Paging adds a submission and a routing readback per layer.
        submissions_per_token: if paging.is_empty() { 1 } else { 1 + config.n_layer },
        paging,
        kernels,
        kernel_total_ms,
        prefill_batch_tokens: options.max_batch,
        tiled_from: options.tiled_from,
        prefill_kernels,
        prefill_kernel_total_ms,
    })
}

/// Prefill time per prompt length, each on a fresh context after one warm-up at the same batch shape.
async fn prefill_figures(
    model: &mut GpuModel,
    config: &GptOssConfig,
    options: &BenchOptions,
) -> Result<Vec<PrefillFigure>> {
    let greedy = SamplerConfig::greedy();
    let mut prefill = Vec::new();
    for (i, &n) in options.prefill_lengths.iter().enumerate() {
        let tokens = prompt(n, config.n_vocab, i as u64);
        // Warm up the pipelines once at this batch shape, then time a fresh context.
        model.reset();
        model.step(&tokens[..n.min(options.max_batch)], &greedy).await?;
        model.reset();
        let t = Instant::now();
        model.step(&tokens, &greedy).await?;
        let seconds = t.elapsed().as_secs_f64();
        prefill.push(PrefillFigure { prompt_tokens: n, seconds, tokens_per_s: n as f64 / seconds });
    }
    Ok(prefill)
}

/// Decode speed at each context length, with the expert paging it caused (none when every expert is resident).
async fn decode_figures(
    ctx: &GpuContext,
    model: &mut GpuModel,
    config: &GptOssConfig,
    options: &BenchOptions,
    weight_bytes_per_token: u64,
    roofline: f64,
) -> Result<(Vec<DecodeFigure>, Vec<PagingFigure>)> {
    let greedy = SamplerConfig::greedy();
    let mut decode = Vec::new();
    let mut paging = Vec::new();
    for &context in &options.decode_contexts {
        model.reset();
        if context > 0 {
            model.step(&prompt(context, config.n_vocab, 99), &greedy).await?;
        }
        let run = decode_run(model, options.decode_tokens, options.warmup_tokens).await?;
        let s = run.seconds;
        // The GPU's own time of one more step at this context (a profiled pass does not page).
        let gpu_ms = if ctx.report.timestamp_query && model.expert_slots() == config.n_expert {
            model.profile_step(&[1], &greedy).await?.iter().map(|(_, ns)| ns).sum::<f64>() / 1e6
        } else {
            0.0
        };
        if let Some(p) = run.paging {
            let n = options.decode_tokens.max(1) as f64;
            paging.push(PagingFigure {
                context,
                expert_slots_per_layer: model.expert_slots(),
                hit_rate: p.hits as f64 / (p.hits + p.misses).max(1) as f64,
                bytes_moved_per_token: p.bytes_uploaded as f64 / n,
                stall_ms_per_token: p.stall_ms / n,
                syncs_per_token: p.syncs as f64 / n,
            });
        }
        let implied = weight_bytes_per_token as f64 / s / 1e9;
        decode.push(DecodeFigure {
            context,
            tokens_per_s: 1.0 / s,
            ms_per_token: s * 1e3,
            implied_gb_per_s: implied,
            roofline_fraction: (1.0 / s) / roofline,
            gpu_ms,
            encode_ms: run.host.encode_ms,
            submit_ms: run.host.submit_ms,
            map_wait_ms: run.host.map_wait_ms,
            other_ms: (s * 1e3 - run.host.encode_ms - run.host.submit_ms - run.host.map_wait_ms).max(0.0),
        });
    }
    Ok((decode, paging))
}

/// GPU time per kernel family of one decode step and of one prefill batch of `max_batch` tokens.
async fn profile_kernels(
    model: &mut GpuModel,
    config: &GptOssConfig,
    options: &BenchOptions,
) -> Result<((Vec<KernelFigure>, f64), (Vec<KernelFigure>, f64))> {
    let greedy = SamplerConfig::greedy();
    model.reset();
    model.step(&[0], &greedy).await?;
    let decode = kernel_table(model.profile_step(&[1], &greedy).await?);
    model.reset();
    let batch = prompt(options.max_batch, config.n_vocab, 7);
    let prefill = kernel_table(model.profile_step(&batch, &greedy).await?);
    Ok((decode, prefill))
}

fn adapter_feature_names(adapter: &wgpu::Adapter) -> Vec<String> {
    adapter.features().iter_names().map(|(name, _)| name.to_lowercase()).collect()
}

/// Per-dispatch times folded into kernel families, largest first, with the total in ms.
fn kernel_table(times: Vec<(String, f64)>) -> (Vec<KernelFigure>, f64) {
    let total_ms = times.iter().map(|(_, ns)| ns).sum::<f64>() / 1e6;
    let mut families: Vec<(String, usize, f64)> = Vec::new();
    for (label, ns) in times {
        let family = family_of(&label);
        match families.iter_mut().find(|(f, _, _)| *f == family) {
            Some(f) => {
                f.1 += 1;
                f.2 += ns;
            }
            None => families.push((family, 1, ns)),
        }
    }
    families.sort_by(|a, b| b.2.total_cmp(&a.2));
    let table = families
        .into_iter()
        .map(|(name, dispatches, ns)| KernelFigure {
            name,
            dispatches,
            ms: ns / 1e6,
            share: ns / 1e6 / total_ms.max(1e-12),
        })
        .collect();
    (table, total_ms)
}

/// `matvec: blk.3.attn_q.weight` → `matvec: attn_q.weight`; pools and layers folded together.
fn family_of(label: &str) -> String {
    let (kernel, what) = label.split_once(": ").unwrap_or((label, ""));
    let what = what.strip_prefix("blk.").map(|r| r.split_once('.').map_or(r, |(_, rest)| rest)).unwrap_or(what);
    let what = what.split('[').next().unwrap_or(what);
    if what.is_empty() || what == kernel || what.starts_with(kernel) {
        kernel.to_string()
    } else {
        format!("{kernel}: {what}")
    }
}

impl BenchReport {
    /// The human-readable report.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{} on {} ({}, driver {})\nmodel {} — {:.2} GiB of tensors\nload {:.2} s ({:.2} GB/s; streaming waited {:.2} s for bytes, uploaded for {:.2} s; {:.2} s else), GPU memory \
             {:.2} GiB; reads alone {:.2} GB/s\n\
             read ceiling {:.0} GB/s (over {} MiB); {:.3} GB of weights per token → roofline {:.0} tokens/s\n",
            self.browser.as_deref().unwrap_or(&self.runtime),
            self.device,
            self.backend,
            self.driver,
            self.model,
            self.tensor_bytes as f64 / (1u64 << 30) as f64,
            self.load_s,
            self.load_gb_per_s,
            self.load_stream.wait_s,
            self.load_stream.consume_s,
            self.load_other_s,
            self.gpu_bytes as f64 / (1u64 << 30) as f64,
            self.fetch_ceiling.gb_per_s,
            self.ceiling_gb_per_s,
            self.ceiling_bytes >> 20,
            self.weight_bytes_per_token as f64 / 1e9,
            self.roofline_tokens_per_s
        );
        for f in &self.fetch_reads {
            s += &format!("reads alone, {} in flight of {} MiB: {:.2} GB/s\n", f.concurrency, f.chunk_mib, f.gb_per_s);
        }
        for p in &self.prefill {
            s += &format!(
                "prefill {:>5} tokens: {:>8.1} tokens/s ({:.3} s)\n",
                p.prompt_tokens, p.tokens_per_s, p.seconds
            );
        }
        for d in &self.decode {
            s += &format!(
                "decode at context {:>5}: {:>7.1} tokens/s ({:.2} ms/token, {:.0} GB/s, {:.1}% of roofline)\n\
                 {:>26}GPU {:.2} ms, encode {:.2} ms, submit {:.2} ms, submit → mapped {:.2} ms, other {:.2} ms\n",
                d.context,
                d.tokens_per_s,
                d.ms_per_token,
                d.implied_gb_per_s,
                100.0 * d.roofline_fraction,
                "",
                d.gpu_ms,
                d.encode_ms,
                d.submit_ms,
                d.map_wait_ms,
                d.other_ms
            );
        }
        s += &format!(
            "{} dispatches and {} submission(s) per token\n",
            self.dispatches_per_token, self.submissions_per_token
        );
        for p in &self.paging {
            s += &format!(
                "expert paging at context {}: {} slots per layer, hit rate {:.1}%, {:.1} MB moved and {:.2} ms stalled per token, {:.0} syncs per token\n",
                p.context,
                p.expert_slots_per_layer,
                100.0 * p.hit_rate,
                p.bytes_moved_per_token / 1e6,
                p.stall_ms_per_token,
                p.syncs_per_token
            );
        }
        let tables = [
            (format!("one decode step (total {:.3} ms)", self.kernel_total_ms), &self.kernels),
            (
                format!(
                    "one {}-token prefill batch (total {:.3} ms)",
                    self.prefill_batch_tokens, self.prefill_kernel_total_ms
                ),
                &self.prefill_kernels,
            ),
        ];
        for (title, table) in tables {
            if !table.is_empty() {
                s += &format!("GPU time of {title} by kernel:\n");
                for k in table {
                    s += &format!("  {:>8.3} ms {:>5.1}%  {:>4}×  {}\n", k.ms, 100.0 * k.share, k.dispatches, k.name);
                }
            }
        }
        s
    }
}
