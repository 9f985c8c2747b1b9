//! Shared by the golden tests: the fixture paths, the goldens, and the comparison the issues specify.
#![allow(dead_code)]

use std::path::PathBuf;

use gptoss_engine::gguf::{parse_header, GgufHeader, ParseOutcome};

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

/// tiny.gguf's bytes. A missing fixture fails the test.
pub fn tiny_bytes() -> Vec<u8> {
    let path = fixtures().join("tiny.gguf");
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()))
}

/// The header of a whole file given in memory.
pub fn whole_header(bytes: &[u8]) -> GgufHeader {
    match parse_header(bytes, Some(bytes.len() as u64), "tiny.gguf").expect("the header parses") {
        ParseOutcome::Complete(h) => h,
        ParseOutcome::NeedMore { at_least } => panic!("whole file given but the parser wants {at_least} bytes"),
    }
}

/// tiny.gguf, whole, with its parsed header.
pub fn tiny() -> (GgufHeader, Vec<u8>) {
    let bytes = tiny_bytes();
    (whole_header(&bytes), bytes)
}

/// The tiny model on the CPU, loaded the way a streaming caller would: one tensor's bytes at a time.
pub fn tiny_cpu() -> gptoss_engine::model::CpuModel {
    use gptoss_engine::model::{GptOssConfig, TensorPlan};
    let (header, bytes) = tiny();
    let config = GptOssConfig::from_header(&header).expect("config");
    let plan = TensorPlan::new(&config, &header.tensors).expect("tensor plan");
    cpu_model(&header, &bytes, &config, &plan)
}

/// `plan`'s tensors of a whole file in memory on the CPU, one tensor's bytes at a time.
pub fn cpu_model(
    header: &GgufHeader,
    bytes: &[u8],
    config: &gptoss_engine::model::GptOssConfig,
    plan: &gptoss_engine::model::TensorPlan,
) -> gptoss_engine::model::CpuModel {
    gptoss_engine::model::CpuModel::load(config, plan, |info| {
        let start = (header.data_offset + info.offset) as usize;
        Ok(bytes[start..start + info.n_bytes as usize].to_vec())
    })
    .expect("load")
}

pub struct Case {
    pub name: String,
    pub tokens: Vec<u32>,
    pub greedy: Vec<u32>,
    /// Per position: top-20 (id, logit) descending, log-sum-exp, sampled logits.
    pub top: Vec<Vec<(u32, f32)>>,
    pub logsumexp: Vec<f32>,
    pub sample: Vec<Vec<f32>>,
    pub last_logits: Vec<f32>,
    /// The chosen experts of every (position, layer), inputs then greedy continuation.
    pub experts: Vec<Vec<usize>>,
}

pub struct Goldens {
    pub sample_ids: Vec<u32>,
    pub cases: Vec<Case>,
}

pub fn goldens() -> Goldens {
    let dir = fixtures();
    let path = dir.join("tiny.golden.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("golden json");
    let ids =
        |x: &serde_json::Value| x.as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as u32).collect::<Vec<_>>();
    let cases = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let positions = c["positions"].as_array().unwrap();
            let last_file = dir.join(c["last_logits_file"].as_str().unwrap());
            let raw =
                std::fs::read(&last_file).unwrap_or_else(|e| panic!("fixture {} missing: {e}", last_file.display()));
            Case {
                name: c["name"].as_str().unwrap().to_string(),
                tokens: ids(&c["tokens"]),
                greedy: ids(&c["greedy"]),
                top: positions
                    .iter()
                    .map(|p| {
                        p["top"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|e| (e[0].as_u64().unwrap() as u32, e[1].as_f64().unwrap() as f32))
                            .collect()
                    })
                    .collect(),
                logsumexp: positions.iter().map(|p| p["logsumexp"].as_f64().unwrap() as f32).collect(),
                sample: positions
                    .iter()
                    .map(|p| p["sample"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect())
                    .collect(),
                last_logits: raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
                experts: c["experts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect())
                    .collect(),
            }
        })
        .collect();
    Goldens { sample_ids: ids(&v["sample_ids"]), cases }
}

/// Largest absolute difference between two logit vectors of the same length.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
}

/// The id of the highest logit (the lowest such id on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &l) in logits.iter().enumerate() {
        if l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// Largest errors seen against a case.
#[derive(Debug, Default)]
pub struct Errors {
    pub top: f32,
    pub sample: f32,
    pub logsumexp: f32,
    pub last: f32,
}

fn logsumexp(x: &[f32]) -> f32 {
    let m = x.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    m + x.iter().map(|v| ((v - m) as f64).exp()).sum::<f64>().ln() as f32
}

/// Compare every position's logits with the goldens at `tol`: same top-20 ids (a swap of two ids whose reference
/// logits differ by less than `swap_gap` is allowed: 1e-4 on f32 paths; a path allowed an error of `tol` can
/// reorder ids closer than that), those logits, the sampled logits and the log-sum-exp within `tol`; the last
/// position's full logits within `tol`. Returns the largest errors.
pub fn check_case(case: &Case, sample_ids: &[u32], logits: &[Vec<f32>], tol: f32, swap_gap: f32) -> Errors {
    assert_eq!(logits.len(), case.tokens.len(), "{}: one logit row per position", case.name);
    let mut err = Errors::default();
    for (p, row) in logits.iter().enumerate() {
        let want = &case.top[p];
        let mut order: Vec<u32> = (0..row.len() as u32).collect();
        order.sort_by(|&a, &b| row[b as usize].total_cmp(&row[a as usize]).then(a.cmp(&b)));
        for (r, &(id, logit)) in want.iter().enumerate() {
            let got = order[r];
            if got != id {
                // Allowed only when the reference logits of the two ids are within 1e-4.
                // The reference logit of the id found here; for an id from outside the reference top-20 (a swap at
                // rank 20) only our own value is known, and it must be as close to the displaced one.
                let other = want.iter().find(|(i, _)| *i == got).map(|(_, l)| *l);
                let gap = Some((other.unwrap_or(row[got as usize]) - logit).abs());
                assert!(
                    gap.is_some_and(|g| g < swap_gap),
                    "{} position {p}: rank {r} is id {got}, golden {id} (reference gap {gap:?})",
                    case.name
                );
            }
            err.top = err.top.max((row[id as usize] - logit).abs());
        }
        for (&id, &want) in sample_ids.iter().zip(&case.sample[p]) {
            err.sample = err.sample.max((row[id as usize] - want).abs());
        }
        err.logsumexp = err.logsumexp.max((logsumexp(row) - case.logsumexp[p]).abs());
    }
    err.last = max_abs_diff(logits.last().unwrap(), &case.last_logits);
    eprintln!(
        "{}: max |Δ| top-20 {:.2e}, sampled {:.2e}, logsumexp {:.2e}, last logits {:.2e}",
        case.name, err.top, err.sample, err.logsumexp, err.last
    );
    assert!(
        err.top <= tol && err.sample <= tol && err.logsumexp <= tol && err.last <= tol,
        "{}: {err:?} over {tol}",
        case.name
    );
    err
}

/// Streams every tensor of `model`, each chunk checked against `bytes`, the file `header` describes (the original of a
/// split model); the number of tensors completed.
pub fn stream_checked(
    model: &gptoss_engine::gguf::GgufModel,
    header: &GgufHeader,
    bytes: &[u8],
    options: gptoss_engine::gguf::StreamOptions,
) -> usize {
    let mut completed = 0;
    pollster::block_on(model.stream_tensors(
        |_| true,
        options,
        |chunk| {
            let t = header.tensor(&chunk.tensor.name).unwrap();
            let start = (header.data_offset + t.offset + chunk.offset) as usize;
            assert!(chunk.data == &bytes[start..start + chunk.data.len()], "`{}`", t.name);
            completed += chunk.is_last() as usize;
            Ok(())
        },
        &mut gptoss_engine::events::NoEvents,
    ))
    .unwrap();
    completed
}
