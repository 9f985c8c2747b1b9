//! Incremental, bounded GGUF header parser.
//!
//! Hostile input rules: every count and length is checked against the bytes that can still exist before anything
//! is allocated, allocations never exceed what the bytes already in hand justify, nesting depth is capped, all
//! offset arithmetic is checked, and nothing panics.

use super::*;

/// Result of parsing a byte prefix of a GGUF file.
#[derive(Debug)]
pub enum ParseOutcome {
    Complete(GgufHeader),
    /// The prefix ends inside the header: call again with at least this many bytes from the start of the file.
    NeedMore {
        at_least: u64,
    },
}

const MAGIC: &[u8; 4] = b"GGUF";
/// Sanity caps that hold for any real model (gpt-oss-120b has 687 tensors and 38 keys).
const MAX_TENSORS: u64 = 1 << 20;
const MAX_KV: u64 = 1 << 20;
const MAX_KEY_LEN: u64 = 65_535;
/// `GGML_MAX_NAME` − 1: llama.cpp rejects longer tensor names.
const MAX_TENSOR_NAME_LEN: u64 = MAX_NAME as u64 - 1;
const MAX_STRING_LEN: u64 = 1 << 30;
/// Arrays of arrays are allowed by the spec; deeper nesting than this is not something a model needs.
pub(super) const MAX_ARRAY_DEPTH: u32 = 4;

enum Fail {
    More(u64),
    Bad(String),
}

type Step<T> = std::result::Result<T, Fail>;

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Total file length when known; lets counts be bounded and truncation be reported as such.
    file_len: Option<u64>,
}

impl<'a> Cursor<'a> {
    /// Bytes that can still follow the cursor in the whole file (unknown size: what we have, for allocation caps).
    fn remaining_in_file(&self) -> Option<u64> {
        self.file_len.map(|n| n.saturating_sub(self.pos as u64))
    }

    fn take(&mut self, n: u64, what: &str) -> Step<&'a [u8]> {
        let end = (self.pos as u64).checked_add(n).ok_or_else(|| Fail::Bad(format!("{what}: length {n} overflows")))?;
        if end > self.bytes.len() as u64 {
            return Err(match self.file_len {
                Some(len) if end > len => Fail::Bad(format!(
                    "truncated at offset {} while reading {what} ({n} bytes needed, file is {len} bytes)",
                    self.pos
                )),
                _ => Fail::More(end),
            });
        }
        let s = &self.bytes[self.pos..end as usize];
        self.pos = end as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Step<[u8; N]> {
        let s = self.take(N as u64, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, what: &str) -> Step<u8> {
        Ok(self.array::<1>(what)?[0])
    }
    fn u16(&mut self, what: &str) -> Step<u16> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    fn u32(&mut self, what: &str) -> Step<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    fn u64(&mut self, what: &str) -> Step<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A count of items each at least `min_item_bytes` long, checked against the bytes the file can still hold.
    /// Errors read "{what} {noun} {n} at offset …" (e.g. "tensor count", "metadata key #3 string length").
    fn count(&mut self, what: &str, noun: &str, min_item_bytes: u64, cap: u64) -> Step<u64> {
        let at = self.pos;
        let n = self.u64(what)?;
        if n > cap {
            return Err(Fail::Bad(format!("{what} {noun} {n} at offset {at} exceeds the limit of {cap}")));
        }
        if let Some(rem) = self.remaining_in_file() {
            if n.checked_mul(min_item_bytes).is_none_or(|need| need > rem) {
                return Err(Fail::Bad(format!(
                    "{what} {noun} {n} at offset {at} needs at least {} bytes but only {rem} remain in the file",
                    n.saturating_mul(min_item_bytes)
                )));
            }
        }
        Ok(n)
    }

    /// Capacity to reserve for `n` items: never more than the bytes in hand could hold.
    fn capacity(&self, n: u64, min_item_bytes: u64) -> usize {
        let in_hand = (self.bytes.len() - self.pos) as u64 / min_item_bytes.max(1);
        n.min(in_hand) as usize
    }

    fn string(&mut self, what: &str, max_len: u64) -> Step<String> {
        let at = self.pos;
        let len = self.count(what, "string length", 1, max_len)?;
        let raw = self.take(len, what)?;
        String::from_utf8(raw.to_vec()).map_err(|_| Fail::Bad(format!("{what} at offset {at} is not valid UTF-8")))
    }
}

/// Parse the header from a prefix of the file. `file_len` is the whole file's size when known; `file` names the
/// file in errors.
pub fn parse_header(bytes: &[u8], file_len: Option<u64>, file: &str) -> Result<ParseOutcome> {
    let mut c = Cursor { bytes, pos: 0, file_len };
    match parse(&mut c) {
        Ok(h) => Ok(ParseOutcome::Complete(h)),
        Err(Fail::More(at_least)) => Ok(ParseOutcome::NeedMore { at_least }),
        Err(Fail::Bad(what)) => Err(Error::Gguf { file: file.to_string(), what }),
    }
}

fn parse(c: &mut Cursor) -> Step<GgufHeader> {
    let magic = c.array::<4>("magic")?;
    if &magic != MAGIC {
        return Err(Fail::Bad(format!(
            "not a GGUF file (starts with {:?}, expected \"GGUF\")",
            String::from_utf8_lossy(&magic)
        )));
    }
    let version = c.u32("version")?;
    if !(2..=3).contains(&version) {
        // GGUF has no endianness flag; a big-endian file shows up as a byte-swapped version.
        let hint = if (2..=3).contains(&version.swap_bytes()) { ", a big-endian file?" } else { "" };
        return Err(Fail::Bad(format!("unsupported GGUF version {version} (2 and 3 are supported{hint})")));
    }
    // A tensor info is at least name length (8) + n_dims (4) + type (4) + offset (8); a kv at least key length (8),
    // type (4) and a 1-byte value.
    let n_tensors = c.count("tensor", "count", 24, MAX_TENSORS)?;
    let n_kv = c.count("metadata", "count", 13, MAX_KV)?;

    let mut metadata = Vec::with_capacity(c.capacity(n_kv, 13));
    // A set, not a scan of `metadata`: a file with a million keys must not cost a trillion comparisons.
    let mut keys = std::collections::HashSet::new();
    for i in 0..n_kv {
        let key = c.string(&format!("metadata key #{i}"), MAX_KEY_LEN)?;
        if !keys.insert(key.clone()) {
            return Err(Fail::Bad(format!("duplicate metadata key `{key}`")));
        }
        let at = c.pos;
        let type_id = c.u32(&format!("type of `{key}`"))?;
        let ty = MetaType::from_id(type_id)
            .ok_or_else(|| Fail::Bad(format!("metadata `{key}` has unknown value type {type_id} at offset {at}")))?;
        let value = read_value(c, ty, &key, 0)?;
        metadata.push((key, value));
    }

    let alignment = alignment_of(&metadata).map_err(Fail::Bad)?;

    let mut tensors: Vec<TensorInfo> = Vec::with_capacity(c.capacity(n_tensors, 24));
    let mut names = std::collections::HashSet::new();
    for i in 0..n_tensors {
        let name = c.string(&format!("name of tensor #{i}"), MAX_TENSOR_NAME_LEN)?;
        let n_dims = c.u32(&format!("dimension count of tensor `{name}`"))?;
        if n_dims as usize > MAX_DIMS {
            return Err(Fail::Bad(format!("tensor `{name}` has {n_dims} dimensions (at most {MAX_DIMS})")));
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for d in 0..n_dims {
            let v = c.u64(&format!("dimension {d} of tensor `{name}`"))?;
            if v > i64::MAX as u64 {
                return Err(Fail::Bad(format!("tensor `{name}` dimension {d} is negative or too large ({v})")));
            }
            dims.push(v);
        }
        let at = c.pos;
        let type_id = c.u32(&format!("type of tensor `{name}`"))?;
        let ggml_type = GgmlType::from_id(type_id)
            .ok_or_else(|| Fail::Bad(format!("tensor `{name}` has unknown ggml type id {type_id} (at offset {at})")))?;
        let offset = c.u64(&format!("offset of tensor `{name}`"))?;

        let n_bytes = tensor_n_bytes(ggml_type, &dims).map_err(|e| Fail::Bad(format!("tensor `{name}`: {e}")))?;
        if offset % alignment != 0 {
            return Err(Fail::Bad(format!(
                "tensor `{name}` data offset {offset} is not a multiple of alignment {alignment}"
            )));
        }
        // llama.cpp's strict rule: tensors are packed in info order, each padded to the alignment.
        let expected = match tensors.last() {
            None => 0,
            Some(p) => align_up(p.offset + p.n_bytes, alignment)
                .ok_or_else(|| Fail::Bad(format!("tensor `{name}`: offset arithmetic overflows")))?,
        };
        if offset != expected {
            let how = if offset < expected { "overlaps the previous tensor" } else { "leaves a gap" };
            return Err(Fail::Bad(format!("tensor `{name}` has offset {offset}, expected {expected} ({how})")));
        }
        offset.checked_add(n_bytes).ok_or_else(|| Fail::Bad(format!("tensor `{name}`: offset + size overflows")))?;
        if !names.insert(name.clone()) {
            return Err(Fail::Bad(format!("duplicate tensor name `{name}`")));
        }
        tensors.push(TensorInfo { name, dims, ggml_type, offset, n_bytes });
    }

    let data_offset = align_up(c.pos as u64, alignment).ok_or_else(|| Fail::Bad("data offset overflows".into()))?;
    if let Some(len) = c.file_len {
        if let Some(t) = tensors.last() {
            let end = data_offset.saturating_add(t.offset).saturating_add(t.n_bytes);
            if end > len {
                return Err(Fail::Bad(format!(
                    "tensor `{}` data [{}, {end}) lies beyond the end of the file ({len} bytes): truncated",
                    t.name,
                    data_offset.saturating_add(t.offset)
                )));
            }
        }
    }
    Ok(GgufHeader { version, metadata, tensors, alignment, data_offset })
}

fn read_value(c: &mut Cursor, ty: MetaType, key: &str, depth: u32) -> Step<MetaValue> {
    Ok(match ty {
        MetaType::U8 => MetaValue::U8(c.u8(key)?),
        MetaType::I8 => MetaValue::I8(c.u8(key)? as i8),
        MetaType::U16 => MetaValue::U16(c.u16(key)?),
        MetaType::I16 => MetaValue::I16(c.u16(key)? as i16),
        MetaType::U32 => MetaValue::U32(c.u32(key)?),
        MetaType::I32 => MetaValue::I32(c.u32(key)? as i32),
        MetaType::F32 => MetaValue::F32(f32::from_bits(c.u32(key)?)),
        MetaType::U64 => MetaValue::U64(c.u64(key)?),
        MetaType::I64 => MetaValue::I64(c.u64(key)? as i64),
        MetaType::F64 => MetaValue::F64(f64::from_bits(c.u64(key)?)),
        MetaType::Bool => {
            let at = c.pos;
            match c.u8(key)? {
                0 => MetaValue::Bool(false),
                1 => MetaValue::Bool(true),
                b => return Err(Fail::Bad(format!("metadata `{key}`: bool byte {b} at offset {at} is not 0 or 1"))),
            }
        }
        MetaType::String => MetaValue::String(c.string(key, MAX_STRING_LEN)?),
        MetaType::Array => MetaValue::Array(read_array(c, key, depth)?),
    })
}

fn read_array(c: &mut Cursor, key: &str, depth: u32) -> Step<MetaArray> {
    if depth >= MAX_ARRAY_DEPTH {
        return Err(Fail::Bad(format!("metadata `{key}`: arrays nested deeper than {MAX_ARRAY_DEPTH}")));
    }
    let at = c.pos;
    let type_id = c.u32(key)?;
    let ty = MetaType::from_id(type_id)
        .ok_or_else(|| Fail::Bad(format!("metadata `{key}`: unknown array element type {type_id} at offset {at}")))?;
    let min = match ty {
        MetaType::U8 | MetaType::I8 | MetaType::Bool => 1,
        MetaType::U16 | MetaType::I16 => 2,
        MetaType::U32 | MetaType::I32 | MetaType::F32 => 4,
        MetaType::U64 | MetaType::I64 | MetaType::F64 | MetaType::String => 8,
        MetaType::Array => 12,
    };
    let n = c.count(&format!("metadata `{key}`"), "array length", min, u64::MAX / 16)?;
    macro_rules! fill {
        ($variant:ident, $read:expr) => {{
            let mut v = Vec::with_capacity(c.capacity(n, min));
            for _ in 0..n {
                v.push($read);
            }
            MetaArray::$variant(v)
        }};
    }
    Ok(match ty {
        MetaType::U8 => fill!(U8, c.u8(key)?),
        MetaType::I8 => fill!(I8, c.u8(key)? as i8),
        MetaType::U16 => fill!(U16, c.u16(key)?),
        MetaType::I16 => fill!(I16, c.u16(key)? as i16),
        MetaType::U32 => fill!(U32, c.u32(key)?),
        MetaType::I32 => fill!(I32, c.u32(key)? as i32),
        MetaType::F32 => fill!(F32, f32::from_bits(c.u32(key)?)),
        MetaType::U64 => fill!(U64, c.u64(key)?),
        MetaType::I64 => fill!(I64, c.u64(key)? as i64),
        MetaType::F64 => fill!(F64, f64::from_bits(c.u64(key)?)),
        MetaType::Bool => fill!(Bool, {
            let at = c.pos;
            match c.u8(key)? {
                0 => false,
                1 => true,
                b => return Err(Fail::Bad(format!("metadata `{key}`: bool byte {b} at offset {at} is not 0 or 1"))),
            }
        }),
        MetaType::String => fill!(String, c.string(key, MAX_STRING_LEN)?),
        MetaType::Array => fill!(Array, read_array(c, key, depth + 1)?),
    })
}
