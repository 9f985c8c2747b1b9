// For each token and each of its k chosen experts: y = W_down[e]·act + b_down[e] (the bias is added before the
// routing weight). Reads through the same (pool, slot) indirection as moe_gate_up. Composed after a format_*.wgsl and
// step.wgsl.

struct Experts {
    rows: u32,
    blocks: u32,
    pool: u32,
    slot_words: u32,
    second: u32,       // word offset of the down matrix within a slot
    n_expert: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
    x_stride: u32,     // vec4s per (token, k) row of the activations
    _pad1: u32,
    _pad: u32,
}

@group(0) @binding(1) var<uniform> P: Experts;
@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;      // [token][k][expert width]
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;      // [token][k][rows]
@group(0) @binding(5) var<storage, read> chosen: array<u32>;
@group(0) @binding(6) var<storage, read> location: array<u32>;
@group(0) @binding(7) var<storage, read> bias_down: array<f32>;    // [expert][rows]

const LANES: u32 = 32u;
const ROWS_PER_GROUP: u32 = 8u;
var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let t = wg.z;
    let slot_k = wg.y;
    if (t >= S.n_tokens) {
        return;
    }
    let e = chosen[(P.layer * P.max_tokens + t) * P.k + slot_k];
    let loc = location[P.layer * P.n_expert + e];
    let in_pool = (loc >> 16u) == P.pool;
    let lane = li % LANES;
    let row = wg.x * ROWS_PER_GROUP + li / LANES;
    var acc = 0.0;
    if (in_pool && row < P.rows) {
        let down = (loc & 0xffffu) * P.slot_words + P.second;
        let nblocks = P.rows * P.blocks;
        let chunks = P.blocks * CHUNKS_PER_BLOCK;
        let first = row * chunks;
        for (var c = lane; c < chunks; c += LANES) {
            let xb = (t * P.k + slot_k) * P.x_stride + c * (8u / CHUNKS_PER_BLOCK);
            acc += chunk_dot(W[(down >> 2u) + first + c], down, nblocks, first + c, xb);
        }
    }
    partial[li] = acc;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (lane < s) {
            partial[li] += partial[li + s];
        }
        workgroupBarrier();
    }
    if (in_pool && lane == 0u && row < P.rows) {
        Y[(t * P.k + slot_k) * P.rows + row] = partial[li] + bias_down[e * P.rows + row];
    }
}
