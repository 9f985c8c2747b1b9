//! Browser I/O: `fetch` with a `Range` header (a single range needs no CORS preflight), bodies read through the
//! stream reader so a refused 200 is cancelled after one chunk, and `Blob.slice` for picked or dropped files.
//! Works from a window or a worker.

use crate::{Error, Result};
use js_sys::{Reflect, Uint8Array};
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

/// One answer being read, whole ([`Reply::body_into`]) or chunk by chunk through its stream reader (taken at the
/// first chunk); dropping it cancels the rest of a body read by chunks.
pub(super) struct Reply {
    response: Response,
    reader: Option<ReadableStreamDefaultReader>,
}

/// `GET` (with a `Range`) or `HEAD`.
pub(super) async fn request(method: &str, url: &str, range: Option<&str>) -> std::result::Result<Reply, String> {
    let headers = Headers::new().map_err(|e| js_text(&e))?;
    if let Some(range) = range {
        headers.set("Range", range).map_err(|e| js_text(&e))?;
    }
    let init = RequestInit::new();
    init.set_method(method);
    init.set_headers(&headers);
    // Model bytes stay out of the browser's HTTP cache: the model cache (OPFS) keeps them where it is on, and
    // Chrome's sparse caching of concurrent ranges of one URL re-requested whole ranges (the same 8 MiB asked for
    // up to three times in one load, tests/browser/cache.test.mjs).
    init.set_cache(RequestCache::NoStore);
    let request = Request::new_with_str_and_init(url, &init).map_err(|e| js_text(&e))?;
    let promise = fetch(&request).ok_or("no fetch in this JavaScript context")?;
    // fetch rejects only for network and CORS failures, which the browser does not tell apart: `refused` asks.
    let response: Response = match JsFuture::from(promise).await {
        Ok(response) => response.dyn_into().map_err(|e| js_text(&e))?,
        Err(e) => return Err(refused(url, &e).await),
    };
    Ok(Reply { response, reader: None })
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
        self.response.status()
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        self.response.headers().get(name).ok().flatten()
    }

    /// Append the next piece of the body to `buf` (the browser picks its size; `max` is for the native twin); its
    /// length, `None` at the end. Copied from the stream's chunk straight into place: one copy into wasm memory.
    pub(super) async fn chunk_into(
        &mut self,
        buf: &mut Vec<u8>,
        _max: usize,
    ) -> std::result::Result<Option<usize>, String> {
        if self.reader.is_none() {
            let Some(stream) = self.response.body() else { return Ok(None) };
            self.reader = Some(stream.get_reader().dyn_into().map_err(|e| js_text(&e))?);
        }
        let Some(reader) = &self.reader else { return Ok(None) };
        let result = JsFuture::from(reader.read()).await.map_err(|e| js_text(&e))?;
        let done = Reflect::get(&result, &"done".into()).map_err(|e| js_text(&e))?;
        if done.as_bool() == Some(true) {
            return Ok(None);
        }
        let value = Uint8Array::new(&Reflect::get(&result, &"value".into()).map_err(|e| js_text(&e))?);
        Ok(Some(append(buf, &value)))
    }

    /// Append the whole body to `buf` (`want` is for the native twin): (bytes, 1). The browser reads it in one
    /// `arrayBuffer()`, one promise per range instead of one per chunk (Chrome on the H200: the load's reads went
    /// from 0.127 to 0.144 GB/s; still well below what JavaScript reads the same ranges at, BENCHMARKS.md). A failure
    /// keeps nothing of the body, so a retry asks for the whole range again.
    pub(super) async fn body_into(
        &mut self,
        buf: &mut Vec<u8>,
        _want: u64,
    ) -> std::result::Result<(u64, u64), (u64, String)> {
        let promise = self.response.array_buffer().map_err(|e| (0, js_text(&e)))?;
        let body = Uint8Array::new(&JsFuture::from(promise).await.map_err(|e| (0, js_text(&e)))?);
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
        if let Some(reader) = &self.reader {
            // Stops the download of whatever is left (a refused 200 body); the promise's outcome does not matter.
            let _ = reader.cancel();
        }
    }
}

pub(super) async fn sleep_ms(ms: u64) {
    gloo_timers::future::TimeoutFuture::new(ms.min(u32::MAX as u64) as u32).await;
}
