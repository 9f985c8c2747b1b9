//! The engine's dedicated worker. The page starts it from the page's own script — the wasm-bindgen glue, an ES
//! module that instantiates the app's wasm as soon as it is imported — so the same wasm starts in the worker, sees
//! that it is in one ([`in_worker`]), and serves [`Command`]s with a [`Host`] instead of launching the
//! UI. WebGPU works in dedicated workers; the page's thread then only draws the HUD, which can no longer stall a
//! token's readback or a load's fetches.
//!
//! Messages, as plain objects: page → worker `{command: "<Command as JSON>", blob?: Blob}` (a picked file's `Blob`
//! travels by structured clone); worker → page `{ready: true}` once it listens, `{updates: "<[[at_ms, Update], …]>"}`
//! as the engine reports, and `{fatal: "<why>"}` when it panicked (the page starts a new worker for the next
//! command).

use std::cell::RefCell;
use std::rc::Rc;

use gptoss_engine::source::ByteSource;
use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::engine_host::{Command, Host, Queue, SourceSpec};
use crate::frame::now_ms;
use crate::hud::Update;

/// Whether this wasm instance is the engine's worker.
pub fn in_worker() -> bool {
    js_sys::global().dyn_ref::<DedicatedWorkerGlobalScope>().is_some()
}

fn js_text(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| v.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{v:?}"))
}

// ---- in the worker ----

/// Serves commands until the worker is closed.
pub fn serve() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    std::panic::set_hook(Box::new(|info| {
        let why = format!("panic in the engine worker: {info}");
        web_sys::console::error_1(&why.as_str().into());
        post(&scope_of(), "fatal", &why);
    }));
    let host = Rc::new(Host::new(Queue::default()));
    let queue = host.queue().clone();
    host.queue().listen(move || {
        let batch = queue.take();
        match serde_json::to_string(&batch) {
            Ok(json) => post(&scope_of(), "updates", &json),
            Err(e) => post(&scope_of(), "fatal", &format!("an engine update would not serialise: {e}")),
        }
    });
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        let text = Reflect::get(&data, &"command".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
        match serde_json::from_str::<Command>(&text) {
            Ok(command) => {
                let file = match (&command, Reflect::get(&data, &"blob".into()).ok()) {
                    (Command::Choose(SourceSpec::File(name)), Some(blob)) => {
                        blob.dyn_into::<web_sys::Blob>().ok().map(|b| ByteSource::blob(name.clone(), b))
                    }
                    _ => None,
                };
                host.handle(command, file);
            }
            Err(e) => host.queue().push(Update::Failed(format!("the engine worker got a command it cannot read: {e}"))),
        }
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    install_test_hooks(&scope);
    let ready = Object::new();
    let _ = Reflect::set(&ready, &"ready".into(), &JsValue::TRUE);
    let _ = scope.post_message(&ready);
}

/// The browser tests' hooks in the worker's scope (Playwright evaluates them there; the page's scripts cannot reach
/// them): `__gptossLoseGpu()` destroys the engine's device, as a driver reset would lose it; `__gptossWasmBytes()`
/// is the size of the engine's wasm memory, which grows and never shrinks, so a leak across loads shows in it.
fn install_test_hooks(scope: &DedicatedWorkerGlobalScope) {
    let lose = Closure::<dyn Fn() -> bool>::new(|| match gptoss_engine::gpu::GpuContext::current() {
        Some(ctx) => {
            ctx.destroy("destroyed by the test hook __gptossLoseGpu");
            true
        }
        None => false,
    });
    let _ = Reflect::set(scope, &"__gptossLoseGpu".into(), lose.as_ref());
    lose.forget();
    let wasm_bytes = Closure::<dyn Fn() -> f64>::new(|| {
        let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
        memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
    });
    let _ = Reflect::set(scope, &"__gptossWasmBytes".into(), wasm_bytes.as_ref());
    wasm_bytes.forget();
}

fn scope_of() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(scope: &DedicatedWorkerGlobalScope, key: &str, text: &str) {
    let message = Object::new();
    let _ = Reflect::set(&message, &key.into(), &text.into());
    let _ = scope.post_message(&message);
}

// ---- on the page ----

/// A command with the source it carries, waiting for the worker.
type Pending = (Command, Option<ByteSource>);

/// What the page knows of its worker.
#[derive(Default)]
struct ClientState {
    ready: bool,
    /// The worker panicked: the next command starts a new one.
    dead: bool,
    pending: Vec<Pending>,
}

/// The page's handle on the engine worker. Dropping it ends the worker.
pub struct WorkerClient {
    worker: RefCell<Worker>,
    state: Rc<RefCell<ClientState>>,
    inbox: Queue,
    on_fail: Rc<dyn Fn(String, Vec<Pending>)>,
    _handlers: RefCell<Handlers>,
}

struct Handlers {
    _message: Closure<dyn FnMut(MessageEvent)>,
    _error: Closure<dyn FnMut(ErrorEvent)>,
}

impl WorkerClient {
    /// Starts the worker; its updates go to `inbox`. If its script fails before it listens, `on_fail` gets the
    /// reason and the commands that were waiting.
    pub fn spawn(inbox: Queue, on_fail: impl Fn(String, Vec<Pending>) + 'static) -> Result<WorkerClient, String> {
        let state = Rc::new(RefCell::new(ClientState::default()));
        let on_fail: Rc<dyn Fn(String, Vec<Pending>)> = Rc::new(on_fail);
        let (worker, handlers) = start(&state, &inbox, &on_fail)?;
        inbox.push(Update::Log(gptoss_components::Tone::Data, "engine: in a dedicated worker".into()));
        Ok(WorkerClient { worker: RefCell::new(worker), state, inbox, on_fail, _handlers: RefCell::new(handlers) })
    }

    /// Sends `command` (held until the worker listens; a dead worker is replaced first).
    pub fn post(&self, command: Command, source: Option<ByteSource>) {
        if self.state.borrow().dead {
            match start(&self.state, &self.inbox, &self.on_fail) {
                Ok((worker, handlers)) => {
                    self.worker.borrow().terminate();
                    *self.worker.borrow_mut() = worker;
                    *self._handlers.borrow_mut() = handlers;
                    *self.state.borrow_mut() = ClientState::default();
                    self.inbox.push(Update::Log(gptoss_components::Tone::Warning, "engine: a new worker".into()));
                }
                Err(why) => return (self.on_fail)(why, vec![(command, source)]),
            }
        }
        let mut state = self.state.borrow_mut();
        if !state.ready {
            state.pending.push((command, source));
            return;
        }
        drop(state);
        send(&self.worker.borrow(), &command, source.as_ref(), &self.inbox);
    }
}

impl Drop for WorkerClient {
    fn drop(&mut self) {
        self.worker.borrow().terminate();
    }
}

/// The page's script is the module that starts the app: started as a worker, it starts the engine instead.
fn script_url() -> Result<String, String> {
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let script = document
        .query_selector("script[type=module][src]")
        .map_err(|e| js_text(&e))?
        .ok_or("the page has no module script to start a worker from")?;
    let src = Reflect::get(&script, &"src".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    if src.is_empty() {
        return Err("the page's module script has no URL".into());
    }
    Ok(src)
}

fn start(
    state: &Rc<RefCell<ClientState>>,
    inbox: &Queue,
    on_fail: &Rc<dyn Fn(String, Vec<Pending>)>,
) -> Result<(Worker, Handlers), String> {
    let url = script_url()?;
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name("gptoss-engine");
    let worker = Worker::new_with_options(&url, &options).map_err(|e| format!("new Worker({url}): {}", js_text(&e)))?;
    let message = {
        let (state, inbox, worker) = (state.clone(), inbox.clone(), worker.clone());
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let field = |key: &str| Reflect::get(&data, &key.into()).ok().filter(|v| !v.is_undefined());
            if let Some(updates) = field("updates").and_then(|v| v.as_string()) {
                receive(&inbox, &updates);
            } else if field("ready").is_some() {
                let pending = {
                    let mut s = state.borrow_mut();
                    s.ready = true;
                    std::mem::take(&mut s.pending)
                };
                for (command, source) in pending {
                    send(&worker, &command, source.as_ref(), &inbox);
                }
            } else if let Some(why) = field("fatal").and_then(|v| v.as_string()) {
                state.borrow_mut().dead = true;
                inbox.push(Update::Failed(format!("{why} (the next command starts a new engine worker)")));
                inbox.push(Update::Phase(crate::hud::Phase::Failed));
            }
        })
    };
    let error = {
        let (state, inbox, on_fail) = (state.clone(), inbox.clone(), on_fail.clone());
        Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            let why =
                format!("the engine worker failed: {} ({}:{})", event.message(), event.filename(), event.lineno());
            let was_ready = {
                let mut s = state.borrow_mut();
                s.dead = true;
                s.ready
            };
            if was_ready {
                inbox.push(Update::Failed(format!("{why} (the next command starts a new engine worker)")));
                inbox.push(Update::Phase(crate::hud::Phase::Failed));
            } else {
                let pending = std::mem::take(&mut state.borrow_mut().pending);
                on_fail(why, pending);
            }
        })
    };
    worker.set_onmessage(Some(message.as_ref().unchecked_ref()));
    worker.set_onerror(Some(error.as_ref().unchecked_ref()));
    Ok((worker, Handlers { _message: message, _error: error }))
}

fn send(worker: &Worker, command: &Command, source: Option<&ByteSource>, inbox: &Queue) {
    let message = Object::new();
    let json = match serde_json::to_string(command) {
        Ok(json) => json,
        Err(e) => return inbox.push(Update::Failed(format!("a command would not serialise: {e}"))),
    };
    let _ = Reflect::set(&message, &"command".into(), &json.into());
    if let Some(ByteSource::Blob { blob, .. }) = source {
        let _ = Reflect::set(&message, &"blob".into(), blob);
    }
    if let Err(e) = worker.post_message(&message) {
        inbox.push(Update::Failed(format!("posting to the engine worker failed: {}", js_text(&e))));
    }
}

/// The worker's updates, stamped with this thread's clock as they arrive.
fn receive(inbox: &Queue, json: &str) {
    match serde_json::from_str::<Vec<(f64, Update)>>(json) {
        Ok(updates) => {
            let at = now_ms();
            for (_, update) in updates {
                inbox.push_at(at, update);
            }
        }
        Err(e) => inbox.push(Update::Failed(format!(
            "an engine update could not be read ({e}): {}",
            json.chars().take(200).collect::<String>()
        ))),
    }
}
