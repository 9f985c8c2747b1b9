//! Byte sources: where a GGUF file's bytes come from. One async interface over memory (tests), a local file
//! (native), HTTP range requests (native and browser) and a browser `File`/`Blob` (file picker, drag and drop).
//!
//! Every read asks for an exact byte range and returns exactly that many bytes or an error naming the source and the
//! range, so the loader never holds more than the ranges it asked for.

pub mod cache;
mod http;
#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(all(not(target_arch = "wasm32"), any(test, feature = "scripted-http")))]
pub mod scripted;
#[cfg(target_arch = "wasm32")]
mod web;

pub use cache::{CachedSource, ModelCache};
pub use http::{HttpSource, RetryPolicy, TransferStats};

use crate::{Error, Result};
use std::sync::Arc;

/// The last path segment of `url`, its query and fragment stripped.
fn url_file_name(url: &str) -> String {
    let (base, _) = http::split_url(url);
    base.rsplit('/').next().unwrap_or(base).to_string()
}

/// One readable file.
#[derive(Clone)]
pub enum ByteSource {
    /// Bytes already in memory (tests, generated models).
    Memory { name: String, bytes: Arc<[u8]> },
    /// A local file, opened for each read.
    #[cfg(not(target_arch = "wasm32"))]
    File { path: std::path::PathBuf },
    /// A URL read with `Range` requests.
    Http(HttpSource),
    /// A URL or a picked file read through the model cache: from disk where its bytes are cached, else from the
    /// network or the file; or a cached copy alone, chosen by its key.
    Cached(CachedSource),
    /// A browser `File` or `Blob`, read with `Blob.slice`; a `File`'s last-modified time (ms since the Unix epoch)
    /// names its version in the model cache.
    #[cfg(target_arch = "wasm32")]
    Blob { name: String, blob: web_sys::Blob, last_modified_ms: Option<f64> },
}

impl std::fmt::Debug for ByteSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ByteSource({})", self.name())
    }
}

impl ByteSource {
    pub fn memory(name: impl Into<String>, bytes: impl Into<Arc<[u8]>>) -> Self {
        ByteSource::Memory { name: name.into(), bytes: bytes.into() }
    }

    pub fn http(url: impl Into<String>) -> Self {
        ByteSource::Http(HttpSource::new(url))
    }

    #[cfg(not(target_arch = "wasm32"))]
    pub fn file(path: impl Into<std::path::PathBuf>) -> Self {
        ByteSource::File { path: path.into() }
    }

    /// A picked file: a `File` (also one passed to a worker, which keeps its type) brings its last-modified time.
    #[cfg(target_arch = "wasm32")]
    pub fn blob(name: impl Into<String>, blob: web_sys::Blob) -> Self {
        use wasm_bindgen::JsCast;
        let last_modified_ms = blob.dyn_ref::<web_sys::File>().map(web_sys::File::last_modified);
        ByteSource::Blob { name: name.into(), blob, last_modified_ms }
    }

    /// An `http://` or `https://` argument is a URL, anything else a local path (the CLI's `<path-or-url>`).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_path_or_url(arg: &str) -> Self {
        if arg.starts_with("http://") || arg.starts_with("https://") {
            Self::http(arg)
        } else {
            Self::file(arg)
        }
    }

    /// What errors and events call this source: the URL, the path or the given (picked file's) name.
    pub fn name(&self) -> String {
        match self {
            ByteSource::Memory { name, .. } => name.clone(),
            #[cfg(not(target_arch = "wasm32"))]
            ByteSource::File { path } => path.display().to_string(),
            ByteSource::Http(h) => h.url().to_string(),
            ByteSource::Cached(c) => c.name().to_string(),
            #[cfg(target_arch = "wasm32")]
            ByteSource::Blob { name, .. } => name.clone(),
        }
    }

    /// The last path segment (query and fragment stripped for URLs): what split-file naming works on.
    pub fn file_name(&self) -> String {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            ByteSource::File { path } => path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            ByteSource::Http(h) => url_file_name(h.url()),
            ByteSource::Cached(c) => c.file_name(),
            _ => self.name(),
        }
    }

    /// The file called `file_name` next to this one (other shards of a split model). Memory and browser files have
    /// no neighbours to name: the caller passes every shard instead.
    pub fn sibling(&self, file_name: &str) -> Option<ByteSource> {
        match self {
            #[cfg(not(target_arch = "wasm32"))]
            ByteSource::File { path } => Some(ByteSource::File { path: path.with_file_name(file_name) }),
            ByteSource::Http(h) => Some(ByteSource::Http(h.sibling(file_name))),
            ByteSource::Cached(c) => c.sibling(file_name).map(ByteSource::Cached),
            _ => None,
        }
    }

    /// Whether the file can only be read from its start onwards: a server that ignores `Range` (learnt from its
    /// first answer; the loader reads in file order anyway, random access such as expert paging cannot).
    pub fn reads_in_order_only(&self) -> bool {
        matches!(self, ByteSource::Http(h) if h.whole_file_only())
    }

    /// The transport's retries since the last call, as lines for the user (HTTP only).
    pub fn take_retries(&self) -> Vec<String> {
        match self {
            ByteSource::Http(h) => h.take_retries(),
            ByteSource::Cached(c) => c.take_retries(),
            _ => Vec::new(),
        }
    }

    /// Where its HTTP requests spent their time (`None` for sources that make none).
    pub fn transfer(&self) -> Option<TransferStats> {
        match self {
            ByteSource::Http(h) => Some(h.transfer()),
            _ => None,
        }
    }

    /// Whether the file's server ignores `Range`, read directly or through the model cache (which then fills in
    /// file order, and serves random reads from disk once it holds the file).
    pub fn server_ignores_ranges(&self) -> bool {
        match self {
            ByteSource::Cached(c) => c.server_ignores_ranges(),
            other => other.reads_in_order_only(),
        }
    }

    /// Size of the file in bytes.
    pub async fn len(&self) -> Result<u64> {
        match self {
            ByteSource::Memory { bytes, .. } => Ok(bytes.len() as u64),
            #[cfg(not(target_arch = "wasm32"))]
            ByteSource::File { path } => native::file_len(path),
            ByteSource::Http(h) => h.len().await,
            ByteSource::Cached(c) => c.len().await,
            #[cfg(target_arch = "wasm32")]
            ByteSource::Blob { blob, .. } => Ok(blob.size() as u64),
        }
    }

    /// Exactly `len` bytes starting at `offset`; a range past the end of the file is an error naming it.
    pub async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let file_len = self.len().await?;
        let end = offset.checked_add(len).filter(|&end| end <= file_len).ok_or_else(|| {
            Error::Source(format!(
                "{}: range [{offset}, {}) is beyond the end of the file ({file_len} bytes)",
                self.name(),
                offset.saturating_add(len)
            ))
        })?;
        match self {
            ByteSource::Memory { bytes, .. } => Ok(bytes[offset as usize..end as usize].to_vec()),
            #[cfg(not(target_arch = "wasm32"))]
            ByteSource::File { path } => native::file_read(path, offset, len),
            ByteSource::Http(h) => h.read(offset, len).await,
            ByteSource::Cached(c) => c.read(offset, len).await,
            #[cfg(target_arch = "wasm32")]
            ByteSource::Blob { name, blob, .. } => web::blob_read(name, blob, offset, end).await,
        }
    }
}
