// moe_gate_up.wgsl's job for a prefill batch, by expert: for each tile of an expert's (token, slot) pairs, g =
// W_gate[e]·x + b_gate[e], u = W_up[e]·x + b_up[e] and act = SwiGLU-OAI(g, u), with each weight decoded once per
// tile (tile.wgsl). A workgroup takes TILE_ROWS / 2 rows of gate and the same rows of up, so each thread holds a
// row's g and u together for the epilogue. One dispatch per expert pool, as moe_gate_up. Composed after a
// format_*.wgsl, weights.wgsl, step.wgsl, moe_experts.wgsl, tile.wgsl and moe_tiles.wgsl.

@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;        // [token][E]
@group(0) @binding(4) var<storage, read_write> A: array<f32>;        // [token][k][rows]
@group(0) @binding(7) var<storage, read> bias_gate: array<f32>;      // [expert][rows]
@group(0) @binding(8) var<storage, read> bias_up: array<f32>;        // [expert][rows]

@compute @workgroup_size(TILE_THREADS)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let job = tile_job(li, wg.y);
    if (job.pairs == 0u) {
        return;
    }
    let half = TILE_ROWS / 2u;
    let row0 = wg.x * half;
    // Tile rows below half are gate rows, the rest the same rows of up.
    let row = row0 + li % half;
    let mat = job.base + select(0u, P.second, li >= half);
    let w = TileRow(mat, P.rows * P.blocks, row, row < P.rows);
    let tok = li / 2u;
    let x = TileToken(tile_pair(job, min(tok, job.pairs - 1u)) / P.k * P.x_stride, tok < job.pairs);
    tile_products(li, w, x, P.blocks);
    for (var i = 0u; i < 4u; i++) {
        let r = row0 + tile_row_of(li, i);
        if (r >= P.rows) {
            continue;
        }
        let at = job.expert * P.rows + r;
        for (var j = 0u; j < 4u; j++) {
            let tok = 4u * (li / 8u) + j;
            if (tok >= job.pairs) {
                break;
            }
            A[tile_pair(job, tok) * P.rows + r] = swiglu_oai(acc[i][j] + bias_gate[at], acc[i + 4u][j] + bias_up[at]);
        }
    }
}
