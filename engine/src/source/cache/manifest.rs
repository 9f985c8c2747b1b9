//! What the cache knows of one cached file: where it came from, what the server said it was, and which chunks are
//! on disk with their checksums. Written beside the data after each batch of chunks, so a load interrupted at any
//! moment resumes from the chunks it lists.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

/// Bytes per chunk: the unit of checksums, resume and repair. Small enough that a dropped connection loses little,
/// large enough that gpt-oss-120b's 63 GB stay a manifest of some 15 000 entries.
pub const CHUNK_BYTES: u64 = 4 << 20;

/// What the server says a file is; a cached copy is used only while this still matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validator {
    pub len: u64,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validator {
    /// Why a cached copy made against `self` does not match what the server says now (`None`: it matches). A header
    /// the server no longer sends is no evidence of change.
    pub fn mismatch(&self, now: &Validator) -> Option<String> {
        if self.len != now.len {
            return Some(format!("its size changed from {} to {} bytes", self.len, now.len));
        }
        let changed = |was: &Option<String>, is: &Option<String>| matches!((was, is), (Some(a), Some(b)) if a != b);
        if changed(&self.etag, &now.etag) {
            return Some(format!("its ETag changed from {:?} to {:?}", self.etag, now.etag));
        }
        if changed(&self.last_modified, &now.last_modified) {
            return Some(format!("its Last-Modified changed from {:?} to {:?}", self.last_modified, now.last_modified));
        }
        None
    }
}

/// One cached file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The source URL: the cache key.
    pub key: String,
    /// The model this file belongs to: the URL of its first shard (a split model's files are one entry).
    pub model: String,
    pub validator: Validator,
    pub chunk_bytes: u64,
    /// Per chunk: its xxh3-64 once it is on disk.
    pub chunks: Vec<Option<u64>>,
    /// When a load last read it (ms since the Unix epoch).
    pub last_used_ms: f64,
}

impl Manifest {
    /// An empty entry for `key`, nothing cached yet.
    pub fn new(key: &str, model: &str, validator: Validator) -> Manifest {
        let n = validator.len.div_ceil(CHUNK_BYTES) as usize;
        Manifest {
            key: key.into(),
            model: model.into(),
            validator,
            chunk_bytes: CHUNK_BYTES,
            chunks: vec![None; n],
            last_used_ms: now_unix_ms(),
        }
    }

    /// Reads a manifest, refusing one whose chunk list does not fit its file size (a truncated or foreign file).
    pub fn parse(text: &str, file: &str) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_str(text).map_err(|e| format!("{file}: unreadable manifest ({e})"))?;
        let expected = m.validator.len.div_ceil(m.chunk_bytes.max(1));
        if m.chunk_bytes == 0 || m.chunks.len() as u64 != expected {
            return Err(format!(
                "{file}: the manifest lists {} chunks of {} bytes for a {}-byte file",
                m.chunks.len(),
                m.chunk_bytes,
                m.validator.len
            ));
        }
        Ok(m)
    }

    /// Byte range `[start, end)` of chunk `i`.
    pub fn chunk_range(&self, i: u64) -> (u64, u64) {
        let start = i * self.chunk_bytes;
        (start, (start + self.chunk_bytes).min(self.validator.len))
    }

    /// The chunks `[offset, offset + len)` touches, `len >= 1`.
    pub fn chunks_of(&self, offset: u64, len: u64) -> std::ops::RangeInclusive<u64> {
        offset / self.chunk_bytes..=(offset + len - 1) / self.chunk_bytes
    }

    pub fn cached_bytes(&self) -> u64 {
        (0..self.chunks.len() as u64)
            .filter(|&i| self.chunks[i as usize].is_some())
            .map(|i| {
                let (a, b) = self.chunk_range(i);
                b - a
            })
            .sum()
    }

    pub fn is_complete(&self) -> bool {
        self.chunks.iter().all(Option::is_some)
    }
}

/// A chunk's checksum.
pub fn checksum(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

/// The file-name stem of a key's files: its hash, so any URL makes a valid OPFS or file-system name.
pub fn stem(key: &str) -> String {
    format!("{:016x}", xxh3_64(key.as_bytes()))
}

pub fn now_unix_ms() -> f64 {
    web_time::SystemTime::now().duration_since(web_time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator(len: u64) -> Validator {
        Validator { len, etag: Some("\"a\"".into()), last_modified: None }
    }

    #[test]
    fn chunks_cover_the_file_and_ranges_map_to_them() {
        let m = Manifest::new("u", "u", validator(2 * CHUNK_BYTES + 5));
        assert_eq!(m.chunks.len(), 3);
        assert_eq!(m.chunk_range(2), (2 * CHUNK_BYTES, 2 * CHUNK_BYTES + 5));
        assert_eq!(m.chunks_of(CHUNK_BYTES - 1, 2), 0..=1);
        assert_eq!(m.chunks_of(CHUNK_BYTES, CHUNK_BYTES), 1..=1);
    }

    #[test]
    fn a_changed_etag_or_size_is_named_and_a_dropped_header_is_not_a_change() {
        let was = validator(10);
        assert_eq!(was.mismatch(&was), None);
        let now = Validator { etag: Some("\"b\"".into()), ..was.clone() };
        assert!(was.mismatch(&now).unwrap().contains("ETag changed"));
        assert!(was.mismatch(&validator(11)).unwrap().contains("from 10 to 11 bytes"));
        assert_eq!(was.mismatch(&Validator { etag: None, ..was.clone() }), None);
    }

    #[test]
    fn a_manifest_that_does_not_fit_its_size_is_refused() {
        let mut m = Manifest::new("u", "u", validator(CHUNK_BYTES * 2));
        m.chunks.pop();
        let text = serde_json::to_string(&m).unwrap();
        assert!(Manifest::parse(&text, "x.json").unwrap_err().contains("lists 1 chunks"));
        assert!(Manifest::parse("{", "x.json").unwrap_err().starts_with("x.json: unreadable manifest"));
    }
}
