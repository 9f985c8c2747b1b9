//! Each kernel's sizing decisions and limits in one place: the constants its WGSL is composed with (generated into
//! the source by `shaders.rs`, so Rust's grid arithmetic and the WGSL cannot disagree), the pipeline constants the
//! model's shape sets, and a guard that refuses a shape the kernel cannot run, naming the kernel, before any weight
//! is loaded.

use super::shaders::Kernel;
use super::weights::MatrixLayout;
use crate::model::GptOssConfig;
use crate::sampler::{CANDIDATES, NO_ID};
use crate::{Error, Result};

/// matvec.wgsl: threads per workgroup (lanes per row × rows) and tokens per workgroup.
pub const MATVEC_THREADS: u32 = 256;
pub const MATVEC_TOKENS: u32 = 4;
/// moe_gate_up.wgsl, moe_down.wgsl: threads per workgroup (lanes per row × rows).
pub const EXPERT_THREADS: u32 = 256;
/// tile.wgsl (matmul.wgsl, moe_*_tiles.wgsl): threads per workgroup, weight rows and tokens per tile. tile.wgsl's
/// layout is written for these: 8 × 8 threads, each 8 rows × 4 tokens.
pub const TILE_THREADS: u32 = 64;
pub const TILE_ROWS: u32 = 64;
pub const TILE_TOKENS: u32 = 32;
/// The batch from which the tiled kernels run instead of the per-token ones (GpuOptions::tiled_from's default).
/// A tile costs about as much with a few tokens as with 32 (it decodes its expert's rows whole either way), so the
/// tiled pass grows only from ~52 to ~87 ms between 4 and 64 tokens on an H200 (gpt-oss-20b), where the per-token
/// pass costs ~2.2 ms a token: 72 against 80 ms at 32 tokens, 140 against 87 at 64 (`bench --tiled-from`,
/// BENCHMARKS.md); they cross near 37.
pub const TILED_FROM: usize = 40;
/// moe_group.wgsl: threads of its one workgroup.
pub const GROUP_THREADS: u32 = 256;
/// Rows of at most this many 16-byte chunks are read by one thread each ([`row_lanes`]).
pub const SERIAL_ROW_CHUNKS: u64 = 8;
/// embed.wgsl, moe_combine.wgsl: one thread per element of a row.
pub const ELEMENT_THREADS: u32 = 256;
/// repack.wgsl: one thread per scale word of an uploaded piece.
pub const REPACK_THREADS: u32 = 256;
/// rope_kv.wgsl: one thread per rotated (or copied) pair.
pub const ROPE_THREADS: u32 = 64;
/// attention.wgsl: threads per workgroup, keys per split, and the workgroup arrays: q heads per workgroup
/// (scores hold MAX_HEADS × SPLIT), q floats (heads × head_dim) and value dims per thread.
pub const ATTENTION_THREADS: u32 = 64;
pub const ATTENTION_SPLIT: u32 = 256;
/// Keys per split when a step runs one token (decode): with 256 a context under 256 keys ran as one workgroup per
/// kv head, each looping over every key, and decode at context 1024 took 40% longer per token than at 0 on an
/// H200; in runs of 32 the keys spread over many workgroups (a prefill batch's tokens already do), and decode at
/// 1024 runs within 5% of decode at 0 there (BENCHMARKS.md).
pub const ATTENTION_DECODE_SPLIT: u32 = 32;
pub const ATTENTION_MAX_HEADS: u32 = 8;
pub const ATTENTION_Q_FLOATS: u32 = 1024;
pub const ATTENTION_MAX_DIMS_PER_THREAD: u32 = 16;
/// moe_route.wgsl: one thread per expert.
pub const ROUTE_MAX_EXPERTS: u32 = 128;
pub const ROUTE_MAX_K: u32 = 8;
/// sample.wgsl: threads per workgroup; logits per thread in the first pass (99 slices of gpt-oss's 201,088 ids);
/// the entries a thread holds in either pass (its logits, or the slices' candidates it merges), which bounds the
/// vocabulary; and the words of one slice's partial (max, Σexp, Σexp·y, Gumbel value and id, then CANDIDATES
/// values and ids).
pub const SAMPLE_THREADS: u32 = 256;
pub const SAMPLE_LOGITS_PER_THREAD: u32 = 8;
pub const SAMPLE_ENTRIES: u32 = 16;
pub const SAMPLE_MAX_VOCAB: u64 =
    (SAMPLE_THREADS * SAMPLE_ENTRIES / CANDIDATES as u32 * SAMPLE_THREADS * SAMPLE_LOGITS_PER_THREAD) as u64;
pub const SAMPLE_PARTIAL_WORDS: u32 = 5 + 2 * CANDIDATES as u32;

/// How attention.wgsl splits a query's keys in a cache of `capacity` positions: `batch` splits of
/// [`ATTENTION_SPLIT`] keys when a step runs several tokens, `decode` splits of [`ATTENTION_DECODE_SPLIT`] when it
/// runs one (each count is also the stride of a token's splits in the partials). The grid covers the larger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionSplits {
    pub batch: u32,
    pub decode: u32,
}

impl AttentionSplits {
    pub fn new(capacity: u32) -> Self {
        AttentionSplits {
            batch: capacity.div_ceil(ATTENTION_SPLIT) + 1,
            decode: capacity.div_ceil(ATTENTION_DECODE_SPLIT) + 1,
        }
    }

    /// Workgroups along the grid's y when every split holds keys (a step dispatches only those its keys reach:
    /// plan.rs `Dim::KeySplits`).
    pub fn grid(self) -> u32 {
        self.batch.max(self.decode)
    }

    /// Floats of partials for `max_tokens` tokens of `n_head` heads of `head_dim`.
    pub fn partial_floats(self, max_tokens: u64, n_head: u64, head_dim: u64) -> u64 {
        (max_tokens * self.batch as u64).max(self.decode as u64) * n_head * (2 + head_dim)
    }
}

/// Lanes that share one weight row in matvec.wgsl and moe_*.wgsl (their pipeline constant `LANES`); the rest of
/// the workgroup's threads take more rows. A row of at most [`SERIAL_ROW_CHUNKS`] chunks gets one lane: read in
/// sequence it costs a GPU no more than spread over lanes, and it needs no tree reduction, whose barriers CPU
/// drivers run slowly (SwiftShader: ~0.5 ms per barrier of a 256-thread workgroup; the tiny model's 201,088-row
/// LM head took 11 s a token with 8 lanes per row, 0.14 s with one). A longer row gets enough lanes for its
/// chunks, at most 32.
pub fn row_lanes(layout: &MatrixLayout) -> u32 {
    let chunks = layout.gpu_row_bytes() / 16;
    if chunks <= SERIAL_ROW_CHUNKS {
        return 1;
    }
    chunks.next_power_of_two().min(32) as u32
}

/// The most tiles moe_group.wgsl can cut `pairs` (token, slot) pairs into over `n_expert` experts: each expert's
/// run of n pairs takes ⌈n / TILE_TOKENS⌉, at most n / TILE_TOKENS + 1 for each expert that has any.
pub fn expert_tiles(pairs: u32, n_expert: u32) -> u32 {
    pairs.div_ceil(TILE_TOKENS) + pairs.min(n_expert)
}

/// Words of moe_group.wgsl's output for batches of up to `max_pairs` pairs: the pairs, a 4-word header, 4 words
/// per tile.
pub fn group_words(max_pairs: u64, n_expert: u64) -> u64 {
    max_pairs + 4 + 4 * expert_tiles(max_pairs as u32, n_expert as u32) as u64
}

/// The pipeline constant a row-reading kernel is specialised with.
pub fn lanes_override(lanes: u32) -> [(&'static str, f64); 1] {
    [("LANES", lanes as f64)]
}

impl Kernel {
    /// The constants composed into this kernel's WGSL as `const NAME: u32`.
    pub fn wgsl_constants(self) -> Vec<(&'static str, u32)> {
        match self {
            Kernel::Embed | Kernel::MoeCombine => vec![("THREADS", ELEMENT_THREADS)],
            Kernel::Matvec => vec![("THREADS", MATVEC_THREADS), ("TOKENS", MATVEC_TOKENS)],
            Kernel::Matmul | Kernel::MoeGateUpTiles | Kernel::MoeDownTiles => {
                vec![("TILE_THREADS", TILE_THREADS), ("TILE_ROWS", TILE_ROWS), ("TILE_TOKENS", TILE_TOKENS)]
            }
            Kernel::MoeGroup => {
                vec![("THREADS", GROUP_THREADS), ("MAX_EXPERTS", ROUTE_MAX_EXPERTS), ("TILE_TOKENS", TILE_TOKENS)]
            }
            Kernel::RopeKv => vec![("THREADS", ROPE_THREADS)],
            Kernel::Attention => vec![
                ("THREADS", ATTENTION_THREADS),
                ("SPLIT", ATTENTION_SPLIT),
                ("DECODE_SPLIT", ATTENTION_DECODE_SPLIT),
                ("MAX_HEADS", ATTENTION_MAX_HEADS),
                ("Q_FLOATS", ATTENTION_Q_FLOATS),
                ("MAX_DIMS_PER_THREAD", ATTENTION_MAX_DIMS_PER_THREAD),
            ],
            Kernel::AttentionCombine => vec![("SPLIT", ATTENTION_SPLIT), ("DECODE_SPLIT", ATTENTION_DECODE_SPLIT)],
            Kernel::MoeRoute => vec![("MAX_EXPERTS", ROUTE_MAX_EXPERTS), ("MAX_K", ROUTE_MAX_K)],
            Kernel::MoeGateUp | Kernel::MoeDown => vec![("THREADS", EXPERT_THREADS)],
            Kernel::Sample => vec![
                ("THREADS", SAMPLE_THREADS),
                ("ENTRIES", SAMPLE_ENTRIES),
                ("CANDIDATES", CANDIDATES as u32),
                ("PARTIAL_WORDS", SAMPLE_PARTIAL_WORDS),
                ("NONE", NO_ID),
            ],
            Kernel::Repack => vec![("THREADS", REPACK_THREADS)],
            Kernel::RmsNorm | Kernel::AttentionProbe => vec![],
        }
    }

    /// Refuse a model shape this kernel cannot run.
    pub fn check(self, c: &GptOssConfig) -> Result<()> {
        let refuse = |why: String| Err(Error::Gpu(format!("kernel {}: {why}", self.name())));
        match self {
            Kernel::RopeKv if c.rope.n_dims != c.head_dim => {
                refuse(format!("rotates whole heads, but RoPE covers {} of {} dims", c.rope.n_dims, c.head_dim))
            }
            Kernel::Attention | Kernel::AttentionProbe | Kernel::AttentionCombine if c.value_dim != c.head_dim => {
                refuse(format!("reads values with the key width, but keys are {} wide and values {}", c.head_dim, c.value_dim))
            }
            Kernel::Attention => AttentionTiling::new(c.n_head, c.n_head_kv, c.head_dim).map(|_| ()).or_else(refuse),
            Kernel::MoeRoute | Kernel::MoeGroup if c.n_expert > ROUTE_MAX_EXPERTS as usize || c.n_expert_used > ROUTE_MAX_K as usize => {
                refuse(format!(
                    "ranks at most {ROUTE_MAX_EXPERTS} experts and keeps at most {ROUTE_MAX_K}; the model has {} and uses {}",
                    c.n_expert, c.n_expert_used
                ))
            }
            _ => Ok(()),
        }
    }

    /// Check every kernel of the forward pass against the model's shape.
    pub fn check_all(c: &GptOssConfig) -> Result<()> {
        Kernel::ALL.into_iter().try_for_each(|k| k.check(c))
    }
}

/// How attention.wgsl covers a GQA group (q head h reads kv head h / group): `chunks` workgroups per kv head and
/// split, each taking `heads` consecutive q heads of the group (the last chunk may take fewer), so each key and
/// value is read once per chunk. `lanes_per_head` threads (a power of two, for the tree reductions) reduce one
/// head's scores and each own `dims_per_thread` of its value dims.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttentionTiling {
    pub group: u32,
    pub heads: u32,
    pub chunks: u32,
    pub head_dim: u32,
    pub lanes_per_head: u32,
    pub dims_per_thread: u32,
}

impl AttentionTiling {
    /// The fewest chunks per group that fit the workgroup arrays; the error says why none does.
    pub fn new(n_head: usize, n_head_kv: usize, head_dim: usize) -> std::result::Result<Self, String> {
        if n_head_kv == 0 || !n_head.is_multiple_of(n_head_kv) {
            return Err(format!("{n_head} q heads do not divide into {n_head_kv} kv heads"));
        }
        let group = (n_head / n_head_kv) as u32;
        let head_dim = head_dim as u32;
        (group.div_ceil(ATTENTION_MAX_HEADS)..=group)
            .map(|chunks| {
                let heads = group.div_ceil(chunks);
                // No empty last chunk: 5 heads in 4 chunks are 3 chunks of 2.
                let chunks = group.div_ceil(heads);
                let lanes_per_head = 1 << (ATTENTION_THREADS / heads).ilog2();
                AttentionTiling {
                    group,
                    heads,
                    chunks,
                    head_dim,
                    lanes_per_head,
                    dims_per_thread: head_dim.div_ceil(lanes_per_head),
                }
            })
            .find(|t| t.heads * head_dim <= ATTENTION_Q_FLOATS && t.dims_per_thread <= ATTENTION_MAX_DIMS_PER_THREAD)
            .ok_or_else(|| {
                format!(
                    "head dim {head_dim} is over the workgroup's {ATTENTION_Q_FLOATS} q floats and \
                     {ATTENTION_MAX_DIMS_PER_THREAD} value dims per thread even one head at a time"
                )
            })
    }

    /// The pipeline constants attention.wgsl is built with.
    pub fn overrides(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("GROUP", self.group as f64),
            ("HEADS", self.heads as f64),
            ("CHUNKS", self.chunks as f64),
            ("HEAD_DIM", self.head_dim as f64),
            ("LANES_PER_HEAD", self.lanes_per_head as f64),
            ("DIMS_PER_THREAD", self.dims_per_thread as f64),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::BlockFormat;

    #[test]
    fn short_rows_get_one_lane_and_model_rows_keep_32() {
        let lanes = |format, cols| row_lanes(&MatrixLayout::new(format, 8, cols, "t").unwrap());
        // The bundled model's 128-wide rows: its LM head, projections and experts.
        assert_eq!((lanes(BlockFormat::Q8_0, 128), lanes(BlockFormat::MXFP4, 128)), (1, 1));
        assert_eq!(lanes(BlockFormat::Q8_0, 512), 32);
        // gpt-oss-20b/120b's 2880-wide rows, as before this rule.
        assert_eq!((lanes(BlockFormat::Q8_0, 2880), lanes(BlockFormat::MXFP4, 2880)), (32, 32));
        assert_eq!(lanes(BlockFormat::F32, 64), 16);
    }

    #[test]
    fn attention_tiles_any_gqa_group() {
        // gpt-oss: 64 q heads over 8 kv heads of 64, one workgroup per group as before.
        let t = AttentionTiling::new(64, 8, 64).unwrap();
        assert_eq!((t.group, t.heads, t.chunks, t.lanes_per_head, t.dims_per_thread), (8, 8, 1, 8, 8));
        for (n_head, n_head_kv, head_dim) in
            [(6, 2, 64), (5, 1, 64), (12, 1, 64), (16, 1, 64), (10, 2, 128), (3, 3, 256)]
        {
            let t = AttentionTiling::new(n_head, n_head_kv, head_dim).unwrap();
            let what = format!("{n_head}/{n_head_kv} heads of {head_dim}: {t:?}");
            assert!(t.heads <= ATTENTION_MAX_HEADS && t.heads * t.chunks >= t.group, "{what}");
            assert!((t.chunks - 1) * t.heads < t.group, "{what}: an empty chunk");
            assert!(t.lanes_per_head.is_power_of_two() && t.lanes_per_head * t.heads <= ATTENTION_THREADS, "{what}");
            assert!(t.heads * t.head_dim <= ATTENTION_Q_FLOATS, "{what}");
            assert!(t.dims_per_thread * t.lanes_per_head >= t.head_dim, "{what}");
            assert!(t.dims_per_thread <= ATTENTION_MAX_DIMS_PER_THREAD, "{what}");
        }
        assert!(AttentionTiling::new(6, 4, 64).unwrap_err().contains("do not divide"));
        assert!(AttentionTiling::new(1, 1, 2048).unwrap_err().contains("head dim 2048"));
    }
}
