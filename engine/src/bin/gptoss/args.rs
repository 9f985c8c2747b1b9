//! What several commands take, typed once: the model argument, the backend, the expert budget, and a value parser
//! over the engine's own named enums (presets, reasoning efforts).

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use std::str::FromStr;

use gptoss_engine::gpu::ExpertBudget;
use gptoss_engine::sampler::SamplerConfig;
use gptoss_engine::source::cache::Root;
use gptoss_engine::source::{ByteSource, ModelCache};

#[derive(Debug, clap::Args)]
pub struct ModelArg {
    /// A GGUF file or an http(s) URL (a split model: its first file; the others are found beside it)
    #[arg(value_name = "MODEL")]
    pub model: String,
}

/// Where models fetched from URLs are kept.
#[derive(Debug, clap::Args)]
pub struct CacheArg {
    /// Folder that keeps models fetched from a URL, so the next run reads them from disk (checked against the
    /// server's size and ETag, each 4 MiB chunk against its checksum) [default: the user's cache folder + gptoss]
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
}

impl CacheArg {
    /// The model's bytes: a local file as it is, a URL through the cache (returned too, for its notes and traffic).
    pub fn source(&self, model: &ModelArg) -> Result<(ByteSource, Option<ModelCache>), String> {
        let source = ByteSource::from_path_or_url(&model.model);
        if !matches!(source, ByteSource::Http(_)) {
            return Ok((source, None));
        }
        let dir = match &self.cache {
            Some(dir) => dir.clone(),
            None => {
                Root::default_dir().ok_or("no user cache folder can be named (HOME is not set): pass --cache DIR")?
            }
        };
        let cache = ModelCache::new(Root::new(dir));
        Ok((cache.wrap(source), Some(cache)))
    }
}

/// What the cache found (stale copies, repaired chunks) and where the bytes came from, on stderr.
pub fn report_cache(cache: Option<&ModelCache>, note: impl Fn(&str)) {
    let Some(cache) = cache else { return };
    for line in cache.take_notes() {
        note(&format!("cache: {line}"));
    }
    let t = cache.traffic();
    let mb = |bytes: u64| bytes as f64 / 1e6;
    note(&format!(
        "cache ({}): {:.1} MB from the network ({:.1} MB/s), {:.1} MB from disk ({:.1} MB/s), {} chunks repaired",
        cache.describe(),
        mb(t.network_bytes),
        mb(t.network_rate() as u64),
        mb(t.cache_bytes),
        mb(t.cache_rate() as u64),
        t.repaired_chunks
    ));
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

/// The sampler's flags, checked against the sampler's own limits.
#[derive(Debug, clap::Args)]
pub struct SamplerArgs {
    /// Sampling temperature; 0 is greedy
    #[arg(long, value_name = "T", default_value_t = SamplerConfig::default().temperature, value_parser = temperature,
        allow_negative_numbers = true)]
    temperature: f32,
    /// Sample from the K most likely tokens only; 0 keeps them all
    #[arg(long, value_name = "K", default_value_t = SamplerConfig::default().top_k, value_parser = top_k)]
    top_k: u32,
    /// Sample from the smallest set of tokens whose probability reaches P; 1 keeps them all
    #[arg(long, value_name = "P", default_value_t = SamplerConfig::default().top_p, value_parser = top_p,
        allow_negative_numbers = true)]
    top_p: f32,
    /// Seed of the sampler
    #[arg(long, value_name = "S", default_value_t = SamplerConfig::default().seed)]
    seed: u32,
}

impl SamplerArgs {
    pub fn config(&self) -> SamplerConfig {
        SamplerConfig { temperature: self.temperature, top_k: self.top_k, top_p: self.top_p, seed: self.seed }
    }
}

/// Parses one sampler flag and checks it against the sampler's own limits, so a bad value is a usage error that
/// names the flag.
fn sampler_value<T: FromStr + Copy>(text: &str, set: impl Fn(&mut SamplerConfig, T)) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    let value: T = text.parse().map_err(|e: T::Err| e.to_string())?;
    let mut config = SamplerConfig::default();
    set(&mut config, value);
    config.validate().map(|()| value).map_err(|e| e.to_string())
}

fn temperature(text: &str) -> Result<f32, String> {
    sampler_value(text, |c, v| c.temperature = v)
}

fn top_k(text: &str) -> Result<u32, String> {
    sampler_value(text, |c, v| c.top_k = v)
}

fn top_p(text: &str) -> Result<f32, String> {
    sampler_value(text, |c, v| c.top_p = v)
}
