//! `gptoss logits <MODEL> --tokens ID,.. [--backend cpu|gpu] [--last-logits FILE] [--greedy N]
//! [--expert-budget min|N%|BYTES]`: run token ids at positions 0..n−1 and print, per position, the 20 highest
//! logits and the log-sum-exp as JSON, in the layout of the fixture goldens
//! (`{"positions": [{"top": [[id, logit], ...], "logsumexp": x}, ...]}`), so the output can be compared with any
//! outside reference. `--last-logits` writes the last position's logits as raw little-endian f32; `--greedy N`
//! appends `"greedy": [ids]`, the argmax continuation. A GPU load shows its progress on stderr.

use crate::args::{BackendArg, ExpertBudgetArg, ModelArg};
use crate::progress::Progress;
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::gpu::{load_model, ExpertBudget, GpuContext, GpuModel, GpuOptions, KvStorage};
use gptoss_engine::model::{CpuModel, CpuState};
use gptoss_engine::source::ByteSource;
use serde_json::json;
use std::path::PathBuf;
use std::rc::Rc;

/// Logits listed per position, as in the goldens.
const TOP: usize = 20;

#[derive(clap::Args)]
pub struct LogitsArgs {
    #[command(flatten)]
    model: ModelArg,
    /// Token ids run at positions 0.., comma-separated
    #[arg(long, value_name = "ID,..", value_delimiter = ',', required = true)]
    tokens: Vec<u32>,
    /// Where the forward pass runs (the GPU with an f32 KV cache)
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// Write the last position's logits to FILE as raw little-endian f32
    #[arg(long, value_name = "FILE")]
    last_logits: Option<PathBuf>,
    /// Append the argmax continuation of N tokens as `"greedy": [ids]`
    #[arg(long, value_name = "N", default_value_t = 0)]
    greedy: usize,
    #[command(flatten)]
    expert_budget: ExpertBudgetArg,
}

pub fn run(args: LogitsArgs) -> Result<(), String> {
    let tokens = args.tokens;
    let greedy = args.greedy;
    let mut progress = Progress::on_stderr();
    let file = pollster::block_on(GgufModel::open(ByteSource::from_path_or_url(&args.model.model), &mut progress))
        .map_err(|e| e.to_string())?;
    let mut model = match args.backend {
        BackendArg::Cpu => LogitModel::cpu(&file)?,
        BackendArg::Gpu => {
            LogitModel::gpu(&file, tokens.len() + greedy + 1, args.expert_budget.expert_budget, &mut progress)?
        }
    };

    let mut positions = Vec::with_capacity(tokens.len());
    let mut logits = Vec::new();
    for row in model.logits(&tokens)? {
        positions.push(json!({ "top": top_logits(&row, TOP), "logsumexp": logsumexp(&row) }));
        logits = row;
    }
    if let Some(path) = &args.last_logits {
        let bytes: Vec<u8> = logits.iter().flat_map(|l| l.to_le_bytes()).collect();
        std::fs::write(path, bytes).map_err(|e| format!("--last-logits: cannot write {}: {e}", path.display()))?;
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
        let model = pollster::block_on(CpuModel::from_gguf(file)).map_err(|e| e.to_string())?;
        let state = model.new_state();
        Ok(LogitModel::Cpu(Box::new(model), state))
    }

    /// On the GPU with an f32 KV cache, the configuration checked against the goldens at 2e-3.
    fn gpu(
        file: &GgufModel,
        context: usize,
        expert_budget: ExpertBudget,
        progress: &mut Progress,
    ) -> Result<Self, String> {
        let ctx = Rc::new(pollster::block_on(GpuContext::new()).map_err(|e| e.to_string())?);
        let options = GpuOptions {
            context,
            max_batch: 64,
            max_logit_rows: 64,
            kv_storage: Some(KvStorage::F32),
            expert_budget,
            ..Default::default()
        };
        let model = pollster::block_on(load_model(ctx, file, options, progress)).map_err(|e| e.to_string())?;
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
