//! What a model will need before it is loaded: the facts its header gives (sizes, shape), an estimate of the GPU
//! memory it takes at a chosen context, and whether that fits the adapter's limits. WebGPU reports no free memory,
//! so the estimate is what the HUD measures the load against; the per-buffer limits are the hard checks.

use gptoss_components::{format_bytes, Fact, Tone};
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::gpu::ExpertBudget;
use gptoss_engine::model::{GptOssConfig, TensorPlan};
use gptoss_engine::sampler::CANDIDATES;

/// What the header says about a model.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelFacts {
    /// `general.name`, else the file name. Untrusted: shown as text.
    pub name: String,
    /// All files of the model.
    pub file_bytes: u64,
    pub files: usize,
    pub tensor_count: usize,
    /// Bytes of the tensors the forward pass loads.
    pub tensor_bytes: u64,
    /// The tensors other than the expert matrices once resident: norms, biases and sinks widen to f32, weight
    /// blocks keep their size.
    pub dense_gpu_bytes: u64,
    /// One expert slot: an expert's gate, up and down matrices (the largest of any layer).
    pub expert_slot_bytes: u64,
    /// The largest single weight tensor (the loader splits it across buffers when it must).
    pub largest_tensor: (String, u64),
    /// The model's shape, or why it is not a gpt-oss model the engine can run.
    pub config: Result<GptOssConfig, String>,
}

impl ModelFacts {
    pub fn from_model(model: &GgufModel) -> ModelFacts {
        let header = model.header();
        let name = header
            .get("general.name")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| model.shards()[0].source.file_name());
        let infos: Vec<_> = model.tensors().map(|t| t.info.clone()).collect();
        let config = GptOssConfig::from_header(header).map_err(|e| e.to_string());
        let plan = config.as_ref().ok().map(|c| TensorPlan::new(c, &infos).map_err(|e| e.to_string()));
        let mut dense_gpu_bytes = 0;
        let mut expert_bytes_per_layer: std::collections::HashMap<&str, u64> = Default::default();
        let tensor_bytes = match &plan {
            Some(Ok(plan)) => {
                for t in &plan.tensors {
                    let name = t.info.name.as_str();
                    if name.ends_with("_exps.weight") {
                        // Each expert's matrix is repacked to the same bytes per block, padded to 16 bytes.
                        let n_expert = t.info.dims.get(2).copied().unwrap_or(1).max(1);
                        let layer = name.split('.').nth(1).unwrap_or("");
                        *expert_bytes_per_layer.entry(layer).or_default() +=
                            (t.info.n_bytes / n_expert).next_multiple_of(16);
                    } else if t.info.dims.get(1).copied().unwrap_or(1) == 1 || name.ends_with("_exps.bias") {
                        // Norms, biases and sinks are widened to f32.
                        dense_gpu_bytes += (t.info.n_elements() * 4).max(16);
                    } else {
                        dense_gpu_bytes += t.info.n_bytes.next_multiple_of(16);
                    }
                }
                plan.total_bytes()
            }
            _ => model.tensor_bytes(),
        };
        let expert_slot_bytes = expert_bytes_per_layer.values().copied().max().unwrap_or(0);
        let largest_tensor =
            infos.iter().max_by_key(|t| t.n_bytes).map(|t| (t.name.clone(), t.n_bytes)).unwrap_or_default();
        let config = match plan {
            Some(Err(e)) => Err(e),
            _ => config,
        };
        ModelFacts {
            name,
            file_bytes: model.shards().iter().map(|s| s.file_len).sum(),
            files: model.shards().len(),
            tensor_count: infos.len(),
            tensor_bytes,
            dense_gpu_bytes,
            expert_slot_bytes,
            largest_tensor,
            config,
        }
    }
}

/// GPU memory for one model at one context.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    pub weights: u64,
    /// Expert slots per layer (all experts unless paged).
    pub expert_slots: usize,
    pub kv_cache: u64,
    /// The largest single layer's KV buffer (bound as one storage buffer).
    pub kv_layer_max: u64,
    pub activations: u64,
    pub total: u64,
}

/// Tokens per prefill submission (the engine's `GpuOptions::max_batch`).
pub const MAX_BATCH: usize = 64;

/// The engine's buffers at `context` (gpu/forward.rs `GpuLoader::build`): resident weights, a KV cache per layer
/// (full layers hold the context, sliding ones the window plus a batch), and activations sized by the batch.
pub fn estimate(facts: &ModelFacts, context: usize, shader_f16: bool, experts: ExpertBudget) -> Option<Estimate> {
    let c = facts.config.as_ref().ok()?;
    let slots = experts.slots(c.n_expert, c.n_expert_used, c.n_layer, facts.expert_slot_bytes).ok()?;
    let kv_bytes: u64 = if shader_f16 { 2 } else { 4 };
    let kv_width = (c.n_head_kv * c.head_dim) as u64;
    let (ctx, batch) = (context as u64, MAX_BATCH as u64);
    let capacity = |il: usize| {
        if c.is_sliding(il) {
            ctx.min(c.sliding_window as u64 + batch - 1)
        } else {
            ctx
        }
    };
    let layer_kv = |il: usize| (2 * capacity(il) * kv_width * kv_bytes).next_multiple_of(4);
    let kv_cache = (0..c.n_layer).map(layer_kv).sum();
    let kv_layer_max = (0..c.n_layer).map(layer_kv).max().unwrap_or(0);
    let (e, q, k) = (c.n_embd as u64, (c.n_head * c.head_dim) as u64, c.n_expert_used as u64);
    let max_keys = (0..c.n_layer)
        .map(|il| if c.is_sliding(il) { ctx.min(c.sliding_window as u64) } else { ctx })
        .max()
        .unwrap_or(1);
    let splits = (0..c.n_layer).map(capacity).max().unwrap_or(1).div_ceil(256) + 1;
    let vocab = c.n_vocab as u64;
    let candidates = CANDIDATES as u64;
    let activations = 4
        * (batch * (1 + 2 * e + 2 * q + 2 * kv_width + c.n_expert as u64 + k * c.n_ff_expert as u64 + k * e)
            + batch * c.n_head as u64 * splits * (2 + c.head_dim as u64)
            + 2 * c.n_layer as u64 * batch * k
            + 2 * vocab
            + vocab.div_ceil(256 * 8) * (5 + 2 * candidates)
            + 2 * (14 + 2 * candidates + 2 * c.n_layer as u64 * k + 2 + max_keys)
            + c.n_layer as u64 * c.n_expert as u64
            + c.head_dim as u64
            + 64);
    let weights = facts.dense_gpu_bytes + (c.n_layer * slots) as u64 * facts.expert_slot_bytes;
    Some(Estimate {
        weights,
        expert_slots: slots,
        kv_cache,
        kv_layer_max,
        activations,
        total: weights + kv_cache + activations,
    })
}

/// The adapter limits that decide what fits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_buffer_size: u64,
    pub max_storage_buffer_binding_size: u64,
    pub shader_f16: bool,
}

/// The pre-load summary: what the model is, what it needs, and whether it fits.
pub fn summary(facts: &ModelFacts, context: usize, experts: ExpertBudget, limits: Option<Limits>) -> Vec<Fact> {
    let mut out = vec![
        Fact::new("model", facts.name.clone()),
        Fact::new(
            "file",
            format!(
                "{} in {} file{} · {} tensors",
                format_bytes(facts.file_bytes),
                facts.files,
                if facts.files == 1 { "" } else { "s" },
                facts.tensor_count
            ),
        ),
        Fact::new("tensor data", format_bytes(facts.tensor_bytes)),
    ];
    let config = match &facts.config {
        Ok(c) => c,
        Err(why) => {
            out.push(Fact::new("fits", format!("no — {why}")).tone(Tone::Error));
            return out;
        }
    };
    out.push(Fact::new(
        "shape",
        format!(
            "{} layers · {} experts ({} per token) · {} q / {} kv heads · window {} · trained context {}",
            config.n_layer,
            config.n_expert,
            config.n_expert_used,
            config.n_head,
            config.n_head_kv,
            config.sliding_window,
            config.context_length
        ),
    ));
    let Some(limits) = limits else {
        out.push(Fact::new("fits", "unknown — no WebGPU adapter").tone(Tone::Warning));
        return out;
    };
    let need = match experts.slots(config.n_expert, config.n_expert_used, config.n_layer, facts.expert_slot_bytes) {
        Err(e) => {
            out.push(Fact::new("fits", format!("no — {e}")).tone(Tone::Error));
            return out;
        }
        Ok(_) => match estimate(facts, context, limits.shader_f16, experts) {
            Some(need) => need,
            None => return out,
        },
    };
    out.push(Fact::new(
        format!("GPU memory @ {context} ctx"),
        format!(
            "≈ {} (weights {} with {} of {} experts per layer · KV cache {} {} · activations {})",
            format_bytes(need.total),
            format_bytes(need.weights),
            need.expert_slots,
            config.n_expert,
            format_bytes(need.kv_cache),
            if limits.shader_f16 { "f16" } else { "f32" },
            format_bytes(need.activations)
        ),
    ));
    out.push(Fact::new(
        "adapter limits",
        format!(
            "maxBufferSize {} · maxStorageBufferBindingSize {}",
            format_bytes(limits.max_buffer_size),
            format_bytes(limits.max_storage_buffer_binding_size)
        ),
    ));
    let binding = limits.max_storage_buffer_binding_size.min(limits.max_buffer_size);
    let mut problems = Vec::new();
    if context > config.context_length {
        problems.push(format!("context {context} exceeds the model's {}", config.context_length));
    }
    if need.kv_layer_max > binding {
        problems.push(format!(
            "one layer's KV cache needs {} (over the {} binding limit): lower the context",
            format_bytes(need.kv_layer_max),
            format_bytes(binding)
        ));
    }
    let logits = config.n_vocab as u64 * 4;
    if logits > binding {
        problems.push(format!("the logits buffer needs {}, over the binding limit", format_bytes(logits)));
    }
    out.push(if problems.is_empty() {
        Fact::new(
            "fits",
            format!(
                "yes, within the adapter's buffer limits — WebGPU cannot report free GPU memory, so {} must be free",
                format_bytes(need.total)
            ),
        )
        .tone(Tone::Done)
    } else {
        Fact::new("fits", format!("no — {}", problems.join("; "))).tone(Tone::Error)
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use gptoss_engine::events::NoEvents;
    use gptoss_engine::gpu::{load_model, GpuContext, GpuOptions};
    use gptoss_engine::source::ByteSource;
    use std::rc::Rc;

    fn fixture() -> ByteSource {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/tiny.gguf");
        assert!(path.is_file(), "fixture missing: {}", path.display());
        ByteSource::file(path)
    }

    /// The estimate is what the HUD's memory gauge measures a load against: it must cover what the engine really
    /// allocates, and not by much.
    #[test]
    fn estimate_covers_what_the_engine_allocates() {
        pollster::block_on(async {
            let model = GgufModel::open(fixture(), &mut NoEvents).await.unwrap();
            let facts = ModelFacts::from_model(&model);
            assert_eq!(facts.tensor_count, 4 * 19 + 3);
            assert!(facts.config.is_ok(), "{:?}", facts.config);
            let ctx = Rc::new(GpuContext::new().await.expect("a Vulkan adapter (lavapipe in CI)"));
            for (context, experts) in
                [(4096, ExpertBudget::All), (512, ExpertBudget::Fraction(0.5)), (256, ExpertBudget::Min)]
            {
                let options =
                    GpuOptions { context, max_batch: MAX_BATCH, expert_budget: experts, ..GpuOptions::default() };
                let loaded = load_model(ctx.clone(), &model, options, &mut NoEvents).await.unwrap();
                let actual = loaded.gpu_bytes();
                let need = estimate(&facts, context, ctx.report.shader_f16, experts).unwrap();
                assert!(
                    need.total >= actual && need.total <= actual + actual / 20,
                    "context {context}, {experts:?}: estimate {need:?} against {actual} allocated"
                );
            }
        });
    }

    #[test]
    fn summary_says_what_does_not_fit() {
        pollster::block_on(async {
            let model = GgufModel::open(fixture(), &mut NoEvents).await.unwrap();
            let facts = ModelFacts::from_model(&model);
            let small =
                Limits { max_buffer_size: 512 << 10, max_storage_buffer_binding_size: 512 << 10, shader_f16: false };
            let facts_out = summary(&facts, 4096, ExpertBudget::All, Some(small));
            let fits = facts_out.iter().find(|f| f.label == "fits").unwrap();
            assert_eq!(fits.tone, Tone::Error, "{fits:?}");
            // 201,088 f32 logits are 804,352 bytes; a full layer's f32 KV cache at 4096 positions is
            // 2 × 4096 × (2 kv heads × 16) × 4 = 1 MiB: both over a 512 KiB binding.
            assert!(
                fits.value.contains("KV cache needs 1 MiB") && fits.value.contains("logits buffer needs 785.5 KiB"),
                "{fits:?}"
            );
            let roomy = Limits { max_buffer_size: 1 << 30, max_storage_buffer_binding_size: 1 << 30, shader_f16: true };
            let fits =
                summary(&facts, 4096, ExpertBudget::All, Some(roomy)).into_iter().find(|f| f.label == "fits").unwrap();
            assert_eq!(fits.tone, Tone::Done, "{fits:?}");
            let long = summary(&facts, 1 << 20, ExpertBudget::All, Some(roomy))
                .into_iter()
                .find(|f| f.label == "fits")
                .unwrap();
            assert!(long.value.contains("exceeds the model's"), "{long:?}");
        });
    }
}
