//! The model cache against a local HTTP server that counts what it serves: a second load reads from disk with no
//! range request, an interrupted load resumes with only the missing chunks, a corrupt chunk is named and fetched
//! again, a changed ETag discards the copy, and the cache lists and deletes models (a split model as one). A picked
//! file is cached as a URL is (bytes in memory stand in for the browser's `Blob`), and a cached model chosen by its
//! key reads its copy alone: a picked file's copy names what it lacks, a URL's fetches only that.

mod support;

use gptoss_engine::events::NoEvents;
use gptoss_engine::gguf::{GgufModel, StreamOptions};
use gptoss_engine::source::cache::{file_key, Root, CHUNK_BYTES};
use gptoss_engine::source::{ByteSource, HttpSource, ModelCache, RetryPolicy};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `(method, path, range)` of one request.
type Request = (String, String, Option<(u64, u64)>);

/// What the server serves and what it saw.
#[derive(Default)]
struct ServerState {
    files: HashMap<String, Arc<[u8]>>,
    etag: String,
    requests: Vec<Request>,
    /// Body bytes sent for ranged GETs.
    body_bytes: u64,
    /// Body bytes it may still send; past them it closes the connection mid-body and answers nothing more.
    budget: Option<u64>,
}

struct Server {
    base: String,
    state: Arc<Mutex<ServerState>>,
}

impl Server {
    fn start(files: &[(&str, Arc<[u8]>)]) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(ServerState {
            files: files.iter().map(|(n, b)| (n.to_string(), b.clone())).collect(),
            etag: "\"v1\"".into(),
            ..ServerState::default()
        }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().take(10_000) {
                let Ok(conn) = conn else { continue };
                let state = shared.clone();
                // A client that hangs up mid-answer is expected (a cancelled read).
                std::thread::spawn(move || drop(serve(conn, &state)));
            }
        });
        Server { base, state }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    fn take_requests(&self) -> Vec<Request> {
        std::mem::take(&mut self.state.lock().unwrap().requests)
    }

    fn take_body_bytes(&self) -> u64 {
        std::mem::take(&mut self.state.lock().unwrap().body_bytes)
    }
}

fn serve(conn: TcpStream, state: &Mutex<ServerState>) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or_default().to_string();
    let path = words.next().unwrap_or("/").trim_start_matches('/').to_string();
    let mut range = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("range: bytes=") {
            let (a, b) = v.trim().split_once('-').unwrap();
            range = Some((a.parse::<u64>().unwrap(), b.parse::<u64>().unwrap()));
        }
    }
    let (file, etag, budget) = {
        let mut s = state.lock().unwrap();
        s.requests.push((method.clone(), path.clone(), range));
        (s.files.get(&path).cloned(), s.etag.clone(), s.budget)
    };
    if budget == Some(0) {
        return Ok(());
    }
    let Some(file) = file else {
        return out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    };
    let common = format!("ETag: {etag}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n");
    let (a, b) = match (method.as_str(), range) {
        ("HEAD", _) => {
            let head = format!("HTTP/1.1 200 OK\r\n{common}Content-Length: {}\r\n\r\n", file.len());
            return out.write_all(head.as_bytes());
        }
        (_, Some(r)) => r,
        (_, None) => panic!("the cache asked for a whole file without a range"),
    };
    let body = &file[a as usize..=b as usize];
    let head = format!(
        "HTTP/1.1 206 Partial Content\r\n{common}Content-Range: bytes {a}-{b}/{}\r\nContent-Length: {}\r\n\r\n",
        file.len(),
        body.len()
    );
    out.write_all(head.as_bytes())?;
    let sent = {
        let mut s = state.lock().unwrap();
        let sent = s.budget.map_or(body.len() as u64, |left| left.min(body.len() as u64));
        s.budget = s.budget.map(|left| left - sent);
        s.body_bytes += sent;
        sent as usize
    };
    out.write_all(&body[..sent])
}

/// A fresh folder for one test's cache.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gptoss-cache-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `n` bytes that differ from chunk to chunk.
fn pattern(n: usize) -> Arc<[u8]> {
    (0..n).map(|i| (i as u64).wrapping_mul(2_654_435_761).rotate_right(13) as u8).collect::<Vec<u8>>().into()
}

fn no_retry(url: String) -> ByteSource {
    ByteSource::Http(HttpSource::new(url).with_retry(RetryPolicy { attempts: 1, first_delay_ms: 1, max_delay_ms: 1 }))
}

/// Reads the whole source in `piece`-byte reads, four in flight, as the tensor streamer does.
fn read_all(source: &ByteSource, piece: u64) -> gptoss_engine::Result<Vec<u8>> {
    use futures::StreamExt;
    pollster::block_on(async {
        let len = source.len().await?;
        let reads = (0..len.div_ceil(piece)).map(|i| source.read(i * piece, piece.min(len - i * piece)));
        let pieces: Vec<_> = futures::stream::iter(reads).buffered(4).collect().await;
        Ok(pieces.into_iter().collect::<gptoss_engine::Result<Vec<_>>>()?.concat())
    })
}

const FILE_LEN: usize = 2 * CHUNK_BYTES as usize + 123_457;

#[test]
fn a_second_load_reads_the_disk_and_asks_the_server_nothing_but_head() {
    let bytes = pattern(FILE_LEN);
    let server = Server::start(&[("m.gguf", bytes.clone())]);
    let dir = temp_dir("second");
    let cache = ModelCache::new(Root::new(&dir));
    let first = cache.wrap(ByteSource::http(server.url("m.gguf")));
    // Reads of 1.5 MiB, four at a time: chunks are shared between reads, yet each is fetched once.
    assert_eq!(&read_all(&first, 3 << 19).unwrap()[..], &bytes[..]);
    assert_eq!(server.take_body_bytes(), FILE_LEN as u64, "every byte fetched exactly once");
    let traffic = cache.traffic();
    assert_eq!((traffic.network_bytes, traffic.cache_bytes), (FILE_LEN as u64, 0));
    server.take_requests();

    // A new process: a new cache on the same folder.
    let cache = ModelCache::new(Root::new(&dir));
    let second = cache.wrap(ByteSource::http(server.url("m.gguf")));
    assert_eq!(&read_all(&second, 1 << 20).unwrap()[..], &bytes[..]);
    let requests = server.take_requests();
    assert!(requests.iter().all(|(method, _, range)| method == "HEAD" && range.is_none()), "{requests:?}");
    assert_eq!(requests.len(), 1);
    assert_eq!(cache.traffic().cache_bytes, FILE_LEN as u64);
    assert!(cache.take_notes().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_interrupted_load_resumes_with_only_the_missing_chunks() {
    let bytes = pattern(FILE_LEN);
    let server = Server::start(&[("m.gguf", bytes.clone())]);
    let dir = temp_dir("resume");
    // The connection drops 1.5 chunks into the file, and the server answers nothing after that.
    server.state.lock().unwrap().budget = Some(CHUNK_BYTES * 3 / 2);
    let cache = ModelCache::new(Root::new(&dir));
    let err = read_all(&cache.wrap(no_retry(server.url("m.gguf"))), 1 << 20).unwrap_err();
    assert!(err.to_string().contains("m.gguf"), "{err}");
    server.state.lock().unwrap().budget = None;
    let sent_before = server.take_body_bytes();
    assert_eq!(sent_before, CHUNK_BYTES * 3 / 2);
    server.take_requests();

    let cache = ModelCache::new(Root::new(&dir));
    let source = cache.wrap(ByteSource::http(server.url("m.gguf")));
    assert_eq!(&read_all(&source, 1 << 20).unwrap()[..], &bytes[..]);
    // Chunk 0 arrived whole before the drop; chunks 1 and 2 are all that is fetched again.
    assert_eq!(server.take_body_bytes(), FILE_LEN as u64 - CHUNK_BYTES);
    let ranges: Vec<_> = server.take_requests().into_iter().filter_map(|(_, _, r)| r).collect();
    assert!(ranges.iter().all(|&(a, _)| a >= CHUNK_BYTES), "{ranges:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_chunk_is_named_and_fetched_again_alone() {
    let bytes = pattern(FILE_LEN);
    let server = Server::start(&[("m.gguf", bytes.clone())]);
    let dir = temp_dir("corrupt");
    read_all(&ModelCache::new(Root::new(&dir)).wrap(ByteSource::http(server.url("m.gguf"))), 1 << 20).unwrap();
    server.take_body_bytes();
    let data = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "gguf"))
        .unwrap();
    let mut on_disk = std::fs::read(&data).unwrap();
    on_disk[CHUNK_BYTES as usize + 77] ^= 0x40;
    std::fs::write(&data, &on_disk).unwrap();

    let cache = ModelCache::new(Root::new(&dir));
    let source = cache.wrap(ByteSource::http(server.url("m.gguf")));
    assert_eq!(&read_all(&source, 1 << 20).unwrap()[..], &bytes[..]);
    assert_eq!(server.take_body_bytes(), CHUNK_BYTES, "only the bad chunk is fetched again");
    let notes = cache.take_notes();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("m.gguf") && notes[0].contains("chunk 1") && notes[0].contains("corrupt"), "{notes:?}");
    assert_eq!(cache.traffic().repaired_chunks, 1);
    // Repaired on disk: the next load fetches nothing.
    let again = ModelCache::new(Root::new(&dir));
    read_all(&again.wrap(ByteSource::http(server.url("m.gguf"))), 1 << 20).unwrap();
    assert_eq!(server.take_body_bytes(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_changed_etag_discards_the_copy_and_an_unreachable_server_keeps_it() {
    let bytes = pattern(FILE_LEN);
    let server = Server::start(&[("m.gguf", bytes.clone())]);
    let dir = temp_dir("etag");
    read_all(&ModelCache::new(Root::new(&dir)).wrap(ByteSource::http(server.url("m.gguf"))), 1 << 20).unwrap();
    server.take_body_bytes();
    server.state.lock().unwrap().etag = "\"v2\"".into();
    let cache = ModelCache::new(Root::new(&dir));
    read_all(&cache.wrap(ByteSource::http(server.url("m.gguf"))), 1 << 20).unwrap();
    assert_eq!(server.take_body_bytes(), FILE_LEN as u64);
    let notes = cache.take_notes();
    assert!(notes.iter().any(|n| n.contains("stale") && n.contains("ETag changed")), "{notes:?}");

    // Offline: the complete copy is used, and the note says the server could not be asked.
    server.state.lock().unwrap().budget = Some(0);
    let cache = ModelCache::new(Root::new(&dir));
    assert_eq!(&read_all(&cache.wrap(no_retry(server.url("m.gguf"))), 1 << 20).unwrap()[..], &bytes[..]);
    let notes = cache.take_notes();
    assert!(notes.iter().any(|n| n.contains("could not say whether the cached copy is current")), "{notes:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_split_model_is_one_listed_entry_and_deleting_it_frees_its_files() {
    let (a, b) = (pattern(CHUNK_BYTES as usize + 10), pattern(300));
    let first = "s-00001-of-00002.gguf";
    let server = Server::start(&[(first, a.clone()), ("s-00002-of-00002.gguf", b.clone())]);
    let dir = temp_dir("split");
    let cache = ModelCache::new(Root::new(&dir));
    let source = cache.wrap(ByteSource::http(server.url(first)));
    let sibling = source.sibling("s-00002-of-00002.gguf").unwrap();
    pollster::block_on(source.read(0, 10)).unwrap();
    read_all(&sibling, 100).unwrap();
    let list = pollster::block_on(cache.list()).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0].model, server.url(first));
    assert_eq!((list[0].files, list[0].bytes), (2, (a.len() + b.len()) as u64));
    // Chunk 0 of the first file and the whole second one.
    assert_eq!(list[0].cached_bytes, CHUNK_BYTES + b.len() as u64);
    // Held open by a load: refused, named.
    let refused = pollster::block_on(cache.delete(Some(&list[0].model))).unwrap_err();
    assert!(refused.to_string().contains("in use"), "{refused}");
    drop((source, sibling));
    pollster::block_on(cache.delete(Some(&list[0].model))).unwrap();
    assert!(pollster::block_on(cache.list()).unwrap().is_empty());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_gguf_model_streams_through_the_cache_and_reloads_from_it() {
    let bytes: Arc<[u8]> = support::tiny_bytes().into();
    let server = Server::start(&[("tiny.gguf", bytes.clone())]);
    let dir = temp_dir("gguf");
    let load = |cache: &ModelCache| {
        pollster::block_on(async {
            let model = GgufModel::open(cache.wrap(ByteSource::http(server.url("tiny.gguf"))), &mut NoEvents).await?;
            let mut data = Vec::new();
            let keep = |c: gptoss_engine::gguf::TensorChunk<'_>| {
                data.extend_from_slice(c.data);
                Ok(())
            };
            model.stream_tensors(|_| true, StreamOptions::default(), keep, &mut NoEvents).await?;
            Ok::<_, gptoss_engine::Error>(data)
        })
        .unwrap()
    };
    let from_network = load(&ModelCache::new(Root::new(&dir)));
    server.take_requests();
    let from_disk = load(&ModelCache::new(Root::new(&dir)));
    assert_eq!(from_network, from_disk);
    assert!(server.take_requests().iter().all(|(m, _, _)| m == "HEAD"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unaligned_reads_of_two_chunks_four_in_flight_fetch_each_chunk_once() {
    // The tensor streamer's pattern: 8 MiB reads (two chunks) from the tensor data's unaligned start.
    let len = 10 * CHUNK_BYTES as usize + 77_777;
    let bytes = pattern(len);
    let server = Server::start(&[("m.gguf", bytes.clone())]);
    let dir = temp_dir("unaligned");
    let cache = ModelCache::new(Root::new(&dir));
    let source = cache.wrap(ByteSource::http(server.url("m.gguf")));
    let start = 3 * CHUNK_BYTES + 400_000;
    let got = pollster::block_on(async {
        use futures::StreamExt;
        let head = source.read(0, start).await?;
        let piece = 2 * CHUNK_BYTES;
        let n = (len as u64 - start).div_ceil(piece);
        let reads = (0..n).map(|i| {
            let at = start + i * piece;
            source.read(at, piece.min(len as u64 - at))
        });
        let pieces: Vec<_> = futures::stream::iter(reads).buffered(4).collect().await;
        let mut all = head;
        for p in pieces {
            all.extend(p?);
        }
        Ok::<_, gptoss_engine::Error>(all)
    })
    .unwrap();
    assert_eq!(&got[..], &bytes[..]);
    let ranges: Vec<_> = server.take_requests().into_iter().filter_map(|(_, _, r)| r).collect();
    assert_eq!(server.take_body_bytes(), len as u64, "every byte fetched exactly once: {ranges:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A picked file's last-modified time (ms), as the browser's `File` gives it.
const PICKED_AT_MS: f64 = 1_718_000_000_123.0;

#[test]
fn a_picked_file_is_cached_as_it_is_read_and_its_copy_alone_reads_it_again() {
    let bytes = pattern(FILE_LEN);
    let dir = temp_dir("picked");
    let cache = ModelCache::new(Root::new(&dir));
    let picked = cache.wrap_file(ByteSource::memory("m:odel.gguf", bytes.clone()), FILE_LEN as u64, PICKED_AT_MS);
    assert_eq!((picked.name(), picked.file_name()), ("m:odel.gguf".to_string(), "m:odel.gguf".to_string()));
    assert_eq!(&read_all(&picked, 3 << 19).unwrap()[..], &bytes[..]);
    let traffic = cache.traffic();
    assert_eq!((traffic.file_bytes, traffic.network_bytes, traffic.cache_bytes), (FILE_LEN as u64, 0, 0));
    let key = format!("file:m:odel.gguf:{FILE_LEN}:1718000000123");
    assert_eq!(file_key("m:odel.gguf", FILE_LEN as u64, PICKED_AT_MS), key);
    let list = pollster::block_on(cache.list()).unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((&list[0].model, list[0].bytes, list[0].cached_bytes), (&key, FILE_LEN as u64, FILE_LEN as u64));
    drop(picked);

    // A new page: the model chosen in the cache panel, with no file picked.
    let cache = ModelCache::new(Root::new(&dir));
    let copy = cache.cached(&key);
    assert_eq!(copy.name(), "m:odel.gguf");
    assert_eq!(&read_all(&copy, 1 << 20).unwrap()[..], &bytes[..]);
    let traffic = cache.traffic();
    assert_eq!((traffic.cache_bytes, traffic.file_bytes, traffic.network_bytes), (FILE_LEN as u64, 0, 0));
    assert!(cache.take_notes().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_picked_files_copy_refuses_a_chunk_it_lacks_naming_the_file_and_the_bytes() {
    let bytes = pattern(FILE_LEN);
    let dir = temp_dir("picked-part");
    let cache = ModelCache::new(Root::new(&dir));
    // A load of the picked file stopped after its first chunk.
    let picked = cache.wrap_file(ByteSource::memory("m.gguf", bytes.clone()), FILE_LEN as u64, PICKED_AT_MS);
    pollster::block_on(picked.read(0, CHUNK_BYTES)).unwrap();
    drop(picked);

    let cache = ModelCache::new(Root::new(&dir));
    let copy = cache.cached(&file_key("m.gguf", FILE_LEN as u64, PICKED_AT_MS));
    assert_eq!(&pollster::block_on(copy.read(100, 1000)).unwrap()[..], &bytes[100..1100]);
    let err = pollster::block_on(copy.read(CHUNK_BYTES + 5, 10)).unwrap_err().to_string();
    let (a, b) = (CHUNK_BYTES, 2 * CHUNK_BYTES);
    assert!(err.contains(&format!("m.gguf: bytes {a}..{b} are not in the model cache")), "{err}");
    assert!(err.contains("pick the file again"), "{err}");

    let gone = cache.cached(&file_key("other.gguf", 5, PICKED_AT_MS));
    let err = pollster::block_on(gone.len()).unwrap_err().to_string();
    assert!(err.contains("other.gguf: not in the cache"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_urls_copy_chosen_by_key_asks_the_server_nothing_while_complete_and_fetches_only_what_it_lacks() {
    let bytes = pattern(FILE_LEN);
    let server = Server::start(&[("m.gguf", bytes.clone())]);
    let dir = temp_dir("url-copy");
    let url = server.url("m.gguf");
    read_all(&ModelCache::new(Root::new(&dir)).wrap(ByteSource::http(url.clone())), 1 << 20).unwrap();
    server.take_requests();
    server.take_body_bytes();
    let copy = ModelCache::new(Root::new(&dir)).cached(&url);
    assert_eq!(&read_all(&copy, 1 << 20).unwrap()[..], &bytes[..]);
    assert_eq!(server.take_requests(), Vec::<Request>::new(), "not even a HEAD");
    drop(copy);

    // A copy cut off after 1.5 chunks: its URL is asked (HEAD) and only the chunks it lacks are fetched.
    std::fs::remove_dir_all(&dir).unwrap();
    server.state.lock().unwrap().budget = Some(CHUNK_BYTES * 3 / 2);
    read_all(&ModelCache::new(Root::new(&dir)).wrap(no_retry(url.clone())), 1 << 20).unwrap_err();
    server.state.lock().unwrap().budget = None;
    server.take_requests();
    server.take_body_bytes();
    let cache = ModelCache::new(Root::new(&dir));
    assert_eq!(&read_all(&cache.cached(&url), 1 << 20).unwrap()[..], &bytes[..]);
    assert_eq!(server.take_body_bytes(), FILE_LEN as u64 - CHUNK_BYTES);
    let requests = server.take_requests();
    assert_eq!(requests.iter().filter(|(m, _, _)| m == "HEAD").count(), 1, "{requests:?}");
    assert!(requests.iter().filter_map(|(_, _, r)| *r).all(|(a, _)| a >= CHUNK_BYTES), "{requests:?}");
    assert_eq!(cache.traffic().cache_bytes, CHUNK_BYTES);
    std::fs::remove_dir_all(&dir).unwrap();
}
