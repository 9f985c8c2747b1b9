// For each (token, slot) pair: y = W_down[e]·act + b_down[e] (the bias is added before the routing weight), through
// moe_group's tiles and the same (pool, slot) indirection as moe_gate_up. Composed after a format_*.wgsl and
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
    x_stride: u32,     // vec4s per pair of the activations
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(1) var<uniform> P: Experts;
@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;      // [pair][expert width]
@group(0) @binding(4) var<storage, read_write> Y: array<f32>;      // [pair][rows]
@group(0) @binding(5) var<storage, read> tiles: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read> pairs: array<u32>;
@group(0) @binding(7) var<storage, read> location: array<u32>;
@group(0) @binding(8) var<storage, read> bias_down: array<f32>;    // [expert][rows]

const LANES: u32 = 32u;
const ROWS_PER_GROUP: u32 = 8u;
const TILE: u32 = 4u;
var<workgroup> partial: array<vec4<f32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let tile = tiles[1u + wg.y];
    let e = tile.x;
    let loc = location[P.layer * P.n_expert + min(e, P.n_expert - 1u)];
    let live = wg.y < tiles[0].x && (loc >> 16u) == P.pool;
    let lane = li % LANES;
    let row = wg.x * ROWS_PER_GROUP + li / LANES;
    var acc = vec4<f32>(0.0);
    if (live && row < P.rows) {
        // X rows (vec4 index) of the tile's pairs; unused slots repeat the first, and are not computed.
        let n = tile.z;
        let x0 = pairs[tile.y] * P.x_stride;
        let x1 = select(x0, pairs[tile.y + 1u] * P.x_stride, n > 1u);
        let x2 = select(x0, pairs[tile.y + 2u] * P.x_stride, n > 2u);
        let x3 = select(x0, pairs[tile.y + 3u] * P.x_stride, n > 3u);
        let down = (loc & 0xffffu) * P.slot_words + P.second;
        let nblocks = P.rows * P.blocks;
        let chunks = P.blocks * CHUNKS_PER_BLOCK;
        let first = row * chunks;
        for (var c = lane; c < chunks; c += LANES) {
            let q = W[(down >> 2u) + first + c];
            let xc = c * (8u / CHUNKS_PER_BLOCK);
            acc.x += chunk_dot(q, down, nblocks, first + c, x0 + xc);
            if (n > 1u) {
                acc.y += chunk_dot(q, down, nblocks, first + c, x1 + xc);
            }
            if (n > 2u) {
                acc.z += chunk_dot(q, down, nblocks, first + c, x2 + xc);
            }
            if (n > 3u) {
                acc.w += chunk_dot(q, down, nblocks, first + c, x3 + xc);
            }
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
    if (live && lane == 0u && row < P.rows) {
        for (var p = 0u; p < tile.z; p++) {
            Y[pairs[tile.y + p] * P.rows + row] = partial[li][p] + bias_down[e * P.rows + row];
        }
    }
}
