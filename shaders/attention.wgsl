// Attention for one query head of one token per workgroup, over the layer's KV cache.
// q head h reads kv head h / (n_head / n_head_kv) (GQA groups of consecutive heads). Scores are scaled by
// 1/sqrt(head_dim); causal mask, and on sliding-window layers only keys with pos - j < window (the window counts
// the current token). Softmax is online over chunks of 256 keys; the head's learned sink logit joins the
// denominator only (M = max(max_j s_j, sink); Z = Σ exp(s_j − M) + exp(sink − M)) and contributes no value.
// Composed after kv_*.wgsl (the cache's storage type `kv_t`) and step.wgsl.

struct Attention {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    capacity: u32,
    window: u32,     // 0 = full attention
    scale: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(1) var<uniform> P: Attention;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read> KV: array<kv_t>;
@group(0) @binding(4) var<storage, read> sinks: array<f32>;
@group(0) @binding(5) var<storage, read_write> O: array<f32>;

const THREADS: u32 = 64u;
const CHUNK: u32 = 256u;
const MAX_HEAD_DIM: u32 = 256u;
const DIMS_PER_THREAD: u32 = MAX_HEAD_DIM / THREADS;

var<workgroup> q: array<f32, MAX_HEAD_DIM>;
var<workgroup> weights: array<f32, CHUNK>;
var<workgroup> reduce: array<f32, THREADS>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let h = wg.x;
    let t = wg.y;
    if (t >= S.n_tokens) {
        return;
    }
    let d = P.head_dim;
    let g = h / (P.n_head / P.n_head_kv);
    let kv_width = P.n_head_kv * d;
    let pos = S.pos0 + t;
    var first = 0u;
    if (P.window > 0u && pos + 1u > P.window) {
        first = pos + 1u - P.window;
    }
    for (var i = li; i < d; i += THREADS) {
        q[i] = Q[t * P.n_head * d + h * d + i];
    }
    workgroupBarrier();

    var m = -3.0e38;   // running max
    var z = 0.0;       // running Σ exp(s − m)
    var acc: array<f32, DIMS_PER_THREAD>;
    for (var c = first; c <= pos; c += CHUNK) {
        let n = min(CHUNK, pos + 1u - c);
        // Scores of this chunk, and its max.
        var local_max = -3.0e38;
        for (var j = li; j < n; j += THREADS) {
            let k = ((c + j) % P.capacity) * kv_width + g * d;
            var s = 0.0;
            for (var i = 0u; i < d; i++) {
                s += q[i] * f32(KV[k + i]);
            }
            s *= P.scale;
            weights[j] = s;
            local_max = max(local_max, s);
        }
        reduce[li] = local_max;
        workgroupBarrier();
        for (var r = THREADS / 2u; r > 0u; r >>= 1u) {
            if (li < r) {
                reduce[li] = max(reduce[li], reduce[li + r]);
            }
            workgroupBarrier();
        }
        let m_new = max(m, reduce[0]);
        let rescale = exp(m - m_new);
        for (var j = li; j < n; j += THREADS) {
            weights[j] = exp(weights[j] - m_new);
        }
        workgroupBarrier();
        var chunk_z = 0.0;
        for (var j = 0u; j < n; j++) {
            chunk_z += weights[j];
        }
        z = z * rescale + chunk_z;
        for (var e = 0u; e < DIMS_PER_THREAD; e++) {
            let i = li + e * THREADS;
            if (i < d) {
                var a = acc[e] * rescale;
                for (var j = 0u; j < n; j++) {
                    a += weights[j] * f32(KV[P.capacity * kv_width + ((c + j) % P.capacity) * kv_width + g * d + i]);
                }
                acc[e] = a;
            }
        }
        m = m_new;
        workgroupBarrier();
    }
    // The sink: one more logit in the denominator, unscaled, with no value vector.
    let sink = sinks[h];
    let m_final = max(m, sink);
    let z_final = z * exp(m - m_final) + exp(sink - m_final);
    let out_scale = exp(m - m_final) / z_final;
    for (var e = 0u; e < DIMS_PER_THREAD; e++) {
        let i = li + e * THREADS;
        if (i < d) {
            O[t * P.n_head * d + h * d + i] = acc[e] * out_scale;
        }
    }
}
