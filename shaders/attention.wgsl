// Attention, split over keys (flash-decoding): one workgroup per (kv head and chunk of its GQA group, split of
// SPLIT keys — DECODE_SPLIT when the step runs one token —, token). The q heads of a GQA group — q head h reads kv
// head h / GROUP — are handled together, HEADS of them per workgroup (a group larger than MAX_HEADS takes CHUNKS
// workgroups), so each key and value is read once per chunk. Scores are scaled by 1/sqrt(head_dim); causal mask,
// and on sliding-window layers only keys with pos − j < window (the window counts the current token). Each split
// writes, per q head, its max m, Σ exp(s − m) and Σ exp(s − m)·v; attention_combine.wgsl merges the splits and
// adds the sink.
// The overridable constants are set from gpu/kernels.rs `AttentionTiling`, so every per-thread loop has a fixed trip
// count and its accumulators stay in registers; THREADS, SPLIT, DECODE_SPLIT, MAX_HEADS, Q_FLOATS and
// MAX_DIMS_PER_THREAD are composed in from the same file. Composed after kv_*.wgsl (the cache's storage type
// `kv_t`) and step.wgsl.

struct Attention {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,      // = HEAD_DIM
    capacity: u32,
    window: u32,     // 0 = full attention
    scale: f32,
    n_splits: u32,      // a batch's splits of SPLIT keys per (token, q head): their stride in the partials
    decode_splits: u32, // one token's splits of DECODE_SPLIT keys
}

@group(0) @binding(1) var<uniform> P: Attention;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read> KV: array<kv_t>;
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;  // [token][q head][split][2 + head_dim]

override GROUP: u32;            // q heads per kv head
override HEADS: u32;            // q heads per workgroup (≤ MAX_HEADS)
override CHUNKS: u32;           // workgroups per kv head: GROUP = up to CHUNKS × HEADS
override HEAD_DIM: u32;
// Threads per q head (a power of two, LANES_PER_HEAD · HEADS ≤ THREADS), and head dims per thread.
override LANES_PER_HEAD: u32;
override DIMS_PER_THREAD: u32;  // ≤ MAX_DIMS_PER_THREAD

var<workgroup> q: array<f32, Q_FLOATS>;              // heads × head_dim
var<workgroup> scores: array<f32, MAX_HEADS * SPLIT>; // heads × SPLIT
var<workgroup> reduce: array<f32, THREADS>;
var<workgroup> head_max: array<f32, MAX_HEADS>;
var<workgroup> head_sum: array<f32, MAX_HEADS>;

fn first_key(pos: u32) -> u32 {
    if (P.window > 0u && pos + 1u > P.window) {
        return pos + 1u - P.window;
    }
    return 0u;
}

@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let g = wg.x / CHUNKS;
    // This workgroup's q heads: q0 .. q0 + n_heads of kv head g's group.
    let head0 = (wg.x % CHUNKS) * HEADS;
    let n_heads = min(HEADS, GROUP - head0);
    let q0 = g * GROUP + head0;
    let split = wg.y;
    let t = wg.z;
    // One token (decode) splits its keys finer, so that even a short context spreads over many workgroups.
    let decode = S.n_tokens == 1u;
    let keys = select(SPLIT, DECODE_SPLIT, decode);
    let splits = select(P.n_splits, P.decode_splits, decode);
    if (t >= S.n_tokens || split >= splits) {
        return;
    }
    let pos = S.pos0 + t;
    let start = first_key(pos) + split * keys;
    if (start > pos) {
        return;  // past the last key; attention_combine never reads this split
    }
    let n = min(keys, pos + 1u - start);
    let d = HEAD_DIM;
    let kv_width = P.n_head_kv * d;
    for (var i = li; i < n_heads * d; i += THREADS) {
        q[i] = Q[(t * P.n_head + q0) * d + i];
    }
    workgroupBarrier();

    // Scores of the workgroup's q heads against this split's keys: each key read once. Rows past n_heads (the last
    // chunk of an uneven group) are computed from unused q and never written out.
    for (var j = li; j < n; j += THREADS) {
        let k = ((start + j) % P.capacity) * kv_width + g * d;
        // Zeroed explicitly for every key: a thread takes several keys once a split holds more than THREADS, and
        // Chrome on SwiftShader was seen carrying the previous key's sums into the next (GPU ≠ CPU from
        // position 64 on).
        var acc: array<f32, MAX_HEADS>;
        for (var h = 0u; h < HEADS; h++) {
            acc[h] = 0.0;
        }
        for (var i = 0u; i < HEAD_DIM; i++) {
            let key = f32(KV[k + i]);
            for (var h = 0u; h < HEADS; h++) {
                acc[h] += q[h * d + i] * key;
            }
        }
        for (var h = 0u; h < HEADS; h++) {
            scores[h * SPLIT + j] = acc[h] * P.scale;
        }
    }
    workgroupBarrier();

    // Per head: max, then exp and sum, with LANES_PER_HEAD lanes per head. Threads past HEADS · LANES_PER_HEAD
    // (h ≥ HEADS, when THREADS / HEADS is not a power of two) reduce a spare row and write nothing.
    let lanes = LANES_PER_HEAD;
    let h = li / lanes;
    let lane = li % lanes;
    let writes = h < n_heads;
    var m = -3.0e38;
    for (var j = lane; j < n; j += lanes) {
        m = max(m, scores[h * SPLIT + j]);
    }
    reduce[li] = m;
    workgroupBarrier();
    for (var r = lanes / 2u; r > 0u; r >>= 1u) {
        if (lane < r) {
            reduce[li] = max(reduce[li], reduce[li + r]);
        }
        workgroupBarrier();
    }
    let head_m = reduce[h * lanes];
    workgroupBarrier();
    var z = 0.0;
    for (var j = lane; j < n; j += lanes) {
        let e = exp(scores[h * SPLIT + j] - head_m);
        scores[h * SPLIT + j] = e;
        z += e;
    }
    reduce[li] = z;
    workgroupBarrier();
    for (var r = lanes / 2u; r > 0u; r >>= 1u) {
        if (lane < r) {
            reduce[li] += reduce[li + r];
        }
        workgroupBarrier();
    }
    if (lane == 0u && writes) {
        head_max[h] = head_m;
        head_sum[h] = reduce[li];
    }
    workgroupBarrier();

    // Σ exp(s − m)·v: LANES_PER_HEAD threads per head, each owning DIMS_PER_THREAD of its dims.
    let stride = 2u + d;
    var acc: array<f32, MAX_DIMS_PER_THREAD>;
    for (var k = 0u; k < DIMS_PER_THREAD; k++) {
        acc[k] = 0.0;
    }
    let v_base = P.capacity * kv_width + g * d;
    for (var j = 0u; j < n; j++) {
        let e = scores[h * SPLIT + j];
        let row = v_base + ((start + j) % P.capacity) * kv_width;
        for (var k = 0u; k < DIMS_PER_THREAD; k++) {
            let i = lane + k * LANES_PER_HEAD;
            if (i < HEAD_DIM) {
                acc[k] += e * f32(KV[row + i]);
            }
        }
    }
    if (!writes) {
        return;
    }
    let o = ((t * P.n_head + q0 + h) * splits + split) * stride;
    for (var k = 0u; k < DIMS_PER_THREAD; k++) {
        let i = lane + k * LANES_PER_HEAD;
        if (i < HEAD_DIM) {
            partials[o + 2u + i] = acc[k];
        }
    }
    if (lane == 0u) {
        partials[o] = head_max[h];
        partials[o + 1u] = head_sum[h];
    }
}
