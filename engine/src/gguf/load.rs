//! Loading a GGUF model from byte sources: the header is fetched a chunk at a time until the parser is satisfied,
//! split models are opened shard by shard and indexed by tensor name, and tensor data is streamed to a consumer in
//! bounded chunks with a few reads in flight. Nothing here ever holds the whole file.

use super::*;
use crate::events::{Event, EventSink, Stage, StageTimer};
use crate::source::ByteSource;
use futures::StreamExt;
use std::collections::HashMap;
use web_time::Instant;

/// First header read. Small models fit; gpt-oss-20b's header (about 12 MB) takes a few more, each twice as large.
pub const FIRST_HEADER_CHUNK: u64 = 1 << 20;
/// A header larger than this is refused before it is fetched (real ones are about 12 MB).
pub const MAX_HEADER_BYTES: u64 = 256 << 20;

/// Fetches and parses the header of one file: a first chunk, then as much as the parser asks for, growing
/// geometrically so a 12 MB header takes a handful of requests. Emits `fetch_header` stage events and `gguf_parse`.
pub async fn read_header(source: &ByteSource, events: &mut dyn EventSink) -> Result<GgufHeader> {
    let stage = StageTimer::start(Stage::FetchHeader, events);
    let mut fetched = 0u64;
    let result = fetch_header(source, &stage, events, &mut fetched).await;
    for text in source.take_retries() {
        events.emit(Event::Notice { text });
    }
    let header = stage.end(events, result, fetched)?;
    if source.server_ignores_ranges() {
        events.emit(Event::Notice {
            text: format!(
                "{}: the server answers range requests with the whole file (no range support): the model is read \
                 in one pass, in file order; expert paging and resuming a cut-off load need a server with ranges",
                source.name()
            ),
        });
    }
    events.emit(Event::GgufParse {
        file: source.name(),
        version: header.version,
        tensor_count: header.tensors.len() as u64,
        metadata_count: header.metadata.len() as u64,
        data_offset: header.data_offset,
    });
    Ok(header)
}

async fn fetch_header(
    source: &ByteSource,
    stage: &StageTimer,
    events: &mut dyn EventSink,
    fetched: &mut u64,
) -> Result<GgufHeader> {
    let name = source.name();
    let file_len = source.len().await?;
    let mut bytes = source.read(0, FIRST_HEADER_CHUNK.min(file_len)).await?;
    loop {
        *fetched = bytes.len() as u64;
        stage.progress(events, *fetched, None);
        let at_least = match parse_header(&bytes, Some(file_len), &name)? {
            ParseOutcome::Complete(header) => return Ok(header),
            ParseOutcome::NeedMore { at_least } => at_least,
        };
        if at_least > MAX_HEADER_BYTES {
            return Err(Error::Gguf {
                file: name,
                what: format!("header needs at least {at_least} bytes, over the limit of {MAX_HEADER_BYTES}"),
            });
        }
        // The parser knows the file length, so it only asks for bytes that exist; the check keeps the loop finite
        // even if that ever failed.
        let want = at_least.max(*fetched * 2).min(file_len).min(MAX_HEADER_BYTES);
        if want <= *fetched {
            return Err(Error::Gguf {
                file: name,
                what: format!("header needs at least {at_least} bytes but the file has {file_len}"),
            });
        }
        let more = source.read(*fetched, want - *fetched).await?;
        bytes.extend_from_slice(&more);
    }
}

/// One file of a (possibly split) model.
#[derive(Debug)]
pub struct Shard {
    pub source: ByteSource,
    pub header: GgufHeader,
    pub file_len: u64,
}

/// Where a tensor's bytes are: which shard, and the absolute file offset.
#[derive(Debug, Clone, Copy)]
pub struct TensorRef<'a> {
    pub shard: usize,
    pub info: &'a TensorInfo,
    pub file_offset: u64,
}

/// A model opened from one file or from all shards of a split one, every tensor indexed by name.
#[derive(Debug)]
pub struct GgufModel {
    shards: Vec<Shard>,
    index: HashMap<String, (usize, usize)>,
}

/// `(prefix, shard number from 1, shard count)` of a llama.cpp split name `<prefix>-00001-of-00003.gguf`
/// (`llama_split_path` formats `%s-%05d-of-%05d.gguf`).
pub fn parse_split_name(file_name: &str) -> Option<(&str, u32, u32)> {
    let stem = file_name.strip_suffix(".gguf")?;
    let cut = stem.len().checked_sub("-00001-of-00003".len())?;
    let (prefix, tail) = (stem.get(..cut)?, stem.get(cut..)?);
    let (no, count) = tail.strip_prefix('-')?.split_once("-of-")?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(no) || !digits(count) {
        return None;
    }
    Some((prefix, no.parse().ok()?, count.parse().ok()?))
}

/// The file name of shard `no` (from 1) of `count`.
pub fn split_file_name(prefix: &str, no: u32, count: u32) -> String {
    format!("{prefix}-{no:05}-of-{count:05}.gguf")
}

/// `split.no` (0-based) and `split.count` of a header; a file without them is shard 0 of 1.
fn split_keys(header: &GgufHeader, file: &str) -> Result<(u64, u64)> {
    let get = |key: &str, default: u64| match header.get(key) {
        None => Ok(default),
        Some(v) => v.as_u64().ok_or_else(|| Error::Gguf { file: file.into(), what: format!("`{key}` is {v:?}") }),
    };
    Ok((get("split.no", 0)?, get("split.count", 1)?))
}

impl GgufModel {
    /// Opens a model from its file, or from the first shard of a split model, whose siblings are named after it
    /// (`…-00001-of-0000N.gguf` → `…-0000k-of-0000N.gguf`) and fetched from the same place.
    pub async fn open(first: ByteSource, events: &mut dyn EventSink) -> Result<Self> {
        let header = read_header(&first, events).await?;
        let name = first.name();
        let (no, count) = split_keys(&header, &name)?;
        let file_len = first.len().await?;
        let mut shards = vec![Shard { source: first, header, file_len }];
        if count > 1 || no != 0 {
            let file_name = shards[0].source.file_name();
            let prefix = match parse_split_name(&file_name) {
                Some((prefix, 1, n)) if no == 0 && n as u64 == count => prefix.to_string(),
                _ => {
                    return Err(Error::Gguf {
                        file: name,
                        what: format!(
                            "is shard {} of a {count}-file split model: open the first shard, named \
                             `<prefix>-00001-of-{count:05}.gguf`",
                            no + 1
                        ),
                    })
                }
            };
            for k in 2..=count as u32 {
                let sibling_name = split_file_name(&prefix, k, count as u32);
                let source = shards[0].source.sibling(&sibling_name).ok_or_else(|| {
                    Error::Usage(format!("{name} is split into {count} files: pass all of them ({sibling_name} …)"))
                })?;
                let header = read_header(&source, events).await?;
                let file_len = source.len().await?;
                shards.push(Shard { source, header, file_len });
            }
        }
        Self::from_shards(shards)
    }

    /// Opens a model from all of its files given explicitly, in any order (a browser's multi-file pick).
    pub async fn open_shards(sources: Vec<ByteSource>, events: &mut dyn EventSink) -> Result<Self> {
        let mut shards = Vec::with_capacity(sources.len());
        for source in sources {
            let header = read_header(&source, events).await?;
            let file_len = source.len().await?;
            shards.push(Shard { source, header, file_len });
        }
        let mut keyed = Vec::with_capacity(shards.len());
        for shard in shards {
            keyed.push((split_keys(&shard.header, &shard.source.name())?.0, shard));
        }
        keyed.sort_by_key(|(no, _)| *no);
        Self::from_shards(keyed.into_iter().map(|(_, s)| s).collect())
    }

    /// Checks that the shards are exactly 0..count of one model and indexes every tensor by name.
    fn from_shards(shards: Vec<Shard>) -> Result<Self> {
        let first = shards.first().ok_or_else(|| Error::Usage("no model files given".into()))?;
        let first_name = first.source.name();
        let count = split_keys(&first.header, &first_name)?.1;
        if count != shards.len() as u64 {
            return Err(Error::Gguf {
                file: first_name,
                what: format!("split.count is {count} but {} files were given", shards.len()),
            });
        }
        let mut index = HashMap::new();
        for (i, shard) in shards.iter().enumerate() {
            let name = shard.source.name();
            let (no, n) = split_keys(&shard.header, &name)?;
            if no != i as u64 || n != count {
                return Err(Error::Gguf {
                    file: name,
                    what: format!("has split.no {no} of split.count {n}, expected shard {i} of {count}"),
                });
            }
            for (j, t) in shard.header.tensors.iter().enumerate() {
                if let Some((other, _)) = index.insert(t.name.clone(), (i, j)) {
                    return Err(Error::Gguf {
                        file: name,
                        what: format!("tensor `{}` is also in {}", t.name, shards[other].source.name()),
                    });
                }
            }
        }
        if let Some(v) = first.header.get("split.tensors.count") {
            let expected = v.as_u64();
            if expected != Some(index.len() as u64) {
                return Err(Error::Gguf {
                    file: first_name,
                    what: format!("split.tensors.count is {v:?} but the shards hold {} tensors", index.len()),
                });
            }
        }
        Ok(GgufModel { shards, index })
    }

    pub fn shards(&self) -> &[Shard] {
        &self.shards
    }

    /// The first file's header: it carries the model's metadata (later shards may hold only the split keys).
    pub fn header(&self) -> &GgufHeader {
        &self.shards[0].header
    }

    fn tensor_ref(&self, shard: usize, i: usize) -> TensorRef<'_> {
        let s = &self.shards[shard];
        let info = &s.header.tensors[i];
        TensorRef { shard, info, file_offset: s.header.data_offset + info.offset }
    }

    pub fn tensor(&self, name: &str) -> Option<TensorRef<'_>> {
        self.index.get(name).map(|&(shard, i)| self.tensor_ref(shard, i))
    }

    /// Every tensor in file order (shard by shard).
    pub fn tensors(&self) -> impl Iterator<Item = TensorRef<'_>> {
        self.shards
            .iter()
            .enumerate()
            .flat_map(move |(s, shard)| (0..shard.header.tensors.len()).map(move |i| self.tensor_ref(s, i)))
    }

    /// Total tensor bytes (padding excluded).
    pub fn tensor_bytes(&self) -> u64 {
        self.tensors().map(|t| t.info.n_bytes).sum()
    }

    /// One tensor's bytes in a single buffer (small tensors, tests); large ones go through
    /// [`GgufModel::stream_tensors`].
    pub async fn read_tensor(&self, name: &str) -> Result<Vec<u8>> {
        let t = self.tensor(name).ok_or_else(|| Error::Model(format!("no tensor `{name}` in the model")))?;
        self.shards[t.shard].source.read(t.file_offset, t.info.n_bytes).await
    }

    /// Streams the data of every tensor `select` accepts to `consume`, in file order, in chunks of at most
    /// `options.chunk_bytes`. Adjacent selected tensors share reads (their padding is skipped); up to
    /// `options.concurrency` reads are in flight, so memory stays near `(concurrency + 1) × chunk_bytes`.
    /// Emits `fetch_tensors` stage events and one `tensor_fetched` per tensor; returns where the time went.
    pub async fn stream_tensors(
        &self,
        select: impl Fn(&TensorInfo) -> bool,
        options: StreamOptions,
        mut consume: impl FnMut(TensorChunk<'_>) -> Result<()>,
        events: &mut dyn EventSink,
    ) -> Result<StreamTimes> {
        let selected: Vec<TensorRef> = self.tensors().filter(|t| select(t.info)).collect();
        let stage = StageTimer::start(Stage::FetchTensors, events);
        let mut times = StreamTimes::default();
        let result = self.stream_selected(&selected, options, &mut consume, &stage, events, &mut times).await;
        stage.end(events, result.map(|()| times), times.bytes)
    }

    async fn stream_selected(
        &self,
        selected: &[TensorRef<'_>],
        options: StreamOptions,
        consume: &mut dyn FnMut(TensorChunk<'_>) -> Result<()>,
        stage: &StageTimer,
        events: &mut dyn EventSink,
        times: &mut StreamTimes,
    ) -> Result<()> {
        let chunk_bytes = options.chunk_bytes.max(1);
        let reads = plan_reads(selected, chunk_bytes, |s| self.shards[s].header.alignment);
        let total: u64 = selected.iter().map(|t| t.info.n_bytes).sum();
        let in_order = self.shards.iter().any(|s| s.source.server_ignores_ranges());
        let concurrency = match in_order {
            true => options.concurrency.min(StreamOptions::IN_ORDER_READS),
            false => options.concurrency,
        };
        let mut fetches = futures::stream::iter(reads)
            .map(|read| async move {
                let started = Instant::now();
                let bytes = self.shards[read.shard].source.read(read.start, read.len).await;
                (read, started, bytes)
            })
            .buffered(concurrency.max(1));
        // When each tensor's first read started, for its `tensor_fetched` duration.
        let mut first_started: Option<Instant> = None;
        loop {
            let waited = Instant::now();
            let Some((read, started, bytes)) = fetches.next().await else { break };
            times.wait_s += waited.elapsed().as_secs_f64();
            let consumed = Instant::now();
            for text in self.shards[read.shard].source.take_retries() {
                events.emit(Event::Notice { text });
            }
            let bytes = bytes?;
            for piece in &read.pieces {
                let t = &selected[piece.tensor];
                if piece.offset == 0 {
                    first_started = Some(started);
                }
                let data = &bytes[piece.at as usize..(piece.at + piece.len) as usize];
                consume(TensorChunk { tensor: t.info, shard: t.shard, offset: piece.offset, data })?;
                times.bytes += piece.len;
                if piece.offset + piece.len == t.info.n_bytes {
                    events.emit(Event::TensorFetched {
                        name: t.info.name.clone(),
                        ggml_type: t.info.ggml_type.name().into(),
                        shape: t.info.dims.clone(),
                        bytes: t.info.n_bytes,
                        duration_ms: first_started.unwrap_or(started).elapsed().as_secs_f64() * 1e3,
                    });
                }
            }
            times.consume_s += consumed.elapsed().as_secs_f64();
            stage.progress(events, times.bytes, Some(total));
        }
        Ok(())
    }
}

/// What a stream moved and where its time went, on the thread that drives it: waiting for reads to complete (nothing else to do),
/// and in the consumer (the GPU upload) and the events it emits. Reads in flight overlap both.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct StreamTimes {
    /// Tensor bytes handed to the consumer.
    pub bytes: u64,
    pub wait_s: f64,
    pub consume_s: f64,
}

/// How tensor data is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamOptions {
    /// Reads in flight at once.
    pub concurrency: usize,
    /// Largest read, and so the largest chunk handed to the consumer.
    pub chunk_bytes: u64,
}

impl StreamOptions {
    /// What a load uses. Chrome on the H200 (bench mode's `reads`, with the fetch workers): 4 reads of 8 MiB in flight
    /// streamed 0.93 GB/s, 8 of 16 MiB 1.12 and 16 of 8 MiB 1.23 (natively the file or the server is the limit).
    pub const LOAD: StreamOptions = StreamOptions { concurrency: 16, chunk_bytes: 8 << 20 };

    /// Reads in flight at most from a server that ignores Range: its one body is read in file order, so more only
    /// make it keep more of the body behind the furthest read.
    pub const IN_ORDER_READS: usize = 4;
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions::LOAD
    }
}

/// `CONCURRENCYxMIB`, e.g. `4x8`: reads in flight, and the largest read in MiB (how `bench --reads` names them).
impl std::str::FromStr for StreamOptions {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let bad = || format!("`{s}` is not reads in flight x MiB per read, e.g. 4x8");
        let (n, mib) = s.trim().split_once('x').ok_or_else(bad)?;
        let concurrency: usize = n.trim().parse().map_err(|_| bad())?;
        let mib: u64 = mib.trim().parse().map_err(|_| bad())?;
        if concurrency == 0 || mib == 0 || mib > 1024 {
            return Err(format!("`{s}`: reads in flight and MiB per read must be 1 or more (at most 1024 MiB)"));
        }
        Ok(StreamOptions { concurrency, chunk_bytes: mib << 20 })
    }
}

/// A piece of one tensor's data: `data` is bytes `[offset, offset + data.len())` of the tensor.
#[derive(Debug)]
pub struct TensorChunk<'a> {
    pub tensor: &'a TensorInfo,
    pub shard: usize,
    pub offset: u64,
    pub data: &'a [u8],
}

impl TensorChunk<'_> {
    /// Whether this chunk completes its tensor.
    pub fn is_last(&self) -> bool {
        self.offset + self.data.len() as u64 == self.tensor.n_bytes
    }
}

/// One ranged read and the tensor pieces inside it.
#[derive(Debug)]
struct Read {
    shard: usize,
    start: u64,
    len: u64,
    pieces: Vec<Piece>,
}

#[derive(Debug)]
struct Piece {
    /// Index into the selected tensors.
    tensor: usize,
    /// Offset inside the tensor.
    offset: u64,
    /// Offset inside the read.
    at: u64,
    len: u64,
}

/// Cuts the selected tensors (in file order) into reads of at most `chunk_bytes`; a tensor that starts right after
/// the previous one (only alignment padding between) continues the same read.
fn plan_reads(selected: &[TensorRef], chunk_bytes: u64, alignment: impl Fn(usize) -> u64) -> Vec<Read> {
    let mut reads: Vec<Read> = Vec::new();
    for (ti, t) in selected.iter().enumerate() {
        let mut pos = 0u64;
        loop {
            let abs = t.file_offset + pos;
            let remaining = t.info.n_bytes - pos;
            // Bytes the last read can still take if this piece continues it (same shard, only padding between).
            let room = reads.last().and_then(|r| {
                let end = r.start + r.len;
                let continues = r.shard == t.shard && abs >= end && abs - end < alignment(t.shard);
                (continues && abs - r.start < chunk_bytes).then(|| chunk_bytes - (abs - r.start))
            });
            let take = remaining.min(room.unwrap_or(chunk_bytes));
            match reads.last_mut() {
                Some(r) if room.is_some() => {
                    r.pieces.push(Piece { tensor: ti, offset: pos, at: abs - r.start, len: take });
                    r.len = abs + take - r.start;
                }
                _ => reads.push(Read {
                    shard: t.shard,
                    start: abs,
                    len: take,
                    pieces: vec![Piece { tensor: ti, offset: pos, at: 0, len: take }],
                }),
            }
            pos += take;
            if pos >= t.info.n_bytes {
                break;
            }
        }
    }
    reads
}
