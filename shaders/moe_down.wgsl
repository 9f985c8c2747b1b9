// For each token and each of its k chosen experts: y = W_down[e]·act + b_down[e] (the bias is added before the
// routing weight). Reads through the same (pool, slot) indirection as moe_gate_up, with the same composed
// THREADS and pipeline constants LANES and ROWS_PER_THREAD; a batch of `tiled_from` tokens or more runs
// moe_down_tiles.wgsl instead. Composed after a format_*.wgsl, weights.wgsl, step.wgsl, moe_experts.wgsl and
// moe_per_token.wgsl.

@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;      // [token][k][expert width]
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;      // [token][k][rows]
@group(0) @binding(7) var<storage, read> bias_down: array<f32>;    // [expert][rows]

var<workgroup> partial: array<vec4<f32>, THREADS>;

@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    if (wg.z >= S.n_tokens) {
        return;
    }
    let job = expert_row(li, wg);
    var acc = vec4<f32>(0.0);
    if (job.in_pool && job.row < P.rows) {
        let down = job.base + P.second;
        let nblocks = P.rows * P.blocks;
        let chunks = P.blocks * CHUNKS_PER_BLOCK;
        let x0 = (job.t * P.k + job.slot_k) * P.x_stride;
        for (var c = job.lane; c < chunks; c += LANES) {
            acc += rows_dot(down, nblocks, job.row, chunks, c, chunk_x(x0 + c * CHUNK_VEC4S));
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
    if (job.in_pool && job.lane == 0u) {
        for (var j = 0u; j < ROWS_PER_THREAD; j++) {
            let row = job.row + j;
            if (row < P.rows) {
                Y[(job.t * P.k + job.slot_k) * P.rows + row] = acc[j] + bias_down[job.id * P.rows + row];
            }
        }
    }
}
