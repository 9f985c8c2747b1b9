//! Writer → reader round trips, and the writer reproducing the shared fixture byte for byte.

use gptoss_engine::gguf::{parse_header, GgmlType, GgufHeader, GgufWriter, MetaArray, MetaValue, ParseOutcome};

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

fn parse_complete(bytes: &[u8]) -> GgufHeader {
    match parse_header(bytes, Some(bytes.len() as u64), "written.gguf").unwrap() {
        ParseOutcome::Complete(h) => h,
        ParseOutcome::NeedMore { at_least } => {
            panic!("whole file given but parser wants {at_least}")
        }
    }
}

/// Every value type, arrays of every element type, arrays of arrays (including empty and mixed inner types).
fn every_value_type() -> Vec<(String, MetaValue)> {
    let s = |k: &str, v: MetaValue| (k.to_string(), v);
    vec![
        s("t.u8", MetaValue::U8(250)),
        s("t.i8", MetaValue::I8(-100)),
        s("t.u16", MetaValue::U16(65_000)),
        s("t.i16", MetaValue::I16(-32_000)),
        s("t.u32", MetaValue::U32(4_000_000_000)),
        s("t.i32", MetaValue::I32(-2_000_000_000)),
        s("t.f32", MetaValue::F32(-1.5e-7)),
        s("t.bool.t", MetaValue::Bool(true)),
        s("t.bool.f", MetaValue::Bool(false)),
        s("t.string", MetaValue::String("héllo ✓ <|start|>".into())),
        s("t.empty_string", MetaValue::String(String::new())),
        s("t.u64", MetaValue::U64(u64::MAX - 7)),
        s("t.i64", MetaValue::I64(i64::MIN + 3)),
        s("t.f64", MetaValue::F64(std::f64::consts::PI)),
        s("a.u8", MetaValue::Array(MetaArray::U8(vec![0, 1, 255]))),
        s("a.i8", MetaValue::Array(MetaArray::I8(vec![-128, 0, 127]))),
        s("a.u16", MetaValue::Array(MetaArray::U16(vec![1, 65_535]))),
        s("a.i16", MetaValue::Array(MetaArray::I16(vec![-32_768, 32_767]))),
        s("a.u32", MetaValue::Array(MetaArray::U32(vec![7, u32::MAX]))),
        s("a.i32", MetaValue::Array(MetaArray::I32(vec![i32::MIN, -1, i32::MAX]))),
        s("a.f32", MetaValue::Array(MetaArray::F32(vec![0.5, -0.0, f32::INFINITY]))),
        s("a.bool", MetaValue::Array(MetaArray::Bool(vec![true, false, true]))),
        s("a.string", MetaValue::Array(MetaArray::String(vec!["a".into(), String::new(), "Ġthe".into()]))),
        s("a.u64", MetaValue::Array(MetaArray::U64(vec![u64::MAX]))),
        s("a.i64", MetaValue::Array(MetaArray::I64(vec![i64::MIN, 42]))),
        s("a.f64", MetaValue::Array(MetaArray::F64(vec![1e300, -2.25]))),
        s("a.empty", MetaValue::Array(MetaArray::U32(vec![]))),
        s(
            "a.nested",
            MetaValue::Array(MetaArray::Array(vec![
                MetaArray::I32(vec![1, 2, 3]),
                MetaArray::String(vec!["x".into()]),
                MetaArray::Array(vec![MetaArray::F64(vec![0.25]), MetaArray::Bool(vec![])]),
                MetaArray::U8(vec![]),
            ])),
        ),
        s("general.alignment", MetaValue::U32(64)),
    ]
}

#[test]
fn round_trip_every_value_type_and_layout() {
    let metadata = every_value_type();
    let tensors = vec![
        ("a.f32".to_string(), vec![3, 2], GgmlType::F32),
        ("b.q8".to_string(), vec![64, 3], GgmlType::Q8_0),
        ("c.mxfp4".to_string(), vec![32, 2, 2], GgmlType::MXFP4),
        ("d.scalar".to_string(), vec![], GgmlType::F32),
        ("e.bf16".to_string(), vec![5], GgmlType::BF16),
    ];
    let w = GgufWriter::new(metadata.clone(), tensors.clone()).unwrap();
    // Sizes and offsets computed by hand: 24 B, 2·34·3 = 204 B, 17·2·2 = 68 B, 4 B, 10 B; each padded to 64.
    let expect: [(u64, u64); 5] = [(0, 24), (64, 204), (320, 68), (448, 4), (512, 10)];
    for (t, (off, n)) in w.tensor_infos().iter().zip(expect) {
        assert_eq!((t.offset, t.n_bytes), (off, n), "{}", t.name);
    }
    let header = w.header_bytes();
    assert_eq!(header.len() % 64, 0);
    assert_eq!(&header[..4], b"GGUF");
    assert_eq!(u32::from_le_bytes(header[4..8].try_into().unwrap()), 3);
    assert_eq!(u64::from_le_bytes(header[8..16].try_into().unwrap()), 5);
    assert_eq!(u64::from_le_bytes(header[16..24].try_into().unwrap()), metadata.len() as u64);
    assert_eq!(w.total_file_bytes(), header.len() as u64 + 512 + 10);

    let mut file = Vec::new();
    w.write_to(&mut file, |i, t, buf| {
        buf.extend((0..t.n_bytes).map(|b| (i as u64 * 31 + b) as u8));
        Ok(())
    })
    .unwrap();
    assert_eq!(file.len() as u64, w.total_file_bytes());

    let h = parse_complete(&file);
    assert_eq!(h.version, 3);
    assert_eq!(h.alignment, 64);
    assert_eq!(h.metadata, metadata);
    assert_eq!(h.tensors, w.tensor_infos());
    assert_eq!(h.data_offset, header.len() as u64);
    for (i, t) in h.tensors.iter().enumerate() {
        let start = (h.data_offset + t.offset) as usize;
        let data = &file[start..start + t.n_bytes as usize];
        assert!(data.iter().enumerate().all(|(b, &v)| v == (i * 31 + b) as u8), "{}", t.name);
    }
    // Padding between tensors is zero.
    let pad_start = (h.data_offset + 24) as usize;
    assert!(file[pad_start..pad_start + 40].iter().all(|&b| b == 0));
    let (tensor_names, expected_names): (Vec<_>, Vec<_>) =
        h.tensors.iter().map(|t| t.name.as_str()).zip(tensors.iter().map(|t| t.0.as_str())).unzip();
    assert_eq!(tensor_names, expected_names);
}

#[test]
fn default_alignment_is_32_and_empty_model_round_trips() {
    let w = GgufWriter::new(vec![("k".into(), MetaValue::U8(1))], vec![]).unwrap();
    let mut file = Vec::new();
    w.write_to(&mut file, |_, _, _| unreachable!("no tensors")).unwrap();
    // 24 fixed + key (8 + 1) + type 4 + value 1 = 38, padded to 64.
    assert_eq!(file.len(), 64);
    let h = parse_complete(&file);
    assert_eq!(h.alignment, 32);
    assert!(h.tensors.is_empty());
}

#[test]
fn fill_with_wrong_byte_count_is_an_error_naming_the_tensor() {
    let w = GgufWriter::new(vec![], vec![("w".into(), vec![32, 2], GgmlType::Q8_0)]).unwrap();
    let err = w
        .write_to(&mut Vec::new(), |_, _, buf| {
            buf.extend_from_slice(&[0; 67]);
            Ok(())
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("`w`") && err.contains("67") && err.contains("68"), "{err}");
}

#[test]
fn writer_rejects_what_llama_cpp_rejects() {
    let t = |name: &str, dims: Vec<u64>, ty| (name.to_string(), dims, ty);
    type Case = (Vec<(String, MetaValue)>, Vec<(String, Vec<u64>, GgmlType)>, &'static str);
    let cases: Vec<Case> = vec![
        (vec![], vec![t("q", vec![48, 2], GgmlType::Q8_0)], "not a multiple of Q8_0's block size 32"),
        (vec![], vec![t("x", vec![1, 2, 3, 4, 5], GgmlType::F32)], "5 dimensions"),
        (vec![], vec![t("x", vec![1], GgmlType::F32), t("x", vec![1], GgmlType::F32)], "duplicate tensor name `x`"),
        (vec![], vec![t(&"n".repeat(64), vec![1], GgmlType::F32)], "64 bytes"),
        (vec![], vec![t("big", vec![1 << 40, 1 << 40], GgmlType::F32)], "overflow"),
        (vec![("general.alignment".into(), MetaValue::U32(48))], vec![], "general.alignment"),
        (vec![("general.alignment".into(), MetaValue::U64(32))], vec![], "general.alignment"),
        (vec![("k".into(), MetaValue::U8(1)), ("k".into(), MetaValue::U8(2))], vec![], "duplicate metadata key `k`"),
        (
            vec![(
                "deep".into(),
                MetaValue::Array(MetaArray::Array(vec![MetaArray::Array(vec![MetaArray::Array(vec![
                    MetaArray::Array(vec![MetaArray::U8(vec![1])]),
                ])])])),
            )],
            vec![],
            "nested deeper",
        ),
    ];
    for (metadata, tensors, expect) in cases {
        let err = GgufWriter::new(metadata, tensors).unwrap_err().to_string();
        assert!(err.contains(expect), "expected `{expect}` in `{err}`");
    }
}

/// The fixture was written by an independent tool (llama.cpp's gguf-py conventions): re-emitting its parsed header
/// and copying its tensor data must reproduce the file exactly.
#[test]
fn rewriting_the_fixture_reproduces_it_byte_for_byte() {
    let path = fixtures().join("tiny.gguf");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()));
    let h = parse_complete(&bytes);
    let w = GgufWriter::new(
        h.metadata.clone(),
        h.tensors.iter().map(|t| (t.name.clone(), t.dims.clone(), t.ggml_type)).collect(),
    )
    .unwrap();
    assert_eq!(w.header_bytes(), bytes[..h.data_offset as usize]);
    assert_eq!(w.total_file_bytes(), bytes.len() as u64);
    let mut out = Vec::with_capacity(bytes.len());
    w.write_to(&mut out, |_, t, buf| {
        let start = (h.data_offset + t.offset) as usize;
        buf.extend_from_slice(&bytes[start..start + t.n_bytes as usize]);
        Ok(())
    })
    .unwrap();
    assert!(out == bytes, "rewritten file differs from the fixture");
}

/// GGUF v2 has the v3 layout (v3 only added big-endian files, which carry no flag): a v2 file parses the same.
#[test]
fn version_2_parses_like_version_3() {
    let w = GgufWriter::new(every_value_type(), vec![("t".into(), vec![32, 4], GgmlType::MXFP4)]).unwrap();
    let mut file = Vec::new();
    w.write_to(&mut file, |_, t, buf| {
        buf.resize(t.n_bytes as usize, 7);
        Ok(())
    })
    .unwrap();
    let v3 = parse_complete(&file);
    file[4..8].copy_from_slice(&2u32.to_le_bytes());
    let v2 = parse_complete(&file);
    assert_eq!(v2.version, 2);
    assert_eq!((v2.metadata, v2.tensors, v2.data_offset), (v3.metadata, v3.tensors, v3.data_offset));
}
