//! Browser I/O: `fetch` with a `Range` header (a single range needs no CORS preflight), ranged reads fetched by a
//! pool of workers (`engine/js/fetch-pool.js`: one thread's fetches top out well below what several reach), other
//! bodies read through the stream reader so a refused 200 is cancelled after one chunk, and `Blob.slice` for picked
//! or dropped files. Works from a window or a worker.

use crate::{Error, Result};
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, Headers, ReadableStreamDefaultReader, Request, RequestCache, RequestInit, RequestMode, Response};

use super::http::CORS_REFUSED;

pub(super) fn js_text(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| v.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())))
        .unwrap_or_else(|| format!("{v:?}"))
}

pub(super) async fn blob_read(name: &str, blob: &Blob, offset: u64, end: u64) -> Result<Vec<u8>> {
    let fail = |e: JsValue| Error::Source(format!("{name}: reading [{offset}, {end}): {}", js_text(&e)));
    let slice = blob.slice_with_f64_and_f64(offset as f64, end as f64).map_err(fail)?;
    let buf = JsFuture::from(slice.array_buffer()).await.map_err(fail)?;
    let bytes = Uint8Array::new(&buf).to_vec();
    if bytes.len() as u64 != end - offset {
        return Err(Error::Source(format!("{name}: reading [{offset}, {end}) gave {} bytes", bytes.len())));
    }
    Ok(bytes)
}

/// One answer being read.
pub(super) enum Reply {
    /// Fetched on this thread: its body read whole ([`Reply::body_into`]) or chunk by chunk through its stream reader
    /// (taken at the first chunk); dropping it cancels the rest of a body read by chunks.
    Direct { response: Response, reader: Option<ReadableStreamDefaultReader> },
    /// A ranged answer fetched by a pool worker (`engine/js/fetch-pool.js`): a 206's body already read whole (`Err`
    /// when it broke off, and for other statuses, whose bodies the worker drops); `None` once handed over.
    Pooled { status: u16, headers: JsValue, body: Option<std::result::Result<Uint8Array, String>> },
}

#[wasm_bindgen(module = "/js/fetch-pool.js")]
extern "C" {
    /// Throws where the pool cannot run (no `Worker`, blob: workers refused, or a worker failed before).
    #[wasm_bindgen(catch)]
    fn fetch_pool_get(url: &str, range: &str) -> std::result::Result<js_sys::Promise, JsValue>;
}

thread_local! {
    /// Why the fetch workers cannot be used here, once that is known, and whether it has been told.
    static POOL_REFUSED: std::cell::RefCell<Option<(String, bool)>> = const { std::cell::RefCell::new(None) };
}

/// The line for the user, once, when ranged reads run on this thread because the fetch workers could not.
pub(super) fn take_note() -> Option<String> {
    POOL_REFUSED.with(|r| match &mut *r.borrow_mut() {
        Some((why, told)) if !*told => {
            *told = true;
            Some(format!("ranged reads run on the engine's thread, slower: the fetch workers could not start ({why})"))
        }
        _ => None,
    })
}

/// `GET` (with a `Range`) or `HEAD`. Once the server has answered a range with a 206 (`ranges_answered`), a ranged
/// `GET` goes to the fetch workers; until then it is made here, so a server that ignores Range is asked for the whole
/// file once, on the thread that streams its body (a 200 from the workers is still asked for again here).
pub(super) async fn request(
    method: &str,
    url: &str,
    range: Option<&str>,
    ranges_answered: bool,
) -> std::result::Result<Reply, String> {
    if let Some(range) = range.filter(|_| method == "GET" && ranges_answered) {
        if let Some(reply) = pooled(url, range).await? {
            return Ok(reply);
        }
    }
    direct(method, url, range).await
}

/// A ranged GET through the fetch workers: `None` when the pool cannot be used (noted once, [`take_note`]) or the
/// answer was a 200.
async fn pooled(url: &str, range: &str) -> std::result::Result<Option<Reply>, String> {
    if POOL_REFUSED.with(|r| r.borrow().is_some()) {
        return Ok(None);
    }
    let refuse = |e: &JsValue| {
        POOL_REFUSED.with(|r| *r.borrow_mut() = Some((js_text(e), false)));
        Ok(None)
    };
    let promise = match fetch_pool_get(url, range) {
        Ok(promise) => promise,
        Err(e) => return refuse(&e),
    };
    let answer = JsFuture::from(promise).await.map_err(|e| js_text(&e))?;
    let field = |name: &str| Reflect::get(&answer, &name.into()).ok().filter(|v| !v.is_undefined() && !v.is_null());
    if let Some(e) = field("workerError") {
        return refuse(&e);
    }
    if let Some(e) = field("fetchError") {
        return Err(refused(url, &e).await);
    }
    let status = field("status").and_then(|v| v.as_f64()).unwrap_or(0.0) as u16;
    if status == 200 {
        return Ok(None);
    }
    let body = match (field("body"), field("bodyError")) {
        (Some(body), _) => Ok(Uint8Array::new(&body)),
        (None, why) => Err(why.map_or_else(|| format!("HTTP {status}: the worker kept no body"), |e| js_text(&e))),
    };
    Ok(Some(Reply::Pooled { status, headers: field("headers").unwrap_or(JsValue::NULL), body: Some(body) }))
}

/// A request made on this thread.
async fn direct(method: &str, url: &str, range: Option<&str>) -> std::result::Result<Reply, String> {
    let headers = Headers::new().map_err(|e| js_text(&e))?;
    if let Some(range) = range {
        headers.set("Range", range).map_err(|e| js_text(&e))?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    init.set_headers(&headers);
    // Model bytes stay out of the browser's HTTP cache: the model cache (OPFS) keeps them where it is on, and
    // Chrome's sparse caching of concurrent ranges of one URL re-requested whole ranges (the same 8 MiB asked for
    // up to three times in one load, tests/browser/cache.test.mjs). The pool's workers ask the same way.
    init.set_cache(RequestCache::NoStore);
    let request = Request::new_with_str_and_init(url, &init).map_err(|e| js_text(&e))?;
    let promise = fetch(&request).ok_or("no fetch in this JavaScript context")?;
    // fetch rejects only for network and CORS failures, which the browser does not tell apart: `refused` asks.
    let response: Response = match JsFuture::from(promise).await {
        Ok(response) => response.dyn_into().map_err(|e| js_text(&e))?,
        Err(e) => return Err(refused(url, &e).await),
    };
    Ok(Reply::Direct { response, reader: None })
}

/// `fetch(request)` from the window or the worker this runs in; `None` in any other context.
fn fetch(request: &Request) -> Option<js_sys::Promise> {
    let global = js_sys::global();
    if let Some(window) = global.dyn_ref::<web_sys::Window>() {
        Some(window.fetch_with_request(request))
    } else {
        global.dyn_ref::<web_sys::WorkerGlobalScope>().map(|worker| worker.fetch_with_request(request))
    }
}

/// Why `fetch(url)` was rejected. For a cross-origin URL it asks again in `no-cors` mode (a `HEAD`, no body): an
/// answer, opaque as it is, means the server is there and CORS is what kept the page from reading it.
async fn refused(url: &str, e: &JsValue) -> String {
    let why = js_text(e);
    let page = Reflect::get(&js_sys::global(), &"origin".into()).ok().and_then(|v| v.as_string()).unwrap_or_default();
    let cross_origin = origin_of(url).is_some_and(|o| o != page);
    if cross_origin && answers_without_cors(url).await {
        return format!(
            "{CORS_REFUSED}: the server answered, but without an Access-Control-Allow-Origin header that lets {page} \
             read it, so the browser kept its answer from the page; serve the model with CORS headers \
             (Access-Control-Allow-Origin, and Access-Control-Expose-Headers: Content-Range, Content-Length, ETag) \
             or from this site ({why})"
        );
    }
    format!("network failure: the server could not be reached ({why})")
}

/// `scheme://host[:port]` of an absolute http(s) URL; `None` for a relative one (same origin).
fn origin_of(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + host_end])
}

async fn answers_without_cors(url: &str) -> bool {
    let init = RequestInit::new();
    init.set_method("HEAD");
    init.set_mode(RequestMode::NoCors);
    init.set_cache(RequestCache::NoStore);
    let Some(promise) = Request::new_with_str_and_init(url, &init).ok().and_then(|r| fetch(&r)) else { return false };
    JsFuture::from(promise).await.is_ok()
}

impl Reply {
    pub(super) fn status(&self) -> u16 {
        match self {
            Reply::Direct { response, .. } => response.status(),
            Reply::Pooled { status, .. } => *status,
        }
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        match self {
            Reply::Direct { response, .. } => response.headers().get(name).ok().flatten(),
            // The worker lists the headers by their lower-case names, as `Headers` iterates them.
            Reply::Pooled { headers, .. } => {
                Reflect::get(headers, &name.to_ascii_lowercase().into()).ok().and_then(|v| v.as_string())
            }
        }
    }

    /// Append the next piece of the body to `buf` (the browser picks its size; `max` is for the native twin); its
    /// length, `None` at the end. Copied from the stream's chunk straight into place: one copy into wasm memory.
    pub(super) async fn chunk_into(
        &mut self,
        buf: &mut Vec<u8>,
        _max: usize,
    ) -> std::result::Result<Option<usize>, String> {
        let (response, reader) = match self {
            Reply::Direct { response, reader } => (response, reader),
            Reply::Pooled { body, .. } => return body.take().transpose().map(|b| b.map(|b| append(buf, &b))),
        };
        if reader.is_none() {
            let Some(stream) = response.body() else { return Ok(None) };
            *reader = Some(stream.get_reader().dyn_into().map_err(|e| js_text(&e))?);
        }
        let Some(reader) = reader else { return Ok(None) };
        let result = JsFuture::from(reader.read()).await.map_err(|e| js_text(&e))?;
        let done = Reflect::get(&result, &"done".into()).map_err(|e| js_text(&e))?;
        if done.as_bool() == Some(true) {
            return Ok(None);
        }
        let value = Uint8Array::new(&Reflect::get(&result, &"value".into()).map_err(|e| js_text(&e))?);
        Ok(Some(append(buf, &value)))
    }

    /// Append the whole body to `buf` (`want` is for the native twin): (bytes, 1). Read in one `arrayBuffer()` (here
    /// or by the pool's worker), one promise per range instead of one per chunk. A failure keeps nothing of the body,
    /// so a retry asks for the whole range again.
    pub(super) async fn body_into(
        &mut self,
        buf: &mut Vec<u8>,
        _want: u64,
    ) -> std::result::Result<(u64, u64), (u64, String)> {
        let body = match self {
            Reply::Direct { response, .. } => {
                let promise = response.array_buffer().map_err(|e| (0, js_text(&e)))?;
                Uint8Array::new(&JsFuture::from(promise).await.map_err(|e| (0, js_text(&e)))?)
            }
            Reply::Pooled { body, .. } => {
                body.take().unwrap_or_else(|| Err("the body was already read".into())).map_err(|e| (0, e))?
            }
        };
        Ok((append(buf, &body) as u64, 1))
    }
}

/// Copy `bytes` onto the end of `buf` (one copy into wasm memory); their length.
fn append(buf: &mut Vec<u8>, bytes: &Uint8Array) -> usize {
    let (at, n) = (buf.len(), bytes.length() as usize);
    buf.resize(at + n, 0);
    bytes.copy_to(&mut buf[at..]);
    n
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Reply::Direct { reader: Some(reader), .. } = self {
            // Stops the download of whatever is left (a refused 200 body); the promise's outcome does not matter.
            let _ = reader.cancel();
        }
    }
}

pub(super) async fn sleep_ms(ms: u64) {
    gloo_timers::future::TimeoutFuture::new(ms.min(u32::MAX as u64) as u32).await;
}
