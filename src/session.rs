//! `use_gptoss`: the hook that gives the page its engine and the HUD state the engine's reports build.
//!
//! The engine runs in a dedicated worker ([`crate::worker`]) so that nothing the page draws can stall a token or a
//! load; where no worker can start it runs on the page's thread, and the HUD says so. The page sends
//! [`Command`]s; the engine's stamped [`Update`]s land in one inbox, and once per animation frame the pump applies
//! the whole batch to the [`Hud`] signal, so a burst of events is one re-render. Panics and script errors of the
//! page arrive through [`faults`]; the worker reports its own as updates.

use std::cell::RefCell;
use std::rc::Rc;

use dioxus::prelude::*;
use gptoss_components::Tone;
#[cfg(target_arch = "wasm32")]
use gptoss_engine::events::Event;
use gptoss_engine::source::ByteSource;

use crate::engine_host::{Command, Host, Queue, SourceSpec};
pub use crate::engine_host::{Settings, PARITY_TOKENS};
#[cfg(target_arch = "wasm32")]
use crate::faults;
#[cfg(target_arch = "wasm32")]
use crate::frame::now_ms;
use crate::hud::{Hud, Update};

/// Where the engine runs, and the inbox its updates arrive in.
pub(crate) struct EngineLink {
    inbox: Queue,
    #[cfg(target_arch = "wasm32")]
    worker: RefCell<Option<crate::worker::WorkerClient>>,
    /// The engine on the page's thread, once no worker can serve.
    local: RefCell<Option<Rc<Host>>>,
}

impl EngineLink {
    fn start() -> Rc<EngineLink> {
        let link = Rc::new(EngineLink {
            inbox: Queue::default(),
            #[cfg(target_arch = "wasm32")]
            worker: RefCell::new(None),
            local: RefCell::new(None),
        });
        #[cfg(target_arch = "wasm32")]
        if crate::sources::engine_on_page_param() {
            link.run_here("the address asked for it (engine=page)".into(), Vec::new());
        } else {
            link.spawn_worker();
        }
        #[cfg(not(target_arch = "wasm32"))]
        link.run_here("natively the app has no worker".into(), Vec::new());
        link
    }

    /// A new engine worker; where none can start, the engine moves to this thread.
    #[cfg(target_arch = "wasm32")]
    fn spawn_worker(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let on_fail = move |why: String, pending: Vec<(Command, Option<ByteSource>)>| {
            if let Some(link) = weak.upgrade() {
                link.run_here(why, pending);
            }
        };
        match crate::worker::WorkerClient::spawn(self.inbox.clone(), on_fail) {
            Ok(worker) => *self.worker.borrow_mut() = Some(worker),
            Err(why) => self.run_here(why, Vec::new()),
        }
    }

    /// The engine on the page's thread from now on (said in the HUD and the console), then what was waiting.
    fn run_here(&self, why: String, pending: Vec<(Command, Option<ByteSource>)>) {
        #[cfg(target_arch = "wasm32")]
        self.worker.borrow_mut().take();
        let message = format!("the engine runs on the page's thread, where drawing the HUD slows it: {why}");
        log_warning(&message);
        self.inbox.push(Update::Log(Tone::Warning, message));
        let host = Rc::new(Host::new(self.inbox.clone()));
        *self.local.borrow_mut() = Some(host.clone());
        for (command, source) in pending {
            host.handle(command, source);
        }
    }

    fn send(&self, command: Command, source: Option<ByteSource>) {
        #[cfg(target_arch = "wasm32")]
        if let Some(worker) = &*self.worker.borrow() {
            worker.post(command, source);
            return;
        }
        let host = self.local.borrow().clone();
        match host {
            Some(host) => host.handle(command, source),
            None => self.inbox.push(Update::Failed("no engine to run the command".into())),
        }
    }
}

fn log_warning(what: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys::console::warn_1(&what.into());
    #[cfg(not(target_arch = "wasm32"))]
    let _ = what;
}

/// The HUD's state and the actions that drive the engine.
#[derive(Clone)]
pub struct GptossSession {
    pub hud: Signal<Hud>,
    link: Rc<EngineLink>,
}

/// One engine is one engine: components that take it as a prop re-render on their other props.
impl PartialEq for GptossSession {
    fn eq(&self, other: &Self) -> bool {
        self.hud == other.hud && Rc::ptr_eq(&self.link, &other.link)
    }
}

/// Starts the engine for the calling component, and the frame pump.
pub fn use_gptoss() -> GptossSession {
    let hud = use_signal(Hud::default);
    let link = use_hook(EngineLink::start);
    #[cfg(target_arch = "wasm32")]
    use_future({
        let link = link.clone();
        move || pump(link.clone(), hud)
    });
    GptossSession { hud, link }
}

/// While a generation streams tokens, the HUD applies them at most this often, not at every animation frame
/// (anything else the engine reports is applied at the next frame). On the H200 in Chrome each repaint of the
/// HUD (25–45 ms of the page's thread) held up the engine's next tokens by 5–20 ms, although the engine runs in its
/// own worker: the page's drawing and the engine's WebGPU work share the browser's GPU process. Repainting at every
/// frame the page generated at 0.73–0.85 of bench mode's rate, every 100 ms at 0.70–0.90, every 250 ms at 0.84–0.96
/// (BENCHMARKS.md, eighth pass).
pub const GENERATING_REPAINT_MS: f64 = 250.0;

/// Once per animation frame: apply what was queued (a generation's tokens at most every
/// [`GENERATING_REPAINT_MS`]), and any fault.
#[cfg(target_arch = "wasm32")]
async fn pump(link: Rc<EngineLink>, mut hud: Signal<Hud>) {
    let mut frames = FrameCount::default();
    let repaint_ms = crate::sources::repaint_ms_param().unwrap_or(GENERATING_REPAINT_MS);
    let mut applied_ms = f64::NEG_INFINITY;
    loop {
        crate::frame::next_frame().await;
        let now = now_ms();
        frames.tick(now);
        let faults = faults::take();
        if !faults.is_empty() {
            // A task on this thread that faulted cannot be trusted to finish: the engine accepts actions again.
            if let Some(host) = &*link.local.borrow() {
                host.fault();
            }
        }
        let held = link.inbox.holds_only_tokens() && now - applied_ms < repaint_ms;
        if faults.is_empty() && (held || link.inbox.is_empty()) {
            continue;
        }
        applied_ms = now;
        let updates = link.inbox.take();
        crate::frame::measure_frame();
        let mut hud = hud.write();
        for (at_ms, update) in updates {
            match &update {
                Update::GenerationStarted { .. } => {
                    frames.restart(at_ms);
                    crate::frame::clear_frames();
                }
                Update::Cache(crate::model_cache::CacheUpdate::Storage(check)) => {
                    crate::model_cache::ask_persistence(check, &link.inbox)
                }
                Update::Engine(Event::GenerationDone(stats)) => {
                    publish_run(&hud, stats, frames.per_s(), repaint_ms, link.local.borrow().is_some())
                }
                _ => {}
            }
            hud.apply(at_ms, update);
        }
        for fault in faults {
            hud.apply(now_ms(), Update::Failed(fault));
        }
    }
}

/// Animation frames the page drew since the generation began: a busy main thread shows as fewer.
#[derive(Default)]
struct FrameCount {
    since_ms: f64,
    last_ms: f64,
    frames: u32,
}

impl FrameCount {
    fn restart(&mut self, at_ms: f64) {
        *self = FrameCount { since_ms: at_ms, last_ms: at_ms, frames: 0 };
    }

    fn tick(&mut self, at_ms: f64) {
        self.frames += 1;
        self.last_ms = at_ms;
    }

    fn per_s(&self) -> f64 {
        self.frames as f64 / ((self.last_ms - self.since_ms).max(1.0) / 1e3)
    }
}

/// The last generation's figures as `window.__gptossRun`, every generation's in `window.__gptossRuns` (and one
/// console line each), for whoever measures the page: the engine's own statistics, when each token came out (ms
/// since the generation began, as the engine stamped it), where the engine ran, the load's bytes and time as the
/// HUD saw them, the frames the page drew, how often the HUD repainted while generating, and how long the frames
/// that applied updates took (`hud-frame` measures: render, DOM edits, style and layout).
#[cfg(target_arch = "wasm32")]
fn publish_run(
    hud: &Hud,
    stats: &gptoss_engine::events::GenerationStats,
    frames_per_s: f64,
    repaint_ms: f64,
    on_page: bool,
) {
    let token_ms: Vec<f64> = hud.tokens.iter().map(|t| (t.elapsed_ms * 10.0).round() / 10.0).collect();
    let report = serde_json::json!({
        "generation": stats,
        "token_ms": token_ms,
        "engine": if on_page { "page" } else { "worker" },
        "load_bytes": hud.transfer.done,
        "load_ms": hud.transfer.elapsed_ms(),
        "frames_per_s": frames_per_s,
        "repaint_ms": repaint_ms,
        "frame_render_ms": crate::frame::FrameTimes::of(crate::frame::measured_frames_ms()),
    })
    .to_string();
    if let (Some(window), Ok(value)) = (web_sys::window(), js_sys::JSON::parse(&report)) {
        let _ = js_sys::Reflect::set(&window, &"__gptossRun".into(), &value);
        let runs = js_sys::Reflect::get(&window, &"__gptossRuns".into())
            .ok()
            .and_then(|v| wasm_bindgen::JsCast::dyn_into::<js_sys::Array>(v).ok())
            .unwrap_or_default();
        runs.push(&value);
        let _ = js_sys::Reflect::set(&window, &"__gptossRuns".into(), &runs);
    }
    web_sys::console::log_1(&format!("GPTOSS_RUN {report}").into());
}

impl GptossSession {
    /// Makes `source` the model to load and reads its header for the pre-load summary.
    pub fn choose(&self, source: ByteSource) {
        match SourceSpec::of(&source) {
            Ok((spec, file)) => self.link.send(Command::Choose(spec), file),
            Err(e) => self.link.inbox.push(Update::Failed(e)),
        }
    }

    /// Makes the cached model `model` (its first file's cache key) the model to load, read from the cache alone.
    pub fn use_cached(&self, model: String) {
        self.link.send(Command::Choose(SourceSpec::Cached(model)), None);
    }

    /// Loads the chosen model (releasing the one loaded before) and generates from the prompt.
    pub fn start(&self, settings: Settings) {
        self.link.send(Command::Start(settings), None);
    }

    /// Generates again on the loaded model.
    pub fn generate(&self, settings: Settings) {
        self.link.send(Command::Generate(settings), None);
    }

    /// The chat's next turn (loading the chosen model first when none is loaded).
    pub fn chat(&self, request: crate::chat_host::ChatRequest) {
        self.link.send(Command::Chat(request), None);
    }

    /// Forgets the chat's messages.
    pub fn clear_chat(&self) {
        self.link.send(Command::ClearChat, None);
    }

    /// Runs the first greedy tokens of the prompt on the GPU model and on the CPU reference.
    pub fn check_parity(&self, settings: Settings) {
        self.link.send(Command::CheckParity(settings), None);
    }

    /// Stops whatever runs: a load is dropped with its buffers; generation ends after the current token.
    pub fn stop(&self) {
        self.link.send(Command::Stop, None);
    }

    /// Asks for the cache panel's list.
    pub fn list_cache(&self) {
        self.link.send(Command::CacheList, None);
    }

    /// Deletes a cached model by its first file's URL; `None` clears the cache.
    pub fn delete_cached(&self, model: Option<String>) {
        self.link.send(Command::CacheDelete(model), None);
    }

    /// Watches another layer and head; a running generation keeps its view until it ends.
    pub fn set_attention_view(&self, layer: usize, head: usize) {
        self.link.send(Command::AttentionView { layer, head }, None);
    }
}
