// NEOX RoPE with YaRN on q and k, then k and v stored into the layer's KV cache. Pairs are (i, i + head_dim/2),
// the two halves, not adjacent elements. The per-pair frequency (YaRN ramp between interpolation and
// extrapolation, llama.cpp's floored/ceiled correction dims) is precomputed on the CPU in f64, so
// theta = pos · inv_freq[i]; mscale = 1 + 0.1·ln(factor) multiplies both cos and sin, on q and on k.
// Sliding-window layers keep a ring of `capacity` positions. Composed after kv_*.wgsl (the cache's storage type
// `kv_t`) and step.wgsl; THREADS is composed in from gpu/kernels.rs.

struct Rope {
    n_head: u32,
    n_head_kv: u32,
    head_dim: u32,
    capacity: u32,   // cache positions held (ring size for sliding-window layers)
    mscale: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(1) var<uniform> P: Rope;
@group(0) @binding(2) var<storage, read> inv_freq: array<f32>;
@group(0) @binding(3) var<storage, read_write> Q: array<f32>;
@group(0) @binding(4) var<storage, read> Kcur: array<f32>;
@group(0) @binding(5) var<storage, read> Vcur: array<f32>;
@group(0) @binding(6) var<storage, read_write> KV: array<kv_t>;  // K for all slots, then V for all slots

@compute @workgroup_size(THREADS)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.y;
    let half = P.head_dim / 2u;
    let q_pairs = P.n_head * half;
    let kv_pairs = P.n_head_kv * half;
    let p = gid.x;
    if (t >= S.n_tokens || p >= q_pairs + 2u * kv_pairs) {
        return;
    }
    let pos = S.pos0 + t;
    let slot = pos % P.capacity;
    let kv_width = P.n_head_kv * P.head_dim;
    if (p >= q_pairs + kv_pairs) {
        // v: no rotation, copy the pair (i, i + half) of its head into the cache.
        let v = p - q_pairs - kv_pairs;
        let head = v / half;
        let i = v % half;
        let src = t * kv_width + head * P.head_dim + i;
        let dst = P.capacity * kv_width + slot * kv_width + head * P.head_dim + i;
        KV[dst] = kv_t(Vcur[src]);
        KV[dst + half] = kv_t(Vcur[src + half]);
        return;
    }
    let i = p % half;
    let theta = f32(pos) * inv_freq[i];
    let c = cos(theta) * P.mscale;
    let s = sin(theta) * P.mscale;
    if (p < q_pairs) {
        let head = p / half;
        let o = t * P.n_head * P.head_dim + head * P.head_dim + i;
        let x0 = Q[o];
        let x1 = Q[o + half];
        Q[o] = x0 * c - x1 * s;
        Q[o + half] = x0 * s + x1 * c;
    } else {
        let head = (p - q_pairs) / half;
        let o = t * kv_width + head * P.head_dim + i;
        let x0 = Kcur[o];
        let x1 = Kcur[o + half];
        let dst = slot * kv_width + head * P.head_dim + i;
        KV[dst] = kv_t(x0 * c - x1 * s);
        KV[dst + half] = kv_t(x0 * s + x1 * c);
    }
}
