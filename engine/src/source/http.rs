//! HTTP range reads, shared by the native client and the browser's `fetch`; `transport` is the per-target part
//! (one request, its status and headers, its body chunk by chunk, and a sleep).
//!
//! Transport rules: a ranged GET must come back as 206 with a `Content-Range` naming exactly the bytes asked for.
//! A 200 means the server ignored `Range` and is sending the whole file (Python's `http.server` does): after its
//! first chunk shows a GGUF (not the HTML page a dev server returns for a missing file) and its `Content-Length`
//! gives the size, the source switches to reading that one body in file order ([`WholeBody`]), which is how the
//! loader reads anyway: header, then tensors in file order. Dropped connections, timeouts and 5xx/429 answers are
//! retried with exponential backoff, resuming from the last byte received.

#[cfg(not(target_arch = "wasm32"))]
use super::native as transport;
#[cfg(target_arch = "wasm32")]
use super::web as transport;

use super::cache::Validator;
use crate::gguf::StreamOptions;
use crate::{Error, Result};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use web_time::Instant;

/// How a browser transport error starts when CORS, not the network, refused the answer: retrying cannot help.
pub(super) const CORS_REFUSED: &str = "refused by CORS";

/// How often and how patiently transient failures are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per range without progress before giving up (a response that delivers some bytes resets the count).
    pub attempts: u32,
    pub first_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 5, first_delay_ms: 250, max_delay_ms: 4_000 }
    }
}

/// A URL read with range requests. The file size is learnt from the first `Content-Range` and then checked on
/// every answer, so a file replaced mid-load is noticed.
#[derive(Debug, Clone)]
pub struct HttpSource {
    url: String,
    len: Arc<OnceLock<u64>>,
    retry: RetryPolicy,
    /// Set when the server answered a range with the whole file: reads come from `whole` from then on.
    whole_only: Arc<AtomicBool>,
    /// Set at its first 206: the transport may then fetch ranges its faster way (the browser's fetch workers).
    ranges_answered: Arc<AtomicBool>,
    whole: Arc<futures::lock::Mutex<Option<WholeBody>>>,
    /// Retries since the loader last asked ([`HttpSource::take_retries`]), as lines for the user.
    retries: Arc<std::sync::Mutex<Vec<String>>>,
    transfer: Arc<std::sync::Mutex<TransferStats>>,
}

/// Where ranged reads spend their time, summed over every request of a source: waiting for the answer's headers,
/// and reading its body (in how many chunks, as the transport delivers them). A read the browser's fetch workers
/// made counts its whole request as waiting for the answer, and only the copy into wasm memory as its body.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct TransferStats {
    pub requests: u64,
    pub bytes: u64,
    pub headers_s: f64,
    pub body_s: f64,
    pub chunks: u64,
}

impl std::ops::Add for TransferStats {
    type Output = TransferStats;

    fn add(self, o: TransferStats) -> TransferStats {
        TransferStats {
            requests: self.requests + o.requests,
            bytes: self.bytes + o.bytes,
            headers_s: self.headers_s + o.headers_s,
            body_s: self.body_s + o.body_s,
            chunks: self.chunks + o.chunks,
        }
    }
}

/// The body of a whole-file 200, read in file order. It keeps the last [`WHOLE_KEEP`] bytes it passed, so the
/// reads a load has in flight and a header window that the tensor data starts inside are served in any order; a
/// read before what is kept asks for the body again from byte 0.
struct WholeBody {
    reply: Option<transport::Reply>,
    /// File offset of `kept[0]`.
    kept_start: u64,
    kept: Vec<u8>,
}

impl std::fmt::Debug for WholeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WholeBody(bytes {}.., {} kept)", self.kept_start, self.kept.len())
    }
}

/// Bytes of a whole-file body kept behind the furthest read: the span of a load's reads in flight from such a server
/// ([`StreamOptions::IN_ORDER_READS`]), and 16 MiB more.
const WHOLE_KEEP: usize = StreamOptions::IN_ORDER_READS * StreamOptions::LOAD.chunk_bytes as usize + (16 << 20);

/// How one attempt failed.
enum Failure {
    /// Worth retrying (network, truncated body, 5xx/408/429).
    Transient(String),
    /// Retrying cannot help (404, wrong Content-Range, not a GGUF file).
    Fatal(Error),
    /// The server answered with the whole file (its size checked), whose first chunk is `first`.
    WholeFile { reply: Box<transport::Reply>, first: Vec<u8> },
}

/// `url` without its query and fragment, and the rest (`?…`/`#…`, possibly empty).
pub(super) fn split_url(url: &str) -> (&str, &str) {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    url.split_at(cut)
}

/// `bytes a-b/total` (total may be `*`).
fn parse_content_range(v: &str) -> Option<(u64, u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (a, b) = span.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?, total))
}

impl HttpSource {
    pub fn new(url: impl Into<String>) -> Self {
        HttpSource {
            url: url.into(),
            len: Arc::new(OnceLock::new()),
            retry: RetryPolicy::default(),
            whole_only: Arc::default(),
            ranges_answered: Arc::default(),
            whole: Arc::default(),
            retries: Arc::default(),
            transfer: Arc::default(),
        }
    }

    /// The time its requests took so far.
    pub fn transfer(&self) -> TransferStats {
        *self.transfer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The retries made since the last call, each a line naming the range, what failed and the wait; and the
    /// transport's own note, once, if it reads in a slower way than it should.
    pub fn take_retries(&self) -> Vec<String> {
        let mut lines = std::mem::take(&mut *self.retries.lock().unwrap_or_else(|p| p.into_inner()));
        lines.extend(transport::take_note());
        lines
    }

    /// Whether the server ignores `Range`, so the file can only be read in order (learnt from its first answer).
    pub fn whole_file_only(&self) -> bool {
        self.whole_only.load(Ordering::Relaxed)
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL with its last path segment replaced, query kept (signed URLs carry their token there).
    pub(super) fn sibling(&self, file_name: &str) -> HttpSource {
        let (base, rest) = split_url(&self.url);
        let dir = base.rfind('/').map_or("", |i| &base[..=i]);
        HttpSource { url: format!("{dir}{file_name}{rest}"), retry: self.retry, ..HttpSource::new("") }
    }

    /// File size, learnt from a one-byte range request the first time.
    pub async fn len(&self) -> Result<u64> {
        if let Some(&n) = self.len.get() {
            return Ok(n);
        }
        self.fetch_range(0, 1).await?;
        self.len
            .get()
            .copied()
            .ok_or_else(|| Error::Source(format!("{}: the server did not say the file size", self.url)))
    }

    pub(super) async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.fetch_range(offset, len).await
    }

    /// What the server says the file is now (a `HEAD` request: no body, so no range of the model's bytes).
    pub(super) async fn validator(&self) -> Result<Validator> {
        let fail = |what: String| Error::Source(format!("{} (HEAD): {what}", self.url));
        let reply = self.head_reply().await.map_err(|e| match e.starts_with(CORS_REFUSED) {
            true => fail(e),
            false => fail(format!("network error: {e}")),
        })?;
        match reply.status() {
            200 | 204 => {}
            404 | 410 => return Err(fail(format!("HTTP {}: not found", reply.status()))),
            status => return Err(fail(format!("unexpected HTTP status {status}"))),
        }
        let len = reply
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| fail("no readable Content-Length".into()))?;
        Ok(Validator { len, etag: reply.header("etag"), last_modified: reply.header("last-modified") })
    }

    #[cfg(not(target_arch = "wasm32"))]
    async fn head_reply(&self) -> std::result::Result<transport::Reply, String> {
        let url = self.url.clone();
        let (tx, rx) = futures::channel::oneshot::channel();
        std::thread::Builder::new()
            .name("gguf-head".into())
            .spawn(move || {
                // The receiver may have been dropped (load cancelled); nothing to tell then.
                let _ = tx.send(pollster::block_on(transport::request("HEAD", &url, None, false)));
            })
            .map_err(|e| format!("cannot start a fetch thread: {e}"))?;
        rx.await.map_err(|_| "fetch thread ended without a result".to_string())?
    }

    #[cfg(target_arch = "wasm32")]
    async fn head_reply(&self) -> std::result::Result<transport::Reply, String> {
        transport::request("HEAD", &self.url, None, false).await
    }

    /// Natively the client blocks, so each range runs on its own thread; the caller's future just awaits the result,
    /// which lets several ranges be in flight at once.
    #[cfg(not(target_arch = "wasm32"))]
    async fn fetch_range(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        // Scripted answers never block: no thread (which would cost the fuzzer most of an input's time).
        #[cfg(any(test, feature = "scripted-http"))]
        if self.url.starts_with(super::scripted::SCHEME) {
            return self.fetch(offset, len).await;
        }
        let this = self.clone();
        let (tx, rx) = futures::channel::oneshot::channel();
        std::thread::Builder::new()
            .name("gguf-fetch".into())
            .spawn(move || {
                // The receiver may have been dropped (load cancelled); nothing to tell then.
                let _ = tx.send(pollster::block_on(this.fetch(offset, len)));
            })
            .map_err(|e| Error::Source(format!("{}: cannot start a fetch thread: {e}", self.url)))?;
        rx.await.map_err(|_| Error::Source(format!("{}: fetch thread ended without a result", self.url)))?
    }

    #[cfg(target_arch = "wasm32")]
    async fn fetch_range(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        self.fetch(offset, len).await
    }

    /// Bytes `[offset, offset + len)`, `len >= 1`, retrying and resuming until complete or hopeless.
    async fn fetch(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let last = offset
            .checked_add(len - 1)
            .ok_or_else(|| Error::Source(format!("{}: range at {offset} of {len} bytes overflows", self.url)))?;
        if self.whole_file_only() {
            return self.read_whole(offset, len).await;
        }
        // The whole range up front: a growing buffer would copy an 8 MiB read several times over.
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        let mut failures = 0u32;
        let mut delay = self.retry.first_delay_ms;
        loop {
            let start = offset + buf.len() as u64;
            let had = buf.len();
            match self.attempt(start, last, &mut buf).await {
                Ok(()) => return Ok(buf),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::WholeFile { reply, first }) => {
                    *self.whole.lock().await = Some(WholeBody { reply: Some(*reply), kept_start: 0, kept: first });
                    self.whole_only.store(true, Ordering::Relaxed);
                    return self.read_whole(offset, len).await;
                }
                Err(Failure::Transient(why)) => {
                    if buf.len() > had {
                        failures = 0;
                        delay = self.retry.first_delay_ms;
                    }
                    failures += 1;
                    if failures >= self.retry.attempts {
                        return Err(Error::Source(format!(
                            "{} bytes={start}-{last}: {why} (gave up after {failures} attempts)",
                            self.url
                        )));
                    }
                    // What arrived before the failure is kept: the retry asks for the rest.
                    let resume = offset + buf.len() as u64;
                    let note = format!(
                        "{} bytes={start}-{last}: {why}; retrying in {delay} ms (attempt {} of {}), from byte {resume}",
                        self.url,
                        failures + 1,
                        self.retry.attempts
                    );
                    self.retries.lock().unwrap_or_else(|p| p.into_inner()).push(note);
                    transport::sleep_ms(delay).await;
                    delay = (delay * 2).min(self.retry.max_delay_ms);
                }
            }
        }
    }

    /// One request for `[start, last]`, appending what arrives to `buf` (also on failure, so a retry resumes).
    async fn attempt(&self, start: u64, last: u64, buf: &mut Vec<u8>) -> std::result::Result<(), Failure> {
        let range = format!("bytes={start}-{last}");
        let fatal = |what: String| Failure::Fatal(Error::Source(format!("{} {range}: {what}", self.url)));
        let asked = Instant::now();
        let ranges_answered = self.ranges_answered.load(Ordering::Relaxed);
        let mut reply =
            transport::request("GET", &self.url, Some(&range), ranges_answered).await.map_err(|e| {
                match e.starts_with(CORS_REFUSED) {
                    true => Failure::Fatal(Error::Source(format!("{} {range}: {e}", self.url))),
                    false => Failure::Transient(format!("network error: {e}")),
                }
            })?;
        let status = reply.status();
        let is_html = reply.header("content-type").is_some_and(|t| t.trim_start().starts_with("text/html"));
        match status {
            206 | 200 if is_html => {
                return Err(Failure::Fatal(Error::Gguf {
                    file: self.url.clone(),
                    what: "not a GGUF file: the server answered with an HTML page (missing file or wrong URL?)".into(),
                }))
            }
            206 => {
                let cr = reply.header("content-range").ok_or_else(|| {
                    fatal(
                        "206 without a readable Content-Range (a cross-origin server must list it in \
                         Access-Control-Expose-Headers)"
                            .into(),
                    )
                })?;
                match parse_content_range(&cr) {
                    Some((a, b, total)) if a == start && b == last => {
                        self.check_total(total, &fatal)?;
                        self.ranges_answered.store(true, Ordering::Relaxed);
                    }
                    _ => return Err(fatal(format!("wrong Content-Range `{cr}` (asked for {range})"))),
                }
            }
            200 => {
                // The body is the whole file from byte 0. It is the answer only when the range asked for is exactly
                // the whole file; otherwise refuse, having looked at one chunk at most.
                let whole = reply.header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
                if !(start == 0 && whole == Some(last + 1)) {
                    let mut first = Vec::new();
                    let _ = reply.chunk_into(&mut first, usize::MAX).await;
                    if first.len() < 4 || &first[..4] != b"GGUF" {
                        return Err(Failure::Fatal(Error::Gguf {
                            file: self.url.clone(),
                            what: format!(
                                "not a GGUF file: the server answered 200 with a body starting {:?}",
                                String::from_utf8_lossy(&first[..first.len().min(16)])
                            ),
                        }));
                    }
                    if whole.is_none() {
                        return Err(fatal(
                            "the server ignored the Range header and answered 200 without a Content-Length: the \
                             file's size is unknown"
                                .into(),
                        ));
                    }
                    self.check_total(whole, &fatal)?;
                    return Err(Failure::WholeFile { reply: Box::new(reply), first });
                }
                self.check_total(whole, &fatal)?;
            }
            404 | 410 => return Err(fatal(format!("HTTP {status}: not found"))),
            416 => return Err(fatal("HTTP 416: range not satisfiable (the file is shorter than expected)".into())),
            408 | 425 | 429 | 500..=599 => return Err(Failure::Transient(format!("HTTP {status}"))),
            _ => return Err(fatal(format!("unexpected HTTP status {status}"))),
        }
        let want = last - start + 1;
        let answered = Instant::now();
        let (got, chunks) = reply
            .body_into(buf, want)
            .await
            .map_err(|(got, e)| Failure::Transient(format!("body read failed after {got} of {want} bytes: {e}")))?;
        if got > want {
            return Err(fatal(format!("the server sent more than the {want} bytes asked for")));
        }
        if got < want {
            return Err(Failure::Transient(format!("connection closed after {got} of {want} bytes")));
        }
        let this = TransferStats {
            requests: 1,
            bytes: want,
            headers_s: (answered - asked).as_secs_f64(),
            body_s: answered.elapsed().as_secs_f64(),
            chunks,
        };
        let mut total = self.transfer.lock().unwrap_or_else(|p| p.into_inner());
        *total = *total + this;
        Ok(())
    }

    /// Bytes `[offset, offset + len)` out of the whole-file body, asking for it again from byte 0 when the read is
    /// before what is kept. A body that breaks off is an error naming the byte (no resuming without ranges).
    async fn read_whole(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let fail = |what: String| Error::Source(format!("{} (no range support, read in order): {what}", self.url));
        let end = offset + len;
        let mut slot = self.whole.lock().await;
        let body = slot.get_or_insert_with(|| WholeBody { reply: None, kept_start: 0, kept: Vec::new() });
        if offset < body.kept_start || body.reply.is_none() && end > body.kept_start + body.kept.len() as u64 {
            let reply = transport::request("GET", &self.url, None, false)
                .await
                .map_err(|e| fail(format!("network error asking for the file again: {e}")))?;
            if reply.status() != 200 {
                return Err(fail(format!("HTTP {} asking for the file again", reply.status())));
            }
            *body = WholeBody { reply: Some(reply), kept_start: 0, kept: Vec::new() };
        }
        while body.kept_start + (body.kept.len() as u64) < end {
            let at = body.kept_start + body.kept.len() as u64;
            let reply = body.reply.as_mut().ok_or_else(|| fail(format!("the body ended at byte {at}")))?;
            match reply.chunk_into(&mut body.kept, usize::MAX).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    body.reply = None;
                    return Err(fail(format!("the body ended at byte {at}, before byte {end}")));
                }
                Err(e) => {
                    body.reply = None;
                    return Err(fail(format!("the connection broke at byte {at}: {e}")));
                }
            }
            // Once twice WHOLE_KEEP is held, let go of all but the last WHOLE_KEEP (never of this read's own bytes):
            // each byte is moved once, not once per chunk.
            let keep = WHOLE_KEEP.max(len as usize);
            if body.kept.len() > 2 * keep {
                let drop = (body.kept.len() - keep).min((offset - body.kept_start) as usize);
                body.kept.drain(..drop);
                body.kept_start += drop as u64;
            }
        }
        let from = (offset - body.kept_start) as usize;
        Ok(body.kept[from..from + len as usize].to_vec())
    }

    /// Record the file size the first time; a different size later means the file changed under us.
    fn check_total(&self, total: Option<u64>, fatal: &dyn Fn(String) -> Failure) -> std::result::Result<(), Failure> {
        let Some(total) = total else {
            return match self.len.get() {
                Some(_) => Ok(()),
                None => Err(fatal("the answer does not give the file size (Content-Range total is `*`)".into())),
            };
        };
        let known = *self.len.get_or_init(|| total);
        if known != total {
            return Err(fatal(format!("the file size changed from {known} to {total} bytes during the load")));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range_forms() {
        assert_eq!(parse_content_range("bytes 0-3/1234"), Some((0, 3, Some(1234))));
        assert_eq!(parse_content_range("bytes 10-19/*"), Some((10, 19, None)));
        assert_eq!(parse_content_range("bytes */1234"), None);
        assert_eq!(parse_content_range("items 0-3/4"), None);
    }

    #[test]
    fn sibling_keeps_directory_and_query() {
        let h = HttpSource::new("https://h.example/m/a-00001-of-00003.gguf?download=true");
        assert_eq!(h.sibling("a-00002-of-00003.gguf").url(), "https://h.example/m/a-00002-of-00003.gguf?download=true");
        assert_eq!(split_url("http://x/y#z"), ("http://x/y", "#z"));
    }
}
