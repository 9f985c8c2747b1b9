//! What the HUD shows, as plain data, and how engine events change it. [`Hud::apply`] is the only writer: the
//! hook queues [`Update`]s as they happen and applies a frame's worth at once, so a burst of events is one
//! re-render. Nothing here touches the browser, so it is tested natively.

use std::collections::HashMap;

use gptoss_components::{BufferRow, LogLine, StageRow, StageState, TensorRow, Tone};
use gptoss_engine::events::{Event, GenerationStats, Stage, TokenEvent};
use gptoss_engine::gpu::{AdapterReport, ExpertBudget, PagingStats};

use crate::chat_host::ChatSnapshot;
use crate::estimate::ModelFacts;

/// Where the session stands; the LOAD MODEL button shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Phase {
    /// Nothing running (a model may be loaded).
    #[default]
    Idle,
    /// Reading the header of the chosen source.
    Inspecting,
    Loading,
    Generating,
    /// Stop was pressed; the current step finishes first.
    Stopping,
    /// Running the GPU-against-CPU check.
    Checking,
    /// The last action failed; [`Hud::error`] says why. A new action may start.
    Failed,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Inspecting => "inspecting",
            Phase::Loading => "loading",
            Phase::Generating => "generating",
            Phase::Stopping => "stopping",
            Phase::Checking => "checking",
            Phase::Failed => "error",
        }
    }

    /// Work is in flight: STOP applies, and nothing new starts.
    pub fn busy(self) -> bool {
        matches!(self, Phase::Loading | Phase::Generating | Phase::Stopping | Phase::Checking)
    }
}

/// The first generated ids of the same prompt, greedy, on the GPU and on the CPU reference.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Parity {
    #[default]
    NotRun,
    Running,
    Done {
        gpu: Vec<u32>,
        cpu: Vec<u32>,
    },
    Failed(String),
}

/// The shape of the KV caches of the loaded model, for the fill view.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KvShape {
    /// Per layer: does it use the sliding window.
    pub sliding: Vec<bool>,
    pub window: usize,
    pub context: usize,
    pub n_expert: usize,
    /// The expert budget the model was loaded with.
    pub experts: ExpertBudget,
}

/// Something that happened, stamped with when (ms since the page started) by the queue.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Update {
    Engine(Event),
    Phase(Phase),
    /// A new source was chosen: everything about the previous one is cleared.
    SourceChosen {
        name: String,
    },
    Facts(ModelFacts),
    /// A load begins (its stages and tensors replace the last load's).
    LoadStarted,
    /// The loaded model was dropped and its GPU buffers with it.
    Released {
        bytes: u64,
    },
    Kv(KvShape),
    /// A generation begins with a prompt of this many tokens.
    GenerationStarted {
        prompt_tokens: usize,
    },
    Parity(Parity),
    /// The chat's conversation changed.
    Chat(ChatSnapshot),
    /// The last action failed.
    Failed(String),
    /// A load was stopped part way; whatever it had allocated is released.
    LoadStopped,
    Log(Tone, String),
    /// The model cache: where a load's bytes come from, the room it needs, the cached models.
    Cache(crate::model_cache::CacheUpdate),
}

/// Bytes of the tensor stream (the overall progress bar).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transfer {
    pub done: u64,
    pub total: Option<u64>,
    pub started_ms: Option<f64>,
    pub last_ms: f64,
    pub failed: bool,
}

impl Transfer {
    pub fn elapsed_ms(&self) -> f64 {
        self.started_ms.map_or(0.0, |s| (self.last_ms - s).max(0.0))
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hud {
    pub phase: Phase,
    /// The chosen source's name (URL or file name).
    pub source: Option<String>,
    pub facts: Option<ModelFacts>,
    pub stages: Vec<StageRow>,
    stage_started_ms: HashMap<Stage, f64>,
    pub transfer: Transfer,
    pub cache: crate::model_cache::CacheView,
    pub tensors: Vec<TensorRow>,
    pub buffers: Vec<BufferRow>,
    /// GPU bytes held by the current model (or the load in progress).
    pub gpu_bytes: u64,
    pub adapter: Option<AdapterReport>,
    /// `(gpu bytes, dispatches per token, pipelines)` once the model is resident.
    pub ready: Option<(u64, u32, u32)>,
    pub kv: Option<KvShape>,
    pub prompt_tokens: usize,
    pub chat: ChatSnapshot,
    pub tokens: Vec<TokenEvent>,
    pub stats: Option<GenerationStats>,
    /// Layers × experts: how often each expert was routed to since the model loaded.
    pub hits: Vec<u32>,
    /// Per layer, which experts are on the GPU after the newest token (reported when experts are paged; else
    /// all are).
    pub residency: Option<Vec<Vec<bool>>>,
    /// Expert paging summed over the generation.
    pub paging: Option<PagingStats>,
    pub parity: Parity,
    pub error: Option<String>,
    pub log: Vec<LogLine>,
}

/// Log lines kept; older ones scroll away.
const LOG_LINES: usize = 400;

impl Hud {
    pub fn apply(&mut self, at_ms: f64, update: Update) {
        match update {
            Update::Engine(event) => self.apply_event(at_ms, event),
            Update::Phase(phase) => {
                self.phase = phase;
                if phase != Phase::Failed {
                    self.error = None;
                }
            }
            Update::SourceChosen { name } => {
                let adapter = self.adapter.take();
                let log = std::mem::take(&mut self.log);
                let listing = self.cache.listing.take();
                // The engine released the model loaded before (an `Update::Released` came first).
                *self = Hud { adapter, log, ..Hud::default() };
                self.cache.listing = listing;
                self.log(at_ms, Tone::Data, format!("source: {name}"));
                self.source = Some(name);
            }
            Update::Facts(facts) => self.facts = Some(facts),
            Update::Cache(update) => self.cache.apply(update),
            Update::LoadStarted => {
                self.stages.retain(|s| s.name == Stage::FetchHeader.as_str());
                self.transfer = Transfer::default();
                self.tensors.clear();
                self.ready = None;
                self.tokens.clear();
                self.stats = None;
                self.hits.clear();
                self.residency = None;
                self.paging = None;
                self.parity = Parity::NotRun;
            }
            Update::Released { bytes } => {
                self.forget_model();
                self.log(at_ms, Tone::Data, format!("released the previous model's {bytes} GPU bytes"));
            }
            Update::Kv(shape) => {
                self.hits = vec![0; shape.sliding.len() * shape.n_expert];
                self.kv = Some(shape);
            }
            Update::GenerationStarted { prompt_tokens } => {
                self.prompt_tokens = prompt_tokens;
                self.tokens.clear();
                self.stats = None;
                self.paging = None;
                self.log(at_ms, Tone::Data, format!("generating after a prompt of {prompt_tokens} tokens"));
            }
            Update::Chat(chat) => self.chat = chat,
            Update::Parity(parity) => {
                if let Parity::Done { gpu, cpu } = &parity {
                    let (tone, verdict) = if gpu == cpu { (Tone::Done, "equal") } else { (Tone::Error, "DIFFER") };
                    self.log(at_ms, tone, format!("GPU ids {gpu:?} and CPU ids {cpu:?}: {verdict}"));
                }
                self.parity = parity;
            }
            Update::Failed(error) => {
                // A load that failed dropped its loader, and with it every buffer the load had allocated.
                if self.phase == Phase::Loading {
                    self.forget_model();
                }
                self.log(at_ms, Tone::Error, error.clone());
                for stage in &mut self.stages {
                    if stage.state == StageState::Running {
                        stage.state = StageState::Failed;
                    }
                }
                if self.parity == Parity::Running {
                    self.parity = Parity::Failed(error.clone());
                }
                self.phase = Phase::Failed;
                self.error = Some(error);
            }
            Update::LoadStopped => {
                for stage in &mut self.stages {
                    if stage.state == StageState::Running {
                        stage.state = StageState::Stopped;
                    }
                }
                // Also after the model came out ready: the load's last steps (the cache's report) still held it.
                self.forget_model();
                self.log(at_ms, Tone::Warning, "load stopped; its GPU buffers are released".into());
            }
            Update::Log(tone, text) => self.log(at_ms, tone, text),
        }
    }

    /// The engine holds no model and none of the buffers shown any more.
    fn forget_model(&mut self) {
        self.gpu_bytes = 0;
        self.buffers.clear();
        self.ready = None;
        self.kv = None;
    }

    fn apply_event(&mut self, at_ms: f64, event: Event) {
        match event {
            Event::StageStarted { stage } => {
                self.stage_started_ms.insert(stage, at_ms);
                if stage == Stage::FetchTensors {
                    self.transfer = Transfer { started_ms: Some(at_ms), last_ms: at_ms, ..Transfer::default() };
                }
                let row = self.stage(stage);
                *row = StageRow { name: stage.as_str().into(), state: StageState::Running, ..StageRow::default() };
            }
            Event::StageProgress { stage, bytes, total_bytes } => {
                if stage == Stage::FetchTensors {
                    self.transfer.done = bytes;
                    self.transfer.total = total_bytes;
                    self.transfer.last_ms = at_ms;
                }
                let started = self.stage_started_ms.get(&stage).copied();
                let row = self.stage(stage);
                row.bytes = bytes;
                row.total_bytes = total_bytes;
                row.duration_ms = started.map(|s| at_ms - s);
            }
            Event::StageCompleted { stage, bytes, duration_ms } => {
                let row = self.stage(stage);
                row.state = StageState::Done;
                row.bytes = bytes;
                row.duration_ms = Some(duration_ms);
                if stage == Stage::FetchTensors {
                    self.transfer.done = bytes;
                    self.transfer.total = Some(self.transfer.total.unwrap_or(bytes));
                    self.transfer.last_ms = at_ms;
                }
            }
            Event::StageFailed { stage, error, duration_ms } => {
                if stage == Stage::FetchTensors {
                    self.transfer.failed = true;
                }
                let row = self.stage(stage);
                row.state = StageState::Failed;
                row.duration_ms = Some(duration_ms);
                row.detail = Some(error);
            }
            Event::Notice { text } => self.log(at_ms, Tone::Warning, text),
            Event::GgufParse { file, version, tensor_count, metadata_count, data_offset } => self.log(
                at_ms,
                Tone::Data,
                format!(
                    "{file}: GGUF v{version}, {tensor_count} tensors, {metadata_count} metadata keys, data at {data_offset}"
                ),
            ),
            Event::TensorFetched { name, ggml_type, shape, bytes, duration_ms } => {
                self.tensors.push(TensorRow { name, ggml_type, shape, bytes, ms: duration_ms })
            }
            Event::GpuAdapter { report } => self.adapter = Some(report),
            Event::GpuBufferAllocated { label, bytes, total_gpu_bytes, .. } => {
                self.buffers.push(BufferRow { label, bytes });
                self.gpu_bytes = total_gpu_bytes;
            }
            Event::GpuModelReady { gpu_bytes, dispatches_per_step, pipelines } => {
                self.gpu_bytes = gpu_bytes;
                self.ready = Some((gpu_bytes, dispatches_per_step, pipelines));
                self.log(
                    at_ms,
                    Tone::Done,
                    format!("model resident: {gpu_bytes} GPU bytes, {pipelines} pipelines, {dispatches_per_step} dispatches per token"),
                );
            }
            Event::Token(token) => {
                if let Some(kv) = &self.kv {
                    let n_expert = kv.n_expert;
                    for (layer, routes) in token.routes.iter().enumerate() {
                        for &(expert, _) in routes {
                            if let Some(hit) = self.hits.get_mut(layer * n_expert + expert as usize) {
                                *hit += 1;
                            }
                        }
                    }
                }
                if let Some(residency) = &token.expert_residency {
                    self.residency = Some(residency.clone());
                }
                if let Some(p) = &token.paging {
                    *self.paging.get_or_insert_with(PagingStats::default) += p.clone();
                }
                self.tokens.push(token);
            }
            Event::GenerationDone(stats) => {
                self.log(
                    at_ms,
                    Tone::Done,
                    format!(
                        "generated {} tokens ({}): prefill {:.1} tok/s, decode {:.1} tok/s, first token after {:.0} ms",
                        stats.generated,
                        stats.stopped_by,
                        stats.prefill_tokens_per_s,
                        stats.decode_tokens_per_s,
                        stats.time_to_first_token_ms
                    ),
                );
                self.stats = Some(stats);
            }
        }
    }

    /// The row of `name`, added at the end if new.
    fn stage(&mut self, stage: Stage) -> &mut StageRow {
        let name = stage.as_str();
        let i = match self.stages.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.stages.push(StageRow { name: name.to_string(), ..StageRow::default() });
                self.stages.len() - 1
            }
        };
        &mut self.stages[i]
    }

    fn log(&mut self, at_ms: f64, tone: Tone, text: String) {
        if self.log.len() >= LOG_LINES {
            self.log.remove(0);
        }
        self.log.push(LogLine { at_ms, tone, text });
    }

    /// KV positions written: the prompt, and every generated token but the newest (it is fed on the next step).
    pub fn kv_positions(&self) -> usize {
        self.tokens.last().map_or(0, |t| t.position)
    }

    /// The decode rate so far: tokens after the first, over the time since the first.
    pub fn live_decode_rate(&self) -> Option<f64> {
        if let Some(stats) = &self.stats {
            return (stats.decode_tokens_per_s > 0.0).then_some(stats.decode_tokens_per_s);
        }
        let (first, last) = (self.tokens.first()?, self.tokens.last()?);
        let ms = last.elapsed_ms - first.elapsed_ms;
        (self.tokens.len() > 1 && ms > 0.0).then(|| (self.tokens.len() - 1) as f64 / (ms / 1000.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gptoss_engine::harmony::{Channel, TokenPart};

    fn token(index: usize, routes: Vec<Vec<(u32, f32)>>, elapsed_ms: f64) -> TokenEvent {
        TokenEvent {
            index,
            position: 80 + index,
            id: 100 + index as u32,
            text: format!("t{index}"),
            channel: Some(Channel::Final),
            part: TokenPart::Content,
            top: vec![(100 + index as u32, 0.5)],
            top_text: vec![format!("t{index}")],
            entropy: 1.0,
            routes,
            attention: None,
            paging: None,
            expert_residency: None,
            expert_uses: None,
            elapsed_ms,
        }
    }

    #[test]
    fn load_events_fill_stages_transfer_ticker_and_gauge() {
        let mut hud = Hud::default();
        hud.apply(0.0, Update::LoadStarted);
        hud.apply(10.0, Update::Engine(Event::StageStarted { stage: Stage::FetchTensors }));
        hud.apply(
            20.0,
            Update::Engine(Event::GpuBufferAllocated {
                label: "a".into(),
                bytes: 64,
                buffer_index: 0,
                total_gpu_bytes: 64,
            }),
        );
        hud.apply(
            20.0,
            Update::Engine(Event::GpuBufferAllocated {
                label: "b".into(),
                bytes: 36,
                buffer_index: 1,
                total_gpu_bytes: 100,
            }),
        );
        hud.apply(
            510.0,
            Update::Engine(Event::StageProgress { stage: Stage::FetchTensors, bytes: 500, total_bytes: Some(1000) }),
        );
        hud.apply(
            520.0,
            Update::Engine(Event::TensorFetched {
                name: "token_embd.weight".into(),
                ggml_type: "Q8_0".into(),
                shape: vec![64, 8],
                bytes: 544,
                duration_ms: 3.0,
            }),
        );
        assert_eq!(hud.transfer.done, 500);
        assert_eq!(hud.transfer.elapsed_ms(), 500.0);
        assert_eq!(hud.stages[0].state, StageState::Running);
        assert_eq!(hud.stages[0].duration_ms, Some(500.0));
        hud.apply(
            900.0,
            Update::Engine(Event::StageCompleted { stage: Stage::FetchTensors, bytes: 1000, duration_ms: 890.0 }),
        );
        assert_eq!(hud.stages[0].state, StageState::Done);
        // The engine reports the build after the last byte as a stage of its own.
        hud.apply(900.0, Update::Engine(Event::StageStarted { stage: Stage::GpuBuild }));
        assert_eq!((hud.stages[1].name.as_str(), hud.stages[1].state), ("gpu_build", StageState::Running));
        hud.apply(950.0, Update::Engine(Event::GpuModelReady { gpu_bytes: 100, dispatches_per_step: 9, pipelines: 3 }));
        hud.apply(
            950.0,
            Update::Engine(Event::StageCompleted { stage: Stage::GpuBuild, bytes: 100, duration_ms: 50.0 }),
        );
        assert_eq!((hud.stages[1].state, hud.stages[1].duration_ms), (StageState::Done, Some(50.0)));
        assert_eq!((hud.transfer.done, hud.transfer.total), (1000, Some(1000)));
        assert_eq!(hud.tensors.len(), 1);
        assert_eq!(hud.gpu_bytes, 100);
        assert_eq!(hud.buffers.len(), 2);
        // A new load releases the old model: the gauge starts again from zero.
        hud.apply(1000.0, Update::Released { bytes: 100 });
        assert_eq!((hud.gpu_bytes, hud.buffers.len()), (0, 0));
    }

    #[test]
    fn tokens_count_expert_hits_and_rates() {
        let mut hud = Hud::default();
        hud.apply(
            0.0,
            Update::Kv(KvShape {
                sliding: vec![true, false],
                window: 128,
                context: 4096,
                n_expert: 4,
                experts: ExpertBudget::All,
            }),
        );
        hud.apply(1.0, Update::GenerationStarted { prompt_tokens: 80 });
        hud.apply(2.0, Update::Engine(Event::Token(token(0, vec![vec![(1, 0.6), (3, 0.4)], vec![(0, 1.0)]], 100.0))));
        hud.apply(3.0, Update::Engine(Event::Token(token(1, vec![vec![(1, 0.9), (2, 0.1)], vec![(0, 1.0)]], 150.0))));
        hud.apply(4.0, Update::Engine(Event::Token(token(2, vec![vec![(3, 1.0)], vec![(2, 1.0)]], 200.0))));
        // layer 0: expert 1 twice, 2 once, 3 twice; layer 1: expert 0 twice, 2 once.
        assert_eq!(hud.hits, vec![0, 2, 1, 2, 2, 0, 1, 0]);
        assert_eq!(hud.kv_positions(), 82);
        // Two decoded tokens in 100 ms.
        assert_eq!(hud.live_decode_rate(), Some(20.0));
    }

    #[test]
    fn failure_marks_running_stages_and_sets_the_error() {
        let mut hud = Hud::default();
        hud.apply(0.0, Update::Engine(Event::StageStarted { stage: Stage::FetchHeader }));
        hud.apply(5.0, Update::Failed("x.gguf: not a GGUF file".into()));
        assert_eq!(hud.phase, Phase::Failed);
        assert_eq!(hud.stages[0].state, StageState::Failed);
        assert_eq!(hud.error.as_deref(), Some("x.gguf: not a GGUF file"));
        assert_eq!(hud.log.last().map(|l| l.tone), Some(Tone::Error));
        // The next action clears the error.
        hud.apply(6.0, Update::Phase(Phase::Loading));
        assert_eq!(hud.error, None);
    }

    /// A load that fails (here the GPU lost part way) has dropped what it allocated: the gauge says 0. A failure
    /// while generating leaves the loaded model's buffers shown.
    #[test]
    fn a_failed_load_shows_its_buffers_released() {
        let allocated = Update::Engine(Event::GpuBufferAllocated {
            label: "a".into(),
            bytes: 64,
            buffer_index: 0,
            total_gpu_bytes: 64,
        });
        let mut hud = Hud::default();
        hud.apply(0.0, Update::Phase(Phase::Loading));
        hud.apply(1.0, allocated.clone());
        hud.apply(2.0, Update::Failed("the GPU device was lost".into()));
        assert_eq!((hud.gpu_bytes, hud.buffers.len()), (0, 0));

        let mut hud = Hud::default();
        hud.apply(0.0, Update::Phase(Phase::Loading));
        hud.apply(1.0, allocated);
        hud.apply(2.0, Update::Phase(Phase::Generating));
        hud.apply(3.0, Update::Failed("a readback failed".into()));
        assert_eq!((hud.gpu_bytes, hud.buffers.len()), (64, 1));
    }

    /// Found by the endurance test: Stop landed after the model came out ready but before the load's task ended
    /// (the cache's report), which dropped the model; the HUD kept showing it RESIDENT with 0 GPU bytes.
    #[test]
    fn a_load_stopped_after_its_model_was_ready_shows_no_model() {
        let mut hud = Hud::default();
        hud.apply(0.0, Update::Phase(Phase::Loading));
        hud.apply(1.0, Update::Engine(Event::GpuModelReady { gpu_bytes: 64, dispatches_per_step: 9, pipelines: 3 }));
        hud.apply(2.0, Update::LoadStopped);
        assert_eq!((hud.gpu_bytes, hud.ready), (0, None));
    }

    #[test]
    fn choosing_a_source_starts_again_but_keeps_the_log() {
        let mut hud = Hud::default();
        hud.apply(
            0.0,
            Update::Engine(Event::GpuBufferAllocated {
                label: "a".into(),
                bytes: 64,
                buffer_index: 0,
                total_gpu_bytes: 64,
            }),
        );
        hud.apply(1.0, Update::Engine(Event::StageStarted { stage: Stage::FetchHeader }));
        hud.apply(2.0, Update::Released { bytes: 64 });
        hud.apply(2.0, Update::SourceChosen { name: "b.gguf".into() });
        assert_eq!((hud.gpu_bytes, hud.buffers.len()), (0, 0));
        assert!(hud.stages.is_empty());
        assert_eq!(hud.source.as_deref(), Some("b.gguf"));
        assert_eq!(hud.log.len(), 2);
    }
}
