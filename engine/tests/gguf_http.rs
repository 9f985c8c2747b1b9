//! HTTP range loading against a local server that injects faults: a dropped connection mid-body, 200 instead of
//! 206, a wrong Content-Range, 404, an HTML page, 5xx. Each must give the behaviour the transport rules promise.

mod support;

use gptoss_engine::events::{Event, NoEvents};
use gptoss_engine::gguf::{split_file_name, GgufModel, GgufWriter, MetaValue, StreamOptions};
use gptoss_engine::source::{ByteSource, HttpSource, RetryPolicy};
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn fixture_bytes() -> Arc<[u8]> {
    support::tiny_bytes().into()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// 206 headers for the whole range, then half the body, then the connection closes.
    DropMidBody,
    /// Ignores Range: 200 with a 1 GiB body (the file, then zeros) written until the client hangs up.
    Whole200,
    /// Ignores Range as Python's `http.server` does: 200 with the whole file and its Content-Length.
    NoRanges,
    /// 206 with a Content-Range one byte off.
    WrongContentRange,
    Status503,
    /// What a dev server does for a missing file: its index.html, 200, text/html.
    IndexHtml,
    /// An HTML body without a content type.
    UntypedHtml,
}

const HTML: &[u8] = b"<!DOCTYPE html><html><head><title>app</title></head><body></body></html>";
const WHOLE_200_LEN: u64 = 1 << 30;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    path: String,
    range: Option<(u64, u64)>,
}

struct Server {
    base: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// One-shot faults for the next requests, then the standing fault.
    faults: Arc<Mutex<(VecDeque<Fault>, Fault)>>,
    /// Body bytes the server got onto the wire for `Whole200` answers.
    whole_200_written: Arc<AtomicU64>,
}

impl Server {
    fn start(files: HashMap<String, Arc<[u8]>>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server = Server {
            base,
            seen: Arc::default(),
            faults: Arc::new(Mutex::new((VecDeque::new(), Fault::None))),
            whole_200_written: Arc::default(),
        };
        let (seen, faults, written) = (server.seen.clone(), server.faults.clone(), server.whole_200_written.clone());
        let files = Arc::new(files);
        std::thread::spawn(move || {
            // Bounded: no test makes anywhere near this many connections.
            for conn in listener.incoming().take(10_000) {
                let Ok(conn) = conn else { continue };
                let (seen, faults, written, files) = (seen.clone(), faults.clone(), written.clone(), files.clone());
                std::thread::spawn(move || {
                    // A client that hangs up mid-answer is expected (refused 200s, cancelled loads).
                    let _ = serve(conn, &files, &seen, &faults, &written);
                });
            }
        });
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    fn set(&self, queued: &[Fault], standing: Fault) {
        *self.faults.lock().unwrap() = (queued.iter().copied().collect(), standing);
        self.seen.lock().unwrap().clear();
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    conn: TcpStream,
    files: &HashMap<String, Arc<[u8]>>,
    seen: &Mutex<Vec<Seen>>,
    faults: &Mutex<(VecDeque<Fault>, Fault)>,
    whole_200_written: &AtomicU64,
) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/');
    let path = path.split('?').next().unwrap_or_default().to_string();
    let mut range = None;
    for _ in 0..100 {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            let (a, b) = v.trim().split_once('-').unwrap();
            range = Some((a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()));
        }
    }
    seen.lock().unwrap().push(Seen { path: path.clone(), range });
    let fault = {
        let mut f = faults.lock().unwrap();
        let standing = f.1;
        f.0.pop_front().unwrap_or(standing)
    };
    let head = |status: &str, headers: &[String]| {
        let mut h = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        for line in headers {
            h.push_str(line);
            h.push_str("\r\n");
        }
        h.push_str("\r\n");
        h
    };
    match fault {
        Fault::IndexHtml => {
            let h = head("200 OK", &["Content-Type: text/html".into(), format!("Content-Length: {}", HTML.len())]);
            out.write_all(h.as_bytes())?;
            return out.write_all(HTML);
        }
        Fault::UntypedHtml => {
            out.write_all(head("200 OK", &[format!("Content-Length: {}", HTML.len())]).as_bytes())?;
            return out.write_all(HTML);
        }
        Fault::Status503 => {
            return out.write_all(head("503 Service Unavailable", &["Content-Length: 0".into()]).as_bytes())
        }
        _ => {}
    }
    let Some(file) = files.get(&path) else {
        out.write_all(head("404 Not Found", &["Content-Length: 9".into()]).as_bytes())?;
        return out.write_all(b"not found");
    };
    if fault == Fault::Whole200 {
        out.write_all(head("200 OK", &[format!("Content-Length: {WHOLE_200_LEN}")]).as_bytes())?;
        let zeros = vec![0u8; 64 << 10];
        let mut sent = 0u64;
        while sent < WHOLE_200_LEN {
            let piece = if sent < file.len() as u64 { &file[sent as usize..] } else { &zeros[..] };
            let n = piece.len().min(64 << 10).min((WHOLE_200_LEN - sent) as usize);
            out.write_all(&piece[..n])?;
            sent += n as u64;
            whole_200_written.store(sent, Ordering::SeqCst);
        }
        return Ok(());
    }
    if fault == Fault::NoRanges {
        out.write_all(head("200 OK", &[format!("Content-Length: {}", file.len())]).as_bytes())?;
        return out.write_all(file);
    }
    let (a, b) = range.expect("the loader always sends Range");
    let body = &file[a as usize..=b as usize];
    let shown = if fault == Fault::WrongContentRange { (a + 1, b + 1) } else { (a, b) };
    let h = head(
        "206 Partial Content",
        &[
            "Content-Type: application/octet-stream".into(),
            format!("Content-Range: bytes {}-{}/{}", shown.0, shown.1, file.len()),
            format!("Content-Length: {}", body.len()),
        ],
    );
    out.write_all(h.as_bytes())?;
    if fault == Fault::DropMidBody {
        out.write_all(&body[..body.len() / 2])?;
        out.flush()?;
        return out.shutdown(std::net::Shutdown::Both);
    }
    out.write_all(body)
}

fn quick_retries(url: String, attempts: u32) -> ByteSource {
    ByteSource::Http(HttpSource::new(url).with_retry(RetryPolicy { attempts, first_delay_ms: 5, max_delay_ms: 20 }))
}

fn fixture_server() -> (Server, Arc<[u8]>) {
    let bytes = fixture_bytes();
    (Server::start(HashMap::from([("tiny.gguf".to_string(), bytes.clone())])), bytes)
}

#[test]
fn model_loads_over_range_requests() {
    let (server, bytes) = fixture_server();
    let h = support::whole_header(&bytes);
    let model = pollster::block_on(GgufModel::open(ByteSource::http(server.url("tiny.gguf")), &mut NoEvents)).unwrap();
    assert_eq!(*model.header(), h);
    let header_requests = server.seen();
    assert!(header_requests.iter().all(|s| s.path == "tiny.gguf" && s.range.is_some()));
    // A one-byte size probe, then a few geometrically growing header reads.
    assert_eq!(header_requests[0].range, Some((0, 0)));
    assert!(header_requests.len() <= 7, "{header_requests:?}");

    server.set(&[], Fault::None);
    let chunk_bytes = 4 << 20;
    assert_eq!(
        support::stream_checked(&model, model.header(), &bytes, StreamOptions { concurrency: 4, chunk_bytes }),
        h.tensors.len()
    );
    // Adjacent tensors share reads: the 79 tensors take about data / chunk requests, not one each.
    let data = bytes.len() as u64 - h.data_offset;
    let reads = server.seen().len() as u64;
    assert!(reads <= data.div_ceil(chunk_bytes) + 2, "{reads} requests for {data} bytes");
    for s in server.seen() {
        let (a, b) = s.range.unwrap();
        assert!(a >= h.data_offset && b - a < chunk_bytes, "{s:?}");
    }
}

#[test]
fn dropped_connection_resumes_from_the_last_byte() {
    let (server, bytes) = fixture_server();
    let source = quick_retries(server.url("tiny.gguf"), 4);
    assert_eq!(pollster::block_on(source.len()).unwrap(), bytes.len() as u64);
    server.set(&[Fault::DropMidBody, Fault::DropMidBody], Fault::None);
    let got = pollster::block_on(source.read(1000, 100_000)).unwrap();
    assert!(got == bytes[1000..101_000]);
    let seen: Vec<_> = server.seen().into_iter().map(|s| s.range.unwrap()).collect();
    // Each retry asks only for what had not arrived: half of 100,000, then half of the remaining 50,000.
    assert_eq!(seen, vec![(1000, 100_999), (51_000, 100_999), (76_000, 100_999)]);

    server.set(&[], Fault::DropMidBody);
    let err = pollster::block_on(quick_retries(server.url("tiny.gguf"), 3).read(0, 1)).unwrap_err().to_string();
    // One-byte ranges lose everything each time: no progress, so it gives up after 3 attempts.
    assert!(err.contains(&server.url("tiny.gguf")) && err.contains("bytes=0-0"), "{err}");
    assert!(err.contains("after 0 of 1 bytes") && err.contains("3 attempts"), "{err}");
}

#[test]
fn server_errors_are_retried_with_backoff() {
    let (server, bytes) = fixture_server();
    server.set(&[Fault::Status503, Fault::Status503], Fault::None);
    let source = quick_retries(server.url("tiny.gguf"), 5);
    assert_eq!(pollster::block_on(source.read(8, 8)).unwrap(), &bytes[8..16]);
    // The size probe was the request that met the 503s.
    assert_eq!(server.seen().len(), 4);
    // Each retry is a line for the user, taken once.
    let retries = source.take_retries();
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(retries[0].contains("bytes=0-0: HTTP 503; retrying in 5 ms (attempt 2 of 5)"), "{}", retries[0]);
    assert!(source.take_retries().is_empty());
}

#[test]
fn a_load_reports_each_retry_as_a_notice() {
    let (server, _) = fixture_server();
    server.set(&[Fault::None, Fault::Status503], Fault::None);
    let mut notices = Vec::new();
    let mut sink = |e: Event| {
        if let Event::Notice { text } = e {
            notices.push(text)
        }
    };
    pollster::block_on(GgufModel::open(quick_retries(server.url("tiny.gguf"), 5), &mut sink)).unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].contains("tiny.gguf bytes=") && notices[0].contains("HTTP 503; retrying"), "{}", notices[0]);
}

#[test]
fn a_whole_file_200_is_read_only_as_far_as_the_load_needs() {
    let (server, bytes) = fixture_server();
    server.set(&[], Fault::Whole200);
    let started = Instant::now();
    let source = ByteSource::http(server.url("tiny.gguf"));
    let model = pollster::block_on(GgufModel::open(source, &mut NoEvents)).unwrap();
    assert_eq!(*model.header(), support::whole_header(&bytes));
    assert_eq!(server.seen().len(), 1, "the size probe's body is the one read");
    drop(model);
    // The client hung up once the header was read: the server could not push the GiB.
    std::thread::sleep(Duration::from_millis(300));
    let written = server.whole_200_written.load(Ordering::SeqCst);
    assert!(written < 128 << 20, "{written} bytes went out");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_server_without_range_support_streams_the_model_in_one_request() {
    let (server, bytes) = fixture_server();
    server.set(&[], Fault::NoRanges);
    let http = HttpSource::new(server.url("tiny.gguf"));
    let mut notices = Vec::new();
    let mut sink = |e: Event| {
        if let Event::Notice { text } = e {
            notices.push(text)
        }
    };
    let model = pollster::block_on(GgufModel::open(ByteSource::Http(http.clone()), &mut sink)).unwrap();
    let h = support::whole_header(&bytes);
    assert_eq!(*model.header(), h);
    assert!(http.whole_file_only());
    assert_eq!(notices.len(), 1, "the load says it reads in one pass: {notices:?}");
    assert!(notices[0].contains("no range support") && notices[0].contains("tiny.gguf"), "{}", notices[0]);
    let options = StreamOptions { concurrency: 4, chunk_bytes: 1 << 20 };
    assert_eq!(support::stream_checked(&model, model.header(), &bytes, options), h.tensors.len());
    assert_eq!(server.seen().len(), 1, "header and tensors from one body, in file order: {:?}", server.seen());
    // A second pass: the 40 MB file lies within the 48 MiB kept behind the furthest read, so no new request.
    assert_eq!(support::stream_checked(&model, model.header(), &bytes, StreamOptions::default()), h.tensors.len());
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn without_range_support_a_read_behind_what_is_kept_asks_for_the_file_again() {
    // Only a body that starts as a GGUF is read.
    let big: Arc<[u8]> = b"GGUF"
        .iter()
        .copied()
        .chain((4..(150u32 << 20)).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8))
        .collect();
    let server = Server::start(HashMap::from([("big.bin".to_string(), big.clone())]));
    server.set(&[], Fault::NoRanges);
    let source = ByteSource::http(server.url("big.bin"));
    let at = 140u64 << 20;
    assert!(pollster::block_on(source.read(at, 4096)).unwrap() == big[at as usize..][..4096]);
    assert_eq!(server.seen().len(), 1);
    // Byte 0 is more than 48 MiB behind: one more body, read from its start.
    assert!(pollster::block_on(source.read(10, 100)).unwrap() == big[10..110]);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn wrong_content_range_is_an_error_naming_url_and_range() {
    let (server, _) = fixture_server();
    let source = quick_retries(server.url("tiny.gguf"), 5);
    pollster::block_on(source.len()).unwrap();
    server.set(&[], Fault::WrongContentRange);
    let err = pollster::block_on(source.read(100, 50)).unwrap_err().to_string();
    assert!(err.contains(&server.url("tiny.gguf")) && err.contains("bytes=100-149"), "{err}");
    assert!(err.contains("wrong Content-Range `bytes 101-150/"), "{err}");
    assert_eq!(server.seen().len(), 1, "not retried");
}

#[test]
fn missing_file_404_and_html_pages() {
    let (server, _) = fixture_server();
    let err = pollster::block_on(GgufModel::open(quick_retries(server.url("absent.gguf"), 5), &mut NoEvents))
        .unwrap_err()
        .to_string();
    assert!(err.contains(&server.url("absent.gguf")) && err.contains("bytes=0-0") && err.contains("404"), "{err}");
    assert_eq!(server.seen().len(), 1, "not retried");

    for fault in [Fault::IndexHtml, Fault::UntypedHtml] {
        server.set(&[], fault);
        let err = pollster::block_on(GgufModel::open(quick_retries(server.url("model.gguf"), 5), &mut NoEvents))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("{}: not a GGUF file", server.url("model.gguf"))), "{fault:?}: {err}");
        assert_eq!(server.seen().len(), 1, "not retried");
    }
    let err = pollster::block_on(quick_retries(server.url("x"), 5).len()).unwrap_err().to_string();
    assert!(err.contains("<!DOCTYPE"), "{err}");
}

#[test]
fn split_model_over_http_finds_its_other_shards() {
    let bytes = fixture_bytes();
    let h = support::whole_header(&bytes);
    let mut files = HashMap::new();
    for (no, group) in [&h.tensors[..40], &h.tensors[40..]].iter().enumerate() {
        let mut metadata = if no == 0 { h.metadata.clone() } else { vec![] };
        metadata.push(("split.no".into(), MetaValue::U16(no as u16)));
        metadata.push(("split.count".into(), MetaValue::U16(2)));
        let w =
            GgufWriter::new(metadata, group.iter().map(|t| (t.name.clone(), t.dims.clone(), t.ggml_type)).collect())
                .unwrap();
        let mut out = Vec::new();
        w.write_to(&mut out, |i, _, buf| {
            let t = &group[i];
            let start = (h.data_offset + t.offset) as usize;
            buf.extend_from_slice(&bytes[start..start + t.n_bytes as usize]);
            Ok(())
        })
        .unwrap();
        files.insert(split_file_name("tiny", no as u32 + 1, 2), Arc::<[u8]>::from(out));
    }
    let server = Server::start(files);
    let url = format!("{}?download=true", server.url(&split_file_name("tiny", 1, 2)));
    let model = pollster::block_on(GgufModel::open(ByteSource::http(url), &mut NoEvents)).unwrap();
    assert_eq!(model.shards().len(), 2);
    assert_eq!(model.shards()[1].source.name(), format!("{}?download=true", server.url("tiny-00002-of-00002.gguf")));
    let t = &h.tensors[70];
    let got = pollster::block_on(model.read_tensor(&t.name)).unwrap();
    let start = (h.data_offset + t.offset) as usize;
    assert!(got == bytes[start..start + t.n_bytes as usize]);
    assert_eq!(model.tensor(&t.name).unwrap().shard, 1);
}

#[test]
fn expert_paging_is_refused_for_a_server_without_range_support() {
    use gptoss_engine::gpu::{load_model, ExpertBudget, GpuContext, GpuOptions};
    let (server, _) = fixture_server();
    server.set(&[], Fault::NoRanges);
    let model = pollster::block_on(GgufModel::open(ByteSource::http(server.url("tiny.gguf")), &mut NoEvents)).unwrap();
    let ctx = std::rc::Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (mesa-vulkan-drivers)"));
    let options = GpuOptions { context: 64, max_batch: 16, expert_budget: ExpertBudget::Min, ..Default::default() };
    let err = pollster::block_on(load_model(ctx, &model, options, &mut NoEvents)).err().expect("refused").to_string();
    assert!(err.contains("expert paging reads experts at any offset") && err.contains("tiny.gguf"), "{err}");
}
