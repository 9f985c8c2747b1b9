//! Where a model can come from: the bundled trained model (the default: it works offline), the published
//! gpt-oss GGUFs on Hugging Face, a URL given as `?gguf=<URL>`, or a local file.

use gptoss_components::SourcePreset;

/// A preset the picker offers.
pub struct Preset {
    pub id: &'static str,
    pub label: &'static str,
    pub detail: &'static str,
    pub url: &'static str,
}

/// The bundled model's preset id.
pub const BUNDLED: &str = "bundled";

/// `scripts/install.sh` copies the committed `models/wordnet-gpt-oss.gguf` here; dx copies `public/` to the site's
/// root.
pub const BUNDLED_URL: &str = "/models/wordnet-gpt-oss.gguf";

pub const PRESETS: [Preset; 3] = [
    Preset {
        id: BUNDLED,
        label: "bundled gpt-oss WordNet · trained (70 MB)",
        detail: "56M parameters (4 layers, 16 experts, top-4), trained from scratch on WordNet 3.0's \
                 definitions: answers \"What does WORD mean?\" with a definition and an example sentence, \
                 and knows nothing else",
        url: BUNDLED_URL,
    },
    Preset {
        id: "gpt-oss-20b",
        label: "gpt-oss-20b · MXFP4 (12.1 GB)",
        detail: "ggml-org/gpt-oss-20b-GGUF on Hugging Face",
        url: "https://huggingface.co/ggml-org/gpt-oss-20b-GGUF/resolve/main/gpt-oss-20b-mxfp4.gguf",
    },
    Preset {
        id: "gpt-oss-120b",
        label: "gpt-oss-120b · MXFP4 (3 files, 63 GB)",
        detail: "ggml-org/gpt-oss-120b-GGUF: the first of three split files; the others are found beside it",
        url: "https://huggingface.co/ggml-org/gpt-oss-120b-GGUF/resolve/main/gpt-oss-120b-mxfp4-00001-of-00003.gguf",
    },
];

pub fn preset(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// The presets as the picker shows them.
pub fn picker_presets() -> Vec<SourcePreset> {
    PRESETS.iter().map(|p| SourcePreset { id: p.id.into(), label: p.label.into(), detail: p.detail.into() }).collect()
}

thread_local! {
    static ADDRESS_QUERY: std::cell::OnceCell<String> = const { std::cell::OnceCell::new() };
}

/// Keeps the query of the address the page opened with. Call before the router starts: it rewrites the address to
/// the route's own form, which has no query.
pub fn capture_address() {
    ADDRESS_QUERY.with(|q| {
        q.get_or_init(read_query);
    });
}

/// A parameter of the address the page opened with, as the browser's `URLSearchParams` decodes it.
#[cfg(target_arch = "wasm32")]
pub fn address_param(name: &str) -> Option<String> {
    let search = ADDRESS_QUERY.with(|q| q.get_or_init(read_query).clone());
    web_sys::UrlSearchParams::new_with_str(&search).ok()?.get(name)
}

/// Natively there is no page address.
#[cfg(not(target_arch = "wasm32"))]
pub fn address_param(_name: &str) -> Option<String> {
    None
}

#[cfg(target_arch = "wasm32")]
fn read_query() -> String {
    web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default()
}

#[cfg(not(target_arch = "wasm32"))]
fn read_query() -> String {
    String::new()
}

/// The `gguf` parameter of the address the page opened with, if any.
pub fn gguf_param() -> Option<String> {
    address_param("gguf").filter(|url| !url.trim().is_empty())
}

/// `engine=page`: the engine runs on the page's thread instead of its worker, to measure what the worker buys.
pub fn engine_on_page_param() -> bool {
    address_param("engine").as_deref() == Some("page")
}

/// `repaint_ms=N`: the HUD applies a generation's updates at most every N ms (0: every animation frame), to
/// measure what its repaints cost a token.
pub fn repaint_ms_param() -> Option<f64> {
    address_param("repaint_ms")?.parse().ok().filter(|ms: &f64| ms.is_finite() && *ms >= 0.0)
}
