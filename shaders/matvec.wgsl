// y = W·x (+ bias) for a quantised or plain weight matrix: LANES lanes per row (32 for real widths, more for a matrix
// of few rows; one for a row of at most 8 chunks, see kernels.rs `RowSplit`; one row a thread) striding over the row's
// 16-byte chunks (contiguous loads across a warp), THREADS / LANES rows per workgroup, and up to TOKENS tokens per
// workgroup so a short batch reads each weight chunk once for four tokens (decode runs one; the unused token slots are
// skipped, not computed; a batch of `tiled_from` tokens or more runs matmul.wgsl, except the LM head's few rows). Tree
// reduction in workgroup memory (WebGPU exposes no subgroups), skipped when one lane holds the whole row (LANES is a
// pipeline constant, so that pipeline has no barrier); f32 accumulation. `accumulate` adds into y (residual
// connections); `last_tokens` applies the matrix to the batch's trailing `logits_rows` tokens only (the LM head).
// THREADS and TOKENS are composed in from gpu/kernels.rs. Composed after a format_*.wgsl, weights.wgsl, step.wgsl and
// projection.wgsl.

override LANES: u32;    // lanes per row: a power of two ≤ THREADS

var<workgroup> partial: array<vec4<f32>, THREADS>;

@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let last_only = (P.flags & 4u) != 0u;
    let n_out = select(S.n_tokens, S.logits_rows, last_only);
    let t0 = wg.y * TOKENS;
    if (t0 >= n_out) {
        return;
    }
    let n = min(TOKENS, n_out - t0);
    let x_token0 = select(t0, S.n_tokens - S.logits_rows + t0, last_only);
    let lane = li % LANES;
    let row = wg.x * (THREADS / LANES) + li / LANES;
    var acc = vec4<f32>(0.0);
    if (row < P.rows) {
        let nblocks = P.rows * P.blocks;
        let chunks = P.blocks * CHUNKS_PER_BLOCK;
        let first = row * chunks;
        for (var c = lane; c < chunks; c += LANES) {
            let q = W[(P.mat >> 2u) + first + c];
            let xb = x_token0 * P.x_stride + c * CHUNK_VEC4S;
            acc.x += chunk_dot_x(q, P.mat, nblocks, first + c, xb);
            if (n > 1u) {
                acc.y += chunk_dot_x(q, P.mat, nblocks, first + c, xb + P.x_stride);
            }
            if (n > 2u) {
                acc.z += chunk_dot_x(q, P.mat, nblocks, first + c, xb + 2u * P.x_stride);
            }
            if (n > 3u) {
                acc.w += chunk_dot_x(q, P.mat, nblocks, first + c, xb + 3u * P.x_stride);
            }
        }
    }
    if (LANES > 1u) {
        partial[li] = acc;
        workgroupBarrier();
        for (var s = LANES / 2u; s > 0u; s >>= 1u) {
            if (lane < s) {
                partial[li] += partial[li + s];
            }
            workgroupBarrier();
        }
        acc = partial[li];
    }
    if (lane == 0u && row < P.rows) {
        let sums = acc;
        for (var j = 0u; j < n; j++) {
            store_projection((t0 + j) * P.y_stride + P.y_offset + row, row, sums[j]);
        }
    }
}
