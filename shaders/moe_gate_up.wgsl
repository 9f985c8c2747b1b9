// For each token and each of its k chosen experts: g = W_gate[e]·x + b_gate[e], u = W_up[e]·x + b_up[e], and the
// SwiGLU-OAI activation act = min(g, 7) · σ(1.702 · min(g, 7)) · (clamp(u, −7, 7) + 1) (gate clamped from above
// only; the +1 applies to the clamped up). Only the chosen experts are read: their ids stay on the GPU, and an
// indirection table maps (layer, expert) to (pool, slot). One dispatch per expert pool (pools keep each binding
// under the storage-binding limit); a workgroup whose expert lives in another pool does nothing.
// Decode and short batches run this per-(token, slot) form, each pair decoding the expert's weights itself; a
// batch of kernels.rs's `tiled_from` tokens or more runs moe_gate_up_tiles.wgsl, which decodes each weight once
// per tile of tokens. THREADS is composed in from gpu/kernels.rs; LANES and ROWS_PER_THREAD are pipeline constants
// (moe_per_token.wgsl). Composed after a format_*.wgsl, weights.wgsl, step.wgsl, moe_experts.wgsl and
// moe_per_token.wgsl.

@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> A: array<f32>;        // [token][k][rows]
@group(0) @binding(7) var<storage, read> bias_gate: array<f32>;      // [expert][rows]
@group(0) @binding(8) var<storage, read> bias_up: array<f32>;        // [expert][rows]

var<workgroup> gate_partial: array<vec4<f32>, THREADS>;
var<workgroup> up_partial: array<vec4<f32>, THREADS>;

@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    if (wg.z >= S.n_tokens) {
        return;
    }
    let job = expert_row(li, wg);
    var g = vec4<f32>(0.0);
    var u = vec4<f32>(0.0);
    if (job.in_pool && job.row < P.rows) {
        let gate = job.base;
        let up = gate + P.second;
        let nblocks = P.rows * P.blocks;
        let chunks = P.blocks * CHUNKS_PER_BLOCK;
        for (var c = job.lane; c < chunks; c += LANES) {
            let x = chunk_x(job.t * P.x_stride + c * CHUNK_VEC4S);
            g += rows_dot(gate, nblocks, job.row, chunks, c, x);
            u += rows_dot(up, nblocks, job.row, chunks, c, x);
        }
    }
    if (LANES > 1u) {
        gate_partial[li] = g;
        up_partial[li] = u;
        workgroupBarrier();
        for (var s = LANES / 2u; s > 0u; s >>= 1u) {
            if (job.lane < s) {
                gate_partial[li] += gate_partial[li + s];
                up_partial[li] += up_partial[li + s];
            }
            workgroupBarrier();
        }
        g = gate_partial[li];
        u = up_partial[li];
    }
    if (job.in_pool && job.lane == 0u) {
        for (var j = 0u; j < ROWS_PER_THREAD; j++) {
            let row = job.row + j;
            if (row < P.rows) {
                let at = job.id * P.rows + row;
                A[(job.t * P.k + job.slot_k) * P.rows + row] = swiglu_oai(g[j] + bias_gate[at], u[j] + bias_up[at]);
            }
        }
    }
}
