//! The page's benchmark mode, `/gptoss?bench=1&gguf=<URL>`: the measurements of `gptoss bench` (read ceiling,
//! load, prefill, decode with each token's time split, per-kernel GPU times) run through the same engine in the
//! browser, with the HUD not drawn, so a figure here is what the engine can do in this browser and the HUD's own
//! figures can be compared against it. The report is one JSON object — `bench --json`'s keys with `runtime`,
//! `browser` and the adapter's features as the browser lists them — published as `window.__gptossBench`, logged to
//! the console as `GPTOSS_BENCH {json}`, and shown on the page. A failure is published as
//! `window.__gptossBenchError`.
//!
//! Optional parameters: `prefill=128,1024`, `contexts=0,1024,4096`, `tokens=32` (decode tokens per context),
//! `budget=min|N%|BYTES` (expert budget), `reads=8x8,4x32` (other read patterns' fetch ceilings: reads in flight x
//! MiB per read).
//!
//! The same page runs the trained model's PyTorch check,
//! `/gptoss?reference=<JSON URL>&gguf=<URL>[&cases=N][&greedy=stepped|forced]` (see `gptoss_engine::reference`):
//! every position's log-probability and the greedy continuation of the first N held-out conversations on this
//! browser's GPU, published as `window.__gptossReference` / `GPTOSS_REFERENCE`.

use dioxus::prelude::*;
use gptoss_components::{Panel, Readout, Tone};
use gptoss_engine::bench::{self, BenchOptions, BenchReport};
use gptoss_engine::events::Event;
use gptoss_engine::gpu::{ExpertBudget, GpuContext};
use gptoss_engine::reference::{self, GreedyCheck, Reference};
use gptoss_engine::source::ByteSource;
use gptoss_engine::{Error, Result};

use crate::frame::now_ms;

/// What the address asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum BenchRequest {
    Bench {
        url: String,
        options: BenchOptions,
    },
    /// The trained model's PyTorch check on the first `cases` conversations of the reference file.
    Reference {
        url: String,
        reference_url: String,
        cases: usize,
        greedy: GreedyCheck,
    },
}

thread_local! {
    static REQUEST: std::cell::OnceCell<Option<std::result::Result<BenchRequest, String>>> =
        const { std::cell::OnceCell::new() };
}

/// Reads `?bench=1…` or `?reference=…` from the address the page opened with (as `sources::capture_address` kept
/// it before the router rewrote it): `None` for the ordinary page, `Some(Err)` for a request with a bad parameter.
pub fn requested() -> Option<std::result::Result<BenchRequest, String>> {
    REQUEST.with(|r| r.get_or_init(read_request).clone())
}

/// The address's parameters, as the browser's `URLSearchParams` decodes them (none natively).
fn read_request() -> Option<std::result::Result<BenchRequest, String>> {
    parse(crate::sources::address_param)
}

/// The request in the parameters `get` looks up, if they make one (`bench=1`, or `reference=<URL>`).
fn parse(get: impl Fn(&str) -> Option<String>) -> Option<std::result::Result<BenchRequest, String>> {
    if let Some(reference_url) = get("reference") {
        return Some(reference_request(reference_url, get));
    }
    if !matches!(get("bench").as_deref(), Some("1") | Some("true")) {
        return None;
    }
    Some(request_from(get))
}

fn reference_request(
    reference_url: String,
    get: impl Fn(&str) -> Option<String>,
) -> std::result::Result<BenchRequest, String> {
    let url = get("gguf").filter(|u| !u.is_empty()).ok_or("reference mode needs ?gguf=<URL of the model>")?;
    let cases = match get("cases") {
        Some(n) => n.parse().map_err(|_| format!("cases: `{n}` is not a whole number"))?,
        None => usize::MAX,
    };
    let greedy = match get("greedy").as_deref() {
        None | Some("stepped") => GreedyCheck::Stepped,
        Some("forced") => GreedyCheck::TeacherForced,
        Some(other) => return Err(format!("greedy: `{other}` is not `stepped` or `forced`")),
    };
    Ok(BenchRequest::Reference { url, reference_url, cases, greedy })
}

fn request_from(get: impl Fn(&str) -> Option<String>) -> std::result::Result<BenchRequest, String> {
    let url = get("gguf").filter(|u| !u.is_empty()).ok_or("bench mode needs ?gguf=<URL of the model>")?;
    let mut options = BenchOptions::default();
    let list = |key: &str, into: &mut Vec<usize>| -> std::result::Result<(), String> {
        if let Some(v) = get(key) {
            *into = v
                .split(',')
                .map(|n| n.trim().parse::<usize>().map_err(|_| format!("{key}: `{n}` is not a whole number")))
                .collect::<std::result::Result<_, _>>()?;
        }
        Ok(())
    };
    list("prefill", &mut options.prefill_lengths)?;
    list("contexts", &mut options.decode_contexts)?;
    if let Some(n) = get("tokens") {
        options.decode_tokens = n.parse().map_err(|_| format!("tokens: `{n}` is not a whole number"))?;
    }
    if let Some(b) = get("budget") {
        options.expert_budget = ExpertBudget::parse(&b).map_err(|e| format!("budget: {e}"))?;
    }
    if let Some(r) = get("reads") {
        options.reads = r
            .split(',')
            .map(|p| p.parse().map_err(|e| format!("reads: {e}")))
            .collect::<std::result::Result<_, _>>()?;
    }
    Ok(BenchRequest::Bench { url, options })
}

/// Where the run is.
#[derive(Clone, Debug, PartialEq)]
enum BenchState {
    Running(String),
    Done(String),
    Failed(String),
}

#[component]
pub fn BenchPage(request: std::result::Result<BenchRequest, String>) -> Element {
    let mut state = use_signal(|| BenchState::Running("starting".into()));
    use_hook(|| {
        let request = request.clone();
        spawn(async move {
            let (key, tag) = match &request {
                Ok(BenchRequest::Reference { .. }) => ("__gptossReference", "GPTOSS_REFERENCE"),
                _ => ("__gptossBench", "GPTOSS_BENCH"),
            };
            let outcome = match request {
                Ok(request) => run(&request, state).await.map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(json) => {
                    publish(key, &json, tag);
                    state.set(BenchState::Done(json));
                }
                Err(e) => {
                    let json = serde_json::to_string(&e).unwrap_or_default();
                    publish(&format!("{key}Error"), &json, &format!("{tag}_ERROR"));
                    state.set(BenchState::Failed(e));
                }
            }
        })
    });
    let mode_title = match &request {
        Ok(BenchRequest::Reference { .. }) => "PYTORCH REFERENCE CHECK",
        _ => "BENCHMARK MODE",
    };
    let (tone, line, json) = match &*state.read() {
        BenchState::Running(s) => (Tone::Pending, s.clone(), None),
        BenchState::Done(json) => (Tone::Done, "done".to_string(), Some(json.clone())),
        BenchState::Failed(e) => (Tone::Error, e.clone(), None),
    };
    rsx! {
        main { class: "hud-page",
            Panel { title: mode_title,
                Readout { label: "STATUS", tone, id: "bench-status", "{line}" }
                if let Some(json) = json {
                    pre { id: "bench-result", class: "bench-result", "{json}" }
                }
            }
        }
    }
}

/// The whole run; the status line follows the load's stages (at most a few updates a second, so drawing it costs
/// the run nothing).
async fn run(request: &BenchRequest, mut state: Signal<BenchState>) -> Result<String> {
    state.set(BenchState::Running("reading the header, then the load".into()));
    let mut last_shown = 0.0;
    let mut sink = |event: Event| {
        if let Event::StageProgress { stage, bytes, total_bytes } = &event {
            if now_ms() - last_shown > 250.0 {
                last_shown = now_ms();
                let total = total_bytes.map_or(String::new(), |t| format!(" of {t}"));
                state.set(BenchState::Running(format!("{stage}: {bytes}{total} bytes")));
            }
        }
    };
    let json = match request {
        BenchRequest::Bench { url, options } => {
            let source = ByteSource::http(url.clone());
            let report = bench::measure(GpuContext::shared(), source, url, options, &mut sink).await?;
            serde_json::to_string(&in_this_browser(report).await)
        }
        BenchRequest::Reference { url, reference_url, cases, greedy } => {
            let file = ByteSource::http(reference_url.clone());
            let text = file.read(0, file.len().await?).await?;
            let text = String::from_utf8(text).map_err(|e| Error::Usage(format!("{reference_url}: {e}")))?;
            let reference = Reference::from_json(&text)?;
            let source = ByteSource::http(url.clone());
            let report =
                reference::measure_gpu(GpuContext::shared(), source, &reference, *cases, *greedy, &mut sink).await?;
            serde_json::to_string(&report)
        }
    };
    json.map_err(|e| Error::Usage(format!("the report would not serialise: {e}")))
}

/// The native report with the browser's facts.
async fn in_this_browser(mut report: BenchReport) -> BenchReport {
    let browser = browser_facts().await;
    report.runtime = browser.runtime;
    report.browser = Some(browser.user_agent);
    report.adapter_features = browser.adapter_features;
    report
}

struct BrowserFacts {
    runtime: String,
    user_agent: String,
    /// `GPUAdapter.features` as the browser lists them (wgpu asks only for the features it maps).
    adapter_features: Vec<String>,
}

#[cfg(target_arch = "wasm32")]
async fn browser_facts() -> BrowserFacts {
    use wasm_bindgen::JsCast;
    let get = |obj: &wasm_bindgen::JsValue, key: &str| js_sys::Reflect::get(obj, &key.into()).ok();
    let navigator = web_sys::window().map(|w| w.navigator());
    let user_agent = navigator.as_ref().and_then(|n| n.user_agent().ok()).unwrap_or_default();
    let runtime = if user_agent.contains("Chrome/") { "chrome" } else { "browser" }.to_string();
    let mut adapter_features = Vec::new();
    let gpu = navigator.and_then(|n| get(&n.into(), "gpu")).filter(|g| !g.is_undefined());
    let request =
        gpu.as_ref().and_then(|g| get(g, "requestAdapter")).and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let (Some(gpu), Some(request)) = (gpu, request) {
        if let Ok(promise) = request.call0(&gpu) {
            if let Ok(adapter) = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&promise)).await {
                if let Some(features) = get(&adapter, "features").filter(|f| !f.is_undefined()) {
                    let iter = js_sys::Array::from(&features);
                    adapter_features = iter.iter().filter_map(|v| v.as_string()).collect();
                    adapter_features.sort();
                }
            }
        }
    }
    BrowserFacts { runtime, user_agent, adapter_features }
}

#[cfg(not(target_arch = "wasm32"))]
async fn browser_facts() -> BrowserFacts {
    BrowserFacts { runtime: "native".into(), user_agent: String::new(), adapter_features: Vec::new() }
}

/// `window[key] = JSON.parse(json)` and one console line, for the test or script that drives the page.
#[cfg(target_arch = "wasm32")]
fn publish(key: &str, json: &str, console_tag: &str) {
    if let (Some(window), Ok(value)) = (web_sys::window(), js_sys::JSON::parse(json)) {
        let _ = js_sys::Reflect::set(&window, &key.into(), &value);
    }
    web_sys::console::log_1(&format!("{console_tag} {json}").into());
}

#[cfg(not(target_arch = "wasm32"))]
fn publish(_key: &str, _json: &str, _console_tag: &str) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parameters of a decoded query string.
    fn params<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |key| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
    }

    #[test]
    fn the_ordinary_page_is_not_a_benchmark() {
        assert_eq!(parse(params(&[("gguf", "/models/a.gguf")])), None);
        assert_eq!(parse(params(&[])), None);
    }

    #[test]
    fn a_benchmark_request_reads_its_parameters() {
        let query = [
            ("bench", "1"),
            ("gguf", "/models/20b.gguf"),
            ("prefill", "128"),
            ("contexts", "0,1024"),
            ("tokens", "16"),
            ("budget", "50%"),
            ("reads", "8x8,4x32"),
        ];
        let Some(Ok(BenchRequest::Bench { url, options })) = parse(params(&query)) else { panic!("a benchmark") };
        assert_eq!(url, "/models/20b.gguf");
        assert_eq!(options.prefill_lengths, vec![128]);
        assert_eq!(options.decode_contexts, vec![0, 1024]);
        assert_eq!(options.decode_tokens, 16);
        assert_eq!(options.expert_budget, ExpertBudget::Fraction(0.5));
        let reads: Vec<_> = options.reads.iter().map(|r| (r.concurrency, r.chunk_bytes >> 20)).collect();
        assert_eq!(reads, vec![(8, 8), (4, 32)]);
    }

    #[test]
    fn a_reference_request_names_the_model_and_the_cases() {
        let query = [("reference", "/models/r.json"), ("gguf", "/models/m.gguf"), ("cases", "2"), ("greedy", "forced")];
        assert_eq!(
            parse(params(&query)),
            Some(Ok(BenchRequest::Reference {
                url: "/models/m.gguf".into(),
                reference_url: "/models/r.json".into(),
                cases: 2,
                greedy: GreedyCheck::TeacherForced,
            }))
        );
        assert_eq!(
            parse(params(&[("reference", "/r.json")])).unwrap().unwrap_err(),
            "reference mode needs ?gguf=<URL of the model>"
        );
    }

    #[test]
    fn a_bad_benchmark_request_says_what_is_wrong() {
        assert_eq!(parse(params(&[("bench", "1")])).unwrap().unwrap_err(), "bench mode needs ?gguf=<URL of the model>");
        assert_eq!(
            parse(params(&[("bench", "1"), ("gguf", "/m.gguf"), ("contexts", "0,x")])).unwrap().unwrap_err(),
            "contexts: `x` is not a whole number"
        );
        assert_eq!(
            parse(params(&[("bench", "1"), ("gguf", "/m.gguf"), ("reads", "4x8,8")])).unwrap().unwrap_err(),
            "reads: `8` is not reads in flight x MiB per read, e.g. 4x8"
        );
    }
}
