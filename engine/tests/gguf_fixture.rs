//! Parse the shared fixture and check its layout against values computed here from first principles.

use gptoss_engine::gguf::{parse_header, GgmlType, ParseOutcome};

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures")
}

#[test]
fn tiny_fixture_header() {
    let path = fixtures().join("tiny.gguf");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()));
    let h = match parse_header(&bytes, Some(bytes.len() as u64), "tiny.gguf").unwrap() {
        ParseOutcome::Complete(h) => h,
        ParseOutcome::NeedMore { at_least } => panic!("whole file given but parser wants {at_least}"),
    };
    assert_eq!(h.version, 3);
    assert_eq!(h.get("general.architecture").and_then(|v| v.as_str()), Some("gpt-oss"));
    assert_eq!(h.require_u64("gpt-oss.block_count").unwrap(), 4);
    let tokens = h.get("tokenizer.ggml.tokens").and_then(|v| v.as_array()).unwrap();
    assert_eq!(tokens.len(), 201_088);
    assert_eq!(h.get("tokenizer.ggml.merges").and_then(|v| v.as_array()).unwrap().len(), 446_189);
    // 19 tensors per layer + 3 global.
    assert_eq!(h.tensors.len(), 4 * 19 + 3);
    let q = h.tensor("blk.0.attn_q.weight").unwrap();
    assert_eq!(q.ggml_type, GgmlType::Q8_0);
    assert_eq!(q.dims, vec![64, 64]); // 4 heads x 16
    assert_eq!(q.n_bytes, 64 / 32 * 34 * 64);
    let gate = h.tensor("blk.0.ffn_gate_exps.weight").unwrap();
    assert_eq!(gate.ggml_type, GgmlType::MXFP4);
    assert_eq!(gate.dims, vec![64, 64, 8]);
    assert_eq!(gate.n_bytes, 2 * 17 * 64 * 8);
    // Packing rule and file end, recomputed independently.
    let mut expect = 0u64;
    for t in &h.tensors {
        assert_eq!(t.offset, expect, "{}", t.name);
        expect = (t.offset + t.n_bytes).div_ceil(32) * 32;
    }
    let last = h.tensors.last().unwrap();
    assert!(h.data_offset + last.offset + last.n_bytes <= bytes.len() as u64);
    assert_eq!(h.data_offset % 32, 0);
    // Incremental: a short prefix asks for more instead of failing.
    match parse_header(&bytes[..4096], None, "tiny.gguf").unwrap() {
        ParseOutcome::NeedMore { at_least } => assert!(at_least > 4096),
        ParseOutcome::Complete(_) => panic!("4 KiB cannot hold the header"),
    }
}
