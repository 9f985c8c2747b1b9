// The HUD's attention view: for one layer and q head, the last token's attention weights over every key it sees
// and the sink's share, recomputed from q and the cache exactly as attention.wgsl weighs them
// (softmax with the sink in the denominator). Recorded only while the view is open. Composed after kv_*.wgsl and
// step.wgsl.

struct Probe {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    capacity: u32,
    window: u32,
    scale: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(1) var<uniform> P: Probe;
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read> KV: array<kv_t>;
@group(0) @binding(4) var<storage, read> sinks: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;  // [sink share, weights of keys first..pos]

var<workgroup> reduce: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
    let t = S.n_tokens - 1u;
    let pos = S.pos0 + t;
    var first = 0u;
    if (P.window > 0u && pos + 1u > P.window) {
        first = pos + 1u - P.window;
    }
    let n = pos + 1u - first;
    let d = P.head_dim;
    let g = S.probe_head / (P.n_head / P.n_head_kv);
    let kv_width = P.n_head_kv * d;
    let q = (t * P.n_head + S.probe_head) * d;
    var m = -3.0e38;
    for (var j = li; j < n; j += 256u) {
        let k = ((first + j) % P.capacity) * kv_width + g * d;
        var s = 0.0;
        for (var i = 0u; i < d; i++) {
            s += Q[q + i] * f32(KV[k + i]);
        }
        s *= P.scale;
        out[1u + j] = s;
        m = max(m, s);
    }
    reduce[li] = m;
    workgroupBarrier();
    for (var r = 128u; r > 0u; r >>= 1u) {
        if (li < r) {
            reduce[li] = max(reduce[li], reduce[li + r]);
        }
        workgroupBarrier();
    }
    let sink = sinks[S.probe_head];
    let m_all = max(reduce[0], sink);
    workgroupBarrier();
    var z = 0.0;
    for (var j = li; j < n; j += 256u) {
        z += exp(out[1u + j] - m_all);
    }
    reduce[li] = z;
    workgroupBarrier();
    for (var r = 128u; r > 0u; r >>= 1u) {
        if (li < r) {
            reduce[li] += reduce[li + r];
        }
        workgroupBarrier();
    }
    let z_all = reduce[0] + exp(sink - m_all);
    for (var j = li; j < n; j += 256u) {
        out[1u + j] = exp(out[1u + j] - m_all) / z_all;
    }
    if (li == 0u) {
        out[0] = exp(sink - m_all) / z_all;
    }
}
