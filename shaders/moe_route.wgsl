// Router selection for one token: the top-k experts by biased router logit (ties go to the lower id, as a stable
// descending argsort would), then softmax over those k logits only — not softmax over all experts first, and no
// renormalisation (llama.cpp SOFTMAX_WEIGHT gating). Composed after step.wgsl.

struct Route {
    n_expert: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
}

@group(0) @binding(1) var<uniform> P: Route;
@group(0) @binding(2) var<storage, read> logits: array<f32>;        // [token][expert]
@group(0) @binding(3) var<storage, read_write> chosen: array<u32>;  // [layer][token][k]
@group(0) @binding(4) var<storage, read_write> weights: array<f32>; // [layer][token][k]

const MAX_K: u32 = 8u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x;
    if (t >= S.n_tokens) {
        return;
    }
    let base = t * P.n_expert;
    var ids: array<u32, MAX_K>;
    var vals: array<f32, MAX_K>;
    for (var r = 0u; r < P.k; r++) {
        var best = 0xffffffffu;
        var best_v = -3.0e38;
        for (var e = 0u; e < P.n_expert; e++) {
            var taken = false;
            for (var p = 0u; p < r; p++) {
                taken = taken || ids[p] == e;
            }
            let v = logits[base + e];
            if (!taken && (best == 0xffffffffu || v > best_v)) {
                best = e;
                best_v = v;
            }
        }
        ids[r] = best;
        vals[r] = best_v;
    }
    var z = 0.0;
    for (var r = 0u; r < P.k; r++) {
        z += exp(vals[r] - vals[0]);
    }
    let out = (P.layer * P.max_tokens + t) * P.k;
    for (var r = 0u; r < P.k; r++) {
        chosen[out + r] = ids[r];
        weights[out + r] = exp(vals[r] - vals[0]) / z;
    }
}
