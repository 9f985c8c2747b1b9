//! `gptoss inspect <MODEL> [--events]`: a GGUF file's metadata (long arrays and strings summarised), its tensor
//! table and the totals per type. Split models are opened from their first file. `--events` prints the load
//! telemetry as JSON lines on stderr; otherwise a terminal shows the header's fetch as a progress bar.

use crate::args::{report_cache, CacheArg, ModelArg};
use crate::progress::Progress;
use gptoss_engine::events::{Event, EventSink};
use gptoss_engine::gguf::{GgufModel, MetaArray, MetaType, MetaValue};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

/// Array elements shown before the rest is summarised.
const SHOWN_ELEMENTS: usize = 5;
/// Characters of a string shown before the rest is summarised (chat templates run to kilobytes).
const SHOWN_CHARS: usize = 80;

#[derive(clap::Args)]
pub struct InspectArgs {
    #[command(flatten)]
    model: ModelArg,
    #[command(flatten)]
    cache: CacheArg,
    /// Print the load telemetry (the HUD's events) as JSON lines on stderr
    #[arg(long)]
    events: bool,
}

pub fn run(args: InspectArgs) -> Result<(), String> {
    let mut json_lines = |e: Event| {
        eprintln!("{}", serde_json::to_string(&e).unwrap_or_else(|err| format!("{{\"unprintable\":\"{err}\"}}")));
    };
    let mut progress = Progress::on_terminal();
    let sink: &mut dyn EventSink = if args.events { &mut json_lines } else { &mut progress };
    let (source, cache) = args.cache.source(&args.model)?;
    let model = pollster::block_on(GgufModel::open(source, sink));
    report_cache(cache.as_ref(), |line| eprintln!("{line}"));
    let model = model.map_err(|e| e.to_string())?;
    let report = render(&model).map_err(|e| e.to_string())?;
    // A closed pipe (`gptoss inspect m.gguf | head`) is not an error worth a message.
    let _ = std::io::stdout().lock().write_all(report.as_bytes());
    Ok(())
}

fn render(model: &GgufModel) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    let h = model.header();
    for (i, shard) in model.shards().iter().enumerate() {
        writeln!(
            out,
            "file {}: {} ({} bytes), GGUF v{}, alignment {}, data at {}, {} tensors",
            i + 1,
            shard.source.name(),
            shard.file_len,
            shard.header.version,
            shard.header.alignment,
            shard.header.data_offset,
            shard.header.tensors.len()
        )?;
    }

    writeln!(out, "\nmetadata ({} keys)", h.metadata.len())?;
    for (key, value) in &h.metadata {
        writeln!(out, "  {key} = {}", value_text(value))?;
    }

    let split = model.shards().len() > 1;
    writeln!(out, "\ntensors ({})", model.tensors().count())?;
    let name_width = model.tensors().map(|t| t.info.name.len()).max().unwrap_or(4).max(4);
    writeln!(
        out,
        "  {:name_width$}  {:6}  {:20}  {:>14}  {:>14}{}",
        "name",
        "type",
        "shape",
        "offset",
        "bytes",
        if split { "  file" } else { "" }
    )?;
    let mut per_type: BTreeMap<&str, (u64, u64, u64)> = BTreeMap::new();
    for t in model.tensors() {
        let shape = format!("{:?}", t.info.dims);
        write!(
            out,
            "  {:name_width$}  {:6}  {:20}  {:>14}  {:>14}",
            t.info.name,
            t.info.ggml_type.name(),
            shape,
            t.file_offset,
            t.info.n_bytes
        )?;
        if split {
            write!(out, "  {}", t.shard + 1)?;
        }
        writeln!(out)?;
        let e = per_type.entry(t.info.ggml_type.name()).or_default();
        e.0 += 1;
        e.1 += t.info.n_elements();
        e.2 += t.info.n_bytes;
    }

    writeln!(out, "\ntotals per type")?;
    writeln!(out, "  {:6}  {:>7}  {:>14}  {:>14}  {:>9}", "type", "tensors", "elements", "bytes", "bits/elt")?;
    let (mut tensors, mut elements, mut bytes) = (0u64, 0u64, 0u64);
    for (name, (n, elts, b)) in &per_type {
        writeln!(out, "  {name:6}  {n:>7}  {elts:>14}  {b:>14}  {:>9.3}", bits_per_element(*b, *elts))?;
        tensors += n;
        elements += elts;
        bytes += b;
    }
    writeln!(
        out,
        "  {:6}  {tensors:>7}  {elements:>14}  {bytes:>14}  {:>9.3}  ({:.3} GiB)",
        "all",
        bits_per_element(bytes, elements),
        bytes as f64 / (1u64 << 30) as f64
    )?;
    Ok(out)
}

fn bits_per_element(bytes: u64, elements: u64) -> f64 {
    if elements == 0 {
        0.0
    } else {
        bytes as f64 * 8.0 / elements as f64
    }
}

fn string_text(s: &str) -> String {
    let n = s.chars().count();
    if n <= SHOWN_CHARS {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(SHOWN_CHARS).collect();
        format!("{head:?}… ({n} chars)")
    }
}

fn value_text(v: &MetaValue) -> String {
    match v {
        MetaValue::String(s) => string_text(s),
        MetaValue::Array(a) => array_text(a),
        MetaValue::F32(x) => format!("{x} (f32)"),
        MetaValue::F64(x) => format!("{x} (f64)"),
        MetaValue::Bool(x) => x.to_string(),
        MetaValue::U8(x) => format!("{x} (u8)"),
        MetaValue::I8(x) => format!("{x} (i8)"),
        MetaValue::U16(x) => format!("{x} (u16)"),
        MetaValue::I16(x) => format!("{x} (i16)"),
        MetaValue::U32(x) => format!("{x} (u32)"),
        MetaValue::I32(x) => format!("{x} (i32)"),
        MetaValue::U64(x) => format!("{x} (u64)"),
        MetaValue::I64(x) => format!("{x} (i64)"),
    }
}

/// `[string × 201088] ["!", "\"", …]`: element type, length and the first few elements.
fn array_text(a: &MetaArray) -> String {
    fn first<T>(v: &[T], show: impl Fn(&T) -> String) -> Vec<String> {
        v.iter().take(SHOWN_ELEMENTS).map(show).collect()
    }
    let shown = match a {
        MetaArray::U8(v) => first(v, |x| x.to_string()),
        MetaArray::I8(v) => first(v, |x| x.to_string()),
        MetaArray::U16(v) => first(v, |x| x.to_string()),
        MetaArray::I16(v) => first(v, |x| x.to_string()),
        MetaArray::U32(v) => first(v, |x| x.to_string()),
        MetaArray::I32(v) => first(v, |x| x.to_string()),
        MetaArray::F32(v) => first(v, |x| x.to_string()),
        MetaArray::Bool(v) => first(v, |x| x.to_string()),
        MetaArray::String(v) => first(v, |x| string_text(x)),
        MetaArray::Array(v) => first(v, array_text),
        MetaArray::U64(v) => first(v, |x| x.to_string()),
        MetaArray::I64(v) => first(v, |x| x.to_string()),
        MetaArray::F64(v) => first(v, |x| x.to_string()),
    };
    let more = if a.len() > SHOWN_ELEMENTS { ", …" } else { "" };
    format!("[{} × {}] [{}{more}]", type_name(a.element_type()), a.len(), shown.join(", "))
}

fn type_name(t: MetaType) -> String {
    format!("{t:?}").to_lowercase()
}
