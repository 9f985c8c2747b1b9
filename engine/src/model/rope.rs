//! RoPE frequencies with YaRN, as `ggml_rope_ext` computes them for gpt-oss (§5.4). Shared by the CPU forward
//! pass and the GPU kernels, which both rotate by theta = pos · ω_i.

use super::config::RopeConfig;

/// ω_i for the pairs i = 0..n_dims/2, and the magnitude applied to both cos and sin. Computed in f64 (ggml's CPU
/// kernel builds them by repeated f32 multiplication, the GPU backends with pow — they differ in the last bits).
pub fn rope_frequencies(cfg: &RopeConfig, base: f32) -> (Vec<f64>, f64) {
    let (n_dims, base) = (cfg.n_dims as f64, base as f64);
    let (freq_scale, ext_factor) = (cfg.freq_scale as f64, cfg.ext_factor as f64);
    // ggml_rope_yarn_corr_dims: corr(r) = n_dims·ln(n_ctx_orig / (2π·r)) / (2·ln base), then low is floored and
    // high ceiled (llama.cpp; the OpenAI reference and HF keep the fractions, e.g. 8.09/17.40 → 8/18 here)
    let corr =
        |r: f32| n_dims * (cfg.n_ctx_orig as f64 / (2.0 * std::f64::consts::PI * r as f64)).ln() / (2.0 * base.ln());
    let low = corr(cfg.beta_fast).floor().max(0.0);
    let high = corr(cfg.beta_slow).ceil().min(n_dims - 1.0);
    let freqs = (0..cfg.n_dims / 2)
        .map(|i| {
            // theta_extrap = p·base^(−2i/n_dims); theta_interp = freq_scale·theta_extrap
            let extrap = base.powf(-2.0 * i as f64 / n_dims);
            // rope_yarn_ramp: ramp_mix = (1 − clamp((i − low)/max(0.001, high − low), 0, 1))·ext_factor
            let y = (i as f64 - low) / (high - low).max(0.001);
            let mix = (1.0 - y.clamp(0.0, 1.0)) * ext_factor;
            // theta = theta_interp·(1 − ramp_mix) + theta_extrap·ramp_mix
            extrap * (freq_scale * (1.0 - mix) + mix)
        })
        .collect();
    // rope_yarn: mscale = attn_factor·(1 + 0.1·ln(1/freq_scale)) when YaRN is on (1.3466 for gpt-oss). llama.cpp
    // hands ggml attn_factor = 1 after cancelling its own copy of this factor, so it is applied once.
    let yarn_gain = if ext_factor != 0.0 { 1.0 + 0.1 * (1.0 / freq_scale).ln() } else { 1.0 };
    (freqs, cfg.attn_factor as f64 * yarn_gain)
}
