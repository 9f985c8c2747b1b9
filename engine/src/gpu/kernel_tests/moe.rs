//! The MoE kernels: routing, and the experts' gate/up and down through the pools.

use super::*;

#[test]
fn moe_route_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(6);
    let (n_expert, k, tokens, layer) = (7usize, 3usize, 2usize, 1usize);
    let logits = rng.vec(tokens * n_expert, 3.0);
    let lb = h.buffer(cast_slice(&logits));
    let (chosen, weights) = (h.zeros(2 * tokens * k * 4), h.zeros(2 * tokens * k * 4));
    let p = RouteParams { n_expert: n_expert as u32, k: k as u32, layer: layer as u32, max_tokens: tokens as u32 };
    let run = Step {
        kernel: Kernel::MoeRoute,
        variant: Variant::Plain,
        entry: "main",
        specialise: vec![],
        params: bytes_of(&p),
        bindings: vec![(2, &lb), (3, &chosen), (4, &weights)],
        grid: (1, tokens as u32, 1),
    };
    let out = h.run(step(tokens as u32, 0), vec![], &[run], &[&chosen, &weights]);
    let at = layer * tokens * k;
    let (ids, ws) = (&cast_slice::<u8, u32>(&out[0])[at..at + tokens * k], &floats(&out[1], 2 * tokens * k)[at..]);
    for t in 0..tokens {
        let want = route(&logits[t * n_expert..][..n_expert], k);
        let want_ids: Vec<u32> = want.iter().map(|c| c.expert as u32).collect();
        assert_eq!(&ids[t * k..][..k], &want_ids[..], "kernel moe_route, token {t}: chosen experts");
        let want_w: Vec<f32> = want.iter().map(|c| c.weight).collect();
        assert_close(&format!("kernel moe_route, token {t}: weights"), &ws[t * k..][..k], &want_w, 1e-6);
    }
}

/// moe_gate_up then moe_down through a pool whose slots hold the experts out of order, against
/// `dot_row` + `swiglu_oai`.
#[test]
fn moe_experts_match_cpu() {
    let h = Harness::new();
    let mut rng = Rng(7);
    let (n_expert, k, tokens, n_embd, n_ff) = (5usize, 2usize, 3usize, 64usize, 96usize);
    for format in [BlockFormat::MXFP4, BlockFormat::Q8_0] {
        let gate = MatrixLayout::new(format, n_ff as u64, n_embd as u64, "gate").unwrap();
        let down = MatrixLayout::new(format, n_embd as u64, n_ff as u64, "down").unwrap();
        let sizes = PoolSizes { gate, down, slots: n_expert as u64, slots_per_pool: n_expert as u64 };
        let pools = ExpertPools { sizes, pools: vec![h.zeros((n_expert as u64 * sizes.slot_bytes()) as usize)] };
        // Expert e lives in slot (e + 2) mod n.
        let slot_of = |e: usize| ((e + 2) % n_expert) as u64;
        let upload = h.upload(n_ff.max(n_embd) * format.block_bytes() * n_ff.max(n_embd) / 32);
        let mut matrices = Vec::new();
        for e in 0..n_expert {
            let parts: Vec<Vec<u8>> =
                [(ExpertPart::Gate, n_ff, n_embd), (ExpertPart::Up, n_ff, n_embd), (ExpertPart::Down, n_embd, n_ff)]
                    .into_iter()
                    .map(|(part, rows, cols)| {
                        let bytes: Vec<u8> = (0..rows).flat_map(|_| rng.row(format, cols)).collect();
                        pools.write_rows(&upload, slot_of(e), part, 0, &bytes).unwrap();
                        bytes
                    })
                    .collect();
            matrices.push(parts);
        }
        let location: Vec<u32> = (0..n_expert).map(|e| pools.location(slot_of(e))).collect();
        let chosen: Vec<u32> = (0..tokens * k).map(|i| ((i * 3 + 1) % n_expert) as u32).collect();
        let x = rng.vec(tokens * n_embd, 1.0);
        let (bias_gate, bias_up, bias_down) =
            (rng.vec(n_expert * n_ff, 0.5), rng.vec(n_expert * n_ff, 0.5), rng.vec(n_expert * n_embd, 0.5));
        let b = |v: &[f32]| h.buffer(cast_slice(v));
        let (xb, cb, lb) = (b(&x), h.buffer(cast_slice(&chosen)), h.buffer(cast_slice(&location)));
        let (bg, bu, bd) = (b(&bias_gate), b(&bias_up), b(&bias_down));
        let (act, y) = (h.zeros(tokens * k * n_ff * 4), h.zeros(tokens * k * n_embd * 4));
        let gp = ExpertParams {
            rows: n_ff as u32,
            blocks: gate.blocks as u32,
            pool: 0,
            slot_words: pools.slot_words() as u32,
            second: gate.words() as u32,
            n_expert: n_expert as u32,
            k: k as u32,
            layer: 0,
            max_tokens: tokens as u32,
            x_stride: (n_embd / 4) as u32,
            ..Default::default()
        };
        let dp = ExpertParams {
            rows: n_embd as u32,
            blocks: down.blocks as u32,
            second: 2 * gate.words() as u32,
            x_stride: (n_ff / 4) as u32,
            ..gp
        };
        let pool = &pools.pools[0];
        // Every lane count a row can get (one: no reduction; several: the tree), whatever the row's width.
        for lanes in [1, 4, 32] {
            let steps = [
                Step {
                    kernel: Kernel::MoeGateUp,
                    variant: Variant::Weights(format),
                    entry: "main",
                    specialise: lanes_override(lanes).to_vec(),
                    params: bytes_of(&gp),
                    bindings: vec![(2, pool), (3, &xb), (4, &act), (5, &cb), (6, &lb), (7, &bg), (8, &bu)],
                    grid: ((n_ff as u32).div_ceil(EXPERT_THREADS / lanes), k as u32, tokens as u32),
                },
                Step {
                    kernel: Kernel::MoeDown,
                    variant: Variant::Weights(format),
                    entry: "main",
                    specialise: lanes_override(lanes).to_vec(),
                    params: bytes_of(&dp),
                    bindings: vec![(2, pool), (3, &act), (4, &y), (5, &cb), (6, &lb), (7, &bd)],
                    grid: ((n_embd as u32).div_ceil(EXPERT_THREADS / lanes), k as u32, tokens as u32),
                },
            ];
            let out = h.run(step(tokens as u32, 0), vec![], &steps, &[&act, &y]);
            let (got_act, got_y) = (floats(&out[0], tokens * k * n_ff), floats(&out[1], tokens * k * n_embd));
            for t in 0..tokens {
                for j in 0..k {
                    let e = chosen[t * k + j] as usize;
                    let [g, u, d] = [0, 1, 2].map(|m| &matrices[e][m]);
                    let xt = &x[t * n_embd..][..n_embd];
                    let want_act: Vec<f32> = (0..n_ff)
                        .map(|r| {
                            let gv = dot_row(format, gguf_row(g, r, n_ff), xt) + bias_gate[e * n_ff + r];
                            let uv = dot_row(format, gguf_row(u, r, n_ff), xt) + bias_up[e * n_ff + r];
                            swiglu_oai(gv, uv)
                        })
                        .collect();
                    let what =
                        format!("kernel moe_gate_up+{format:?} ({lanes} lanes), token {t} slot {j} (expert {e})");
                    let got_row = &got_act[(t * k + j) * n_ff..][..n_ff];
                    assert_close(&what, got_row, &want_act, 1e-4);
                    // moe_down reads the GPU's activations, so its check does not inherit gate_up's rounding.
                    let want_y: Vec<f32> = (0..n_embd)
                        .map(|r| dot_row(format, gguf_row(d, r, n_embd), got_row) + bias_down[e * n_embd + r])
                        .collect();
                    let what = format!("kernel moe_down+{format:?} ({lanes} lanes), token {t} slot {j} (expert {e})");
                    assert_close(&what, &got_y[(t * k + j) * n_embd..][..n_embd], &want_y, 1e-4);
                }
            }
        }
    }
}
