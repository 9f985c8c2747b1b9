//! What several commands take, typed once: the model argument, the backend, the expert budget, and a value parser
//! over the engine's own named enums (presets, reasoning efforts).

use clap::builder::{PossibleValuesParser, TypedValueParser};
use gptoss_engine::gpu::ExpertBudget;

#[derive(Debug, clap::Args)]
pub struct ModelArg {
    /// A GGUF file or an http(s) URL (a split model: its first file; the others are found beside it)
    #[arg(value_name = "MODEL")]
    pub model: String,
}

/// Where the forward pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// The f32 reference forward pass, on the CPU
    Cpu,
    /// The WGSL kernels, on the GPU (Vulkan natively)
    Gpu,
}

#[derive(Debug, clap::Args)]
pub struct ExpertBudgetArg {
    /// GPU memory for the experts: `min` (the k one token needs, per layer), `N%` of each layer's experts, or a
    /// byte count for all layers together; experts beyond it are paged through a GPU cache
    #[arg(long, value_name = "min|N%|BYTES", default_value = "100%", value_parser = expert_budget)]
    pub expert_budget: ExpertBudget,
}

fn expert_budget(text: &str) -> Result<ExpertBudget, String> {
    ExpertBudget::parse(text).map_err(|e| e.to_string())
}

/// A value parser over an engine enum whose variants have names: clap lists the names in help and completions and
/// refuses any other in its usual form, naming the flag.
pub fn named<T: Copy + Send + Sync + 'static>(
    variants: &'static [T],
    name: fn(T) -> &'static str,
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(variants.iter().map(|&v| name(v))).try_map(move |chosen| {
        variants.iter().copied().find(|&v| name(v) == chosen).ok_or_else(|| format!("`{chosen}` is not a listed name"))
    })
}

/// The reasoning efforts `--reasoning` takes.
pub const EFFORTS: [gptoss_engine::harmony::ReasoningEffort; 3] = [
    gptoss_engine::harmony::ReasoningEffort::Low,
    gptoss_engine::harmony::ReasoningEffort::Medium,
    gptoss_engine::harmony::ReasoningEffort::High,
];
