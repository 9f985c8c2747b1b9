//! `gptoss inspect`: the report for the fixture (numbers recomputed here from the model's shapes), one error line
//! with exit code 1 for broken or missing files, and exit code 2 without a file.

use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/tiny.gguf");
    assert!(path.exists(), "fixture {} missing", path.display());
    path
}

fn inspect(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gptoss")).arg("inspect").args(args).output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.code().unwrap_or(-1), text(out.stdout), text(out.stderr))
}

/// The line of the table or summary that starts with `first` (after indentation), split into columns.
fn row<'a>(report: &'a str, first: &str) -> Vec<&'a str> {
    report
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&first))
        .unwrap_or_else(|| panic!("no line starting `{first}` in:\n{report}"))
}

#[test]
fn reports_metadata_tensors_and_totals_of_the_fixture() {
    let (code, out, err) = inspect(&[fixture().to_str().unwrap()]);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(err.is_empty(), "{err}");
    assert!(out.contains("GGUF v3, alignment 32"), "{out}");
    assert!(out.contains("  general.architecture = \"gpt-oss\"\n"));
    assert!(out.contains("  gpt-oss.block_count = 4 (u32)\n"));
    // Long arrays are summarised: type, length, the first few elements.
    assert!(
        out.contains("  tokenizer.ggml.tokens = [string × 201088] [\"!\", \"\\\"\", \"#\", \"$\", \"%\", …]\n"),
        "{out}"
    );
    assert!(out.contains("  tokenizer.ggml.merges = [string × 446189] ["));
    assert!(out.contains("tensors (79)"));

    // E = 64, 4 q heads and 2 kv heads of 16, 8 experts of width 64, vocab 201,088.
    let data_offset: u64 = out
        .split("data at ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .expect("data offset in the report");
    let embd = row(&out, "token_embd.weight");
    assert_eq!(embd[1..], ["Q8_0", "[64,", "201088]", &data_offset.to_string(), &(2 * 34 * 201_088).to_string()]);
    let k = row(&out, "blk.2.attn_k.weight");
    assert_eq!(k[1..4], ["F16", "[64,", "32]"]);
    assert_eq!(k[5], (64 * 32 * 2).to_string());
    let gate = row(&out, "blk.3.ffn_gate_exps.weight");
    assert_eq!(gate[1..5], ["MXFP4", "[64,", "64,", "8]"]);
    assert_eq!(gate[6], (2 * 17 * 64 * 8).to_string());

    // Totals per type: tensors, elements, bytes.
    let q8_bytes = 2 * 2 * 34 * 201_088 + 4 * 2 * (2 * 34 * 64);
    assert_eq!(row(&out, "Q8_0")[1..4], ["10", &(2 * 64 * 201_088 + 8 * 64 * 64).to_string(), &q8_bytes.to_string()]);
    assert_eq!(row(&out, "MXFP4")[1..4], ["12", &(12 * 64 * 64 * 8).to_string(), &(12 * 17_408).to_string()]);
    assert_eq!(row(&out, "F16")[1..4], ["4", "8192", "16384"]);
    assert_eq!(row(&out, "BF16")[1..4], ["4", "8192", "16384"]);
    // Per layer: 2 norms (64), q/o biases (64), k/v biases (32), sinks (4), router (64×8 + 8), 3 expert biases (64×8).
    let f32_elements = 64 + 4 * (2 * 64 + 2 * 64 + 2 * 32 + 4 + 64 * 8 + 8 + 3 * 64 * 8);
    assert_eq!(row(&out, "F32")[1..4], ["49", &f32_elements.to_string(), &(4 * f32_elements).to_string()]);
    assert_eq!(row(&out, "all")[1], "79");
}

#[test]
fn broken_and_missing_files_exit_1_with_one_error_line() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    for (file, expected) in [
        ("offset-gap.gguf", "tensor `b` has offset 64, expected 32 (leaves a gap)"),
        ("html-page.gguf", "not a GGUF file"),
        ("truncated-data.gguf", "lies beyond the end of the file"),
        ("arrays-nested-too-deep.gguf", "nested deeper than 4"),
    ] {
        let (code, out, err) = inspect(&[corpus.join(file).to_str().unwrap()]);
        assert_eq!(code, 1, "{file}");
        assert!(out.is_empty(), "{file}: {out}");
        assert_eq!(err.lines().count(), 1, "{file}: {err}");
        assert!(err.starts_with("error: ") && err.contains(file) && err.contains(expected), "{file}: {err}");
    }
    let (code, _, err) = inspect(&["/nonexistent/model.gguf"]);
    assert_eq!(code, 1);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/model.gguf"), "{err}");
    // No file at all is a usage error (exit 2), in clap's words.
    let (code, _, err) = inspect(&[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("error: the following required arguments were not provided:\n  <MODEL>"), "{err}");
}

#[test]
fn events_flag_prints_load_telemetry_as_json_lines() {
    let (code, _, err) = inspect(&["--events", fixture().to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let events: Vec<serde_json::Value> = err.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events[0]["event"], "stage_started");
    assert_eq!(events[0]["stage"], "fetch_header");
    let parse = events.iter().find(|e| e["event"] == "gguf_parse").expect("gguf_parse event");
    assert_eq!(parse["version"], 3);
    assert_eq!(parse["tensor_count"], 79);
    assert_eq!(parse["metadata_count"], 30);
}
