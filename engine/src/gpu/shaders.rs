//! WGSL sources. WGSL has no includes, so each kernel is composed from `step.wgsl` (the per-submission uniform),
//! for weight-reading kernels one `format_*.wgsl` (how a 32-value block is decoded), and the kernel itself.

use crate::quant::BlockFormat;
use crate::{Error, Result};

/// The forward pass's kernels, one WGSL file each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    Embed,
    RmsNorm,
    Matvec,
    RopeKv,
    Attention,
    MoeRoute,
    MoeGateUp,
    MoeDown,
    MoeCombine,
    Sample,
}

impl Kernel {
    pub const ALL: [Kernel; 10] = [
        Kernel::Embed,
        Kernel::RmsNorm,
        Kernel::Matvec,
        Kernel::RopeKv,
        Kernel::Attention,
        Kernel::MoeRoute,
        Kernel::MoeGateUp,
        Kernel::MoeDown,
        Kernel::MoeCombine,
        Kernel::Sample,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Embed => "embed",
            Kernel::RmsNorm => "rmsnorm",
            Kernel::Matvec => "matvec",
            Kernel::RopeKv => "rope_kv",
            Kernel::Attention => "attention",
            Kernel::MoeRoute => "moe_route",
            Kernel::MoeGateUp => "moe_gate_up",
            Kernel::MoeDown => "moe_down",
            Kernel::MoeCombine => "moe_combine",
            Kernel::Sample => "sample",
        }
    }

    /// Whether the kernel decodes weights and so needs a format snippet.
    pub fn reads_weights(self) -> bool {
        matches!(self, Kernel::Embed | Kernel::Matvec | Kernel::MoeGateUp | Kernel::MoeDown)
    }

    fn body(self) -> &'static str {
        match self {
            Kernel::Embed => include_str!("../../../shaders/embed.wgsl"),
            Kernel::RmsNorm => include_str!("../../../shaders/rmsnorm.wgsl"),
            Kernel::Matvec => include_str!("../../../shaders/matvec.wgsl"),
            Kernel::RopeKv => include_str!("../../../shaders/rope_kv.wgsl"),
            Kernel::Attention => include_str!("../../../shaders/attention.wgsl"),
            Kernel::MoeRoute => include_str!("../../../shaders/moe_route.wgsl"),
            Kernel::MoeGateUp => include_str!("../../../shaders/moe_gate_up.wgsl"),
            Kernel::MoeDown => include_str!("../../../shaders/moe_down.wgsl"),
            Kernel::MoeCombine => include_str!("../../../shaders/moe_combine.wgsl"),
            Kernel::Sample => include_str!("../../../shaders/sample.wgsl"),
        }
    }
}

const STEP: &str = include_str!("../../../shaders/step.wgsl");

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

/// The composed WGSL of `kernel`, for weights in `format` when it reads weights.
pub fn source(kernel: Kernel, format: Option<BlockFormat>) -> Result<String> {
    let mut src = String::from(STEP);
    if kernel.reads_weights() {
        let format = format.ok_or_else(|| Error::Gpu(format!("kernel {} needs a weight format", kernel.name())))?;
        let snippet = format_snippet(format)
            .ok_or_else(|| Error::Gpu(format!("no GPU kernel decodes {format:?} weights (the CPU path does)")))?;
        src.push_str(snippet);
    }
    src.push_str(kernel.body());
    Ok(src)
}

/// Every composed module the engine can build, named `kernel[+format]`, for validation in tests.
pub fn all_modules() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for kernel in Kernel::ALL {
        if kernel.reads_weights() {
            for format in GPU_FORMATS {
                let src = source(kernel, Some(format)).expect("every GPU format has a snippet");
                out.push((format!("{}+{format:?}", kernel.name()), src));
            }
        } else {
            out.push((kernel.name().to_string(), source(kernel, None).expect("no format needed")));
        }
    }
    out
}
