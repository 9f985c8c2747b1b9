//! Scripted HTTP answers for the HTTP fuzzer (`engine/fuzz`, feature `scripted-http`) and for the replay of its
//! corpus (a unit test here). A URL `scripted:…` is answered from a queue that [`check_http`] fills from arbitrary
//! bytes, and every other URL goes to the network as always: what is under test is `http.rs`'s handling of whatever
//! the answers say (statuses, `Content-Range`, `Content-Length`, `Content-Type`, bodies short, long, in odd pieces or
//! broken off), with its retries and its whole-file fallback.
//!
//! The scripted file's bytes are a fixed pattern (starting `GGUF`), and every body carries the pattern's bytes from
//! where its answer starts (the range asked for for a 206, byte 0 otherwise), however wrong its headers, its
//! length or its end: a body whose headers are right but whose bytes come from elsewhere is beyond what HTTP can
//! tell (the model cache's checksums catch that). So a read that succeeds must return exactly the pattern's bytes
//! at the range asked for: the check asserts that, besides no panic and an error naming the URL.

use super::{ByteSource, HttpSource, RetryPolicy};
use std::collections::VecDeque;
use std::sync::Mutex;

pub(super) const SCHEME: &str = "scripted:";
const URL: &str = "scripted:model.gguf";

/// Byte `i` of the scripted file.
fn file_byte(i: u64) -> u8 {
    match i {
        0..4 => b"GGUF"[i as usize],
        _ => (i.wrapping_mul(31).wrapping_add(7) % 251) as u8,
    }
}

fn file_bytes(from: u64, len: u64) -> Vec<u8> {
    (from..from.saturating_add(len)).map(file_byte).collect()
}

/// How an answer's `Content-Range` total is written.
#[derive(Debug, Clone, Copy)]
enum Total {
    /// The file's length, off by this much.
    Off(i8),
    /// `*`
    Unknown,
}

/// A header, some written relative to the range asked for so that answers can be exactly right or just wrong.
#[derive(Debug, Clone)]
enum Header {
    Raw(&'static str, Vec<u8>),
    /// `bytes a-b/total`, `a` and `b` off from the range asked for.
    ContentRange {
        first_off: i8,
        last_off: i8,
        total: Total,
    },
    /// The body length this answer should have (the range's, or the file's without one), off by this much.
    ContentLength(i16),
    ContentType {
        html: bool,
    },
}

/// One answer, before it meets its request.
#[derive(Debug, Clone)]
struct Recipe {
    status: u16,
    headers: Vec<Header>,
    /// The body's length relative to the length asked for.
    body_len_off: i16,
    /// Sizes of the body's pieces as the transport hands them up (the last one repeats).
    pieces: Vec<u16>,
    /// The connection breaks after the body instead of ending.
    breaks: bool,
}

/// The queue: the file's length and the answers still to give.
static SCRIPT: Mutex<Option<(u64, VecDeque<Recipe>)>> = Mutex::new(None);

/// Held while a script runs, so that runs on several test threads take turns at the one queue.
static RUNNING: Mutex<()> = Mutex::new(());

/// Reads `reads` of a scripted file of `file_len` bytes from a new source whose server gives `answers` in turn
/// (retries immediate): each read's result, and the retry lines the source noted.
fn run_script(
    file_len: u64,
    answers: VecDeque<Recipe>,
    reads: &[(u64, u64)],
) -> (Vec<crate::Result<Vec<u8>>>, Vec<String>) {
    let _turn = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    *SCRIPT.lock().unwrap_or_else(|p| p.into_inner()) = Some((file_len, answers));
    let retry = RetryPolicy { attempts: 3, first_delay_ms: 0, max_delay_ms: 0 };
    let source = ByteSource::Http(HttpSource::new(URL).with_retry(retry));
    let results = reads.iter().map(|&(offset, len)| pollster::block_on(source.read(offset, len))).collect();
    (results, source.take_retries())
}

/// What the scripted server answers one request: as the client hands it over, before the headers are checked.
pub(super) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: ScriptedBody,
}

/// The answer to a request of a [`SCHEME`] URL.
pub(super) fn answer(method: &str, range: Option<&str>) -> Result<Answer, String> {
    let mut script = SCRIPT.lock().unwrap_or_else(|p| p.into_inner());
    let (file_len, queue) = script.as_mut().ok_or("nothing scripted")?;
    let file_len = *file_len;
    let recipe = queue.pop_front().ok_or("connection refused (the script has no more answers)")?;
    // What the answer claims to carry: for a 206 the range asked for, for anything else the whole file.
    let asked = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
    let (first, last) = match asked {
        Some(span) if recipe.status == 206 => span,
        _ => (0, file_len.saturating_sub(1)),
    };
    let want = last.saturating_sub(first) + 1;
    let off = |v: u64, d: i64| v.saturating_add_signed(d).to_string();
    let headers = recipe
        .headers
        .iter()
        .map(|h| match h {
            Header::Raw(name, value) => (name.to_string(), value.clone()),
            Header::ContentRange { first_off, last_off, total } => {
                let total = match total {
                    Total::Off(d) => off(file_len, *d as i64),
                    Total::Unknown => "*".into(),
                };
                let (a, b) = (off(first, *first_off as i64), off(last, *last_off as i64));
                ("content-range".into(), format!("bytes {a}-{b}/{total}").into_bytes())
            }
            Header::ContentLength(d) => ("content-length".into(), off(want, *d as i64).into_bytes()),
            Header::ContentType { html } => {
                let kind = if *html { "text/html; charset=utf-8" } else { "application/octet-stream" };
                ("content-type".into(), kind.as_bytes().to_vec())
            }
        })
        .collect();
    let body = match method {
        "HEAD" => Vec::new(),
        _ => file_bytes(first, want.saturating_add_signed(recipe.body_len_off as i64).min(1 << 20)),
    };
    // At most about 64 pieces a body, so that an input's time goes to the handling, not to byte-at-a-time reads.
    let floor = (body.len() / 64).max(1);
    let pieces = recipe.pieces.iter().map(|&n| (n as usize).max(floor)).collect();
    Ok(Answer {
        status: recipe.status,
        headers,
        body: ScriptedBody { body: body.into(), pieces, breaks: recipe.breaks },
    })
}

/// A scripted answer's body, read in its pieces' sizes.
pub(super) struct ScriptedBody {
    body: VecDeque<u8>,
    pieces: VecDeque<usize>,
    breaks: bool,
}

impl std::io::Read for ScriptedBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.body.is_empty() {
            return match self.breaks {
                true => Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset (scripted)")),
                false => Ok(0),
            };
        }
        let piece = if self.pieces.len() > 1 { self.pieces.pop_front() } else { self.pieces.front().copied() };
        let n = piece.unwrap_or(usize::MAX).min(buf.len()).min(self.body.len());
        for (slot, byte) in buf.iter_mut().zip(self.body.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

/// Arbitrary bytes, read as the fuzzer's choices (zeros once they run out).
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
    fn byte(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken.to_vec()
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

const STATUSES: [u16; 16] = [206, 206, 206, 200, 200, 404, 410, 416, 500, 503, 429, 408, 204, 301, 100, 599];
const RAW_NAMES: [&str; 6] = ["content-range", "content-length", "content-type", "etag", "last-modified", "range"];

fn recipe(c: &mut Choices) -> Recipe {
    let status = match c.byte() {
        b @ 0..240 => STATUSES[b as usize % STATUSES.len()],
        _ => c.u16() % 1000,
    };
    let headers = (0..c.byte() % 5)
        .map(|_| match c.byte() % 8 {
            0..=2 => Header::ContentRange {
                first_off: if c.byte() < 200 { 0 } else { c.byte() as i8 },
                last_off: if c.byte() < 200 { 0 } else { c.byte() as i8 },
                total: match c.byte() {
                    0..200 => Total::Off(0),
                    200..230 => Total::Unknown,
                    _ => Total::Off(c.byte() as i8),
                },
            },
            3 | 4 => Header::ContentLength(if c.byte() < 200 { 0 } else { c.u16() as i16 }),
            5 => Header::ContentType { html: c.byte() & 1 == 1 },
            _ => {
                let name = RAW_NAMES[c.byte() as usize % RAW_NAMES.len()];
                let n = c.byte() as usize;
                Header::Raw(name, c.bytes(n))
            }
        })
        .collect();
    let body_len_off = if c.byte() < 200 { 0 } else { c.u16() as i16 };
    let pieces = (0..1 + c.byte() % 4).map(|_| c.u16()).collect();
    let breaks = c.byte() >= 224;
    Recipe { status, headers, body_len_off, pieces, breaks }
}

/// What a run of scripted answers is held to: the file's length (up to 8 KiB), one to three reads and up to eight
/// answers come from `data`; every read returns the file's exact bytes or an error naming the URL, and nothing panics. A read
/// costs no wait: retries are immediate.
pub fn check_http(data: &[u8]) {
    let mut c = Choices(data);
    // Small files and reads keep an input's run to tens of microseconds; sizes are not what the handling varies on.
    let file_len = 1 + c.u16() as u64 % 8192;
    let reads: Vec<(u64, u64)> = (0..1 + c.byte() % 3)
        .map(|_| {
            let offset = match c.byte() {
                0..128 => 0,
                _ => c.u16() as u64 % 9000,
            };
            (offset, 1 + c.u16() as u64 % 4096)
        })
        .collect();
    let mut answers = VecDeque::new();
    while answers.len() < 8 && !c.is_empty() {
        answers.push_back(recipe(&mut c));
    }
    let (results, _) = run_script(file_len, answers, &reads);
    for ((offset, len), result) in reads.into_iter().zip(results) {
        match result {
            Ok(bytes) => assert!(bytes == file_bytes(offset, len), "read [{offset}, +{len}) returned other bytes"),
            Err(e) => assert!(e.to_string().contains(URL), "an error that does not name the URL: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the HTTP fuzzer grew (`engine/fuzz/corpus/http_reply`), replayed: each input within a second, as the
    /// campaign's `-timeout=1` held it.
    #[test]
    fn the_http_fuzzers_corpus_replays_without_a_panic() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/http_reply");
        let mut inputs = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fuzz corpus {} missing: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let started = std::time::Instant::now();
            check_http(&std::fs::read(&path).unwrap());
            assert!(started.elapsed().as_secs_f64() < 1.0, "{} took {:?}", path.display(), started.elapsed());
            inputs += 1;
        }
        assert!(inputs >= 50, "only {inputs} inputs in {}", dir.display());
    }

    /// The answers the check is built from, each as a server would give them: an exact 206 reads; a 200 with the
    /// whole file (to the size probe) serves later reads from its body; a 206 that names other bytes is refused naming the URL; a 503
    /// then a good 206 reads (retried); a body broken off half way then the rest reads (resumed).
    #[test]
    fn scripted_answers_are_read_as_a_server_would_give_them() {
        let exact = |breaks: bool, body_len_off: i16| Recipe {
            status: 206,
            headers: vec![Header::ContentRange { first_off: 0, last_off: 0, total: Total::Off(0) }],
            body_len_off,
            pieces: vec![7],
            breaks,
        };
        let run = |answers: Vec<Recipe>, offset: u64, len: u64| {
            let (mut results, retries) = run_script(1000, answers.into(), &[(offset, len)]);
            (results.remove(0), retries)
        };
        // Each source's first request is the one-byte size probe; a server without ranges answers it with the file.
        let (got, retries) = run(vec![exact(false, 0), exact(false, 0)], 100, 50);
        assert_eq!(got.unwrap(), file_bytes(100, 50));
        assert!(retries.is_empty());

        let whole = Recipe { status: 200, headers: vec![Header::ContentLength(0)], ..exact(false, 0) };
        let (got, _) = run(vec![whole], 100, 50);
        assert_eq!(got.unwrap(), file_bytes(100, 50));

        let lying = Recipe {
            headers: vec![Header::ContentRange { first_off: 1, last_off: 1, total: Total::Off(0) }],
            ..exact(false, 0)
        };
        let err = run(vec![exact(false, 0), lying], 100, 50).0.unwrap_err().to_string();
        assert!(err.contains(URL) && err.contains("wrong Content-Range"), "{err}");

        let busy = Recipe { status: 503, headers: vec![], ..exact(false, 0) };
        let (got, retries) = run(vec![exact(false, 0), busy, exact(false, 0)], 100, 50);
        assert_eq!(got.unwrap(), file_bytes(100, 50));
        assert!(retries.len() == 1 && retries[0].contains("HTTP 503"), "{retries:?}");

        let (got, retries) = run(vec![exact(false, 0), exact(true, -30), exact(false, 0)], 100, 50);
        assert_eq!(got.unwrap(), file_bytes(100, 50));
        assert!(retries.len() == 1 && retries[0].contains("from byte 120"), "{retries:?}");
    }

    /// The fuzzer's first find: a connection reset right after the last byte of the range asked for. That read is
    /// complete; it used to be retried from one byte past the range, whose length `last - start + 1` then
    /// overflowed (a panic on the fetch thread).
    #[test]
    fn a_connection_reset_after_the_whole_range_completes_the_read() {
        let whole_then_reset = Recipe {
            status: 206,
            headers: vec![Header::ContentRange { first_off: 0, last_off: 0, total: Total::Off(0) }],
            body_len_off: 0,
            pieces: vec![16],
            breaks: true,
        };
        let (mut results, retries) =
            run_script(1000, vec![whole_then_reset.clone(), whole_then_reset].into(), &[(100, 50)]);
        assert_eq!(results.remove(0).unwrap(), file_bytes(100, 50));
        assert!(retries.is_empty(), "{retries:?}");
    }
}
