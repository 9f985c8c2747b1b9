//! gpt-oss hyper-parameters from GGUF metadata (`gpt-oss.md` §3) and the tensor plan: every tensor the forward pass
//! needs, checked against the file's tensor table before a byte of tensor data is fetched (§4.1).

use crate::gguf::{GgufHeader, TensorInfo};
use crate::quant::BlockFormat;
use crate::{Error, Result};

/// The `general.architecture` of gpt-oss GGUFs (`MODEL_ARCH.GPT_OSS`; llama.cpp `LLM_ARCH_OPENAI_MOE`).
pub const ARCHITECTURE: &str = "gpt-oss";

/// Everything the forward pass needs to know about the model's shape.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GptOssConfig {
    pub n_layer: usize,
    /// Width of the residual stream (2880 in the published models).
    pub n_embd: usize,
    pub n_head: usize,
    pub n_head_kv: usize,
    /// `attention.key_length` (64) — not `n_embd / n_head` (45).
    pub head_dim: usize,
    /// `attention.value_length`, defaulting to the key length.
    pub value_dim: usize,
    /// Length of `tokenizer.ggml.tokens`; the files carry no vocabulary-size key.
    pub n_vocab: usize,
    pub n_expert: usize,
    pub n_expert_used: usize,
    /// `expert_feed_forward_length`: width of one expert's hidden layer.
    pub n_ff_expert: usize,
    pub context_length: usize,
    pub rms_eps: f32,
    /// Keys a sliding-window query sees, itself included.
    pub sliding_window: usize,
    /// llama.cpp `set_swa_pattern(n)`: layer il slides iff `il % n < n − 1` (n = 0: every layer); default 2.
    pub sliding_window_pattern: usize,
    pub rope: RopeConfig,
}

/// RoPE parameters as they reach `ggml_rope_ext` (§5.4).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RopeConfig {
    /// Rotated dimensions per head (`rope.dimension_count`, default the head dim).
    pub n_dims: usize,
    pub freq_base: f32,
    /// Base for sliding-window layers (`rope.freq_base_swa`, default `freq_base`).
    pub freq_base_swa: f32,
    /// 1 / `rope.scaling.factor` (1/32 for gpt-oss).
    pub freq_scale: f32,
    /// 1 for YaRN, 0 otherwise (llama.cpp's default of −1 resolves this way).
    pub ext_factor: f32,
    /// `rope.scaling.attn_factor`, default 1.
    pub attn_factor: f32,
    pub beta_fast: f32,
    pub beta_slow: f32,
    /// `rope.scaling.original_context_length`, default the training context.
    pub n_ctx_orig: usize,
}

impl GptOssConfig {
    /// Read the hyper-parameters, applying llama.cpp's defaults for the optional keys; errors name the key.
    pub fn from_header(header: &GgufHeader) -> Result<GptOssConfig> {
        let arch = header.require_str("general.architecture")?;
        if arch != ARCHITECTURE {
            return Err(Error::Model(format!("general.architecture is `{arch}`, expected `{ARCHITECTURE}`")));
        }
        let key = |name: &str| format!("{ARCHITECTURE}.{name}");
        let count = |name: &str| -> Result<usize> {
            let k = key(name);
            positive(&k, header.require_u64(&k)?)
        };
        let optional_count = |name: &str, default: usize| -> Result<usize> {
            let k = key(name);
            match header.get(&k) {
                Some(_) => positive(&k, header.require_u64(&k)?),
                None => Ok(default),
            }
        };

        let n_embd = count("embedding_length")?;
        let n_head = count("attention.head_count")?;
        let n_head_kv = count("attention.head_count_kv")?;
        let head_dim = count("attention.key_length")?;
        let value_dim = optional_count("attention.value_length", head_dim)?;
        let n_expert = count("expert_count")?;
        let n_expert_used = count("expert_used_count")?;
        let context_length = count("context_length")?;
        if n_head % n_head_kv != 0 {
            return Err(Error::Model(format!(
                "{} ({n_head}) is not a multiple of {} ({n_head_kv})",
                key("attention.head_count"),
                key("attention.head_count_kv")
            )));
        }
        if n_expert_used > n_expert {
            return Err(Error::Model(format!(
                "{} ({n_expert_used}) exceeds {} ({n_expert})",
                key("expert_used_count"),
                key("expert_count")
            )));
        }
        let sliding_window_pattern = match header.get(&key("attention.sliding_window_pattern")) {
            Some(_) => to_usize(
                &key("attention.sliding_window_pattern"),
                header.require_u64(&key("attention.sliding_window_pattern"))?,
            )?,
            None => 2,
        };

        let tokens_key = "tokenizer.ggml.tokens";
        let n_vocab = match header.get(tokens_key).and_then(|v| v.as_array()) {
            Some(tokens) if !tokens.is_empty() => tokens.len(),
            Some(_) => return Err(Error::Model(format!("`{tokens_key}` is empty"))),
            None => {
                return Err(Error::Model(format!(
                    "missing metadata array `{tokens_key}` (it sets the vocabulary size)"
                )))
            }
        };
        // Every block has tensors: a count beyond the file's tensors is refused here, before anything sizes per-block
        // state from it (the fuzzer's 2^30 + 4 made the tensor plan take 700 MB and over a second). A split file's
        // first header names the tensors of every shard; a shard without that count is not checked here.
        let n_layer = count("block_count")?;
        let split = header.get("split.count").and_then(|v| v.as_u64()).unwrap_or(1) > 1;
        let file_tensors = match header.get("split.tensors.count").and_then(|v| v.as_u64()) {
            Some(n) => Some(n),
            None => (!split).then_some(header.tensors.len() as u64),
        };
        if let Some(n) = file_tensors.filter(|&n| n_layer as u64 > n) {
            return Err(Error::Model(format!(
                "{} is {n_layer}: more blocks than the file has tensors ({n})",
                key("block_count")
            )));
        }

        Ok(GptOssConfig {
            n_layer,
            n_embd,
            n_head,
            n_head_kv,
            head_dim,
            value_dim,
            n_vocab,
            n_expert,
            n_expert_used,
            n_ff_expert: count("expert_feed_forward_length")?,
            context_length,
            rms_eps: finite(
                &key("attention.layer_norm_rms_epsilon"),
                header.require_f64(&key("attention.layer_norm_rms_epsilon"))?,
            )?,
            sliding_window: count("attention.sliding_window")?,
            sliding_window_pattern,
            rope: RopeConfig::from_header(header, head_dim, context_length)?,
        })
    }

    /// Whether layer `il` uses sliding-window attention (gpt-oss: the even layers).
    pub fn is_sliding(&self, il: usize) -> bool {
        // llama_hparams::set_swa_pattern: swa_layers[il] = n_pattern == 0 || il % n_pattern < n_pattern − 1
        let n = self.sliding_window_pattern;
        n == 0 || il % n < n - 1
    }

    /// Every tensor the forward pass reads, with its expected shape (ggml order) and type class.
    pub fn tensor_specs(&self) -> Vec<TensorSpec> {
        // u64 products: counts are at most u32::MAX each, and usize is 32 bits in wasm.
        let (e, v, x, f) = (self.n_embd as u64, self.n_vocab as u64, self.n_expert as u64, self.n_ff_expert as u64);
        let (h, h_kv, d, d_v) =
            (self.n_head as u64, self.n_head_kv as u64, self.head_dim as u64, self.value_dim as u64);
        let (q, k, kv_v, o) = (h * d, h_kv * d, h_kv * d_v, h * d_v);
        use TypeClass::{Float, Weight};
        let mut specs = vec![
            TensorSpec::new("token_embd.weight", &[e, v], Weight),
            TensorSpec::new("output_norm.weight", &[e], Float),
            TensorSpec::new("output.weight", &[e, v], Weight),
        ];
        for il in 0..self.n_layer {
            let layer: [(&str, &[u64], TypeClass); 19] = [
                ("attn_norm.weight", &[e], Float),
                ("attn_q.weight", &[e, q], Weight),
                ("attn_q.bias", &[q], Float),
                ("attn_k.weight", &[e, k], Weight),
                ("attn_k.bias", &[k], Float),
                ("attn_v.weight", &[e, kv_v], Weight),
                ("attn_v.bias", &[kv_v], Float),
                ("attn_output.weight", &[o, e], Weight),
                ("attn_output.bias", &[e], Float),
                ("attn_sinks.weight", &[h], Float),
                ("post_attention_norm.weight", &[e], Float),
                ("ffn_gate_inp.weight", &[e, x], Weight),
                ("ffn_gate_inp.bias", &[x], Float),
                ("ffn_gate_exps.weight", &[e, f, x], Weight),
                ("ffn_gate_exps.bias", &[f, x], Float),
                ("ffn_up_exps.weight", &[e, f, x], Weight),
                ("ffn_up_exps.bias", &[f, x], Float),
                ("ffn_down_exps.weight", &[f, e, x], Weight),
                ("ffn_down_exps.bias", &[e, x], Float),
            ];
            specs.extend(
                layer.into_iter().map(|(name, dims, class)| TensorSpec::new(&layer_tensor(il, name), dims, class)),
            );
        }
        specs
    }
}

impl RopeConfig {
    fn from_header(header: &GgufHeader, head_dim: usize, context_length: usize) -> Result<RopeConfig> {
        let key = |name: &str| format!("{ARCHITECTURE}.{name}");
        let optional = |name: &str| -> Result<Option<f32>> {
            let k = key(name);
            match header.get(&k) {
                Some(_) => Ok(Some(finite(&k, header.require_f64(&k)?)?)),
                None => Ok(None),
            }
        };
        let n_dims = match header.get(&key("rope.dimension_count")) {
            Some(_) => positive(&key("rope.dimension_count"), header.require_u64(&key("rope.dimension_count"))?)?,
            None => head_dim,
        };
        if n_dims % 2 != 0 || n_dims > head_dim {
            return Err(Error::Model(format!(
                "{} is {n_dims}: RoPE needs an even count no larger than the head dim {head_dim}",
                key("rope.dimension_count")
            )));
        }
        // No default on purpose: a missing base would silently give the wrong rotation (llama.cpp falls back to 10000).
        let freq_base = finite(&key("rope.freq_base"), header.require_f64(&key("rope.freq_base"))?)?;
        let scaling_key = key("rope.scaling.type");
        // llama.cpp reads the scaling type with default "linear"; YaRN is what turns ext_factor on.
        let scaling = match header.get(&scaling_key) {
            Some(_) => header.require_str(&scaling_key)?,
            None => "linear",
        };
        let ext_factor = match scaling {
            "yarn" => 1.0,
            "linear" | "none" => 0.0,
            other => {
                return Err(Error::Model(format!("{scaling_key} `{other}` is not supported (yarn, linear, none)")))
            }
        };
        let factor = optional("rope.scaling.factor")?.unwrap_or(0.0);
        if factor < 0.0 {
            return Err(Error::Model(format!("{} is {factor}, expected > 0", key("rope.scaling.factor"))));
        }
        // DeepSeek-style mscale correction; gpt-oss files do not carry it, and we do not implement it.
        if let Some(m) = optional("rope.scaling.yarn_log_multiplier")? {
            if m != 0.0 {
                return Err(Error::Model(format!(
                    "{} = {m} is not supported",
                    key("rope.scaling.yarn_log_multiplier")
                )));
            }
        }
        let n_ctx_orig = match header.get(&key("rope.scaling.original_context_length")) {
            Some(_) => positive(
                &key("rope.scaling.original_context_length"),
                header.require_u64(&key("rope.scaling.original_context_length"))?,
            )?,
            None => context_length,
        };
        Ok(RopeConfig {
            n_dims,
            freq_base,
            freq_base_swa: optional("rope.freq_base_swa")?.unwrap_or(freq_base),
            // llama.cpp: rope_freq_scale_train = factor == 0 ? 1 : 1/factor
            freq_scale: if factor == 0.0 { 1.0 } else { 1.0 / factor },
            ext_factor,
            attn_factor: optional("rope.scaling.attn_factor")?.unwrap_or(1.0),
            beta_fast: optional("rope.scaling.yarn_beta_fast")?.unwrap_or(32.0),
            beta_slow: optional("rope.scaling.yarn_beta_slow")?.unwrap_or(1.0),
            n_ctx_orig,
        })
    }
}

/// `blk.{il}.{name}`: the llama.cpp name of a per-layer tensor.
pub fn layer_tensor(il: usize, name: &str) -> String {
    format!("blk.{il}.{name}")
}

/// What kind of encoding a tensor may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeClass {
    /// Norms, biases, sinks, which llama.cpp never quantises: F32, F16 or BF16.
    Float,
    /// Weight matrices: any decodable block format whose block divides the row.
    Weight,
}

/// One tensor the model needs.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorSpec {
    pub name: String,
    /// Expected shape in ggml order, `dims[0]` contiguous.
    pub dims: Vec<u64>,
    pub class: TypeClass,
}

impl TensorSpec {
    fn new(name: &str, dims: &[u64], class: TypeClass) -> Self {
        TensorSpec { name: name.to_string(), dims: dims.to_vec(), class }
    }
}

/// A needed tensor found in the file, checked, with its decodable format.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlannedTensor {
    pub info: TensorInfo,
    pub format: BlockFormat,
}

/// The checked list of tensors to load, in [`GptOssConfig::tensor_specs`] order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TensorPlan {
    pub tensors: Vec<PlannedTensor>,
}

impl TensorPlan {
    /// Check that every tensor the model needs is in `tensors` with the expected shape, a type of the right class
    /// and a byte size that matches; the error names the offending tensor. Extra tensors are ignored.
    pub fn new(config: &GptOssConfig, tensors: &[TensorInfo]) -> Result<TensorPlan> {
        let planned = config
            .tensor_specs()
            .into_iter()
            .map(|spec| {
                let info = tensors
                    .iter()
                    .find(|t| t.name == spec.name)
                    .ok_or_else(|| Error::Model(format!("tensor `{}` is missing", spec.name)))?;
                check_tensor(&spec, info).map(|format| PlannedTensor { info: info.clone(), format })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(TensorPlan { tensors: planned })
    }

    pub fn get(&self, name: &str) -> Result<&PlannedTensor> {
        self.tensors
            .iter()
            .find(|t| t.info.name == name)
            .ok_or_else(|| Error::Model(format!("tensor `{name}` is not in the plan")))
    }

    /// Bytes of tensor data the plan loads.
    pub fn total_bytes(&self) -> u64 {
        self.tensors.iter().map(|t| t.info.n_bytes).sum()
    }
}

fn check_tensor(spec: &TensorSpec, info: &TensorInfo) -> Result<BlockFormat> {
    let name = &spec.name;
    // ggml writes trailing unit dimensions or not depending on the writer; they carry no meaning.
    let trim = |d: &[u64]| d.iter().rposition(|&n| n != 1).map_or(0, |i| i + 1);
    if info.dims[..trim(&info.dims)] != spec.dims[..trim(&spec.dims)] {
        return Err(Error::Model(format!("tensor `{name}` has shape {:?}, expected {:?}", info.dims, spec.dims)));
    }
    let ty = info.ggml_type;
    let format = BlockFormat::from_ggml(ty)
        .filter(|f| match spec.class {
            TypeClass::Float => {
                matches!(f, BlockFormat::F32 | BlockFormat::F16 | BlockFormat::BF16)
            }
            TypeClass::Weight => true,
        })
        .ok_or_else(|| {
            let allowed = match spec.class {
                TypeClass::Float => "F32, F16 or BF16",
                TypeClass::Weight => "F32, F16, BF16, Q8_0, MXFP4, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q4_K or Q6_K",
            };
            Error::Model(format!("tensor `{name}` has type {ty}, expected {allowed}"))
        })?;
    let row_bytes = format.row_bytes(spec.dims[0] as usize).ok_or_else(|| {
        Error::Model(format!(
            "tensor `{name}`: rows of {} values are not a whole number of {ty} blocks of {}",
            spec.dims[0],
            format.block_values()
        ))
    })?;
    let rows: u64 = spec.dims[1..].iter().product();
    let expected = (row_bytes as u64).checked_mul(rows);
    if expected != Some(info.n_bytes) {
        return Err(Error::Model(format!(
            "tensor `{name}` is {} bytes, expected {} for {ty} {:?}",
            info.n_bytes,
            expected.map_or("an overflowing count".to_string(), |n| n.to_string()),
            spec.dims
        )));
    }
    Ok(format)
}

/// A count that must be at least 1 and fit in memory indexing.
fn positive(key: &str, v: u64) -> Result<usize> {
    if v == 0 {
        return Err(Error::Model(format!("metadata key `{key}` is 0")));
    }
    to_usize(key, v)
}

/// Counts are capped at u32 so that products of a few of them cannot overflow.
fn to_usize(key: &str, v: u64) -> Result<usize> {
    u32::try_from(v)
        .map(|v| v as usize)
        .map_err(|_| Error::Model(format!("metadata key `{key}` is {v}, above the limit of {}", u32::MAX)))
}

fn finite(key: &str, v: f64) -> Result<f32> {
    let f = v as f32;
    if f.is_finite() {
        Ok(f)
    } else {
        Err(Error::Model(format!("metadata key `{key}` is {v}, not a finite f32")))
    }
}
