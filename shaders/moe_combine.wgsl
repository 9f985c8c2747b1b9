// h += Σ_k weight_k · y_k, summed in slot order (as ggml does) — the MoE output joins the residual stream.
// THREADS is composed in from gpu/kernels.rs. Composed after step.wgsl.

struct Combine {
    width: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
}

@group(0) @binding(1) var<uniform> P: Combine;
@group(0) @binding(2) var<storage, read> Y: array<f32>;          // [token][k][width]
@group(0) @binding(3) var<storage, read> weights: array<f32>;    // [layer][token][k]
@group(0) @binding(4) var<storage, read_write> H: array<f32>;    // [token][width]

@compute @workgroup_size(THREADS)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.y;
    let i = gid.x;
    if (t >= S.n_tokens || i >= P.width) {
        return;
    }
    var sum = 0.0;
    for (var k = 0u; k < P.k; k++) {
        sum += weights[(P.layer * P.max_tokens + t) * P.k + k] * Y[(t * P.k + k) * P.width + i];
    }
    H[t * P.width + i] += sum;
}
