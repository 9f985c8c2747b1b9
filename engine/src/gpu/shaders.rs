//! WGSL sources. WGSL has no includes, so each kernel is composed from its variant's snippet (for weight-reading
//! kernels one `format_*.wgsl`, how a chunk of weights is decoded, and `weights.wgsl` over it; for KV-cache kernels
//! one `kv_*.wgsl`, the cache's storage type), the constants it shares with Rust (`kernels.rs`, written out as WGSL
//! `const`s), `step.wgsl` (the per-submission uniform), the snippets it shares with its kin ([`Kernel::shared`]),
//! and the kernel itself.

use crate::quant::BlockFormat;
use crate::{Error, Result};

/// The engine's kernels, one WGSL file each: the forward pass's, and the weight upload's repacking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    Embed,
    RmsNorm,
    Matvec,
    Matmul,
    RopeKv,
    Attention,
    AttentionCombine,
    AttentionProbe,
    MoeRoute,
    MoeGroup,
    MoeGateUp,
    MoeDown,
    MoeGateUpTiles,
    MoeDownTiles,
    MoeCombine,
    Sample,
    Repack,
}

impl Kernel {
    pub const ALL: [Kernel; 17] = [
        Kernel::Embed,
        Kernel::RmsNorm,
        Kernel::Matvec,
        Kernel::Matmul,
        Kernel::RopeKv,
        Kernel::Attention,
        Kernel::AttentionCombine,
        Kernel::AttentionProbe,
        Kernel::MoeRoute,
        Kernel::MoeGroup,
        Kernel::MoeGateUp,
        Kernel::MoeDown,
        Kernel::MoeGateUpTiles,
        Kernel::MoeDownTiles,
        Kernel::MoeCombine,
        Kernel::Sample,
        Kernel::Repack,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Embed => "embed",
            Kernel::RmsNorm => "rmsnorm",
            Kernel::Matvec => "matvec",
            Kernel::Matmul => "matmul",
            Kernel::RopeKv => "rope_kv",
            Kernel::Attention => "attention",
            Kernel::AttentionCombine => "attention_combine",
            Kernel::AttentionProbe => "attention_probe",
            Kernel::MoeRoute => "moe_route",
            Kernel::MoeGroup => "moe_group",
            Kernel::MoeGateUp => "moe_gate_up",
            Kernel::MoeDown => "moe_down",
            Kernel::MoeGateUpTiles => "moe_gate_up_tiles",
            Kernel::MoeDownTiles => "moe_down_tiles",
            Kernel::MoeCombine => "moe_combine",
            Kernel::Sample => "sample",
            Kernel::Repack => "repack",
        }
    }

    /// The variants the kernel is built in.
    pub fn variants(self) -> Vec<Variant> {
        match self {
            Kernel::Embed
            | Kernel::Matvec
            | Kernel::Matmul
            | Kernel::MoeGateUp
            | Kernel::MoeDown
            | Kernel::MoeGateUpTiles
            | Kernel::MoeDownTiles => GPU_FORMATS.into_iter().map(Variant::Weights).collect(),
            Kernel::RopeKv | Kernel::Attention | Kernel::AttentionProbe => {
                vec![Variant::Kv(KvStorage::F16), Variant::Kv(KvStorage::F32)]
            }
            _ => vec![Variant::Plain],
        }
    }

    fn body(self) -> &'static str {
        match self {
            Kernel::Embed => include_str!("../../../shaders/embed.wgsl"),
            Kernel::RmsNorm => include_str!("../../../shaders/rmsnorm.wgsl"),
            Kernel::Matvec => include_str!("../../../shaders/matvec.wgsl"),
            Kernel::Matmul => include_str!("../../../shaders/matmul.wgsl"),
            Kernel::RopeKv => include_str!("../../../shaders/rope_kv.wgsl"),
            Kernel::Attention => include_str!("../../../shaders/attention.wgsl"),
            Kernel::AttentionCombine => include_str!("../../../shaders/attention_combine.wgsl"),
            Kernel::AttentionProbe => include_str!("../../../shaders/attention_probe.wgsl"),
            Kernel::MoeRoute => include_str!("../../../shaders/moe_route.wgsl"),
            Kernel::MoeGroup => include_str!("../../../shaders/moe_group.wgsl"),
            Kernel::MoeGateUp => include_str!("../../../shaders/moe_gate_up.wgsl"),
            Kernel::MoeDown => include_str!("../../../shaders/moe_down.wgsl"),
            Kernel::MoeGateUpTiles => include_str!("../../../shaders/moe_gate_up_tiles.wgsl"),
            Kernel::MoeDownTiles => include_str!("../../../shaders/moe_down_tiles.wgsl"),
            Kernel::MoeCombine => include_str!("../../../shaders/moe_combine.wgsl"),
            Kernel::Sample => include_str!("../../../shaders/sample.wgsl"),
            Kernel::Repack => include_str!("../../../shaders/repack.wgsl"),
        }
    }

    /// Whether the kernel reads the step uniform (binding 0). The tiled expert kernels take their work from
    /// moe_group.wgsl's tiles instead, and WebGPU refuses a binding the pipeline does not use.
    pub fn reads_step(self) -> bool {
        !matches!(self, Kernel::MoeGateUpTiles | Kernel::MoeDownTiles)
    }

    /// The snippets composed between step.wgsl and the kernel, in order.
    fn shared(self) -> &'static [&'static str] {
        match self {
            Kernel::Matvec => &[PROJECTION],
            Kernel::Matmul => &[PROJECTION, TILE],
            Kernel::MoeRoute | Kernel::MoeGroup => &[ROUTE],
            Kernel::MoeGateUp | Kernel::MoeDown => &[MOE_EXPERTS, MOE_PER_TOKEN],
            Kernel::MoeGateUpTiles | Kernel::MoeDownTiles => &[MOE_EXPERTS, TILE, MOE_TILES],
            _ => &[],
        }
    }
}

const STEP: &str = include_str!("../../../shaders/step.wgsl");
const WEIGHTS: &str = include_str!("../../../shaders/weights.wgsl");
const PROJECTION: &str = include_str!("../../../shaders/projection.wgsl");
const TILE: &str = include_str!("../../../shaders/tile.wgsl");
const ROUTE: &str = include_str!("../../../shaders/route.wgsl");
const MOE_EXPERTS: &str = include_str!("../../../shaders/moe_experts.wgsl");
const MOE_PER_TOKEN: &str = include_str!("../../../shaders/moe_per_token.wgsl");
const MOE_TILES: &str = include_str!("../../../shaders/moe_tiles.wgsl");

/// How the KV cache stores keys and values: f16 where the adapter has shader-f16 (half the memory and reads),
/// else f32. Attention arithmetic is f32 either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KvStorage {
    F16,
    F32,
}

impl KvStorage {
    /// The storage `requested` (f16 where the adapter has shader-f16 when `None`).
    pub fn resolve(requested: Option<KvStorage>, shader_f16: bool) -> Result<KvStorage> {
        match requested {
            None => Ok(if shader_f16 { KvStorage::F16 } else { KvStorage::F32 }),
            Some(KvStorage::F16) if !shader_f16 => {
                Err(Error::Gpu("an f16 KV cache needs the shader-f16 feature, which this adapter lacks".into()))
            }
            Some(kv) => Ok(kv),
        }
    }

    pub fn bytes(self) -> u64 {
        match self {
            KvStorage::F16 => 2,
            KvStorage::F32 => 4,
        }
    }
}

/// Which build of a kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    Plain,
    Weights(BlockFormat),
    Kv(KvStorage),
}

/// Weight formats the GPU kernels decode. The others (K-quants, Q4/Q5 variants) load on the CPU path only.
pub const GPU_FORMATS: [BlockFormat; 5] =
    [BlockFormat::Q8_0, BlockFormat::MXFP4, BlockFormat::F16, BlockFormat::BF16, BlockFormat::F32];

fn format_snippet(format: BlockFormat) -> Option<&'static str> {
    Some(match format {
        BlockFormat::Q8_0 => include_str!("../../../shaders/format_q8_0.wgsl"),
        BlockFormat::MXFP4 => include_str!("../../../shaders/format_mxfp4.wgsl"),
        BlockFormat::F16 => include_str!("../../../shaders/format_f16.wgsl"),
        BlockFormat::BF16 => include_str!("../../../shaders/format_bf16.wgsl"),
        BlockFormat::F32 => include_str!("../../../shaders/format_f32.wgsl"),
        _ => return None,
    })
}

/// The composed WGSL of `kernel` in `variant`.
pub fn source(kernel: Kernel, variant: Variant) -> Result<String> {
    if !kernel.variants().contains(&variant) {
        return Err(Error::Gpu(format!("kernel {} has no {variant:?} build", kernel.name())));
    }
    let prefix: String = match variant {
        Variant::Plain => String::new(),
        Variant::Weights(format) => {
            format_snippet(format)
                .ok_or_else(|| Error::Gpu(format!("no GPU kernel decodes {format:?} weights (the CPU path does)")))?
                .to_string()
                + WEIGHTS
        }
        Variant::Kv(KvStorage::F16) => include_str!("../../../shaders/kv_f16.wgsl").into(),
        Variant::Kv(KvStorage::F32) => include_str!("../../../shaders/kv_f32.wgsl").into(),
    };
    let constants: String =
        kernel.wgsl_constants().iter().map(|(name, value)| format!("const {name}: u32 = {value}u;\n")).collect();
    let shared = kernel.shared().concat();
    // `enable` directives must come first, so the variant's snippet leads.
    Ok(format!("{prefix}{constants}{STEP}{shared}{}", kernel.body()))
}

/// Every composed module the engine can build, named `kernel+variant`, for validation in tests.
pub fn all_modules() -> Vec<(String, String)> {
    Kernel::ALL
        .into_iter()
        .flat_map(|k| k.variants().into_iter().map(move |v| (k, v)))
        .map(|(k, v)| (format!("{}+{v:?}", k.name()), source(k, v).expect("every listed variant composes")))
        .collect()
}
