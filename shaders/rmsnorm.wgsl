// y = x / sqrt(mean(x²) + eps) ⊙ w, one workgroup per token (grid y). Composed after step.wgsl.

struct Norm {
    width: u32,
    eps: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(1) var<uniform> P: Norm;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> Wn: array<f32>;
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;

var<workgroup> sums: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let t = wg.y;
    if (t >= S.n_tokens) {
        return;
    }
    let base = t * P.width;
    var acc = 0.0;
    for (var i = li; i < P.width; i += 256u) {
        acc += X[base + i] * X[base + i];
    }
    sums[li] = acc;
    workgroupBarrier();
    for (var s = 128u; s > 0u; s >>= 1u) {
        if (li < s) {
            sums[li] += sums[li + s];
        }
        workgroupBarrier();
    }
    // ggml: scale = 1/sqrt(mean + eps), then x·scale·w.
    let scale = 1.0 / sqrt(sums[0] / f32(P.width) + P.eps);
    for (var i = li; i < P.width; i += 256u) {
        Y[base + i] = X[base + i] * scale * Wn[i];
    }
}
