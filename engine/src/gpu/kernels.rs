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

/// How a row-reading kernel (matvec.wgsl: its pipeline constant `LANES`; moe_gate_up.wgsl, moe_down.wgsl: `LANES`
/// and `ROWS_PER_THREAD`) spreads a matrix over its workgroups' threads: the lanes that share a row, and the rows
/// each thread takes. A thread reads each chunk of x once for all its rows: a warp's lanes read chunks 16 values or
/// more apart, so each of those loads touches as many cache lines as there are lanes, and on an H200 the expert
/// kernels spent their time on x, not on the weights (one row a thread, they streamed 360–660 GB/s). The mat-vecs
/// keep one row a thread: on the H200 two or four made attn_q slower and the LM head 10% faster, and on
/// SwiftShader they doubled the bundled model's decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowSplit {
    pub lanes: u32,
    pub rows_per_thread: u32,
}

/// Workgroups a row-reading dispatch should at least have (counting its copies side by side, the k experts of a
/// token) before its threads take more rows each, or after its rows get more lanes each. Measured on an H200
/// (BENCHMARKS.md, eighth pass).
pub const ROW_GROUPS_WANTED: u32 = 256;

/// Most rows a thread takes (its sums are one vec4).
pub const MAX_ROWS_PER_THREAD: u32 = 4;

impl RowSplit {
    /// For a matrix of `layout`'s rows, `rows` of them in this dispatch, dispatched `copies` times side by side, in
    /// workgroups of `threads`, at most `max_rows` rows a thread. A row of at most [`SERIAL_ROW_CHUNKS`] chunks gets
    /// one lane: read in sequence it costs a GPU no more than spread over lanes, and it needs no tree reduction, whose
    /// barriers CPU drivers run slowly (SwiftShader: ~0.5 ms per barrier of a 256-thread workgroup; the tiny model's
    /// 201,088-row LM head took 11 s a token with 8 lanes per row, 0.14 s with one). A longer row gets enough lanes for
    /// its chunks, at most 32, and more (up to the workgroup) while the dispatch has fewer than [`ROW_GROUPS_WANTED`]
    /// workgroups and each lane keeps two chunks or more (the router's 32 rows); then each thread takes 2 or 4 rows
    /// while the dispatch keeps that many workgroups.
    pub fn of(layout: &MatrixLayout, rows: u64, copies: u32, threads: u32, max_rows: u32) -> RowSplit {
        let chunks = layout.gpu_row_bytes() / 16;
        let groups = |split: RowSplit| split.groups(rows as u32, threads).saturating_mul(copies);
        if chunks <= SERIAL_ROW_CHUNKS {
            return RowSplit { lanes: 1, rows_per_thread: 1 }.widest(max_rows, groups);
        }
        let mut split = RowSplit { lanes: chunks.next_power_of_two().min(32) as u32, rows_per_thread: 1 };
        while split.lanes < threads && chunks >= 4 * split.lanes as u64 && groups(split) < ROW_GROUPS_WANTED {
            split.lanes *= 2;
        }
        split.widest(max_rows, groups)
    }

    /// This split with as many rows per thread (up to `max_rows`) as keep [`ROW_GROUPS_WANTED`] groups.
    fn widest(mut self, max_rows: u32, groups: impl Fn(RowSplit) -> u32) -> RowSplit {
        while self.rows_per_thread < max_rows.min(MAX_ROWS_PER_THREAD) {
            let wider = RowSplit { rows_per_thread: 2 * self.rows_per_thread, ..self };
            if groups(wider) < ROW_GROUPS_WANTED {
                break;
            }
            self = wider;
        }
        self
    }

    /// Workgroups along x for `rows` rows in workgroups of `threads`.
    pub fn groups(self, rows: u32, threads: u32) -> u32 {
        rows.div_ceil(threads / self.lanes * self.rows_per_thread)
    }

    /// The pipeline constants the expert kernels are specialised with.
    pub fn overrides(self) -> [(&'static str, f64); 2] {
        [("LANES", self.lanes as f64), ("ROWS_PER_THREAD", self.rows_per_thread as f64)]
    }

    /// The pipeline constant matvec.wgsl is specialised with (one row a thread).
    pub fn lanes_override(self) -> [(&'static str, f64); 1] {
        [("LANES", self.lanes as f64)]
    }
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
    fn row_splits_give_few_rows_more_lanes_and_many_rows_more_rows_a_thread() {
        use BlockFormat::{F32, MXFP4, Q8_0};
        // (lanes, rows a thread) as forward.rs asks: the mat-vecs one row a thread, the experts (k = 4) up to four.
        let split = |format, rows, cols, copies, max_rows| {
            let s = RowSplit::of(&MatrixLayout::new(format, rows, cols, "t").unwrap(), rows, copies, 256, max_rows);
            (s.lanes, s.rows_per_thread)
        };
        // The bundled model's 128-wide rows: one lane, no barriers.
        assert_eq!((split(Q8_0, 128, 128, 1, 1), split(MXFP4, 256, 128, 4, 4)), ((1, 1), (1, 1)));
        assert_eq!(split(Q8_0, 201_088, 128, 1, 1), (1, 1));
        assert_eq!(split(Q8_0, 8, 512, 1, 1), (32, 1));
        // gpt-oss-20b: attn_q, attn_output, attn_k/v, the router (F32, 32 rows), the LM head, the experts.
        assert_eq!(split(Q8_0, 4096, 2880, 1, 1), (32, 1));
        assert_eq!(split(Q8_0, 2880, 4096, 1, 1), (32, 1));
        assert_eq!(split(Q8_0, 512, 2880, 1, 1), (64, 1));
        assert_eq!(split(F32, 32, 2880, 1, 1), (256, 1));
        assert_eq!(split(Q8_0, 201_088, 2880, 1, 1), (32, 1));
        assert_eq!(split(MXFP4, 2880, 2880, 4, 4), (32, 4));
        assert_eq!(split(F32, 8, 64, 1, 1), (16, 1));
        // Rows a thread stop where the dispatch would fall under ROW_GROUPS_WANTED workgroups.
        assert_eq!((split(MXFP4, 2880, 2880, 1, 4), split(Q8_0, 4096, 2880, 1, 4)), ((32, 1), (32, 2)));
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
