//! Hostile input: the checked-in corpus of broken files must each give their exact error, thousands of
//! deterministic mutations and truncations of a small valid file must never panic, and neither may any input of
//! the corpus the coverage-guided fuzzer grew (`engine/fuzz`, replayed here through the same checks).

use gptoss_engine::gguf::{parse_header, GgmlType, GgufWriter, MetaArray, MetaValue, ParseOutcome};
use std::path::PathBuf;

#[path = "support/hostile_header.rs"]
mod hostile_header;
use hostile_header::{check_header, Reached};

fn corpus_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// What the coverage-guided fuzzer grew (`engine/fuzz`).
fn fuzz_corpus_dir() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/parse_header")
}

#[test]
fn every_corpus_file_gives_its_error() {
    let dir = corpus_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} missing: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".gguf").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 30, "corpus has only {} files", names.len());
    for name in &names {
        let file = format!("{name}.gguf");
        let bytes = std::fs::read(dir.join(&file)).unwrap();
        let expected = std::fs::read_to_string(dir.join(format!("{name}.err")))
            .unwrap_or_else(|e| panic!("{name}.err missing: {e}"));
        let expected = format!("{file}: {}", expected.trim_end());
        match parse_header(&bytes, Some(bytes.len() as u64), &file) {
            Err(e) => assert_eq!(e.to_string(), expected),
            Ok(outcome) => panic!("{file} parsed ({outcome:?}); expected: {expected}"),
        }
    }
    // No orphaned expectations.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let n = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = n.strip_suffix(".err") {
            assert!(names.iter().any(|x| x == stem), "{n} has no .gguf");
        }
    }
}

/// A small valid file exercising every value type, nested arrays and several tensor types.
fn seed_file() -> Vec<u8> {
    let metadata = vec![
        ("general.architecture".to_string(), MetaValue::String("gpt-oss".into())),
        ("general.alignment".to_string(), MetaValue::U32(16)),
        ("a.u8".to_string(), MetaValue::U8(7)),
        ("a.i16".to_string(), MetaValue::I16(-3)),
        ("a.f32".to_string(), MetaValue::F32(1.5)),
        ("a.bool".to_string(), MetaValue::Bool(true)),
        ("a.u64".to_string(), MetaValue::U64(1 << 40)),
        ("a.f64".to_string(), MetaValue::F64(-2.0)),
        ("a.strings".to_string(), MetaValue::Array(MetaArray::String(vec!["x".into(), "yz".into(), String::new()]))),
        ("a.i32s".to_string(), MetaValue::Array(MetaArray::I32(vec![1, -2, 3]))),
        (
            "a.nested".to_string(),
            MetaValue::Array(MetaArray::Array(vec![
                MetaArray::U16(vec![1, 2]),
                MetaArray::Array(vec![MetaArray::Bool(vec![false])]),
            ])),
        ),
    ];
    let tensors = vec![
        ("t.f32".to_string(), vec![4, 2], GgmlType::F32),
        ("t.q8".to_string(), vec![32], GgmlType::Q8_0),
        ("t.mxfp4".to_string(), vec![32, 1, 2], GgmlType::MXFP4),
        ("t.f16".to_string(), vec![3], GgmlType::F16),
    ];
    let w = GgufWriter::new(metadata, tensors).unwrap();
    let mut out = Vec::new();
    w.write_to(&mut out, |_, t, buf| {
        buf.resize(t.n_bytes as usize, 0x5a);
        Ok(())
    })
    .unwrap();
    out
}

/// splitmix64: a fixed, dependency-free stream of test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break length and offset arithmetic when written over a u32 or u64 field.
const INTERESTING: [u64; 10] = [0, 1, 3, 31, 0x7f, 0xffff_ffff, 1 << 32, i64::MAX as u64, 1 << 63, u64::MAX];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(3) {
        match rng.below(6) {
            0 => {
                let i = rng.below(b.len());
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.below(8);
                }
            }
            1 => {
                let i = rng.below(b.len());
                if let Some(x) = b.get_mut(i) {
                    *x = rng.next() as u8;
                }
            }
            2 | 3 => {
                // Over a field-sized window, which is how counts, lengths, types and offsets get hit.
                let width = if rng.below(2) == 0 { 4 } else { 8 };
                let v = INTERESTING[rng.below(INTERESTING.len())].wrapping_add(rng.below(3) as u64);
                let i = rng.below(b.len().saturating_sub(width));
                if i + width <= b.len() {
                    b[i..i + width].copy_from_slice(&v.to_le_bytes()[..width]);
                }
            }
            4 => {
                let i = rng.below(b.len());
                let n = rng.below(16).min(b.len() - i.min(b.len()));
                b.drain(i..i + n);
            }
            _ => {
                let i = rng.below(b.len() + 1).min(b.len());
                let n = 1 + rng.below(16);
                b.splice(i..i, (0..n).map(|_| rng.next() as u8));
            }
        }
    }
    if rng.below(4) == 0 {
        b.truncate(rng.below(b.len() + 1));
    }
    b
}

/// Parses `bytes` as a whole file and as a prefix of unknown length; neither may panic, and a prefix parse that
/// asks for more must ask for more than it was given.
fn parse_both_ways(bytes: &[u8], label: &str) {
    std::panic::catch_unwind(|| check_header(bytes))
        .unwrap_or_else(|_| panic!("parser panicked on {label}: {bytes:02x?}"));
}

/// The fuzzer's first find: a gpt-oss header whose block count is 2^30 + 4 parses, but its config is refused at
/// once, where the tensor plan used to build specs for every block (700 MB, over a second).
#[test]
fn a_huge_block_count_is_refused_by_the_config() {
    let bytes = std::fs::read(fuzz_corpus_dir().join("block-count-huge.gguf")).unwrap();
    let header = match parse_header(&bytes, None, "block-count-huge.gguf").unwrap() {
        ParseOutcome::Complete(h) => h,
        other => panic!("the header does not parse: {other:?}"),
    };
    let started = std::time::Instant::now();
    let err = gptoss_engine::model::GptOssConfig::from_header(&header).unwrap_err().to_string();
    assert_eq!(err, "model: gpt-oss.block_count is 1073741828: more blocks than the file has tensors (79)");
    assert!(started.elapsed().as_millis() < 50, "refused in {:?}", started.elapsed());
}

/// Every input of the fuzzer's corpus, each within a second (libFuzzer's `-timeout=1` of the campaign), and the
/// corpus reaches the tensor plan (its gpt-oss seed, tiny.gguf's header without the vocabulary, plans cleanly).
#[test]
fn the_fuzzers_corpus_replays_without_a_panic() {
    let dir = fuzz_corpus_dir();
    let mut reached = std::collections::HashMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("fuzz corpus {} missing: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let started = std::time::Instant::now();
        let got = std::panic::catch_unwind(|| check_header(&bytes))
            .unwrap_or_else(|_| panic!("the header checks panicked on {}", path.display()));
        assert!(started.elapsed().as_secs_f64() < 1.0, "{} took {:?}", path.display(), started.elapsed());
        *reached.entry(got).or_insert(0usize) += 1;
    }
    let total: usize = reached.values().sum();
    assert!(total >= 100, "the fuzz corpus holds only {total} inputs: {reached:?}");
    for stage in [Reached::Refused, Reached::Header, Reached::Plan] {
        assert!(reached.contains_key(&stage), "no corpus input gets to {stage:?}: {reached:?}");
    }
}

#[test]
fn every_truncation_of_a_valid_file_asks_for_more_or_fails_cleanly() {
    let seed = seed_file();
    let full = match parse_header(&seed, Some(seed.len() as u64), "seed.gguf").unwrap() {
        ParseOutcome::Complete(h) => h,
        other => panic!("seed does not parse: {other:?}"),
    };
    for cut in 0..seed.len() {
        let prefix = &seed[..cut];
        parse_both_ways(prefix, &format!("prefix {cut}"));
        // With the length unknown a prefix is just "not enough yet" until the header is all there.
        match parse_header(prefix, None, "seed.gguf").unwrap() {
            ParseOutcome::NeedMore { .. } => {
                assert!((cut as u64) < full.data_offset, "prefix {cut}")
            }
            ParseOutcome::Complete(h) => assert_eq!(h, full, "prefix {cut}"),
        }
        // With the length known the same prefix is a truncated file.
        let err = parse_header(prefix, Some(cut as u64), "seed.gguf").unwrap_err().to_string();
        assert!(err.contains("truncated") || err.contains("remain in the file"), "prefix {cut}: {err}");
    }
}

#[test]
fn thousands_of_mutations_never_panic() {
    let seed = seed_file();
    let mut rng = Rng(0x6770_746f_7373);
    let mut outcomes = [0usize; 3];
    for i in 0..4000 {
        let m = mutate(&mut rng, &seed);
        parse_both_ways(&m, &format!("mutation #{i}"));
        outcomes[match parse_header(&m, Some(m.len() as u64), "m") {
            Ok(ParseOutcome::Complete(_)) => 0,
            Ok(ParseOutcome::NeedMore { .. }) => 1,
            Err(_) => 2,
        }] += 1;
    }
    // The mutations must actually reach the error paths (and some harmless ones still parse).
    assert!(outcomes[2] > 2000 && outcomes[0] > 50, "complete/need-more/error = {outcomes:?}");
    assert_eq!(outcomes[1], 0, "a whole file of known length never needs more");

    // And mutations of every corpus file.
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "gguf") {
            let bytes = std::fs::read(&path).unwrap();
            for i in 0..50 {
                parse_both_ways(&mutate(&mut rng, &bytes), &format!("{} mutation #{i}", path.display()));
            }
        }
    }
}
