// Shared by moe_route.wgsl and moe_group.wgsl: a layer's routing parameters (buffers are [layer][token][k]).

struct Route {
    n_expert: u32,
    k: u32,
    layer: u32,
    max_tokens: u32,
}

@group(0) @binding(1) var<uniform> P: Route;
