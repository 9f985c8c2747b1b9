//! GGUF v3 writer that streams: the layout (header bytes, tensor offsets) is computed up front, then tensor data is
//! produced one tensor at a time by the caller, so a multi-gigabyte synthetic model never sits in memory.
//!
//! Files follow the rules llama.cpp's `gguf.cpp` enforces: unique keys and tensor names, names shorter than
//! `GGML_MAX_NAME` (64), at most four dimensions, `ne[0]` a whole number of blocks, tensors packed in info order with
//! each one padded to the alignment, and the data section starting at the header end padded to the alignment.

use super::reader::MAX_ARRAY_DEPTH;
use super::*;
use std::io::Write;

/// GGUF version written. v2 and v3 share the layout; v3 is what llama.cpp writes.
const VERSION: u32 = 3;

/// A laid-out GGUF file whose tensor data is supplied while writing.
#[derive(Debug, Clone)]
pub struct GgufWriter {
    header: Vec<u8>,
    tensors: Vec<TensorInfo>,
}

fn bad(what: String) -> Error {
    Error::Gguf { file: "<writer>".into(), what }
}

impl GgufWriter {
    /// Lays out the file: tensors packed in the given order, each padded to `alignment` (32 unless metadata has
    /// `general.alignment`). `dims` are in ggml order (`dims[0]` contiguous).
    pub fn new(metadata: Vec<(String, MetaValue)>, tensors: Vec<(String, Vec<u64>, GgmlType)>) -> Result<Self> {
        let alignment = alignment_of(&metadata).map_err(bad)?;
        let mut keys = std::collections::HashSet::new();
        for (key, value) in &metadata {
            if key.len() > u16::MAX as usize {
                return Err(bad(format!("metadata key `{key}` is longer than 65535 bytes")));
            }
            if !keys.insert(key.as_str()) {
                return Err(bad(format!("duplicate metadata key `{key}`")));
            }
            if let MetaValue::Array(a) = value {
                if array_depth(a) > MAX_ARRAY_DEPTH {
                    return Err(bad(format!("metadata `{key}`: arrays nested deeper than {MAX_ARRAY_DEPTH}")));
                }
            }
        }

        let mut infos: Vec<TensorInfo> = Vec::with_capacity(tensors.len());
        let mut names = std::collections::HashSet::new();
        let mut next_offset = 0u64;
        for (name, dims, ggml_type) in tensors {
            if name.len() >= MAX_NAME {
                return Err(bad(format!("tensor name `{name}` is {} bytes (llama.cpp allows at most 63)", name.len())));
            }
            if !names.insert(name.clone()) {
                return Err(bad(format!("duplicate tensor name `{name}`")));
            }
            let n_bytes = tensor_n_bytes(ggml_type, &dims).map_err(|e| bad(format!("tensor `{name}`: {e}")))?;
            let offset = next_offset;
            next_offset = offset
                .checked_add(n_bytes)
                .and_then(|end| align_up(end, alignment))
                .ok_or_else(|| bad(format!("tensor `{name}`: data offset overflows")))?;
            infos.push(TensorInfo { name, dims, ggml_type, offset, n_bytes });
        }

        let mut header = Vec::new();
        header.extend_from_slice(b"GGUF");
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&(infos.len() as u64).to_le_bytes());
        header.extend_from_slice(&(metadata.len() as u64).to_le_bytes());
        for (key, value) in &metadata {
            put_string(&mut header, key);
            header.extend_from_slice(&(value.meta_type() as u32).to_le_bytes());
            put_value(&mut header, value);
        }
        for t in &infos {
            put_string(&mut header, &t.name);
            header.extend_from_slice(&(t.dims.len() as u32).to_le_bytes());
            for d in &t.dims {
                header.extend_from_slice(&d.to_le_bytes());
            }
            header.extend_from_slice(&t.ggml_type.id().to_le_bytes());
            header.extend_from_slice(&t.offset.to_le_bytes());
        }
        let padded = align_up(header.len() as u64, alignment).ok_or_else(|| bad("header size overflows".into()))?;
        header.resize(padded as usize, 0);
        // The file must be addressable: data offset + last tensor end fits in u64.
        padded.checked_add(next_offset).ok_or_else(|| bad("file size overflows".into()))?;
        Ok(GgufWriter { header, tensors: infos })
    }

    /// Everything up to the data section, padding included.
    pub fn header_bytes(&self) -> Vec<u8> {
        self.header.clone()
    }

    /// Tensor infos with `offset` (relative to the data section) and `n_bytes` as the reader computes them.
    pub fn tensor_infos(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Absolute file offset of the data section.
    pub fn data_offset(&self) -> u64 {
        self.header.len() as u64
    }

    /// Size of the whole file. The last tensor is not padded: llama.cpp writes no trailing padding.
    pub fn total_file_bytes(&self) -> u64 {
        self.data_offset() + self.tensors.last().map_or(0, |t| t.offset + t.n_bytes)
    }

    /// Streams header and tensor data in order. `fill(index, info, buf)` appends exactly `info.n_bytes` bytes for
    /// tensor `index` to an empty `buf`; any other count is an error naming the tensor.
    pub fn write_to<W: Write>(
        &self,
        out: &mut W,
        mut fill: impl FnMut(usize, &TensorInfo, &mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let io = |e: std::io::Error| Error::Source(format!("writing GGUF: {e}"));
        out.write_all(&self.header).map_err(io)?;
        let zeros = [0u8; 256];
        let mut buf = Vec::new();
        let mut written = 0u64;
        for (i, t) in self.tensors.iter().enumerate() {
            // Padding after the previous tensor (alignment may exceed the zero block, so loop).
            let mut pad = t.offset - written;
            while pad > 0 {
                let n = pad.min(zeros.len() as u64);
                out.write_all(&zeros[..n as usize]).map_err(io)?;
                pad -= n;
            }
            buf.clear();
            fill(i, t, &mut buf)?;
            if buf.len() as u64 != t.n_bytes {
                return Err(bad(format!(
                    "tensor `{}`: fill produced {} bytes, expected {} ({} {:?})",
                    t.name,
                    buf.len(),
                    t.n_bytes,
                    t.ggml_type,
                    t.dims
                )));
            }
            out.write_all(&buf).map_err(io)?;
            written = t.offset + t.n_bytes;
        }
        out.flush().map_err(io)
    }
}

/// Nesting levels of an array (1 for a flat one), so the writer never emits what the reader refuses.
fn array_depth(a: &MetaArray) -> u32 {
    match a {
        MetaArray::Array(inner) => 1 + inner.iter().map(array_depth).max().unwrap_or(0),
        _ => 1,
    }
}

fn put_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &MetaValue) {
    match v {
        MetaValue::U8(x) => out.push(*x),
        MetaValue::I8(x) => out.push(*x as u8),
        MetaValue::U16(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I16(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::U32(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I32(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::F32(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::Bool(x) => out.push(*x as u8),
        MetaValue::String(s) => put_string(out, s),
        MetaValue::Array(a) => put_array(out, a),
        MetaValue::U64(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::I64(x) => out.extend_from_slice(&x.to_le_bytes()),
        MetaValue::F64(x) => out.extend_from_slice(&x.to_le_bytes()),
    }
}

/// Element type, count, then the elements; an array of arrays writes each inner array the same way.
fn put_array(out: &mut Vec<u8>, a: &MetaArray) {
    out.extend_from_slice(&(a.element_type() as u32).to_le_bytes());
    out.extend_from_slice(&(a.len() as u64).to_le_bytes());
    macro_rules! each {
        ($v:expr, |$x:ident| $body:expr) => {
            for $x in $v {
                $body;
            }
        };
    }
    match a {
        MetaArray::U8(v) => out.extend_from_slice(v),
        MetaArray::I8(v) => each!(v, |x| out.push(*x as u8)),
        MetaArray::U16(v) => each!(v, |x| out.extend_from_slice(&x.to_le_bytes())),
        MetaArray::I16(v) => each!(v, |x| out.extend_from_slice(&x.to_le_bytes())),
        MetaArray::U32(v) => each!(v, |x| out.extend_from_slice(&x.to_le_bytes())),
        MetaArray::I32(v) => each!(v, |x| out.extend_from_slice(&x.to_le_bytes())),
        MetaArray::F32(v) => each!(v, |x| out.extend_from_slice(&x.to_le_bytes())),
        MetaArray::Bool(v) => each!(v, |x| out.push(*x as u8)),
        MetaArray::String(v) => each!(v, |x| put_string(out, x)),
        MetaArray::Array(v) => each!(v, |x| put_array(out, x)),
        MetaArray::U64(v) => each!(v, |x| out.extend_from_slice(&x.to_le_bytes())),
        MetaArray::I64(v) => each!(v, |x| out.extend_from_slice(&x.to_le_bytes())),
        MetaArray::F64(v) => each!(v, |x| out.extend_from_slice(&x.to_le_bytes())),
    }
}
