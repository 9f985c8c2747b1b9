// Prepended to every forward-pass kernel: the values that change per submission, written once per step.
struct Step {
    n_tokens: u32,      // tokens in this batch (prefill chunk or 1 for decode)
    pos0: u32,          // absolute position of the batch's first token
    logits_rows: u32,   // how many trailing tokens of the batch get logits
    seed: u32,
    temperature: f32,   // 0 = greedy
    top_k: u32,         // 0 = no top-k cut
    top_p: f32,         // 1 = no nucleus cut
    step_index: u32,    // counts sampled tokens; makes each draw's random numbers distinct
    probe_head: u32,    // q head of the attention view (attention_probe.wgsl)
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> S: Step;
