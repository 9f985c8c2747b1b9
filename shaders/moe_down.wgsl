// For each token and each of its k chosen experts: y = W_down[e]·act + b_down[e] (the bias is added before the
// routing weight). Reads through the same (pool, slot) indirection as moe_gate_up, with the same composed
// THREADS and LANES; a batch of `tiled_from` tokens or more runs moe_down_tiles.wgsl instead. Composed after a
// format_*.wgsl, weights.wgsl, step.wgsl, moe_experts.wgsl and moe_per_token.wgsl.

@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;      // [token][k][expert width]
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;      // [token][k][rows]
@group(0) @binding(7) var<storage, read> bias_down: array<f32>;    // [expert][rows]

var<workgroup> partial: array<f32, THREADS>;

@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    if (wg.z >= S.n_tokens) {
        return;
    }
    let job = expert_row(li, wg);
    var acc = 0.0;
    if (job.in_pool && job.row < P.rows) {
        let down = job.base + P.second;
        let nblocks = P.rows * P.blocks;
        let chunks = P.blocks * CHUNKS_PER_BLOCK;
        let first = job.row * chunks;
        for (var c = job.lane; c < chunks; c += LANES) {
            let xb = (job.t * P.k + job.slot_k) * P.x_stride + c * (8u / CHUNKS_PER_BLOCK);
            acc += chunk_dot(W[(down >> 2u) + first + c], down, nblocks, first + c, xb);
        }
    }
    if (LANES > 1u) {
        partial[li] = acc;
        workgroupBarrier();
        for (var s = LANES / 2u; s > 0u; s >>= 1u) {
            if (job.lane < s) {
                partial[li] += partial[li + s];
            }
            workgroupBarrier();
        }
        acc = partial[li];
    }
    if (job.in_pool && job.lane == 0u && job.row < P.rows) {
        Y[(job.t * P.k + job.slot_k) * P.rows + job.row] = acc + bias_down[job.id * P.rows + job.row];
    }
}
