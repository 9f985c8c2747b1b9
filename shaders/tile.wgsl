// The tiled mat-mul at the heart of a prefill batch (matmul.wgsl, moe_gate_up_tiles.wgsl, moe_down_tiles.wgsl):
// a workgroup of TILE_THREADS computes TILE_ROWS weight rows × TILE_TOKENS tokens, one 32-column block at a time.
// Each weight is decoded once into workgroup memory (f32: Chrome withholds shader-f16 on NVIDIA) and used by all
// the tile's tokens, where the per-token kernels decode it once per token; the tokens' activations are staged
// beside it. Thread (tr, tt) = (li % 8, li / 8) keeps tile rows 4tr .. 4tr + 3 and 32 + 4tr .. 32 + 4tr + 3 for
// tokens 4tt .. 4tt + 3 in registers (acc[i] is a row's four tokens): three workgroup loads per 32 FMAs. f32
// accumulation in column order, so a token's result does not depend on the tile it shares. Composed after a
// format_*.wgsl, weights.wgsl and the tile constants.

var<workgroup> w_tile: array<vec4<f32>, 512>;   // [column][tile row / 4]: 32 × 16
var<workgroup> x_tile: array<vec4<f32>, 256>;   // [column][tile token / 4]: 32 × 8
var<private> acc: array<vec4<f32>, 8>;          // [row i < 4: tile row 4tr + i; i ≥ 4: 32 + 4tr + i − 4][token]

// The weight row thread li decodes into tile row li: its matrix (word offset, blocks in the matrix), its row, and
// whether it exists (rows past the matrix are zeros).
struct TileRow {
    mat: u32,
    nblocks: u32,
    row: u32,
    valid: bool,
}

// The token whose values thread li stages (tile token li / 2, half li % 2 of each block): the X index (vec4s) of
// its row, and whether the tile has that token (a short tile's missing tokens are zeros).
struct TileToken {
    x_row: u32,
    valid: bool,
}

fn stage_block(li: u32, w: TileRow, x: TileToken, blocks: u32, b: u32) {
    for (var c = 0u; c < CHUNKS_PER_BLOCK; c++) {
        let chunk = (w.row * blocks + b) * CHUNKS_PER_BLOCK + c;
        var q = vec4<u32>(0u);
        var scale = 0.0;
        if (w.valid) {
            q = W[(w.mat >> 2u) + chunk];
            scale = chunk_scale(w.mat, w.nblocks, chunk);
        }
        for (var i = 0u; i < CHUNK_VEC4S; i++) {
            let v = chunk_vec(q, i) * scale;
            let col = (c * CHUNK_VEC4S + i) * 4u;
            for (var j = 0u; j < 4u; j++) {
                w_tile[(col + j) * 16u + li / 4u][li & 3u] = v[j];
            }
        }
    }
    let tok = li / 2u;
    for (var i = 0u; i < 4u; i++) {
        let q4 = (li & 1u) * 4u + i;
        var v = vec4<f32>(0.0);
        if (x.valid) {
            v = X[x.x_row + b * 8u + q4];
        }
        for (var j = 0u; j < 4u; j++) {
            x_tile[(q4 * 4u + j) * 8u + tok / 4u][tok & 3u] = v[j];
        }
    }
}

// acc = the tile rows' products with the tile tokens over all `blocks` blocks. Call from uniform control flow.
fn tile_products(li: u32, w: TileRow, x: TileToken, blocks: u32) {
    let tr = li % 8u;
    let tt = li / 8u;
    for (var i = 0u; i < 8u; i++) {
        acc[i] = vec4<f32>(0.0);
    }
    for (var b = 0u; b < blocks; b++) {
        stage_block(li, w, x, blocks, b);
        workgroupBarrier();
        for (var col = 0u; col < 32u; col++) {
            let lo = w_tile[col * 16u + tr];
            let hi = w_tile[col * 16u + 8u + tr];
            let xv = x_tile[col * 8u + tt];
            acc[0] = fma(vec4<f32>(lo.x), xv, acc[0]);
            acc[1] = fma(vec4<f32>(lo.y), xv, acc[1]);
            acc[2] = fma(vec4<f32>(lo.z), xv, acc[2]);
            acc[3] = fma(vec4<f32>(lo.w), xv, acc[3]);
            acc[4] = fma(vec4<f32>(hi.x), xv, acc[4]);
            acc[5] = fma(vec4<f32>(hi.y), xv, acc[5]);
            acc[6] = fma(vec4<f32>(hi.z), xv, acc[6]);
            acc[7] = fma(vec4<f32>(hi.w), xv, acc[7]);
        }
        workgroupBarrier();
    }
}

// Tile row of acc[i] for thread li.
fn tile_row_of(li: u32, i: u32) -> u32 {
    return select(0u, 28u, i >= 4u) + 4u * (li % 8u) + i;
}
