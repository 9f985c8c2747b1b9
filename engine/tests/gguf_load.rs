//! Loading through byte sources: incremental header fetch, split models, chunked tensor streaming and telemetry,
//! all checked against the fixture's own bytes.

mod support;

use gptoss_engine::events::{Event, NoEvents, Stage};
use gptoss_engine::gguf::{
    parse_split_name, read_header, split_file_name, GgufHeader, GgufModel, GgufWriter, MetaValue, StreamOptions,
    FIRST_HEADER_CHUNK,
};
use gptoss_engine::source::ByteSource;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

fn fixture_bytes() -> Arc<[u8]> {
    support::tiny_bytes().into()
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gptoss-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn header_is_fetched_incrementally_with_geometric_growth() {
    let bytes = fixture_bytes();
    let expected = support::whole_header(&bytes);
    assert!(expected.data_offset > 4 * FIRST_HEADER_CHUNK, "the fixture's header must need several fetches");
    let mut log = Vec::new();
    let source = ByteSource::memory("tiny.gguf", bytes.clone());
    let header = pollster::block_on(read_header(&source, &mut |e: Event| log.push(e))).unwrap();
    assert_eq!(header, expected);

    let progress: Vec<u64> = log
        .iter()
        .filter_map(|e| match e {
            Event::StageProgress { stage, bytes, .. } if *stage == Stage::FetchHeader => Some(*bytes),
            _ => None,
        })
        .collect();
    assert_eq!(progress[0], FIRST_HEADER_CHUNK);
    // Each fetch at least doubles what is held, so a 12 MB header takes log2(12) + 1 fetches, not hundreds.
    for w in progress.windows(2) {
        assert!(w[1] >= 2 * w[0] || w[1] == bytes.len() as u64, "{progress:?}");
    }
    assert!(progress.len() <= 6, "{progress:?}");
    let last = *progress.last().unwrap();
    assert!(last >= expected.data_offset && last < 2 * expected.data_offset, "{last}");
    assert!(matches!(&log[0], Event::StageStarted { stage } if *stage == Stage::FetchHeader));
    assert!(log.iter().any(|e| matches!(e,
        Event::StageCompleted { stage, bytes, .. } if *stage == Stage::FetchHeader && *bytes == last)));
    assert!(log.iter().any(|e| *e
        == Event::GgufParse {
            file: "tiny.gguf".into(),
            version: 3,
            tensor_count: 79,
            metadata_count: expected.metadata.len() as u64,
            data_offset: expected.data_offset,
        }));
}

#[test]
fn streaming_delivers_every_tensor_in_bounded_chunks() {
    let bytes = fixture_bytes();
    let expected = support::whole_header(&bytes);
    let model =
        pollster::block_on(GgufModel::open(ByteSource::memory("tiny.gguf", bytes.clone()), &mut NoEvents)).unwrap();
    assert_eq!(model.shards().len(), 1);

    let chunk_bytes = 100_000;
    let mut rebuilt: HashMap<String, Vec<u8>> = HashMap::new();
    let mut log = Vec::new();
    pollster::block_on(model.stream_tensors(
        |_| true,
        StreamOptions { concurrency: 3, chunk_bytes },
        |chunk| {
            assert!(chunk.data.len() as u64 <= chunk_bytes);
            let buf = rebuilt.entry(chunk.tensor.name.clone()).or_default();
            assert_eq!(buf.len() as u64, chunk.offset, "chunks of `{}` arrive in order", chunk.tensor.name);
            buf.extend_from_slice(chunk.data);
            assert_eq!(chunk.is_last(), buf.len() as u64 == chunk.tensor.n_bytes);
            Ok(())
        },
        &mut |e: Event| log.push(e),
    ))
    .unwrap();

    assert_eq!(rebuilt.len(), expected.tensors.len());
    for t in &expected.tensors {
        let start = (expected.data_offset + t.offset) as usize;
        assert!(rebuilt[&t.name] == bytes[start..start + t.n_bytes as usize], "bytes of `{}`", t.name);
    }
    let fetched: Vec<&Event> = log.iter().filter(|e| matches!(e, Event::TensorFetched { .. })).collect();
    assert_eq!(fetched.len(), expected.tensors.len());
    let q8 = expected.tensor("blk.0.attn_q.weight").unwrap();
    assert!(
        fetched.iter().any(|e| matches!(e,
        Event::TensorFetched { name, ggml_type, shape, bytes, .. }
            if name == "blk.0.attn_q.weight" && ggml_type == "Q8_0" && shape == &vec![64, 64] && *bytes == q8.n_bytes))
    );
    let total: u64 = expected.tensors.iter().map(|t| t.n_bytes).sum();
    assert!(log.iter().any(|e| matches!(e,
        Event::StageCompleted { stage, bytes, .. } if *stage == Stage::FetchTensors && *bytes == total)));
    assert!(log.iter().any(|e| matches!(e,
        Event::StageProgress { stage, bytes, total_bytes: Some(t) } if *stage == Stage::FetchTensors && *bytes == total && *t == total)));
}

#[test]
fn streaming_a_selection_and_a_failing_consumer() {
    let bytes = fixture_bytes();
    let model =
        pollster::block_on(GgufModel::open(ByteSource::memory("tiny.gguf", bytes.clone()), &mut NoEvents)).unwrap();
    let mut names = Vec::new();
    pollster::block_on(model.stream_tensors(
        |t| t.name.starts_with("blk.1."),
        StreamOptions::default(),
        |chunk| {
            if chunk.is_last() {
                names.push(chunk.tensor.name.clone());
            }
            Ok(())
        },
        &mut NoEvents,
    ))
    .unwrap();
    assert_eq!(names.len(), 19);
    assert!(names.iter().all(|n| n.starts_with("blk.1.")));

    let mut log = Vec::new();
    let err = pollster::block_on(model.stream_tensors(
        |_| true,
        StreamOptions::default(),
        |chunk| match chunk.tensor.name.as_str() {
            "output.weight" => Err(gptoss_engine::Error::Gpu("upload failed".into())),
            _ => Ok(()),
        },
        &mut |e: Event| log.push(e),
    ))
    .unwrap_err();
    assert_eq!(err.to_string(), "gpu: upload failed");
    assert!(log.iter().any(|e| matches!(e,
        Event::StageFailed { stage, error, .. } if *stage == Stage::FetchTensors && error == "gpu: upload failed")));
}

#[test]
fn read_tensor_matches_the_file() {
    let bytes = fixture_bytes();
    let expected = support::whole_header(&bytes);
    let dir = fresh_dir("read-tensor");
    let path = dir.join("tiny.gguf");
    std::fs::write(&path, &bytes[..]).unwrap();
    let model = pollster::block_on(GgufModel::open(ByteSource::file(&path), &mut NoEvents)).unwrap();
    let t = expected.tensor("blk.3.attn_sinks.weight").unwrap();
    let got = pollster::block_on(model.read_tensor("blk.3.attn_sinks.weight")).unwrap();
    let start = (expected.data_offset + t.offset) as usize;
    assert_eq!(got, &bytes[start..start + 16]);
    let r = model.tensor("blk.3.attn_sinks.weight").unwrap();
    assert_eq!(r.file_offset, expected.data_offset + t.offset);
    let err = pollster::block_on(model.read_tensor("nope")).unwrap_err().to_string();
    assert!(err.contains("`nope`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes the fixture as a 3-way split model the way `gguf-split` lays it out: every shard a full GGUF, the first
/// with all metadata plus the split keys, the others with only the split keys.
fn write_split(bytes: &[u8], h: &GgufHeader, dir: &std::path::Path) -> Vec<PathBuf> {
    let groups = [&h.tensors[..30], &h.tensors[30..61], &h.tensors[61..]];
    let mut paths = Vec::new();
    for (no, group) in groups.iter().enumerate() {
        let mut metadata = if no == 0 { h.metadata.clone() } else { vec![] };
        metadata.push(("split.no".into(), MetaValue::U16(no as u16)));
        metadata.push(("split.count".into(), MetaValue::U16(3)));
        metadata.push(("split.tensors.count".into(), MetaValue::I32(h.tensors.len() as i32)));
        let w =
            GgufWriter::new(metadata, group.iter().map(|t| (t.name.clone(), t.dims.clone(), t.ggml_type)).collect())
                .unwrap();
        let path = dir.join(split_file_name("tiny", no as u32 + 1, 3));
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        w.write_to(&mut out, |i, _, buf| {
            let t = &group[i];
            let start = (h.data_offset + t.offset) as usize;
            buf.extend_from_slice(&bytes[start..start + t.n_bytes as usize]);
            Ok(())
        })
        .unwrap();
        paths.push(path);
    }
    paths
}

#[test]
fn split_model_loads_as_one_from_the_first_file() {
    assert_eq!(parse_split_name("gpt-oss-120b-mxfp4-00001-of-00003.gguf"), Some(("gpt-oss-120b-mxfp4", 1, 3)));
    assert_eq!(parse_split_name("a-1-of-3.gguf"), None);
    assert_eq!(parse_split_name("model.gguf"), None);
    assert_eq!(split_file_name("m", 2, 3), "m-00002-of-00003.gguf");

    let bytes = fixture_bytes();
    let h = support::whole_header(&bytes);
    let dir = fresh_dir("split");
    let paths = write_split(&bytes, &h, &dir);

    let mut log = Vec::new();
    let model = pollster::block_on(GgufModel::open(ByteSource::file(&paths[0]), &mut |e: Event| log.push(e))).unwrap();
    assert_eq!(model.shards().len(), 3);
    assert_eq!(log.iter().filter(|e| matches!(e, Event::GgufParse { .. })).count(), 3);
    assert_eq!(model.header().get("general.architecture").and_then(|v| v.as_str()), Some("gpt-oss"));
    assert_eq!(model.tensors().count(), 79);
    for (i, t) in h.tensors.iter().enumerate() {
        let r = model.tensor(&t.name).unwrap();
        assert_eq!(
            r.shard,
            if i < 30 {
                0
            } else if i < 61 {
                1
            } else {
                2
            },
            "`{}`",
            t.name
        );
        assert_eq!(r.file_offset, model.shards()[r.shard].header.data_offset + r.info.offset);
        assert_eq!((&r.info.dims, r.info.ggml_type, r.info.n_bytes), (&t.dims, t.ggml_type, t.n_bytes));
    }
    // Every tensor's bytes, streamed across shards, equal the original file's.
    let options = StreamOptions { concurrency: 2, chunk_bytes: 1 << 20 };
    assert_eq!(support::stream_checked(&model, &h, &bytes, options), 79);

    // The same shards passed explicitly in any order (a browser's multi-file pick).
    let sources: Vec<ByteSource> =
        [2, 0, 1].iter().map(|&i| ByteSource::memory(format!("shard{i}"), std::fs::read(&paths[i]).unwrap())).collect();
    let picked = pollster::block_on(GgufModel::open_shards(sources, &mut NoEvents)).unwrap();
    assert_eq!(picked.shards()[0].source.name(), "shard0");
    assert_eq!(picked.tensor(&h.tensors[70].name).unwrap().shard, 2);

    // Opening a later shard, a missing shard, or an incomplete set is an error naming the file.
    let err = pollster::block_on(GgufModel::open(ByteSource::file(&paths[1]), &mut NoEvents)).unwrap_err().to_string();
    assert!(err.contains("tiny-00002-of-00003.gguf") && err.contains("shard 2 of a 3-file split model"), "{err}");
    std::fs::remove_file(&paths[2]).unwrap();
    let err = pollster::block_on(GgufModel::open(ByteSource::file(&paths[0]), &mut NoEvents)).unwrap_err().to_string();
    assert!(err.contains("tiny-00003-of-00003.gguf"), "{err}");
    let two: Vec<ByteSource> = paths[..2].iter().map(ByteSource::file).collect();
    let err = pollster::block_on(GgufModel::open_shards(two, &mut NoEvents)).unwrap_err().to_string();
    assert!(err.contains("split.count is 3 but 2 files were given"), "{err}");
    // A memory source has no neighbours to fetch.
    let first = ByteSource::memory("tiny-00001-of-00003.gguf", std::fs::read(&paths[0]).unwrap());
    let err = pollster::block_on(GgufModel::open(first, &mut NoEvents)).unwrap_err().to_string();
    assert!(err.contains("pass all of them"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sources_refuse_ranges_past_the_end() {
    let source = ByteSource::memory("m.gguf", vec![1u8, 2, 3]);
    assert_eq!(pollster::block_on(source.read(1, 2)).unwrap(), vec![2, 3]);
    let err = pollster::block_on(source.read(2, 2)).unwrap_err().to_string();
    assert!(err.contains("m.gguf") && err.contains("[2, 4)") && err.contains("3 bytes"), "{err}");
    let err = pollster::block_on(source.read(u64::MAX, 2)).unwrap_err().to_string();
    assert!(err.contains("beyond the end"), "{err}");
    let missing = ByteSource::file("/nonexistent/dir/x.gguf");
    let err = pollster::block_on(missing.len()).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/dir/x.gguf"), "{err}");
}
