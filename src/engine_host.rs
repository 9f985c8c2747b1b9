//! The engine's side of the page: the chosen source, the opened GGUF, the tokenizer and the model on the GPU, and
//! the work on them (inspect → load → generate, and the GPU-against-CPU check), one task at a time. A [`Host`]
//! takes [`Command`]s and reports through its [`Queue`] of stamped [`Update`]s; it runs in the engine's dedicated
//! worker (see [`crate::worker`]), so nothing the HUD draws can stall a token, or on the page's own thread where
//! no worker can start (said in the HUD). Failures end the task with an [`Update::Failed`]. Stop is honoured at
//! any moment: a load is dropped (with every buffer it allocated), generation ends after the current token.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use futures::future::{AbortHandle, Abortable};
use gptoss_components::Tone;
use gptoss_engine::chat::Chat;
use gptoss_engine::events::{Event, Stage, StageTimer};
use gptoss_engine::generate::{generate, Backend, GenerateOptions};
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::gpu::{self, ExpertBudget, GpuContext};
use gptoss_engine::harmony::{Conversation, Message, ReasoningEffort, SystemMessage};
use gptoss_engine::model::{CpuModel, GptOssConfig};
use gptoss_engine::sampler::SamplerConfig;
use gptoss_engine::source::cache::key_name;
use gptoss_engine::source::{ByteSource, ModelCache};
use gptoss_engine::tokenizer::Tokenizer;
use gptoss_engine::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::chat_host::{chat_turn, ChatRequest, ChatSnapshot};
use crate::estimate::{load_options, ModelFacts};
use crate::frame::now_ms;
use crate::hud::{KvShape, Parity, Phase, Update};
use crate::model_cache;

/// What the next generation uses.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub prompt: String,
    pub effort: ReasoningEffort,
    pub temperature: f32,
    /// 0 = no cut; at most the sampler's 32 candidates.
    pub top_k: u32,
    pub top_p: f32,
    pub max_new_tokens: usize,
    pub seed: u32,
    /// KV positions of the full-attention layers, fixed at load.
    pub context: usize,
    /// GPU memory for experts, fixed at load; below `All` the engine pages experts through an LRU cache.
    pub experts: ExpertBudget,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // The one skill the bundled model has (training/README.md).
            prompt: "What does \"car\" mean?".into(),
            effort: ReasoningEffort::Low,
            // gpt-oss's recommended sampling (temperature 1, top-p 1).
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            max_new_tokens: 128,
            seed: 1,
            context: 4096,
            experts: ExpertBudget::All,
        }
    }
}

impl Settings {
    fn conversation(&self) -> Conversation {
        Conversation {
            system: SystemMessage { reasoning_effort: self.effort, ..SystemMessage::default() },
            messages: vec![Message::user(self.prompt.clone())],
            ..Conversation::default()
        }
    }
}

/// Tokens the GPU-against-CPU check generates on each side.
pub const PARITY_TOKENS: usize = 8;
/// The CPU reference holds every weight in wasm memory: only small models.
pub const PARITY_MAX_TENSOR_BYTES: u64 = 256 << 20;

/// Called after every push to a [`Queue`].
type Listener = Box<dyn Fn()>;

/// Stamped updates waiting for whoever shows them: the page's frame pump takes them once per frame; in the worker
/// a listener posts each to the page as it is pushed.
#[derive(Clone, Default)]
pub struct Queue {
    pending: Rc<RefCell<Vec<(f64, Update)>>>,
    listener: Rc<RefCell<Option<Listener>>>,
}

impl Queue {
    pub fn push(&self, update: Update) {
        self.push_at(now_ms(), update);
    }

    pub fn push_at(&self, at_ms: f64, update: Update) {
        self.pending.borrow_mut().push((at_ms, update));
        if let Some(listener) = &*self.listener.borrow() {
            listener();
        }
    }

    /// Whether something is waiting, and all of it is tokens (the updates a generating HUD may hold back).
    pub fn holds_only_tokens(&self) -> bool {
        let pending = self.pending.borrow();
        !pending.is_empty() && pending.iter().all(|(_, u)| matches!(u, Update::Engine(Event::Token(_))))
    }

    pub fn is_empty(&self) -> bool {
        self.pending.borrow().is_empty()
    }

    pub fn take(&self) -> Vec<(f64, Update)> {
        std::mem::take(&mut *self.pending.borrow_mut())
    }

    /// Calls `listener` after every push (it may `take`).
    pub fn listen(&self, listener: impl Fn() + 'static) {
        *self.listener.borrow_mut() = Some(Box::new(listener));
    }

    /// The engine's event sink.
    pub(crate) fn sink(&self) -> impl FnMut(Event) + 'static {
        let queue = self.clone();
        move |event| queue.push(Update::Engine(event))
    }
}

/// The chosen model and everything built from it, so that choosing another drops all of it in one place: its
/// source, the opened header and the tokenizer once read, and the model in memory once loaded.
struct Chosen {
    source: ByteSource,
    model: Option<Rc<GgufModel>>,
    tokenizer: Option<Rc<Tokenizer>>,
    /// Taken out while a generation runs on it.
    loaded: Option<Loaded>,
}

/// A loaded model and what generating on it left behind.
struct Loaded {
    backend: Backend,
    /// The prompt and generated ids of its last greedy generation on the GPU: the GPU/CPU check compares the CPU
    /// reference with them instead of running the GPU again.
    last_greedy: Option<(Vec<u32>, Vec<u32>)>,
}

impl Loaded {
    fn new(backend: Backend) -> Loaded {
        Loaded { backend, last_greedy: None }
    }
}

/// The engine objects, shared by the host's commands and its task. No borrow is held across an await.
#[derive(Default)]
struct Engine {
    queue: Queue,
    /// The authoritative phase (the HUD's copy follows a frame later).
    phase: Cell<Phase>,
    task: Cell<Option<AbortHandle>>,
    stop: Rc<Cell<bool>>,
    /// The chosen model and what was built from it; `None` until a model is chosen.
    chosen: RefCell<Option<Chosen>>,
    /// Where URLs' bytes are kept between loads (none where the engine runs on the page's thread).
    cache: Option<gptoss_engine::source::ModelCache>,
    /// Whether the cache's traffic meter holds a finished load's bytes: the next load starts it again. Choosing a
    /// model starts it too, so a first load's figures include the header read when the model was chosen.
    traffic_spent: Cell<bool>,
    /// The attention view's (layer, head), applied when a generation starts.
    probe: Cell<Option<(usize, usize)>>,
    /// The chat, and which of its ids the backend's KV cache holds.
    chat: RefCell<Chat>,
}

impl Engine {
    fn set_phase(&self, phase: Phase) {
        self.phase.set(phase);
        self.queue.push(Update::Phase(phase));
    }

    fn log(&self, tone: Tone, text: impl Into<String>) {
        self.queue.push(Update::Log(tone, text.into()));
    }

    /// Reads (or, with `f`, changes) the chosen model's cells; no borrow outlives the call.
    fn with_chosen<T>(&self, f: impl FnOnce(&mut Chosen) -> T) -> Result<T> {
        match self.chosen.borrow_mut().as_mut() {
            Some(chosen) => Ok(f(chosen)),
            None => Err(Error::Usage("choose a model first".into())),
        }
    }

    /// The opened model of the chosen source, opening it (header only) if that has not happened yet.
    async fn model(&self) -> Result<Rc<GgufModel>> {
        let (opened, source) = self.with_chosen(|c| (c.model.clone(), c.source.clone()))?;
        if let Some(model) = opened {
            return Ok(model);
        }
        let model = Rc::new(GgufModel::open(source, &mut self.queue.sink()).await?);
        self.queue.push(Update::Facts(ModelFacts::from_model(&model)));
        self.with_chosen(|c| c.model = Some(model.clone()))?;
        Ok(model)
    }

    /// The model's tokenizer, built once per model (a stage of its own: the o200k vocabulary takes a moment).
    async fn tokenizer(&self, model: &GgufModel) -> Result<Rc<Tokenizer>> {
        if let Some(tokenizer) = self.with_chosen(|c| c.tokenizer.clone())? {
            return Ok(tokenizer);
        }
        let stage = StageTimer::start(Stage::Tokenizer, &mut self.queue.sink());
        // Building blocks the thread: let the HUD show the stage first.
        yield_to_page().await;
        let built = Tokenizer::from_gguf(model.header());
        let tokenizer = Rc::new(stage.end(&mut self.queue.sink(), built, 0)?);
        self.with_chosen(|c| c.tokenizer = Some(tokenizer.clone()))?;
        Ok(tokenizer)
    }

    /// The loaded model and its tokenizer, taken out for a generation: [`Engine::put_back`] returns the model.
    fn take_loaded(&self) -> Result<(Loaded, Rc<Tokenizer>)> {
        let not_loaded = || Error::Usage("load the chosen model first (LOAD MODEL)".into());
        let taken = self.with_chosen(|c| c.tokenizer.clone().zip(c.loaded.take()))?;
        let (tokenizer, loaded) = taken.ok_or_else(not_loaded)?;
        Ok((loaded, tokenizer))
    }

    fn put_back(&self, loaded: Loaded) {
        if let Some(chosen) = self.chosen.borrow_mut().as_mut() {
            chosen.loaded = Some(loaded);
        }
    }

    fn is_loaded(&self) -> bool {
        self.chosen.borrow().as_ref().is_some_and(|c| c.loaded.is_some())
    }

    /// Drops the loaded model, if any, and says how many bytes of GPU memory that released.
    fn release(&self) {
        self.chat.borrow_mut().forget_cache();
        let old = self.chosen.borrow_mut().as_mut().and_then(|c| c.loaded.take());
        if let Some(loaded) = old {
            let bytes = match &loaded.backend {
                Backend::Gpu(model) => model.gpu_bytes(),
                Backend::Cpu { .. } => 0,
            };
            drop(loaded);
            self.queue.push(Update::Released { bytes });
        }
    }

    /// After the device was lost: the loaded model's buffers went with it, so it is released, and the next load
    /// runs on a new device.
    fn gpu_lost(&self) {
        self.release();
        self.log(Tone::Warning, "the GPU was lost: the model was released; LOAD MODEL loads it again on a new device");
    }

    /// Makes `source` the chosen model, dropping the one chosen before with everything built from it.
    fn choose(&self, source: ByteSource) {
        self.release();
        *self.chosen.borrow_mut() = Some(Chosen { source, model: None, tokenizer: None, loaded: None });
    }

    async fn load(&self, settings: &Settings) -> Result<()> {
        self.release();
        self.queue.push(Update::LoadStarted);
        let model = self.model().await?;
        let config = GptOssConfig::from_header(model.header())?;
        self.queue.push(Update::Kv(KvShape {
            sliding: (0..config.n_layer).map(|il| config.is_sliding(il)).collect(),
            window: config.sliding_window,
            context: settings.context,
            n_expert: config.n_expert,
            experts: settings.experts,
        }));
        self.tokenizer(&model).await?;
        let ctx = GpuContext::shared().await?;
        let options = load_options(settings.context, settings.experts);
        let loaded = match model_cache::of(&model) {
            Some(cache) => {
                model_cache::check_room(cache, &model, &self.queue).await?;
                if self.traffic_spent.replace(true) {
                    cache.reset_traffic();
                }
                let mut sink = model_cache::reporting_sink(self.queue.sink(), cache.clone(), self.queue.clone());
                let loaded = gpu::load_model(ctx, &model, options, &mut sink).await;
                model_cache::report(cache, &self.queue);
                self.push_cache_listing().await;
                loaded?
            }
            None => gpu::load_model(ctx, &model, options, &mut self.queue.sink()).await?,
        };
        self.with_chosen(|c| c.loaded = Some(Loaded::new(Backend::Gpu(Box::new(loaded)))))?;
        Ok(())
    }

    /// The cache panel's list (a failure to list is said in the log: the load itself is not affected).
    async fn push_cache_listing(&self) {
        let Some(cache) = &self.cache else { return };
        match model_cache::listing(cache).await {
            Ok(listing) => self.queue.push(Update::Cache(model_cache::CacheUpdate::Listing(listing))),
            Err(e) => self.log(Tone::Warning, format!("cache panel: {e}")),
        }
        model_cache::report(cache, &self.queue);
    }

    /// Deletes a cached model (`None`: all of them), first letting go of the chosen model's files if they are among
    /// them (the GPU model too: its expert paging reads them).
    async fn delete_cached(&self, model: Option<String>) -> Result<()> {
        let Some(cache) = self.cache.clone() else {
            return Err(Error::Usage("the model cache is off (the engine runs on the page's thread)".into()));
        };
        let chosen = self.chosen.borrow().as_ref().map(|c| c.source.clone());
        let mut unchosen = None;
        if let Some(ByteSource::Cached(source)) = chosen {
            if model.as_deref().is_none_or(|m| m == source.model()) {
                if source.reaches_past_cache() {
                    self.choose(ByteSource::Cached(source.detached()));
                } else {
                    // A picked file chosen from the panel: its copy was all there was to read.
                    self.release();
                    *self.chosen.borrow_mut() = None;
                    unchosen = Some(source.name().to_string());
                }
            }
        }
        let deleted = cache.delete(model.as_deref()).await;
        self.push_cache_listing().await;
        deleted?;
        self.log(Tone::Data, format!("cache: deleted {}", model.as_deref().unwrap_or("every cached model")));
        if let Some(name) = unchosen {
            self.log(
                Tone::Warning,
                format!("{name}: no model is chosen now (its cached copy was its only source): pick the file again"),
            );
        }
        Ok(())
    }

    /// Generates on the loaded model from an empty context.
    async fn generate(&self, settings: &Settings) -> Result<()> {
        let (mut loaded, tokenizer) = self.take_loaded()?;
        let result = self.generate_on(&mut loaded, &tokenizer, settings).await;
        self.put_back(loaded);
        result
    }

    async fn generate_on(&self, loaded: &mut Loaded, tokenizer: &Tokenizer, settings: &Settings) -> Result<()> {
        let backend = &mut loaded.backend;
        backend.reset();
        self.chat.borrow_mut().forget_cache();
        let context = match backend {
            Backend::Gpu(model) => {
                model.set_attention_probe(self.probe.get())?;
                model.options().context
            }
            Backend::Cpu { .. } => settings.context,
        };
        let prompt = settings.conversation().prompt_ids(tokenizer)?;
        let room = context.saturating_sub(prompt.len());
        if room == 0 {
            return Err(Error::Usage(format!(
                "the prompt's {} tokens fill the whole context of {context}: load with a larger context",
                prompt.len()
            )));
        }
        if settings.max_new_tokens > room {
            self.log(Tone::Warning, format!("max new tokens cut to {room}: the context holds {context} positions"));
        }
        self.set_phase(Phase::Generating);
        self.queue.push(Update::GenerationStarted { prompt_tokens: prompt.len() });
        let options = GenerateOptions {
            max_new_tokens: settings.max_new_tokens.min(room),
            sampler: SamplerConfig {
                temperature: settings.temperature,
                top_k: settings.top_k,
                top_p: settings.top_p,
                seed: settings.seed,
            },
        };
        let stop = self.stop.clone();
        let mut ids = Vec::new();
        let mut forward = self.queue.sink();
        let mut sink = |event: Event| {
            if let Event::Token(token) = &event {
                ids.push(token.id);
            }
            forward(event);
        };
        let result = generate(backend, tokenizer, &prompt, &options, &mut sink, move || !stop.get()).await;
        let greedy = options.sampler.temperature == 0.0 && matches!(backend, Backend::Gpu(_));
        loaded.last_greedy = (greedy && !ids.is_empty()).then_some((prompt, ids));
        result.map(drop)
    }

    /// The chat's next turn on the loaded model (loading it first when none is).
    async fn chat(&self, request: &ChatRequest) -> Result<()> {
        if !self.is_loaded() {
            self.load(&request.settings).await?;
        }
        let (mut loaded, tokenizer) = self.take_loaded()?;
        if let Backend::Gpu(model) = &mut loaded.backend {
            model.set_attention_probe(self.probe.get())?;
        }
        self.set_phase(Phase::Generating);
        let result =
            chat_turn(&self.chat, &mut loaded.backend, &tokenizer, request, &self.queue, self.stop.clone()).await;
        self.put_back(loaded);
        result
    }

    /// The first [`PARITY_TOKENS`] greedy ids of the same prompt on the GPU model and on the CPU reference. The
    /// GPU side is the last generation when it was greedy (a GPU step can take seconds on a software adapter).
    async fn parity(&self, settings: &Settings) -> Result<Parity> {
        let model = self.model().await?;
        let tokenizer = self.tokenizer(&model).await?;
        if model.tensor_bytes() > PARITY_MAX_TENSOR_BYTES {
            return Err(Error::Usage(format!(
                "the CPU reference would hold {} bytes of weights in wasm memory; the check is for models under {}",
                model.tensor_bytes(),
                PARITY_MAX_TENSOR_BYTES
            )));
        }
        let last = self.with_chosen(|c| c.loaded.as_ref().and_then(|l| l.last_greedy.clone()))?;
        let (prompt, gpu_ids) = match last {
            Some((prompt, mut ids)) => {
                ids.truncate(PARITY_TOKENS);
                self.log(Tone::Data, format!("parity: GPU ids {ids:?} from the last (greedy) generation"));
                (prompt, ids)
            }
            None => {
                let prompt = settings.conversation().prompt_ids(&tokenizer)?;
                let options = GenerateOptions { max_new_tokens: PARITY_TOKENS, sampler: SamplerConfig::greedy() };
                let (mut gpu, _) = self.take_loaded()?;
                gpu.backend.reset();
                self.chat.borrow_mut().forget_cache();
                let ids = generated_ids(&mut gpu.backend, &tokenizer, &prompt, &options, &self.stop).await;
                self.put_back(gpu);
                let ids = ids?;
                self.log(Tone::Data, format!("parity: GPU ids {ids:?} (greedy)"));
                (prompt, ids)
            }
        };
        if gpu_ids.is_empty() {
            return Err(Error::Usage("the GPU generated no token to compare".into()));
        }
        let options = GenerateOptions { max_new_tokens: gpu_ids.len(), sampler: SamplerConfig::greedy() };
        let mut cpu = Backend::cpu(CpuModel::from_gguf(&model).await?);
        // The CPU forward pass blocks the thread: let the HUD paint the log line first.
        yield_to_page().await;
        let started = now_ms();
        let cpu_ids = generated_ids(&mut cpu, &tokenizer, &prompt, &options, &self.stop).await?;
        self.log(
            Tone::Data,
            format!("parity: CPU reference generated {} ids in {:.0} ms", cpu_ids.len(), now_ms() - started),
        );
        Ok(Parity::Done { gpu: gpu_ids, cpu: cpu_ids })
    }
}

async fn generated_ids(
    backend: &mut Backend,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    options: &GenerateOptions,
    stop: &Rc<Cell<bool>>,
) -> Result<Vec<u32>> {
    let mut ids = Vec::new();
    let mut collect = |event: Event| {
        if let Event::Token(token) = event {
            ids.push(token.id);
        }
    };
    let stop = stop.clone();
    generate(backend, tokenizer, prompt, options, &mut collect, move || !stop.get()).await?;
    Ok(ids)
}

/// Failures go to the console too, for whoever debugs the page.
fn log_error(what: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys::console::error_1(&what.into());
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{what}");
}

/// The engine behind the page: takes commands, reports through its queue.
pub struct Host {
    engine: Rc<Engine>,
}

impl Host {
    /// A host reporting through `queue`.
    pub fn new(queue: Queue) -> Host {
        let cache = model_cache::open(&queue);
        let engine = Rc::new(Engine { queue, cache, ..Engine::default() });
        // The attention view starts on layer 1 (a full-attention layer), head 0.
        engine.probe.set(Some((1, 0)));
        Host { engine }
    }

    /// A fault outside the task's `Result` (a panic) ended it: the engine accepts actions again.
    pub fn fault(&self) {
        if let Some(task) = self.engine.task.take() {
            task.abort();
        }
        self.engine.phase.set(Phase::Failed);
    }
}

impl Host {
    /// Runs `work` as the engine's one task, reporting its end.
    fn run(&self, phase: Phase, work: impl Future<Output = Result<()>> + 'static) {
        if let Some(task) = self.engine.task.take() {
            task.abort();
        }
        self.engine.stop.set(false);
        self.engine.set_phase(phase);
        let engine = self.engine.clone();
        let (abort, registration) = AbortHandle::new_pair();
        let task = Abortable::new(
            async move {
                match work.await {
                    Ok(()) => engine.set_phase(Phase::Idle),
                    Err(e) => {
                        engine.phase.set(Phase::Failed);
                        log_error(&e.to_string());
                        engine.queue.push(Update::Failed(e.to_string()));
                        if matches!(e, Error::GpuLost(_)) {
                            engine.gpu_lost();
                        }
                    }
                }
            },
            registration,
        );
        spawn_task(async move {
            // An aborted task was stopped on purpose; whoever stopped it has said so.
            let _ = task.await;
        });
        self.engine.task.set(Some(abort));
    }

    fn refuse_if_busy(&self, what: &str) -> bool {
        let phase = self.engine.phase.get();
        if phase.busy() {
            self.engine.log(Tone::Warning, format!("{what}: wait for {} to end, or stop it", phase.as_str()));
        }
        phase.busy()
    }

    /// Makes `source` the model to load and reads its header for the pre-load summary.
    fn choose(&self, source: ByteSource) {
        if self.refuse_if_busy("choosing a model") {
            return;
        }
        let name = source.name();
        self.engine.choose(source);
        self.engine.queue.push(Update::SourceChosen { name });
        if let Some(cache) = &self.engine.cache {
            cache.reset_traffic();
            self.engine.traffic_spent.set(false);
        }
        let engine = self.engine.clone();
        self.run(Phase::Inspecting, async move {
            let opened = engine.model().await.map(drop);
            engine.push_cache_listing().await;
            opened
        });
    }

    /// Loads the chosen model (releasing the one loaded before) and generates from the prompt.
    fn start(&self, settings: Settings) {
        if self.refuse_if_busy("loading") {
            return;
        }
        let engine = self.engine.clone();
        self.run(Phase::Loading, async move {
            engine.load(&settings).await?;
            engine.generate(&settings).await
        });
    }

    /// Generates again on the loaded model.
    fn generate(&self, settings: Settings) {
        if self.refuse_if_busy("generating") {
            return;
        }
        let engine = self.engine.clone();
        self.run(Phase::Generating, async move { engine.generate(&settings).await });
    }

    /// The chat's next turn (loading the chosen model first when none is loaded).
    fn chat(&self, request: ChatRequest) {
        if self.refuse_if_busy("chatting") {
            return;
        }
        let engine = self.engine.clone();
        let phase = if engine.is_loaded() { Phase::Generating } else { Phase::Loading };
        self.run(phase, async move { engine.chat(&request).await });
    }

    /// Forgets the chat's messages (its system and developer prefix stays cached).
    fn clear_chat(&self) {
        if self.refuse_if_busy("clearing the chat") {
            return;
        }
        let mut chat = self.engine.chat.borrow_mut();
        chat.clear();
        let chosen = self.engine.chosen.borrow();
        let context = chosen.as_ref().and_then(|c| c.loaded.as_ref()).map_or(0, |l| l.backend.context());
        self.engine.queue.push(Update::Chat(ChatSnapshot::of(&chat, context, None, Vec::new())));
    }

    /// Runs the first greedy tokens of the prompt on the GPU model and on the CPU reference.
    fn check_parity(&self, settings: Settings) {
        if self.refuse_if_busy("the GPU/CPU check") {
            return;
        }
        let engine = self.engine.clone();
        self.engine.queue.push(Update::Parity(Parity::Running));
        self.run(Phase::Checking, async move {
            let parity = engine.parity(&settings).await?;
            engine.queue.push(Update::Parity(parity));
            Ok(())
        });
    }

    /// Stops whatever runs: a load is dropped with its buffers; generation ends after the current token.
    fn stop(&self) {
        match self.engine.phase.get() {
            Phase::Generating | Phase::Checking => {
                self.engine.stop.set(true);
                self.engine.set_phase(Phase::Stopping);
            }
            phase @ (Phase::Loading | Phase::Inspecting) => {
                // Dropping the task drops the loader and every buffer it allocated, and cancels its fetches.
                if let Some(task) = self.engine.task.take() {
                    task.abort();
                }
                self.engine.queue.push(if phase == Phase::Loading {
                    Update::LoadStopped
                } else {
                    Update::Log(Tone::Warning, "stopped reading the header".into())
                });
                self.engine.set_phase(Phase::Idle);
            }
            Phase::Idle | Phase::Stopping | Phase::Failed => {}
        }
    }

    /// Sends the cache panel's list (also while a load runs: listing reads only manifests).
    fn list_cache(&self) {
        let engine = self.engine.clone();
        spawn_task(async move { engine.push_cache_listing().await });
    }

    /// Deletes a cached model, or all; refused while work runs on the models.
    fn delete_cached(&self, model: Option<String>) {
        if self.refuse_if_busy("deleting from the cache") {
            return;
        }
        let engine = self.engine.clone();
        spawn_task(async move {
            if let Err(e) = engine.delete_cached(model).await {
                engine.queue.push(Update::Failed(e.to_string()));
            }
        });
    }

    /// Watches another layer and head; a running generation keeps its view until it ends.
    fn set_attention_view(&self, layer: usize, head: usize) {
        self.engine.probe.set(Some((layer, head)));
        let mut chosen = self.engine.chosen.borrow_mut();
        if let Some(Backend::Gpu(model)) = chosen.as_mut().and_then(|c| c.loaded.as_mut()).map(|l| &mut l.backend) {
            if let Err(e) = model.set_attention_probe(Some((layer, head))) {
                self.engine.log(Tone::Warning, e.to_string());
            }
        }
    }
}

impl Host {
    /// The queue this host reports through.
    pub fn queue(&self) -> &Queue {
        &self.engine.queue
    }

    /// Does what `command` says (`blob`: the picked file of a [`Command::Choose`] of a [`SourceSpec::File`]).
    pub fn handle(&self, command: Command, blob: Option<ByteSource>) {
        match command {
            Command::Choose(spec) => match spec.into_source(blob, self.engine.cache.as_ref()) {
                Ok(source) => self.choose(source),
                Err(e) => self.engine.queue.push(Update::Failed(e)),
            },
            Command::Start(settings) => self.start(settings),
            Command::Generate(settings) => self.generate(settings),
            Command::CheckParity(settings) => self.check_parity(settings),
            Command::Chat(request) => self.chat(request),
            Command::ClearChat => self.clear_chat(),
            Command::Stop => self.stop(),
            Command::AttentionView { layer, head } => self.set_attention_view(layer, head),
            Command::CacheList => self.list_cache(),
            Command::CacheDelete(model) => self.delete_cached(model),
        }
    }
}

/// What the page asks of the engine. Serialised between the page and the worker; a picked file's `Blob` travels
/// beside the JSON (structured clone), as [`Host::handle`]'s second argument.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    Choose(SourceSpec),
    Start(Settings),
    Generate(Settings),
    CheckParity(Settings),
    Chat(ChatRequest),
    ClearChat,
    Stop,
    AttentionView {
        layer: usize,
        head: usize,
    },
    /// The cache panel's list.
    CacheList,
    /// Deletes a cached model by its first file's cache key (URL); `None` clears the cache.
    CacheDelete(Option<String>),
}

/// A [`ByteSource`] as a command names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SourceSpec {
    Url(String),
    /// A picked or dropped file; its `Blob` comes with the command.
    File(String),
    /// A model in the cache, by its first file's cache key (the cache panel's USE): read from its copy.
    Cached(String),
}

impl SourceSpec {
    /// The spec of `source` and the source itself when it cannot travel as text (a browser file).
    pub fn of(source: &ByteSource) -> std::result::Result<(SourceSpec, Option<ByteSource>), String> {
        match source {
            ByteSource::Http(http) => Ok((SourceSpec::Url(http.url().to_string()), None)),
            ByteSource::Cached(cached) => Ok((SourceSpec::Cached(cached.key().to_string()), None)),
            #[cfg(target_arch = "wasm32")]
            ByteSource::Blob { name, .. } => Ok((SourceSpec::File(name.clone()), Some(source.clone()))),
            other => Err(format!("{}: the page loads models from URLs and picked files only", other.name())),
        }
    }

    /// The source, read through `cache` where there is one (URLs and picked files are kept in it as they load).
    fn into_source(
        self,
        blob: Option<ByteSource>,
        cache: Option<&ModelCache>,
    ) -> std::result::Result<ByteSource, String> {
        let source = match (self, blob) {
            (SourceSpec::Cached(model), _) => {
                let off =
                    || format!("{}: the model cache is off (the engine runs on the page's thread)", key_name(&model));
                return cache.map(|c| c.cached(&model)).ok_or_else(off);
            }
            (SourceSpec::Url(url), _) => ByteSource::http(url),
            (SourceSpec::File(_), Some(source)) => source,
            (SourceSpec::File(name), None) => return Err(format!("{name}: the file did not reach the engine")),
        };
        Ok(match cache {
            Some(cache) => cache.wrap(source),
            None => source,
        })
    }
}

/// Lets the page paint what was just reported before a long synchronous step. In the worker the page paints on
/// its own thread and messages leave at once, so there is nothing to wait for.
async fn yield_to_page() {
    #[cfg(target_arch = "wasm32")]
    if !crate::worker::in_worker() {
        crate::frame::next_frame().await;
    }
}

#[cfg(target_arch = "wasm32")]
fn spawn_task(task: impl Future<Output = ()> + 'static) {
    wasm_bindgen_futures::spawn_local(task);
}

/// Natively the app is only compiled and unit-tested; no command runs there.
#[cfg(not(target_arch = "wasm32"))]
fn spawn_task(task: impl Future<Output = ()> + 'static) {
    drop(task);
}
