// For each (token, slot) pair: g = W_gate[e]·x + b_gate[e], u = W_up[e]·x + b_up[e] for its chosen expert e, and
// the SwiGLU-OAI activation act = min(g, 7) · σ(1.702 · min(g, 7)) · (clamp(u, −7, 7) + 1) (gate clamped from
// above only; the +1 applies to the clamped up). Only chosen experts are read, through moe_group's tiles: one
// workgroup per (8 rows, tile), and each weight chunk loaded once serves the tile's up-to-TILE pairs. An
// indirection table maps (layer, expert) to (pool, slot); one dispatch per expert pool (pools keep each binding
// under the storage-binding limit), and a tile whose expert lives in another pool does nothing.
// Composed after a format_*.wgsl and step.wgsl.

struct Experts {
    rows: u32,         // output rows per expert matrix
    blocks: u32,       // 32-element blocks per row
    pool: u32,         // which pool this dispatch reads
    slot_words: u32,   // words per expert slot in the pool
    second: u32,       // word offset of the up matrix within a slot
    n_expert: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
    x_stride: u32,     // vec4s per token of X
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(1) var<uniform> P: Experts;
@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> A: array<f32>;        // [pair][rows]
@group(0) @binding(5) var<storage, read> tiles: array<vec4<u32>>;    // from moe_group
@group(0) @binding(6) var<storage, read> pairs: array<u32>;
@group(0) @binding(7) var<storage, read> location: array<u32>;       // [layer][expert] = pool << 16 | slot
@group(0) @binding(8) var<storage, read> bias_gate: array<f32>;      // [expert][rows]
@group(0) @binding(9) var<storage, read> bias_up: array<f32>;        // [expert][rows]

const LANES: u32 = 32u;
const ROWS_PER_GROUP: u32 = 8u;
const TILE: u32 = 4u;
const SWIGLU_ALPHA: f32 = 1.702;
const SWIGLU_LIMIT: f32 = 7.0;
var<workgroup> gate_partial: array<vec4<f32>, 256>;
var<workgroup> up_partial: array<vec4<f32>, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wg: vec3<u32>) {
    let tile = tiles[1u + wg.y];
    let e = tile.x;
    let loc = location[P.layer * P.n_expert + min(e, P.n_expert - 1u)];
    let live = wg.y < tiles[0].x && (loc >> 16u) == P.pool;
    let lane = li % LANES;
    let row = wg.x * ROWS_PER_GROUP + li / LANES;
    var g = vec4<f32>(0.0);
    var u = vec4<f32>(0.0);
    if (live && row < P.rows) {
        // X rows (vec4 index) of the tile's pairs' tokens; unused slots repeat the first, and are not computed.
        let n = tile.z;
        let x0 = (pairs[tile.y] / P.k) * P.x_stride;
        let x1 = select(x0, (pairs[tile.y + 1u] / P.k) * P.x_stride, n > 1u);
        let x2 = select(x0, (pairs[tile.y + 2u] / P.k) * P.x_stride, n > 2u);
        let x3 = select(x0, (pairs[tile.y + 3u] / P.k) * P.x_stride, n > 3u);
        let gate = (loc & 0xffffu) * P.slot_words;
        let up = gate + P.second;
        let nblocks = P.rows * P.blocks;
        let chunks = P.blocks * CHUNKS_PER_BLOCK;
        let first = row * chunks;
        for (var c = lane; c < chunks; c += LANES) {
            let qg = W[(gate >> 2u) + first + c];
            let qu = W[(up >> 2u) + first + c];
            let xc = c * (8u / CHUNKS_PER_BLOCK);
            g.x += chunk_dot(qg, gate, nblocks, first + c, x0 + xc);
            u.x += chunk_dot(qu, up, nblocks, first + c, x0 + xc);
            if (n > 1u) {
                g.y += chunk_dot(qg, gate, nblocks, first + c, x1 + xc);
                u.y += chunk_dot(qu, up, nblocks, first + c, x1 + xc);
            }
            if (n > 2u) {
                g.z += chunk_dot(qg, gate, nblocks, first + c, x2 + xc);
                u.z += chunk_dot(qu, up, nblocks, first + c, x2 + xc);
            }
            if (n > 3u) {
                g.w += chunk_dot(qg, gate, nblocks, first + c, x3 + xc);
                u.w += chunk_dot(qu, up, nblocks, first + c, x3 + xc);
            }
        }
    }
    gate_partial[li] = g;
    up_partial[li] = u;
    workgroupBarrier();
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
        if (lane < s) {
            gate_partial[li] += gate_partial[li + s];
            up_partial[li] += up_partial[li + s];
        }
        workgroupBarrier();
    }
    if (live && lane == 0u && row < P.rows) {
        for (var p = 0u; p < tile.z; p++) {
            let xg = min(gate_partial[li][p] + bias_gate[e * P.rows + row], SWIGLU_LIMIT);
            let xu = clamp(up_partial[li][p] + bias_up[e * P.rows + row], -SWIGLU_LIMIT, SWIGLU_LIMIT);
            A[pairs[tile.y + p] * P.rows + row] = xg / (1.0 + exp(-SWIGLU_ALPHA * xg)) * (xu + 1.0);
        }
    }
}
