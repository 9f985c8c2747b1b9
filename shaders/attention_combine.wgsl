// Merge attention's key splits for one q head of one token, with the head's learned sink logit in the
// denominator only: M = max(max_s m_s, sink); Z = Σ_s z_s·exp(m_s − M) + exp(sink − M);
// o = Σ_s acc_s·exp(m_s − M) / Z. The sink is unscaled and contributes no value. SPLIT and DECODE_SPLIT (keys per
// split of a batch and of one token) are composed in from gpu/kernels.rs. Composed after step.wgsl.

struct Combine {
    n_head: u32,
    head_dim: u32,
    window: u32,
    n_splits: u32,
    decode_splits: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(1) var<uniform> P: Combine;
@group(0) @binding(2) var<storage, read> partials: array<f32>;
@group(0) @binding(3) var<storage, read> sinks: array<f32>;
@group(0) @binding(4) var<storage, read_write> O: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let h = wg.x;
    let t = wg.y;
    if (t >= S.n_tokens) {
        return;
    }
    let pos = S.pos0 + t;
    var first = 0u;
    if (P.window > 0u && pos + 1u > P.window) {
        first = pos + 1u - P.window;
    }
    // attention.wgsl's split of this step: finer for one token.
    let decode = S.n_tokens == 1u;
    let keys = select(SPLIT, DECODE_SPLIT, decode);
    let used = (pos + 1u - first + keys - 1u) / keys;
    let d = P.head_dim;
    let stride = 2u + d;
    let base = (t * P.n_head + h) * select(P.n_splits, P.decode_splits, decode) * stride;
    let sink = sinks[h];
    var m = sink;
    for (var s = 0u; s < used; s++) {
        m = max(m, partials[base + s * stride]);
    }
    var z = exp(sink - m);
    for (var s = 0u; s < used; s++) {
        z += partials[base + s * stride + 1u] * exp(partials[base + s * stride] - m);
    }
    for (var i = li; i < d; i += 64u) {
        var o = 0.0;
        for (var s = 0u; s < used; s++) {
            o += partials[base + s * stride + 2u + i] * exp(partials[base + s * stride] - m);
        }
        O[(t * P.n_head + h) * d + i] = o / z;
    }
}
