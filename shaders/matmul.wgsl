// Y = W·X (+ bias) for a batch: matvec.wgsl's job and parameters for the dense projections of a prefill batch, as
// tiles of TILE_ROWS rows × TILE_TOKENS tokens (tile.wgsl) — each weight decoded once per tile, not once per four
// tokens. `accumulate` adds into Y (residual connections); `last_tokens` is not taken (the LM head's few rows stay
// on matvec.wgsl). TILE_* are composed in from gpu/kernels.rs. Composed after a format_*.wgsl, weights.wgsl,
// step.wgsl, projection.wgsl and tile.wgsl.

@compute @workgroup_size(TILE_THREADS)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let t0 = wg.y * TILE_TOKENS;
    if (t0 >= S.n_tokens) {
        return;
    }
    let n = min(TILE_TOKENS, S.n_tokens - t0);
    let row0 = wg.x * TILE_ROWS;
    let w = TileRow(P.mat, P.rows * P.blocks, row0 + li, row0 + li < P.rows);
    let x = TileToken((t0 + li / 2u) * P.x_stride, li / 2u < n);
    tile_products(li, w, x, P.blocks);
    for (var i = 0u; i < 8u; i++) {
        let row = row0 + tile_row_of(li, i);
        if (row >= P.rows) {
            continue;
        }
        for (var j = 0u; j < 4u; j++) {
            let tok = 4u * (li / 8u) + j;
            if (tok >= n) {
                break;
            }
            store_projection((t0 + tok) * P.y_stride + P.y_offset + row, row, acc[i][j]);
        }
    }
}
