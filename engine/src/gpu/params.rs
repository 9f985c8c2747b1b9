//! The kernels' parameter structs: `#[repr(C)]` twins of the WGSL structs named beside them. [`uniform!`] records
//! each struct's member offsets, and `tests/shaders_validate.rs` checks them by naga reflection against the
//! composed WGSL, so a field that drifts fails `cargo test`, not a logit.

use bytemuck::{Pod, Zeroable};

use super::shaders::Kernel;
use crate::sampler::CANDIDATES;

/// A Rust parameter struct's layout, to check against its WGSL twin.
#[derive(Debug, Clone, PartialEq)]
pub struct StructLayout {
    pub rust: &'static str,
    /// The WGSL struct's name.
    pub wgsl: &'static str,
    /// Kernels whose composed module declares it.
    pub kernels: Vec<Kernel>,
    pub size: usize,
    /// (member, byte offset, Rust type) in declaration order.
    pub members: Vec<(&'static str, usize, &'static str)>,
}

macro_rules! uniform {
    ($(#[doc = $doc:literal])* $name:ident = $wgsl:ident in [$($kernel:ident),+] {
        $($(#[doc = $fdoc:literal])* $field:ident: $ty:ty,)*
    }) => {
        $(#[doc = $doc])*
        #[repr(C)]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Pod, Zeroable)]
        pub struct $name {
            $($(#[doc = $fdoc])* pub $field: $ty,)*
        }

        impl $name {
            pub fn layout() -> StructLayout {
                StructLayout {
                    rust: stringify!($name),
                    wgsl: stringify!($wgsl),
                    kernels: vec![$(Kernel::$kernel),+],
                    size: std::mem::size_of::<$name>(),
                    members: vec![$((stringify!($field), std::mem::offset_of!($name, $field), stringify!($ty))),*],
                }
            }
        }
    };
}

uniform! {
    /// step.wgsl `Step`: what changes per submission, written once per step.
    StepUniform = Step in [Embed] {
        n_tokens: u32,
        pos0: u32,
        logits_rows: u32,
        seed: u32,
        temperature: f32,
        top_k: u32,
        top_p: f32,
        step_index: u32,
        probe_head: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

uniform! {
    /// projection.wgsl `Matvec` (matvec.wgsl, matmul.wgsl).
    MatvecParams = Matvec in [Matvec, Matmul] {
        rows: u32,
        blocks: u32,
        mat: u32,
        x_stride: u32,
        y_stride: u32,
        y_offset: u32,
        flags: u32,
        _pad0: u32,
    }
}

/// [`MatvecParams::flags`] bits.
pub const ADD_BIAS: u32 = 1;
pub const ACCUMULATE: u32 = 2;
pub const LAST_TOKENS: u32 = 4;

uniform! {
    /// embed.wgsl `Embed`.
    EmbedParams = Embed in [Embed] {
        row0: u32,
        rows: u32,
        width: u32,
        mat: u32,
    }
}

uniform! {
    /// rmsnorm.wgsl `Norm`.
    NormParams = Norm in [RmsNorm] {
        width: u32,
        eps: f32,
        _pad0: u32,
        _pad1: u32,
    }
}

uniform! {
    /// rope_kv.wgsl `Rope`.
    RopeParams = Rope in [RopeKv] {
        n_head: u32,
        n_head_kv: u32,
        head_dim: u32,
        capacity: u32,
        mscale: f32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

uniform! {
    /// attention.wgsl `Attention`.
    AttentionParams = Attention in [Attention] {
        n_head: u32,
        n_head_kv: u32,
        head_dim: u32,
        capacity: u32,
        window: u32,
        scale: f32,
        n_splits: u32,
        decode_splits: u32,
    }
}

uniform! {
    /// attention_probe.wgsl `Probe`.
    ProbeParams = Probe in [AttentionProbe] {
        n_head: u32,
        n_head_kv: u32,
        head_dim: u32,
        capacity: u32,
        window: u32,
        scale: f32,
        _pad0: u32,
        _pad1: u32,
    }
}

uniform! {
    /// attention_combine.wgsl `Combine`.
    AttentionCombineParams = Combine in [AttentionCombine] {
        n_head: u32,
        head_dim: u32,
        window: u32,
        n_splits: u32,
        decode_splits: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

uniform! {
    /// route.wgsl `Route` (moe_route.wgsl, moe_group.wgsl).
    RouteParams = Route in [MoeRoute, MoeGroup] {
        n_expert: u32,
        k: u32,
        layer: u32,
        max_tokens: u32,
    }
}

uniform! {
    /// moe_combine.wgsl `Combine`.
    MoeCombineParams = Combine in [MoeCombine] {
        width: u32,
        k: u32,
        layer: u32,
        max_tokens: u32,
    }
}

uniform! {
    /// moe_experts.wgsl `Experts` (the expert kernels, per token and tiled).
    ExpertParams = Experts in [MoeGateUp, MoeDown, MoeGateUpTiles, MoeDownTiles] {
        rows: u32,
        blocks: u32,
        pool: u32,
        slot_words: u32,
        second: u32,
        n_expert: u32,
        k: u32,
        layer: u32,
        max_tokens: u32,
        x_stride: u32,
        _pad0: u32,
        _pad1: u32,
    }
}

uniform! {
    /// sample.wgsl `Sample`.
    SampleParams = Sample in [Sample] {
        vocab: u32,
        groups: u32,
        per_thread: u32,
        _pad0: u32,
    }
}

uniform! {
    /// sample.wgsl `SampleResult`: what the sampler hands back per token.
    SampleResult = SampleResult in [Sample] {
        token: u32,
        top_ids: [u32; 5],
        top_probs: [f32; 5],
        /// Of the full distribution, in nats.
        entropy: f32,
        logsumexp: f32,
        /// Candidates in the top-p nucleus.
        nucleus: u32,
        /// The top CANDIDATES ids by logit, descending, and their logits.
        candidate_ids: [u32; CANDIDATES],
        candidate_logits: [f32; CANDIDATES],
    }
}

uniform! {
    /// repack.wgsl `Repack`: one uploaded piece of a block-format matrix.
    RepackParams = Repack in [Repack] {
        blocks: u32,
        block_bytes: u32,
        scale_bytes: u32,
        values_at: u32,
        scales_at: u32,
        groups_x: u32,
        _pad0: u32,
        _pad1: u32,
    }
}

/// Every parameter struct, for the reflection test.
pub fn all_layouts() -> Vec<StructLayout> {
    vec![
        StepUniform::layout(),
        MatvecParams::layout(),
        EmbedParams::layout(),
        NormParams::layout(),
        RopeParams::layout(),
        AttentionParams::layout(),
        ProbeParams::layout(),
        AttentionCombineParams::layout(),
        RouteParams::layout(),
        MoeCombineParams::layout(),
        ExpertParams::layout(),
        SampleParams::layout(),
        SampleResult::layout(),
        RepackParams::layout(),
    ]
}
