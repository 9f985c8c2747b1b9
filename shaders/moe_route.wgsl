// Router selection for one token per workgroup: the top-k experts by biased router logit (ties go to the lower
// id, as a stable descending argsort would), then softmax over those k logits only — not softmax over all experts
// first, and no renormalisation (llama.cpp SOFTMAX_WEIGHT gating). Each thread ranks one expert by counting the
// experts ahead of it, so selection is one pass, not k serial scans. MAX_EXPERTS and MAX_K are composed in from
// gpu/kernels.rs, whose guard refuses larger models. Composed after step.wgsl and route.wgsl.

@group(0) @binding(2) var<storage, read> logits: array<f32>;        // [token][expert]
@group(0) @binding(3) var<storage, read_write> chosen: array<u32>;  // [layer][token][k]
@group(0) @binding(4) var<storage, read_write> weights: array<f32>; // [layer][token][k]

var<workgroup> values: array<f32, MAX_EXPERTS>;
var<workgroup> ranked: array<f32, MAX_K>;

@compute @workgroup_size(MAX_EXPERTS)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let t = wg.y;
    if (t >= S.n_tokens) {
        return;
    }
    if (li < P.n_expert) {
        values[li] = logits[t * P.n_expert + li];
    }
    workgroupBarrier();
    var rank = MAX_EXPERTS;
    if (li < P.n_expert) {
        let v = values[li];
        var ahead = 0u;
        for (var e = 0u; e < P.n_expert; e++) {
            let o = values[e];
            if (o > v || (o == v && e < li)) {
                ahead++;
            }
        }
        rank = ahead;
        if (rank < P.k) {
            ranked[rank] = v;
        }
    }
    workgroupBarrier();
    if (rank < P.k) {
        var z = 0.0;
        for (var r = 0u; r < P.k; r++) {
            z += exp(ranked[r] - ranked[0]);
        }
        let out = (P.layer * P.max_tokens + t) * P.k + rank;
        chosen[out] = li;
        weights[out] = exp(values[li] - ranked[0]) / z;
    }
}
