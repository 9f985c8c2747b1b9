// moe_down.wgsl's job for a prefill batch, by expert: for each tile of an expert's (token, slot) pairs, y =
// W_down[e]·act + b_down[e], each weight decoded once per tile (tile.wgsl). One dispatch per expert pool, as
// moe_down. Composed after a format_*.wgsl, weights.wgsl, step.wgsl, moe_experts.wgsl, tile.wgsl and
// moe_tiles.wgsl.

@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;      // [token][k][expert width]
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;      // [token][k][rows]
@group(0) @binding(7) var<storage, read> bias_down: array<f32>;    // [expert][rows]

@compute @workgroup_size(TILE_THREADS)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let job = tile_job(li, wg.y);
    if (job.pairs == 0u) {
        return;
    }
    let row0 = wg.x * TILE_ROWS;
    let w = TileRow(job.base + P.second, P.rows * P.blocks, row0 + li, row0 + li < P.rows);
    let tok = li / 2u;
    let x = TileToken(tile_pair(job, min(tok, job.pairs - 1u)) * P.x_stride, tok < job.pairs);
    tile_products(li, w, x, P.blocks);
    for (var i = 0u; i < 8u; i++) {
        let r = row0 + tile_row_of(li, i);
        if (r >= P.rows) {
            continue;
        }
        for (var j = 0u; j < 4u; j++) {
            let tok = 4u * (li / 8u) + j;
            if (tok >= job.pairs) {
                break;
            }
            Y[tile_pair(job, tok) * P.rows + r] = acc[i][j] + bias_down[job.expert * P.rows + r];
        }
    }
}
