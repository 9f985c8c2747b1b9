//! What a model will need before it is loaded: the facts its header gives (sizes, shape), an estimate of the GPU
//! memory it takes at a chosen context, and whether that fits the adapter's limits. WebGPU reports no free memory,
//! so the estimate is what the HUD measures the load against; the per-buffer limits are the hard checks.

use gptoss_components::{file_text, format_bytes, Fact, Tone};
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::gpu::buffers::{binding_limit, weight_limit};
use gptoss_engine::gpu::{BufferSizes, ExpertBudget, GpuOptions, KvStorage};
use gptoss_engine::model::{plan_of, GptOssConfig, TensorPlan};

/// Characters of `general.name` shown before the rest is summarised (a file may carry a megabyte there).
const SHOWN_NAME_CHARS: usize = 120;

/// What the header says about a model.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelFacts {
    /// `general.name` (untrusted: shortened and escaped by [`file_text`], shown as text), else the file name.
    pub name: String,
    /// All files of the model.
    pub file_bytes: u64,
    pub files: usize,
    pub tensor_count: usize,
    /// Bytes of the tensors the forward pass loads.
    pub tensor_bytes: u64,
    /// The checked tensor plan the engine sizes its buffers from, when the model is one it can run.
    pub plan: Option<TensorPlan>,
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
            .map(|name| file_text(name, SHOWN_NAME_CHARS))
            .unwrap_or_else(|| model.shards()[0].source.file_name());
        let (config, plan) = match plan_of(model) {
            Ok((config, plan)) => (Ok(config), Some(plan)),
            Err(e) => (Err(e.to_string()), None),
        };
        let tensor_bytes = plan.as_ref().map_or_else(|| model.tensor_bytes(), TensorPlan::total_bytes);
        let largest = model.tensors().max_by_key(|t| t.info.n_bytes);
        let largest_tensor = largest.map(|t| (t.info.name.clone(), t.info.n_bytes)).unwrap_or_default();
        ModelFacts {
            name,
            file_bytes: model.shards().iter().map(|s| s.file_len).sum(),
            files: model.shards().len(),
            tensor_count: model.tensors().count(),
            tensor_bytes,
            plan,
            largest_tensor,
            config,
        }
    }
}

/// GPU memory for one model at one context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Estimate {
    pub weights: u64,
    /// Expert slots per layer (all experts unless paged).
    pub expert_slots: usize,
    pub kv_cache: u64,
    /// What cannot be bound within the adapter's storage binding limit (a layer's KV cache, an activation): the
    /// loader refuses the load for these same reasons before fetching a byte of weights.
    pub over_limits: Vec<String>,
    /// Activations and tables.
    pub activations: u64,
    pub total: u64,
}

/// The options the app loads a model with: the engine's defaults at the chosen context and expert budget.
pub fn load_options(context: usize, experts: ExpertBudget) -> GpuOptions {
    GpuOptions { context, max_logit_rows: 1, expert_budget: experts, ..GpuOptions::default() }
}

/// The engine's own sizes of every buffer at `context` ([`BufferSizes`], what the loader allocates from): resident
/// weights, a KV cache per layer, and activations sized by the batch. The error says why the model cannot load.
pub fn estimate(
    facts: &ModelFacts,
    context: usize,
    limits: &Limits,
    experts: ExpertBudget,
) -> Result<Estimate, String> {
    let c = facts.config.as_ref()?;
    let plan = facts.plan.as_ref().ok_or("no tensor plan")?;
    let options = load_options(context, experts);
    let kv = KvStorage::resolve(None, limits.shader_f16).map_err(|e| e.to_string())?;
    let binding = binding_limit(limits.max_storage_buffer_binding_size, limits.max_buffer_size);
    let sizes = BufferSizes::new(c, plan, &options, kv, weight_limit(binding, &options)).map_err(|e| e.to_string())?;
    Ok(Estimate {
        weights: sizes.weight_bytes(),
        expert_slots: sizes.pools.first().map_or(0, |p| p.slots as usize),
        kv_cache: sizes.kv_cache_bytes(),
        over_limits: sizes.over_limits(binding),
        activations: sizes.working_bytes(),
        total: sizes.total(),
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
    let need = match estimate(facts, context, &limits, experts) {
        Err(e) => {
            out.push(Fact::new("fits", format!("no — {e}")).tone(Tone::Error));
            return out;
        }
        Ok(need) => need,
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
    let mut problems = Vec::new();
    if context > config.context_length {
        problems.push(format!("context {context} exceeds the model's {}", config.context_length));
    }
    problems.extend(need.over_limits.iter().cloned());
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
    use gptoss_engine::gpu::{load_model, GpuContext};
    use gptoss_engine::source::ByteSource;
    use std::rc::Rc;

    fn fixture() -> ByteSource {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/tiny.gguf");
        assert!(path.is_file(), "fixture missing: {}", path.display());
        ByteSource::file(path)
    }

    /// The estimate is what the HUD's memory gauge measures a load against: it is the engine's own sizing, so it is
    /// exactly what the engine allocates.
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
                let loaded =
                    load_model(ctx.clone(), &model, load_options(context, experts), &mut NoEvents).await.unwrap();
                let actual = loaded.gpu_bytes();
                let r = &ctx.report;
                let limits = Limits {
                    max_buffer_size: r.max_buffer_size,
                    max_storage_buffer_binding_size: r.max_storage_buffer_binding_size,
                    shader_f16: r.shader_f16,
                };
                let need = estimate(&facts, context, &limits, experts).unwrap();
                assert_eq!(
                    need.total, actual,
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
                fits.value.contains("KV cache of layer 1 needs 1048576 bytes (2 of 4 layers are over)")
                    && fits.value.contains("`logits` needs 804352 bytes, over the storage binding limit of 524288"),
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
