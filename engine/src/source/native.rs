//! Native I/O: local files, and the HTTP transport over `ureq` (blocking; `http.rs` runs it on fetch threads).

use crate::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

pub(super) fn file_len(path: &Path) -> Result<u64> {
    std::fs::metadata(path).map(|m| m.len()).map_err(|e| Error::Source(format!("{}: {e}", path.display())))
}

pub(super) fn file_read(path: &Path, offset: u64, len: u64) -> Result<Vec<u8>> {
    let fail =
        |e: std::io::Error| Error::Source(format!("{}: reading [{offset}, {}): {e}", path.display(), offset + len));
    let mut f = std::fs::File::open(path).map_err(fail)?;
    f.seek(SeekFrom::Start(offset)).map_err(fail)?;
    let n = usize::try_from(len).map_err(|_| Error::Source(format!("{}: read of {len} bytes", path.display())))?;
    let mut buf = vec![0u8; n];
    f.read_exact(&mut buf).map_err(fail)?;
    Ok(buf)
}

/// One agent for the process: connections are pooled across shards and chunks.
fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        ureq::Agent::config_builder()
            // Statuses are the loader's to interpret (404 vs 200-instead-of-206 vs 5xx).
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(20)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .timeout_recv_body(Some(Duration::from_secs(300)))
            .build()
            .into()
    })
}

/// One answer being read.
pub(super) struct Reply {
    status: u16,
    headers: ureq::http::HeaderMap,
    body: Box<dyn Read + Send>,
}

/// Largest body piece handed up at once; bodies are never read whole.
const READ_PIECE: usize = 256 * 1024;

/// `GET` (with a `Range`) or `HEAD` (`_ranges_answered` is for the browser's twin: natively every range already has
/// a thread of its own).
pub(super) async fn request(
    method: &str,
    url: &str,
    range: Option<&str>,
    _ranges_answered: bool,
) -> std::result::Result<Reply, String> {
    #[cfg(any(test, feature = "scripted-http"))]
    if url.starts_with(super::scripted::SCHEME) {
        return scripted_reply(method, range);
    }
    let resp = match range {
        _ if method == "HEAD" => agent().head(url).call(),
        Some(range) => agent().get(url).header("Range", range).call(),
        None => agent().get(url).call(),
    }
    .map_err(|e| e.to_string())?;
    let (parts, body) = resp.into_parts();
    Ok(Reply { status: parts.status.as_u16(), headers: parts.headers, body: Box::new(body.into_reader()) })
}

/// A scripted answer as the client would hand it over: headers the `http` crate refuses are dropped, as ureq would.
#[cfg(any(test, feature = "scripted-http"))]
fn scripted_reply(method: &str, range: Option<&str>) -> std::result::Result<Reply, String> {
    use ureq::http::{HeaderName, HeaderValue};
    let answer = super::scripted::answer(method, range)?;
    let mut headers = ureq::http::HeaderMap::new();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_bytes(&value)) {
            headers.append(name, value);
        }
    }
    Ok(Reply { status: answer.status, headers, body: Box::new(answer.body) })
}

impl Reply {
    pub(super) fn status(&self) -> u16 {
        self.status
    }

    pub(super) fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    /// Append the body to `buf`, expecting `want` bytes: (bytes, pieces read), reading one byte past `want` to see
    /// the body end there (more is an answer longer than asked). On failure, what arrived stays in `buf`.
    pub(super) async fn body_into(
        &mut self,
        buf: &mut Vec<u8>,
        want: u64,
    ) -> std::result::Result<(u64, u64), (u64, String)> {
        let (mut got, mut pieces) = (0u64, 0u64);
        loop {
            let room = (want.saturating_sub(got) as usize).max(1);
            match self.chunk_into(buf, room).await {
                Ok(Some(n)) => {
                    got += n as u64;
                    pieces += 1;
                    if got > want {
                        return Ok((got, pieces));
                    }
                }
                Ok(None) => return Ok((got, pieces)),
                // Every byte asked for arrived; what broke was the read looking for the body's end after them (a
                // server that resets the connection once it has sent the range). The range is complete.
                Err(_) if got == want => return Ok((got, pieces)),
                Err(e) => return Err((got, e)),
            }
        }
    }

    /// Append the next piece of the body (at most `max` bytes) to `buf`; its length, `None` at the end.
    pub(super) async fn chunk_into(
        &mut self,
        buf: &mut Vec<u8>,
        max: usize,
    ) -> std::result::Result<Option<usize>, String> {
        let at = buf.len();
        buf.resize(at + READ_PIECE.min(max.max(1)), 0);
        loop {
            match self.body.read(&mut buf[at..]) {
                Ok(0) => {
                    buf.truncate(at);
                    return Ok(None);
                }
                Ok(n) => {
                    buf.truncate(at + n);
                    return Ok(Some(n));
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    buf.truncate(at);
                    return Err(e.to_string());
                }
            }
        }
    }
}

/// Natively every range already has a thread of its own: nothing to note.
pub(super) fn take_note() -> Option<String> {
    None
}

/// Runs on a fetch thread, so blocking is what it should do.
pub(super) async fn sleep_ms(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}
