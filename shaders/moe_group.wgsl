// Group a batch's (token, slot) pairs by expert, so each expert's weights are read once for up to TILE of its
// tokens. Counts per expert, then a tile table — (expert, first pair, pairs) per tile of at most TILE pairs of
// one expert — and the pair lists. Within an expert the pairs' order depends on atomics, but every pair's result
// goes to its own slot, so results do not. One workgroup per layer. Composed after step.wgsl.

struct Group {
    n_expert: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
}

@group(0) @binding(1) var<uniform> P: Group;
@group(0) @binding(2) var<storage, read> chosen: array<u32>;           // [layer][token][k]
@group(0) @binding(3) var<storage, read_write> tiles: array<vec4<u32>>; // [0].x = tile count; then (expert, first, count, 0)
@group(0) @binding(4) var<storage, read_write> pairs: array<u32>;      // pair = token · k + slot, grouped by expert

const TILE: u32 = 4u;
const MAX_EXPERTS: u32 = 128u;
var<workgroup> counts: array<atomic<u32>, MAX_EXPERTS>;
var<workgroup> cursor: array<atomic<u32>, MAX_EXPERTS>;
var<workgroup> offsets: array<u32, MAX_EXPERTS>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) li: u32) {
    let n_pairs = S.n_tokens * P.k;
    let base = P.layer * P.max_tokens * P.k;
    if (li < MAX_EXPERTS) {
        atomicStore(&counts[li], 0u);
        atomicStore(&cursor[li], 0u);
    }
    workgroupBarrier();
    for (var p = li; p < n_pairs; p += 256u) {
        atomicAdd(&counts[chosen[base + p]], 1u);
    }
    workgroupBarrier();
    if (li == 0u) {
        var offset = 0u;
        var n_tiles = 0u;
        for (var e = 0u; e < P.n_expert; e++) {
            let c = atomicLoad(&counts[e]);
            offsets[e] = offset;
            for (var j = 0u; j < c; j += TILE) {
                tiles[1u + n_tiles] = vec4<u32>(e, offset + j, min(TILE, c - j), 0u);
                n_tiles++;
            }
            offset += c;
        }
        tiles[0] = vec4<u32>(n_tiles, 0u, 0u, 0u);
    }
    workgroupBarrier();
    for (var p = li; p < n_pairs; p += 256u) {
        let e = chosen[base + p];
        pairs[offsets[e] + atomicAdd(&cursor[e], 1u)] = p;
    }
}
