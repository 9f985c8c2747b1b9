//! Where a cached file's bytes come from when the cache lacks them: its URL, the picked file itself, or, for a copy
//! chosen in the cache panel, nothing but the copy (a URL's copy still reads what it lacks from the URL).

use futures::FutureExt;

use super::manifest::Validator;
use super::traffic::Side;
use crate::source::{ByteSource, HttpSource};
use crate::{Error, Result};

#[derive(Clone)]
pub(super) enum Origin {
    /// A URL (the key is the URL).
    Http(HttpSource),
    /// A file read where it is, a browser `Blob` (the key is its name, size and last-modified time).
    File { source: Box<ByteSource>, last_modified_ms: f64 },
    /// A copy chosen in the cache panel, `name` in errors; `url` when its key is a URL, for what the copy lacks.
    Copy { name: String, url: Option<HttpSource> },
}

impl Origin {
    /// Which side of the traffic figures its bytes count on.
    pub fn side(&self) -> Side {
        match self {
            Origin::File { .. } => Side::File,
            Origin::Http(_) | Origin::Copy { .. } => Side::Network,
        }
    }

    /// Where a read past the cache goes, in words.
    pub fn describe(&self) -> &'static str {
        match self {
            Origin::File { .. } => "the picked file",
            Origin::Http(_) | Origin::Copy { .. } => "the network",
        }
    }

    fn url(&self) -> Option<&HttpSource> {
        match self {
            Origin::Http(h) | Origin::Copy { url: Some(h), .. } => Some(h),
            _ => None,
        }
    }

    /// Whether it can read anything the cache lacks (a picked file's copy alone cannot).
    pub fn reaches_past_cache(&self) -> bool {
        !matches!(self, Origin::Copy { url: None, .. })
    }

    /// Exactly `[offset, offset + len)`, `len >= 1`, inside the file.
    pub async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        match self {
            Origin::Http(h) | Origin::Copy { url: Some(h), .. } => h.read(offset, len).await,
            // Boxed: this is a read of a `ByteSource` inside one (a cached source's), and futures cannot nest their
            // own type.
            Origin::File { source, .. } => source.read(offset, len).boxed_local().await,
            Origin::Copy { name, url: None } => Err(Error::Source(format!(
                "{name}: bytes {offset}..{} are not in the model cache, and this copy of a picked file has nothing \
                 else to read them from: pick the file again",
                offset + len
            ))),
        }
    }

    /// The file's size, when it is read past the cache.
    pub async fn len(&self) -> Result<u64> {
        match self {
            Origin::Http(h) | Origin::Copy { url: Some(h), .. } => h.len().await,
            Origin::File { source, .. } => source.len().boxed_local().await,
            Origin::Copy { name, url: None } => {
                Err(Error::Source(format!("{name}: its copy in the model cache is unreadable")))
            }
        }
    }

    /// What the file is now, to check a cached copy against: what its server says (a `HEAD`), or a picked file's
    /// size and last-modified time.
    pub async fn validator(&self) -> Result<Validator> {
        match self {
            Origin::File { source, last_modified_ms } => Ok(Validator {
                len: source.len().boxed_local().await?,
                etag: None,
                last_modified: Some(format!("{last_modified_ms:.0} ms")),
            }),
            other => match other.url() {
                Some(h) => h.validator().await,
                None => Err(Error::Source("a picked file's copy has nothing to be checked against".into())),
            },
        }
    }

    /// Its server's retries since the last call (see [`HttpSource::take_retries`]).
    pub fn take_retries(&self) -> Vec<String> {
        self.url().map_or_else(Vec::new, HttpSource::take_retries)
    }

    /// Whether its server answers range requests with the whole file.
    pub fn whole_file_only(&self) -> bool {
        self.url().is_some_and(HttpSource::whole_file_only)
    }

    /// The origin of the file called `file_name` beside this one, and that file's key (a URL); a picked file has
    /// no neighbours to name.
    pub fn sibling(&self, file_name: &str) -> Option<(String, Origin)> {
        match self {
            Origin::Http(h) => {
                let h = h.sibling(file_name);
                Some((h.url().to_string(), Origin::Http(h)))
            }
            Origin::Copy { url: Some(h), .. } => {
                let h = h.sibling(file_name);
                Some((h.url().to_string(), Origin::Copy { name: h.url().to_string(), url: Some(h) }))
            }
            Origin::File { .. } | Origin::Copy { url: None, .. } => None,
        }
    }
}
