//! What each part of the HUD page draws, projected from the [`Hud`]: plain functions from the state to the
//! components' props. The page holds each projection in a memo, so a panel re-renders only when what it draws
//! changed, not on every update of the state. Nothing here touches the browser, so it is tested natively.

use gptoss_components::{
    format_bytes, Candidate, Fact, GpuStatus, HeatPalette, HeatmapData, KvFillData, KvLayer, SparklineData,
    StreamToken, Tone, WaterfallData,
};
use gptoss_engine::events::{AdapterReport, TokenEvent};
use gptoss_engine::gpu::ExpertBudget;
use gptoss_engine::harmony::TokenPart;

use crate::estimate::{self, Limits, ModelFacts};
use crate::hud::{Hud, Phase, Transfer};

/// Recent tokens the waterfall shows.
pub const WATERFALL_ROWS: usize = 16;
/// Recent tokens (rows) and key positions (columns) the attention view shows.
pub const ATTENTION_ROWS: usize = 24;
pub const ATTENTION_KEYS: usize = 128;

/// The adapter limits that decide what fits, once a device is up.
pub fn limits(status: &GpuStatus) -> Option<Limits> {
    match status {
        GpuStatus::Ready(a) => Some(Limits {
            max_buffer_size: a.max_buffer_size,
            max_storage_buffer_binding_size: a.max_storage_buffer_binding_size,
            shader_f16: a.shader_f16,
        }),
        _ => None,
    }
}

/// How far the tensor stream is, once its size is known.
pub fn percent(transfer: &Transfer) -> Option<f64> {
    let total = transfer.total?;
    (total > 0).then(|| transfer.done as f64 / total as f64 * 100.0)
}

/// The pre-load summary: what the chosen model is and needs, or where reading its header stands.
pub fn preload_summary(
    facts: Option<&ModelFacts>,
    phase: Phase,
    context: usize,
    experts: ExpertBudget,
    limits: Option<Limits>,
) -> Vec<Fact> {
    match (facts, phase) {
        (Some(facts), _) => estimate::summary(facts, context, experts, limits),
        (None, Phase::Inspecting) => vec![Fact::new("model", "reading the header…").tone(Tone::Pending)],
        (None, _) => vec![Fact::new("model", "no header read").tone(Tone::Warning)],
    }
}

/// The tensor stream: the progress bar, the stage list and the ticker.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadView {
    pub transfer: Transfer,
    pub stages: Vec<gptoss_components::StageRow>,
    pub tensors: Vec<gptoss_components::TensorRow>,
    /// Tensors the file holds, once its header is read.
    pub expected_tensors: Option<usize>,
}

pub fn load(hud: &Hud) -> LoadView {
    LoadView {
        transfer: hud.transfer.clone(),
        stages: hud.stages.clone(),
        tensors: hud.tensors.clone(),
        expected_tensors: hud.facts.as_ref().map(|f| f.tensor_count),
    }
}

/// The GPU memory gauge against what the model is expected to need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MemoryView {
    pub allocated: u64,
    pub budget: Option<u64>,
    pub buffers: Vec<gptoss_components::BufferRow>,
    /// `(gpu bytes, dispatches per token, pipelines)` once the model is resident.
    pub ready: Option<(u64, u32, u32)>,
}

pub fn memory(hud: &Hud, limits: Option<Limits>) -> MemoryView {
    MemoryView { allocated: hud.gpu_bytes, budget: budget(hud, limits), buffers: hud.buffers.clone(), ready: hud.ready }
}

/// What the model is expected to need on the GPU at the loaded (or chosen) context.
fn budget(hud: &Hud, limits: Option<Limits>) -> Option<u64> {
    let (facts, kv, limits) = (hud.facts.as_ref()?, hud.kv.as_ref()?, limits?);
    estimate::estimate(facts, kv.context, &limits, kv.experts).ok().map(|e| e.total)
}

/// The speed line under the token stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpeedFigures {
    pub tokens: usize,
    pub decode_tokens_per_s: Option<f64>,
    pub time_to_first_token_ms: Option<f64>,
    pub prefill_tokens_per_s: Option<f64>,
    pub prompt_tokens: usize,
}

pub fn speed(hud: &Hud) -> SpeedFigures {
    let stats = hud.stats.as_ref();
    SpeedFigures {
        tokens: hud.tokens.len(),
        decode_tokens_per_s: hud.live_decode_rate(),
        time_to_first_token_ms: stats.map(|s| s.time_to_first_token_ms).or(hud.tokens.first().map(|t| t.elapsed_ms)),
        prefill_tokens_per_s: stats.map(|s| s.prefill_tokens_per_s),
        prompt_tokens: hud.prompt_tokens,
    }
}

/// A token as the stream shows it. Harmony header tokens carry no message text; the stream shows their vocabulary
/// string (known when the token is among its top candidates) so a malformed header is visible.
pub fn stream_token(t: &TokenEvent) -> StreamToken {
    let vocabulary_text = || t.top.iter().position(|&(id, _)| id == t.id).and_then(|i| t.top_text.get(i)).cloned();
    let text = match t.part {
        TokenPart::Header | TokenPart::End if t.text.is_empty() => vocabulary_text().unwrap_or_default(),
        _ => t.text.clone(),
    };
    let channel = t.channel.map(|c| c.as_str().to_string());
    StreamToken { index: t.index, id: t.id, text, channel, part: t.part.as_str().to_string() }
}

/// The newest token's candidates, most likely first.
pub fn candidates(t: &TokenEvent) -> Vec<Candidate> {
    t.top
        .iter()
        .zip(t.top_text.iter().chain(std::iter::repeat(&String::new())))
        .map(|(&(id, prob), text)| Candidate { id, text: text.clone(), prob })
        .collect()
}

/// The newest [`WATERFALL_ROWS`] tokens' candidate probabilities and which one was sampled.
pub fn waterfall(tokens: &[TokenEvent]) -> WaterfallData {
    let recent = &tokens[tokens.len().saturating_sub(WATERFALL_ROWS)..];
    WaterfallData {
        rows: recent.iter().map(|t| t.top.iter().map(|&(_, p)| p).collect()).collect(),
        chosen: recent.iter().map(|t| t.top.iter().position(|&(id, _)| id == t.id)).collect(),
        capacity: WATERFALL_ROWS,
    }
}

/// Every token's entropy, oldest first.
pub fn entropy(tokens: &[TokenEvent]) -> SparklineData {
    SparklineData { values: tokens.iter().map(|t| t.entropy).collect(), max: None }
}

/// Per layer, how much of its KV cache is written: the window's ring or the context's bar.
pub fn kv_fill(hud: &Hud) -> KvFillData {
    let Some(kv) = &hud.kv else {
        return KvFillData::default();
    };
    let written = hud.kv_positions();
    KvFillData {
        layers: kv
            .sliding
            .iter()
            .map(|&sliding| KvLayer { sliding, capacity: if sliding { kv.window } else { kv.context }, written })
            .collect(),
    }
}

/// Layers × experts: hits since the load, on a backdrop of the experts on the GPU.
pub fn residency(hud: &Hud) -> HeatmapData {
    let Some(kv) = &hud.kv else {
        return HeatmapData::default();
    };
    let cells = kv.sliding.len() * kv.n_expert;
    let resident = match &hud.residency {
        Some(layers) => layers.iter().flat_map(|l| l.iter().copied()).collect(),
        // Without paging every expert is on the GPU.
        None => vec![true; cells],
    };
    HeatmapData {
        rows: kv.sliding.len(),
        cols: kv.n_expert,
        values: hud.hits.iter().map(|&h| h as f32).collect(),
        resident,
        palette: HeatPalette::Warm,
        ..HeatmapData::default()
    }
}

/// Layers × experts: the newest token's routing weights, its chosen experts outlined.
pub fn routing(hud: &Hud) -> HeatmapData {
    let (Some(kv), Some(token)) = (&hud.kv, hud.tokens.last()) else {
        return HeatmapData::default();
    };
    let cols = kv.n_expert;
    let mut values = vec![0.0; token.routes.len() * cols];
    let mut marked = Vec::new();
    for (layer, routes) in token.routes.iter().enumerate() {
        for &(expert, weight) in routes {
            if (expert as usize) < cols {
                values[layer * cols + expert as usize] = weight;
                marked.push((layer, expert as usize));
            }
        }
    }
    HeatmapData { rows: token.routes.len(), cols, values, marked, ..HeatmapData::default() }
}

/// Recent tokens' attention rows for `(layer, head)`, laid out over the last [`ATTENTION_KEYS`] key positions, or
/// why there are none.
pub fn attention(tokens: &[TokenEvent], view: (usize, usize)) -> (HeatmapData, Option<String>) {
    let rows: Vec<_> =
        tokens.iter().filter_map(|t| t.attention.as_ref()).filter(|a| (a.layer, a.head) == view).collect();
    let rows = &rows[rows.len().saturating_sub(ATTENTION_ROWS)..];
    if rows.is_empty() {
        let why = if tokens.is_empty() {
            "no tokens yet".to_string()
        } else {
            format!(
                "no attention rows for layer {} head {} yet: the view applies from the next generation",
                view.0, view.1
            )
        };
        return (HeatmapData::default(), Some(why));
    }
    let end = rows.iter().map(|a| a.first_position + a.weights.len()).max().unwrap_or(0);
    let start = end.saturating_sub(ATTENTION_KEYS);
    let cols = end - start;
    let mut values = vec![0.0; rows.len() * cols];
    for (r, a) in rows.iter().enumerate() {
        for (k, &w) in a.weights.iter().enumerate() {
            let pos = a.first_position + k;
            if pos >= start {
                values[r * cols + pos - start] = w;
            }
        }
    }
    (HeatmapData { rows: rows.len(), cols, values, ..HeatmapData::default() }, None)
}

/// The adapter's facts: the engine's full report once a model loaded, else what bring-up found.
pub fn adapter_facts(report: Option<&AdapterReport>, status: &GpuStatus) -> Vec<Fact> {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let f16 = |b: bool| Fact::new("shader-f16", yes_no(b)).tone(if b { Tone::Done } else { Tone::Warning });
    match (report, status) {
        (Some(r), _) => vec![
            Fact::new("adapter", format!("{} {} {}", r.vendor, r.architecture, r.description)),
            Fact::new("backend", r.backend.clone()),
            Fact::new("maxBufferSize", format_bytes(r.max_buffer_size)),
            Fact::new("maxStorageBufferBindingSize", format_bytes(r.max_storage_buffer_binding_size)),
            Fact::new("maxStorageBuffersPerShaderStage", r.max_storage_buffers_per_shader_stage.to_string()),
            f16(r.shader_f16),
            Fact::new("timestamp-query", yes_no(r.timestamp_query)),
        ],
        (None, GpuStatus::Ready(a)) => vec![
            Fact::new("adapter", format!("{} {} {}", a.vendor, a.architecture, a.description)),
            Fact::new("maxBufferSize", format_bytes(a.max_buffer_size)),
            Fact::new("maxStorageBufferBindingSize", format_bytes(a.max_storage_buffer_binding_size)),
            f16(a.shader_f16),
        ],
        (None, GpuStatus::Probing) => vec![Fact::new("adapter", "requesting…").tone(Tone::Pending)],
        (None, GpuStatus::Unavailable(why)) => vec![Fact::new("adapter", why.clone()).tone(Tone::Error)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gptoss_engine::events::AttentionRow;
    use gptoss_engine::harmony::Channel;

    use crate::hud::{KvShape, Update};

    fn token(index: usize, id: u32, top: Vec<(u32, f32)>) -> TokenEvent {
        TokenEvent {
            index,
            position: 10 + index,
            id,
            text: format!("t{index}"),
            channel: Some(Channel::Final),
            part: TokenPart::Content,
            top_text: top.iter().map(|(id, _)| format!("v{id}")).collect(),
            top,
            entropy: index as f32,
            routes: vec![vec![(1, 0.75), (3, 0.25)], vec![(0, 1.0)]],
            attention: None,
            paging: None,
            expert_residency: None,
            expert_uses: None,
            elapsed_ms: 100.0 * index as f64,
        }
    }

    fn two_layers() -> KvShape {
        KvShape { sliding: vec![true, false], window: 8, context: 64, n_expert: 4, experts: ExpertBudget::All }
    }

    #[test]
    fn a_header_token_shows_its_vocabulary_string() {
        let mut t = token(0, 7, vec![(5, 0.5), (7, 0.25)]);
        (t.part, t.text) = (TokenPart::Header, String::new());
        let shown = stream_token(&t);
        assert_eq!(
            (shown.text.as_str(), shown.part.as_str(), shown.channel.as_deref()),
            ("v7", "header", Some("final"))
        );
        // Content keeps its own text.
        assert_eq!(stream_token(&token(1, 7, vec![(7, 1.0)])).text, "t1");
    }

    #[test]
    fn candidates_pair_ids_with_their_text_and_missing_text_is_empty() {
        let mut t = token(0, 7, vec![(7, 0.5), (9, 0.25)]);
        t.top_text.truncate(1);
        let c = candidates(&t);
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].id, c[0].text.as_str(), c[0].prob), (7, "v7", 0.5));
        assert_eq!((c[1].id, c[1].text.as_str()), (9, ""));
    }

    #[test]
    fn the_waterfall_keeps_the_newest_rows_and_the_sampled_rank() {
        let tokens: Vec<_> =
            (0..20).map(|i| token(i, if i % 2 == 0 { 1 } else { 3 }, vec![(1, 0.6), (2, 0.4)])).collect();
        let w = waterfall(&tokens);
        assert_eq!((w.rows.len(), w.capacity), (WATERFALL_ROWS, WATERFALL_ROWS));
        // Row 0 is token 4 (sampled id 1, rank 0); token 5 sampled id 3, not among its candidates.
        assert_eq!(&w.chosen[..2], &[Some(0), None]);
        assert_eq!(entropy(&tokens).values[19], 19.0);
    }

    #[test]
    fn kv_fill_residency_and_routing_follow_the_loaded_shape() {
        let mut hud = Hud::default();
        assert_eq!(kv_fill(&hud), KvFillData::default());
        assert_eq!(routing(&hud), HeatmapData::default());
        hud.apply(0.0, Update::Kv(two_layers()));
        hud.apply(1.0, Update::Engine(gptoss_engine::events::Event::Token(token(0, 1, vec![(1, 1.0)]))));
        let fill = kv_fill(&hud);
        assert_eq!(
            fill.layers,
            vec![
                KvLayer { sliding: true, capacity: 8, written: 10 },
                KvLayer { sliding: false, capacity: 64, written: 10 },
            ]
        );
        let r = residency(&hud);
        assert_eq!((r.rows, r.cols, r.palette), (2, 4, HeatPalette::Warm));
        assert_eq!(r.values, vec![0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
        // Not paged: every expert is resident.
        assert_eq!(r.resident, vec![true; 8]);
        let routed = routing(&hud);
        assert_eq!(routed.values, vec![0.0, 0.75, 0.0, 0.25, 1.0, 0.0, 0.0, 0.0]);
        assert_eq!(routed.marked, vec![(0, 1), (0, 3), (1, 0)]);
    }

    #[test]
    fn attention_lays_rows_over_the_last_key_positions_or_says_why_not() {
        let (_, why) = attention(&[], (1, 0));
        assert_eq!(why.as_deref(), Some("no tokens yet"));
        let mut tokens = vec![token(0, 1, vec![]), token(1, 1, vec![])];
        let (_, why) = attention(&tokens, (1, 0));
        assert!(why.is_some_and(|w| w.contains("layer 1 head 0")));
        // Token 0 attended over positions 0..2, token 1 over 0..3; another head's row is ignored.
        tokens[0].attention =
            Some(AttentionRow { layer: 1, head: 0, first_position: 0, sink: 0.0, weights: vec![0.5, 0.5] });
        tokens[1].attention =
            Some(AttentionRow { layer: 1, head: 0, first_position: 0, sink: 0.0, weights: vec![0.25, 0.25, 0.5] });
        let mut other = token(2, 1, vec![]);
        other.attention = Some(AttentionRow { layer: 1, head: 1, first_position: 0, sink: 0.0, weights: vec![1.0; 4] });
        tokens.push(other);
        let (data, why) = attention(&tokens, (1, 0));
        assert_eq!(why, None);
        assert_eq!((data.rows, data.cols), (2, 3));
        assert_eq!(data.values, vec![0.5, 0.5, 0.0, 0.25, 0.25, 0.5]);
    }

    #[test]
    fn speed_takes_the_engine_figures_once_the_generation_is_done() {
        let mut hud = Hud::default();
        hud.apply(0.0, Update::GenerationStarted { prompt_tokens: 12 });
        for i in 0..3 {
            hud.apply(1.0, Update::Engine(gptoss_engine::events::Event::Token(token(i, 1, vec![]))));
        }
        let live = speed(&hud);
        // Two tokens after the first in 200 ms; the first came at 0 ms after the generation began.
        assert_eq!((live.tokens, live.prompt_tokens, live.decode_tokens_per_s), (3, 12, Some(10.0)));
        assert_eq!((live.time_to_first_token_ms, live.prefill_tokens_per_s), (Some(0.0), None));
    }

    #[test]
    fn percent_needs_a_known_total() {
        let mut transfer = Transfer { done: 250, ..Transfer::default() };
        assert_eq!(percent(&transfer), None);
        transfer.total = Some(1000);
        assert_eq!(percent(&transfer), Some(25.0));
        transfer.total = Some(0);
        assert_eq!(percent(&transfer), None);
    }

    #[test]
    fn without_a_header_the_summary_says_where_reading_stands() {
        let summary = |phase| preload_summary(None, phase, 4096, ExpertBudget::All, None);
        assert_eq!(summary(Phase::Inspecting)[0].tone, Tone::Pending);
        assert_eq!(summary(Phase::Idle)[0].value, "no header read");
        assert_eq!(adapter_facts(None, &GpuStatus::Probing)[0].value, "requesting…");
        let unavailable = adapter_facts(None, &GpuStatus::Unavailable("no navigator.gpu".into()));
        assert_eq!((unavailable[0].value.as_str(), unavailable[0].tone), ("no navigator.gpu", Tone::Error));
    }
}
