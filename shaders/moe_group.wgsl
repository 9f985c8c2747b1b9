// Groups a prefill batch's (token, slot) pairs by expert for the tiled expert kernels, on the GPU (no routing
// goes back to the CPU): count each expert's pairs, prefix-sum the counts, cut each expert's run into tiles of at
// most TILE_TOKENS pairs, and scatter the pair indices (token · k + slot) into their expert's run. One workgroup.
// The order of pairs within a run is whatever the atomics give; no result depends on it (each pair's output is
// its own, summed by one thread in column order). THREADS, MAX_EXPERTS and TILE_TOKENS are composed in from
// gpu/kernels.rs. Composed after step.wgsl and route.wgsl.
//
// groups: [max pairs] pair indices by expert, then the tile count at [max pairs], then from max pairs + 4 four
// words per tile: expert, first index into the pairs, pairs in the tile, 0.

@group(0) @binding(2) var<storage, read> chosen: array<u32>;          // [layer][token][k]
@group(0) @binding(3) var<storage, read_write> groups: array<u32>;

var<workgroup> counts: array<atomic<u32>, MAX_EXPERTS>;
var<workgroup> cursors: array<atomic<u32>, MAX_EXPERTS>;

@compute @workgroup_size(THREADS)
fn main(@builtin(local_invocation_index) li: u32) {
    let pairs = S.n_tokens * P.k;
    let max_pairs = P.max_tokens * P.k;
    let first = P.layer * max_pairs;
    for (var e = li; e < MAX_EXPERTS; e += THREADS) {
        atomicStore(&counts[e], 0u);
    }
    workgroupBarrier();
    for (var p = li; p < pairs; p += THREADS) {
        atomicAdd(&counts[chosen[first + p]], 1u);
    }
    workgroupBarrier();
    if (li == 0u) {
        var start = 0u;
        var tiles = 0u;
        for (var e = 0u; e < P.n_expert; e++) {
            let n = atomicLoad(&counts[e]);
            atomicStore(&cursors[e], start);
            for (var s = 0u; s < n; s += TILE_TOKENS) {
                let at = max_pairs + 4u + 4u * tiles;
                groups[at] = e;
                groups[at + 1u] = start + s;
                groups[at + 2u] = min(TILE_TOKENS, n - s);
                groups[at + 3u] = 0u;
                tiles++;
            }
            start += n;
        }
        groups[max_pairs] = tiles;
    }
    workgroupBarrier();
    for (var p = li; p < pairs; p += THREADS) {
        groups[atomicAdd(&cursors[chosen[first + p]], 1u)] = p;
    }
}
