//! `gptoss logits <model> --tokens ID,.. [--backend cpu|gpu] [--last-logits FILE] [--greedy N]
//! [--expert-budget min|N%|BYTES]`: run token ids at
//! positions 0..n−1 and print, per position, the 20 highest logits and the log-sum-exp as JSON, in the layout of
//! the fixture goldens (`{"positions": [{"top": [[id, logit], ...], "logsumexp": x}, ...]}`), so the output can be
//! compared with any outside reference. `--last-logits` writes the last position's logits as raw little-endian
//! f32; `--greedy N` appends `"greedy": [ids]`, the argmax continuation.

use crate::args::Args;
use gptoss_engine::events::NoEvents;
use gptoss_engine::gguf::{GgufModel, TensorInfo};
use gptoss_engine::gpu::{load_model, ExpertBudget, GpuContext, GpuModel, GpuOptions, KvStorage};
use gptoss_engine::model::{CpuModel, CpuState, GptOssConfig, TensorPlan};
use gptoss_engine::source::ByteSource;
use serde_json::json;
use std::rc::Rc;

/// Logits listed per position, as in the goldens.
const TOP: usize = 20;

pub fn run(mut args: Args) -> Result<(), String> {
    let tokens = args.value(&["--tokens"])?.ok_or("--tokens ID,ID,... is required")?;
    let tokens = Args::parse_ids(&tokens, "--tokens")?;
    if tokens.is_empty() {
        return Err("--tokens needs at least one id".into());
    }
    let backend = args.value(&["--backend"])?.unwrap_or_else(|| "cpu".into());
    let last_logits_file = args.value(&["--last-logits"])?;
    let greedy = match args.value(&["--greedy"])? {
        Some(n) => n.parse::<usize>().map_err(|_| format!("--greedy: `{n}` is not a count"))?,
        None => 0,
    };
    let budget = args.value(&["--expert-budget"])?;
    let target = args.positional("a GGUF path or URL")?;
    args.finish()?;
    let expert_budget =
        budget.map(|b| ExpertBudget::parse(&b)).transpose().map_err(|e| e.to_string())?.unwrap_or_default();
    let file = pollster::block_on(GgufModel::open(ByteSource::from_path_or_url(&target), &mut NoEvents))
        .map_err(|e| e.to_string())?;
    let mut model = match backend.as_str() {
        "cpu" => LogitModel::cpu(&file)?,
        "gpu" => LogitModel::gpu(&file, tokens.len() + greedy + 1, expert_budget)?,
        other => return Err(format!("--backend: `{other}` is not cpu or gpu")),
    };

    let mut positions = Vec::with_capacity(tokens.len());
    let mut logits = Vec::new();
    for row in model.logits(&tokens)? {
        positions.push(json!({ "top": top_logits(&row, TOP), "logsumexp": logsumexp(&row) }));
        logits = row;
    }
    if let Some(path) = &last_logits_file {
        let bytes: Vec<u8> = logits.iter().flat_map(|l| l.to_le_bytes()).collect();
        std::fs::write(path, bytes).map_err(|e| format!("--last-logits: cannot write {path}: {e}"))?;
    }
    let mut out = json!({ "positions": positions });
    if greedy > 0 {
        let mut continuation = Vec::with_capacity(greedy);
        for i in 0..greedy {
            let next = argmax(&logits);
            continuation.push(next);
            // The last id needs no logits of its own.
            if i + 1 < greedy {
                logits = model.logits(&[next])?.pop().unwrap_or_default();
            }
        }
        out["greedy"] = json!(continuation);
    }
    println!("{out}");
    Ok(())
}

/// Full logits per position from either backend, continuing the same sequence across calls.
enum LogitModel {
    Cpu(Box<CpuModel>, CpuState),
    Gpu(Box<GpuModel>),
}

impl LogitModel {
    fn cpu(file: &GgufModel) -> Result<Self, String> {
        let config = GptOssConfig::from_header(file.header()).map_err(|e| e.to_string())?;
        let infos: Vec<TensorInfo> = file.tensors().map(|t| t.info.clone()).collect();
        let plan = TensorPlan::new(&config, &infos).map_err(|e| e.to_string())?;
        let model = CpuModel::load(&config, &plan, |info| pollster::block_on(file.read_tensor(&info.name)))
            .map_err(|e| e.to_string())?;
        let state = model.new_state();
        Ok(LogitModel::Cpu(Box::new(model), state))
    }

    /// On the GPU with an f32 KV cache, the configuration checked against the goldens at 2e-3.
    fn gpu(file: &GgufModel, context: usize, expert_budget: ExpertBudget) -> Result<Self, String> {
        let ctx = Rc::new(pollster::block_on(GpuContext::new()).map_err(|e| e.to_string())?);
        let options = GpuOptions {
            context,
            max_batch: 64,
            max_logit_rows: 64,
            kv_storage: Some(KvStorage::F32),
            expert_budget,
            ..Default::default()
        };
        let model = pollster::block_on(load_model(ctx, file, options, &mut NoEvents)).map_err(|e| e.to_string())?;
        Ok(LogitModel::Gpu(Box::new(model)))
    }

    fn logits(&mut self, tokens: &[u32]) -> Result<Vec<Vec<f32>>, String> {
        match self {
            LogitModel::Cpu(model, state) => {
                tokens.iter().map(|&t| model.forward(state, t, state.len()).map_err(|e| e.to_string())).collect()
            }
            LogitModel::Gpu(model) => pollster::block_on(model.logits(tokens)).map_err(|e| e.to_string()),
        }
    }
}

/// The `k` highest logits as `(id, logit)`, descending; ties keep the lower id first.
fn top_logits(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let mut ids: Vec<u32> = (0..logits.len() as u32).collect();
    let by_logit = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]).then(a.cmp(b));
    if ids.len() > k {
        ids.select_nth_unstable_by(k, by_logit);
        ids.truncate(k);
    }
    ids.sort_by(by_logit);
    ids.into_iter().map(|id| (id, logits[id as usize])).collect()
}

/// log Σ exp(logit), accumulated in f64.
fn logsumexp(logits: &[f32]) -> f64 {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &l| m.max(l as f64));
    max + logits.iter().map(|&l| (l as f64 - max).exp()).sum::<f64>().ln()
}

/// The id of the highest logit (the lowest such id on ties).
fn argmax(logits: &[f32]) -> u32 {
    top_logits(logits, 1).first().map_or(0, |&(id, _)| id)
}
