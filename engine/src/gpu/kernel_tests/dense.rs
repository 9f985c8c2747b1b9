//! The dense kernels: rmsnorm, matvec in every weight format, the embedding lookup, the sampler.

use super::*;
use crate::sampler::CANDIDATES;

#[test]
fn rmsnorm_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(1);
    let (width, tokens) = (200, 3);
    let (x, w) = (rng.vec(width * tokens, 3.0), rng.vec(width, 1.0));
    let (xb, wb, y) = (h.buffer(cast_slice(&x)), h.buffer(cast_slice(&w)), h.zeros(width * tokens * 4));
    let p = NormParams { width: width as u32, eps: 1e-5, ..Default::default() };
    let run = Step {
        kernel: Kernel::RmsNorm,
        variant: Variant::Plain,
        entry: "main",
        specialise: vec![],
        params: bytes_of(&p),
        bindings: vec![(2, &xb), (3, &wb), (4, &y)],
        grid: (1, tokens as u32, 1),
    };
    let got = floats(&h.run(step(tokens as u32, 0), vec![], &[run], &[&y])[0], width * tokens);
    let want: Vec<f32> = x.chunks(width).flat_map(|t| rms_norm(t, &w, 1e-5)).collect();
    assert_close("kernel rmsnorm", &got, &want, 1e-5);
}

#[test]
fn matvec_matches_cpu_in_every_format() {
    let h = Harness::new();
    let mut rng = Rng(2);
    let tokens = 3;
    for format in GPU_FORMATS {
        // A wide matrix and a narrow one (one lane per row, many rows per workgroup).
        for (rows, cols) in [(37, 96), (300, 32)] {
            let gguf: Vec<u8> = (0..rows).flat_map(|_| rng.row(format, cols)).collect();
            let (x, bias) = (rng.vec(tokens * cols, 1.0), rng.vec(rows, 0.5));
            let layout = MatrixLayout::new(format, rows as u64, cols as u64, "test").unwrap();
            // The lanes the engine picks for this matrix, and one, 32 and 256 whatever the matrix.
            let picked = RowSplit::of(&layout, rows as u64, 1, MATVEC_THREADS, 1);
            let splits = [1, 32, 256].map(|lanes| RowSplit { lanes, rows_per_thread: 1 });
            for split in std::iter::once(picked).chain(splits) {
                let (w, xb, bb) =
                    (h.matrix(format, rows, cols, &gguf), h.buffer(cast_slice(&x)), h.buffer(cast_slice(&bias)));
                let y = h.zeros(tokens * rows * 4);
                let p = MatvecParams {
                    rows: rows as u32,
                    blocks: (cols / 32) as u32,
                    mat: 0,
                    x_stride: (cols / 4) as u32,
                    y_stride: rows as u32,
                    y_offset: 0,
                    flags: ADD_BIAS,
                    _pad0: 0,
                };
                let run = Step {
                    kernel: Kernel::Matvec,
                    variant: Variant::Weights(format),
                    entry: "main",
                    specialise: split.lanes_override().to_vec(),
                    params: bytes_of(&p),
                    bindings: vec![(2, &w), (3, &xb), (4, &y), (5, &bb)],
                    grid: (split.groups(rows as u32, MATVEC_THREADS), (tokens as u32).div_ceil(MATVEC_TOKENS), 1),
                };
                let got = floats(&h.run(step(tokens as u32, 0), vec![], &[run], &[&y])[0], tokens * rows);
                let row_bytes = gguf.len() / rows;
                let want: Vec<f32> = x
                    .chunks(cols)
                    .flat_map(|xt| {
                        gguf.chunks(row_bytes).zip(&bias).map(|(r, b)| dot_row(format, r, xt) + b).collect::<Vec<_>>()
                    })
                    .collect();
                assert_close(&format!("kernel matvec+{format:?} {rows}×{cols}, {split:?}"), &got, &want, 1e-4);
            }
        }
    }
}

/// Every format's `weight_at` (weights.wgsl over the format's chunk decode), through get_rows.
#[test]
fn embed_matches_cpu_in_every_format() {
    let h = Harness::new();
    let mut rng = Rng(3);
    let (rows, width) = (50, 96);
    let ids = [7u32, 0, 49, 7];
    for format in GPU_FORMATS {
        let gguf: Vec<u8> = (0..rows).flat_map(|_| rng.row(format, width)).collect();
        let (w, tokens, out) =
            (h.matrix(format, rows, width, &gguf), h.buffer(cast_slice(&ids)), h.zeros(ids.len() * width * 4));
        let p = EmbedParams { row0: 0, rows: rows as u32, width: width as u32, mat: 0 };
        let run = Step {
            kernel: Kernel::Embed,
            variant: Variant::Weights(format),
            entry: "main",
            specialise: vec![],
            params: bytes_of(&p),
            bindings: vec![(2, &w), (3, &tokens), (4, &out)],
            grid: ((width as u32).div_ceil(ELEMENT_THREADS), ids.len() as u32, 1),
        };
        let got = floats(&h.run(step(ids.len() as u32, 0), vec![], &[run], &[&out])[0], ids.len() * width);
        let row_bytes = gguf.len() / rows;
        let want: Vec<f32> = ids
            .iter()
            .flat_map(|&id| {
                let mut row = vec![0f32; width];
                dequantize_row(format, &gguf[id as usize * row_bytes..][..row_bytes], &mut row).unwrap();
                row
            })
            .collect();
        assert_close(&format!("kernel embed+{format:?}"), &got, &want, 0.0);
    }
}

/// The tiled projection against `dot_row` in every format: rows that leave the last tile part-full, token counts
/// that do (1, 33: one past a tile, 70), with a bias, and accumulating into what Y holds.
#[test]
fn matmul_matches_cpu_in_every_format() {
    let h = Harness::new();
    let mut rng = Rng(12);
    for format in GPU_FORMATS {
        for (rows, cols, tokens) in [(70, 96, 33), (64, 32, 1), (5, 64, 70)] {
            let gguf: Vec<u8> = (0..rows).flat_map(|_| rng.row(format, cols)).collect();
            let (x, bias, before) = (rng.vec(tokens * cols, 1.0), rng.vec(rows, 0.5), rng.vec(tokens * rows, 1.0));
            let (w, xb, bb) =
                (h.matrix(format, rows, cols, &gguf), h.buffer(cast_slice(&x)), h.buffer(cast_slice(&bias)));
            let y = h.buffer(cast_slice(&before));
            let p = MatvecParams {
                rows: rows as u32,
                blocks: (cols / 32) as u32,
                mat: 0,
                x_stride: (cols / 4) as u32,
                y_stride: rows as u32,
                y_offset: 0,
                flags: ADD_BIAS | ACCUMULATE,
                _pad0: 0,
            };
            let run = Step {
                kernel: Kernel::Matmul,
                variant: Variant::Weights(format),
                entry: "main",
                specialise: vec![],
                params: bytes_of(&p),
                bindings: vec![(2, &w), (3, &xb), (4, &y), (5, &bb)],
                grid: ((rows as u32).div_ceil(TILE_ROWS), (tokens as u32).div_ceil(TILE_TOKENS), 1),
            };
            let got = floats(&h.run(step(tokens as u32, 0), vec![], &[run], &[&y])[0], tokens * rows);
            let row_bytes = gguf.len() / rows;
            let want: Vec<f32> = x
                .chunks(cols)
                .zip(before.chunks(rows))
                .flat_map(|(xt, yt)| {
                    gguf.chunks(row_bytes)
                        .zip(&bias)
                        .zip(yt)
                        .map(|((r, b), y0)| y0 + dot_row(format, r, xt) + b)
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_close(&format!("kernel matmul+{format:?} {rows}×{cols}, {tokens} tokens"), &got, &want, 1e-4);
        }
    }
}

/// Both sampler passes against `sampler::sample`: the chosen token, top-5, entropy, log-sum-exp and all CANDIDATES
/// candidates in order. Three vocabularies: random logits leaving the last workgroup part-full; logits of four
/// values (the CANDIDATES-th largest is tied hundreds of times, so ties go by id); and a last workgroup with fewer
/// than CANDIDATES ids.
#[test]
fn sample_matches_cpu() {
    let h = Harness::new();
    let mut rng = Rng(8);
    let random = rng.vec(5000, 4.0);
    let ties: Vec<f32> = rng.vec(5000, 4.0).iter().map(|x| x.round().clamp(-1.0, 2.0)).collect();
    // 8 workgroups of 2048 ids, the last with 4.
    let short_last = rng.vec(7 * (SAMPLE_THREADS * SAMPLE_LOGITS_PER_THREAD) as usize + 4, 4.0);
    for (logits_name, logits) in [("random", &random), ("ties", &ties), ("short last slice", &short_last)] {
        let vocab = logits.len() as u32;
        let groups = vocab.div_ceil(SAMPLE_THREADS * SAMPLE_LOGITS_PER_THREAD);
        let per_thread = vocab.div_ceil(groups * SAMPLE_THREADS);
        let lb = h.buffer(cast_slice(logits));
        let partials = h.zeros((groups * SAMPLE_PARTIAL_WORDS * 4) as usize);
        let result = h.zeros(std::mem::size_of::<SampleResult>());
        let p = SampleParams { vocab, groups, per_thread, _pad0: 0 };
        let mut order: Vec<u32> = (0..vocab).collect();
        order.sort_by(|a, b| logits[*b as usize].total_cmp(&logits[*a as usize]).then(a.cmp(b)));
        let greedy = SamplerConfig::greedy();
        let hot = SamplerConfig { temperature: 0.8, top_k: 0, top_p: 1.0, seed: 11 };
        let top_k = SamplerConfig { temperature: 0.7, top_k: 10, top_p: 1.0, seed: 12 };
        let top_p = SamplerConfig { temperature: 1.2, top_k: 0, top_p: 0.9, seed: 13 };
        for (name, config) in [("greedy", greedy), ("temperature", hot), ("top-k", top_k), ("top-p", top_p)] {
            let name = format!("{logits_name}, {name}");
            let s = StepUniform {
                n_tokens: 1,
                logits_rows: 1,
                seed: config.seed,
                temperature: config.temperature,
                top_k: config.top_k,
                top_p: config.top_p,
                step_index: 5,
                ..Default::default()
            };
            let steps = [
                Step {
                    kernel: Kernel::Sample,
                    variant: Variant::Plain,
                    entry: "partials_main",
                    specialise: vec![],
                    params: bytes_of(&p),
                    bindings: vec![(2, &lb), (3, &partials)],
                    grid: (groups, 1, 1),
                },
                Step {
                    kernel: Kernel::Sample,
                    variant: Variant::Plain,
                    entry: "finalize_main",
                    specialise: vec![],
                    params: bytes_of(&p),
                    bindings: vec![(3, &partials), (4, &result)],
                    grid: (1, 1, 1),
                },
            ];
            let out = h.run(s, vec![], &steps, &[&result]);
            let got: SampleResult = bytemuck::pod_read_unaligned(&out[0][..std::mem::size_of::<SampleResult>()]);
            let want = sample(logits, &config, 5);
            assert_eq!(got.token, want.token, "kernel sample ({name}): token");
            assert_eq!(got.candidate_ids.to_vec(), order[..CANDIDATES], "kernel sample ({name}): candidates");
            let want_logits: Vec<f32> = order[..CANDIDATES].iter().map(|&i| logits[i as usize]).collect();
            assert_eq!(got.candidate_logits.to_vec(), want_logits, "kernel sample ({name}): candidates' logits");
            let want_ids: Vec<u32> = want.top.iter().map(|t| t.0).collect();
            assert_eq!(got.top_ids.to_vec(), want_ids, "kernel sample ({name}): top-5 ids");
            let want_p: Vec<f32> = want.top.iter().map(|t| t.1).collect();
            assert_close(&format!("kernel sample ({name}): top-5 probabilities"), &got.top_probs, &want_p, 1e-5);
            assert_close(
                &format!("kernel sample ({name}): entropy, log-sum-exp"),
                &[got.entropy, got.logsumexp],
                &[want.entropy, want.logsumexp],
                1e-5,
            );
        }
    }
}
