// h[t] = dequantised row tokens[t] of token_embd (get_rows). The table may be split by row ranges; each range's
// dispatch fills only the tokens that fall in it. THREADS is composed in from gpu/kernels.rs. Composed after a
// format_*.wgsl, weights.wgsl and step.wgsl.

struct Embed {
    row0: u32,      // first vocabulary row in this binding
    rows: u32,
    width: u32,     // embedding length
    mat: u32,
}

@group(0) @binding(1) var<uniform> P: Embed;
@group(0) @binding(2) var<storage, read> W: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> tokens: array<u32>;
@group(0) @binding(4) var<storage, read_write> H: array<f32>;
// Declared for the format functions' signature; get_rows reads no activations.
@group(0) @binding(5) var<storage, read> X: array<vec4<f32>>;

@compute @workgroup_size(THREADS)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.y;
    let i = gid.x;
    if (t >= S.n_tokens || i >= P.width) {
        return;
    }
    let token = tokens[t];
    if (token < P.row0 || token >= P.row0 + P.rows) {
        return;
    }
    let blocks = P.width / 32u;
    let row = token - P.row0;
    H[t * P.width + i] = weight_at(P.mat, P.rows * blocks, row * blocks + i / 32u, i % 32u);
}
