// y = W·x (+ bias) for a quantised or plain weight matrix: LANES lanes per row (32 for real widths, more for a
// matrix of few rows; one for a row of at most 8 chunks, see kernels.rs `RowSplit`) striding over the row's 16-byte
// chunks (contiguous loads across a warp), ROWS_PER_THREAD rows per thread, THREADS / LANES × ROWS_PER_THREAD rows
// per workgroup, and up to TOKENS tokens per workgroup so a short batch reads each
// weight chunk once for four tokens (decode runs one; the unused token slots are skipped, not computed; a batch of
// `tiled_from` tokens or more runs matmul.wgsl, except the LM head's few rows). Tree reduction in workgroup memory (WebGPU exposes no subgroups), skipped when one lane holds the
// whole row (LANES is a pipeline constant, so that pipeline has no barrier); f32 accumulation. `accumulate`
// adds into y (residual connections); `last_tokens` applies the matrix to the batch's trailing `logits_rows`
// tokens only (the LM head). THREADS and TOKENS are composed in from gpu/kernels.rs. Composed after a format_*.wgsl,
// weights.wgsl, step.wgsl and projection.wgsl.

override LANES: u32;            // lanes per row: a power of two ≤ THREADS
override ROWS_PER_THREAD: u32;  // rows a thread takes (≤ 4), each chunk of x read once for all of them

var<workgroup> partial: array<array<vec4<f32>, 4>, THREADS>;

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
    let row0 = (wg.x * (THREADS / LANES) + li / LANES) * ROWS_PER_THREAD;
    // acc[j][t]: row row0 + j, token t0 + t.
    var acc: array<vec4<f32>, 4>;
    if (row0 < P.rows) {
        let nblocks = P.rows * P.blocks;
        let chunks = P.blocks * CHUNKS_PER_BLOCK;
        for (var c = lane; c < chunks; c += LANES) {
            let xb = x_token0 * P.x_stride + c * CHUNK_VEC4S;
            // The first token's x once for every row; a short batch's other tokens are read per row.
            let x = chunk_x(xb);
            for (var j = 0u; j < ROWS_PER_THREAD; j++) {
                // A row past the matrix reads its last row, and is not stored.
                let at = min(row0 + j, P.rows - 1u) * chunks + c;
                let q = W[(P.mat >> 2u) + at];
                let scale = chunk_scale(P.mat, nblocks, at);
                acc[j].x += chunk_sum(q, x) * scale;
                if (n > 1u) {
                    acc[j].y += chunk_sum(q, chunk_x(xb + P.x_stride)) * scale;
                }
                if (n > 2u) {
                    acc[j].z += chunk_sum(q, chunk_x(xb + 2u * P.x_stride)) * scale;
                }
                if (n > 3u) {
                    acc[j].w += chunk_sum(q, chunk_x(xb + 3u * P.x_stride)) * scale;
                }
            }
        }
    }
    if (LANES > 1u) {
        partial[li] = acc;
        workgroupBarrier();
        for (var s = LANES / 2u; s > 0u; s >>= 1u) {
            if (lane < s) {
                for (var j = 0u; j < ROWS_PER_THREAD; j++) {
                    partial[li][j] += partial[li + s][j];
                }
            }
            workgroupBarrier();
        }
        acc = partial[li];
    }
    if (lane == 0u) {
        for (var j = 0u; j < ROWS_PER_THREAD; j++) {
            let row = row0 + j;
            if (row >= P.rows) {
                break;
            }
            for (var t = 0u; t < n; t++) {
                store_projection((t0 + t) * P.y_stride + P.y_offset + row, row, acc[j][t]);
            }
        }
    }
}
