//! The model cache: a URL's bytes kept on disk as they stream, so the next load of the same model reads them
//! from there. In the browser it lives in the Origin Private File System (synchronous access handles, which only
//! a dedicated worker has: the engine's), natively in a folder (`gptoss --cache DIR`).
//!
//! A cached file is a data file at the file's own offsets plus a manifest: the server's size, ETag and
//! Last-Modified when it was first fetched, and an xxh3 checksum per [`CHUNK_BYTES`] chunk that is on disk. A
//! load fetches only the chunks the manifest does not list, whole, and writes each as it arrives, in the same pass
//! that hands the bytes on (nothing reads the file twice, nothing holds more than the ranges in flight). So an
//! interrupted load resumes from what it wrote; a chunk whose bytes fail their checksum is named and fetched
//! again; a copy whose server-side size or ETag changed is named and discarded.

mod entry;
mod manifest;
mod traffic;

#[cfg(not(target_arch = "wasm32"))]
mod dir;
#[cfg(not(target_arch = "wasm32"))]
use dir as store;
#[cfg(target_arch = "wasm32")]
mod opfs;
#[cfg(target_arch = "wasm32")]
use opfs as store;

pub use manifest::{Manifest, Validator, CHUNK_BYTES};
pub use store::Root;
pub use traffic::Traffic;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};

use entry::Entry;

use super::{ByteSource, HttpSource};
use crate::{Error, Result};

/// What an error says when another tab (or the worker of a page just reloaded) holds a cache file open: the
/// browser's files take one synchronous access handle at a time.
const BUSY: &str = "open in another tab of this site";

/// The storage the browser grants this origin and how much of it is used (`navigator.storage.estimate()`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    pub usage: u64,
    pub quota: u64,
}

/// A cached model as the cache panel lists it: all its files (a split model's shards) together.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CachedModel {
    /// The URL of its first file.
    pub model: String,
    pub files: usize,
    /// The model's size.
    pub bytes: u64,
    /// How much of it is on disk.
    pub cached_bytes: u64,
    /// When a load last used it (ms since the Unix epoch).
    pub last_used_ms: f64,
}

/// One cache (a folder, or the origin's OPFS). Clones share it: its open entries, its notes and its traffic.
#[derive(Clone)]
pub struct ModelCache {
    shared: Arc<Shared>,
}

struct Shared {
    root: Root,
    /// The entries loads hold open, by key: an OPFS file takes one access handle at a time.
    open: Mutex<HashMap<String, Weak<Entry>>>,
    /// What the cache found and did that the user should hear of (stale copies, repaired chunks).
    notes: Mutex<Vec<String>>,
    meter: traffic::TrafficMeter,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl ModelCache {
    pub fn new(root: Root) -> ModelCache {
        ModelCache {
            shared: Arc::new(Shared {
                root,
                open: Mutex::default(),
                notes: Mutex::default(),
                meter: traffic::TrafficMeter::default(),
            }),
        }
    }

    /// Where the cache is, in words.
    pub fn describe(&self) -> String {
        self.shared.root.describe()
    }

    /// `source` read through the cache: URLs are cached; a local or picked file is read where it is.
    pub fn wrap(&self, source: ByteSource) -> ByteSource {
        match source {
            ByteSource::Http(inner) => {
                let model = inner.url().to_string();
                ByteSource::Cached(CachedSource { inner, cache: self.clone(), model, entry: Arc::default() })
            }
            other => other,
        }
    }

    /// What the cache has found since last asked: each line names the file (and chunk) and what was done.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *locked(&self.shared.notes))
    }

    /// Bytes from the network and from the cache since the last [`ModelCache::reset_traffic`].
    pub fn traffic(&self) -> Traffic {
        self.shared.meter.snapshot()
    }

    pub fn reset_traffic(&self) {
        self.shared.meter.reset();
    }

    /// The browser's quota and usage for this origin (`None` natively, where the disk is the limit).
    pub async fn estimate(&self) -> Result<Option<Estimate>> {
        store::estimate().await.map_err(|e| Error::Source(format!("storage estimate: {e}")))
    }

    /// Every cached model, most recently used first.
    pub async fn list(&self) -> Result<Vec<CachedModel>> {
        let mut models: BTreeMap<String, CachedModel> = BTreeMap::new();
        for manifest in self.manifests().await? {
            let m = models.entry(manifest.model.clone()).or_insert_with(|| CachedModel {
                model: manifest.model.clone(),
                files: 0,
                bytes: 0,
                cached_bytes: 0,
                last_used_ms: 0.0,
            });
            m.files += 1;
            m.bytes += manifest.validator.len;
            m.cached_bytes += manifest.cached_bytes();
            m.last_used_ms = m.last_used_ms.max(manifest.last_used_ms);
        }
        let mut list: Vec<CachedModel> = models.into_values().collect();
        list.sort_by(|a, b| b.last_used_ms.total_cmp(&a.last_used_ms));
        Ok(list)
    }

    /// Deletes every file of `model` (`None`: of every model). A file a load holds open is refused, named.
    pub async fn delete(&self, model: Option<&str>) -> Result<()> {
        for manifest in self.manifests().await? {
            if model.is_some_and(|m| m != manifest.model) {
                continue;
            }
            if self.open_entry(&manifest.key).is_some() {
                return Err(Error::Usage(format!("{}: in use by the loaded model; release it first", manifest.key)));
            }
            let stem = manifest::stem(&manifest.key);
            let fail = |e: String| Error::Source(format!("model cache ({}): {e}", self.describe()));
            self.shared.root.remove(&format!("{stem}.gguf")).await.map_err(fail)?;
            self.shared.root.remove(&format!("{stem}.json")).await.map_err(fail)?;
        }
        Ok(())
    }

    /// The manifests of every cached file: those of open entries as the loads see them, the others from disk (one
    /// that cannot be read is noted and left out).
    async fn manifests(&self) -> Result<Vec<Manifest>> {
        let fail = |e: String| Error::Source(format!("model cache ({}): {e}", self.describe()));
        let names = self.shared.root.names().await.map_err(fail)?;
        let open: Vec<Manifest> =
            locked(&self.shared.open).values().filter_map(Weak::upgrade).map(|e| e.manifest()).collect();
        let mut out = Vec::new();
        for name in names.iter().filter(|n| n.ends_with(".json")) {
            let stem = name.trim_end_matches(".json");
            if let Some(m) = open.iter().find(|m| manifest::stem(&m.key) == stem) {
                out.push(m.clone());
                continue;
            }
            let read = async {
                let text = self.shared.root.open(name).await?.read_all()?;
                Manifest::parse(&String::from_utf8_lossy(&text), name)
            };
            match read.await {
                Ok(m) => out.push(m),
                Err(why) => locked(&self.shared.notes).push(format!("model cache: {why}: left out of the list")),
            }
        }
        Ok(out)
    }

    fn open_entry(&self, key: &str) -> Option<Arc<Entry>> {
        locked(&self.shared.open).get(key).and_then(Weak::upgrade)
    }

    /// The entry of `inner`'s URL, opened (and checked against the server) if no load holds it yet; `None` when
    /// the file is read past the cache, which is noted: a file not cached yet that the storage quota cannot hold
    /// (so the cache never fills the disk half way), or one whose cache files another tab of the site holds open.
    async fn entry(&self, inner: &HttpSource, model: &str) -> Result<Option<Arc<Entry>>> {
        let key = inner.url();
        if let Some(entry) = self.open_entry(key) {
            return Ok(Some(entry));
        }
        let validator = inner.validator().await;
        if let Ok(v) = &validator {
            if let Some(why) = self.no_room_for(key, v.len).await? {
                locked(&self.shared.notes).push(format!("{key}: not cached: {why}"));
                return Ok(None);
            }
        }
        let mut notes = Vec::new();
        let opened = Entry::open(&self.shared.root, key, model, validator, &mut notes).await;
        locked(&self.shared.notes).extend(notes);
        let entry = match opened {
            Ok(entry) => Arc::new(entry),
            Err(Error::Source(why)) if why.contains(BUSY) => {
                locked(&self.shared.notes)
                    .push(format!("{key}: not cached in this load: {why}; its bytes come from the network"));
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        locked(&self.shared.open).insert(key.to_string(), Arc::downgrade(&entry));
        Ok(Some(entry))
    }

    /// Why a file of `len` bytes with no copy in the cache yet cannot be cached, if the storage quota says so.
    async fn no_room_for(&self, key: &str, len: u64) -> Result<Option<String>> {
        let stem = manifest::stem(key);
        let fail = |e: String| Error::Source(format!("model cache ({}): {e}", self.describe()));
        if self.shared.root.names().await.map_err(fail)?.contains(&format!("{stem}.json")) {
            return Ok(None);
        }
        let Some(e) = self.estimate().await? else { return Ok(None) };
        let free = e.quota.saturating_sub(e.usage);
        Ok((len > free)
            .then(|| format!("its {len} bytes do not fit the {free} bytes the browser's storage quota has free")))
    }
}

/// A URL read through a [`ModelCache`]. Its entry is opened on the first read, so building one (and naming a split
/// model's siblings) costs nothing.
#[derive(Clone)]
pub struct CachedSource {
    inner: HttpSource,
    cache: ModelCache,
    /// The URL of the model's first file (the cache panel's entry).
    model: String,
    /// The entry once opened: `Some(None)` when the file is read past the cache.
    entry: Arc<futures::lock::Mutex<Option<Option<Arc<Entry>>>>>,
}

impl std::fmt::Debug for CachedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CachedSource({})", self.inner.url())
    }
}

impl CachedSource {
    pub fn url(&self) -> &str {
        self.inner.url()
    }

    /// Its server's retries since the last call (see [`HttpSource::take_retries`]).
    pub fn take_retries(&self) -> Vec<String> {
        self.inner.take_retries()
    }

    /// Whether its server answers range requests with the whole file.
    pub fn server_ignores_ranges(&self) -> bool {
        self.inner.whole_file_only()
    }

    /// The URL of the model's first file.
    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn cache(&self) -> &ModelCache {
        &self.cache
    }

    /// The same URL with its entry not yet opened: dropping every holder of the old one closes its files.
    pub fn detached(&self) -> CachedSource {
        CachedSource { entry: Arc::default(), ..self.clone() }
    }

    pub(super) fn sibling(&self, file_name: &str) -> CachedSource {
        CachedSource { inner: self.inner.sibling(file_name), entry: Arc::default(), ..self.clone() }
    }

    async fn entry(&self) -> Result<Option<Arc<Entry>>> {
        let mut slot = self.entry.lock().await;
        if let Some(entry) = &*slot {
            return Ok(entry.clone());
        }
        let entry = self.cache.entry(&self.inner, &self.model).await?;
        *slot = Some(entry.clone());
        Ok(entry)
    }

    pub async fn len(&self) -> Result<u64> {
        match self.entry().await? {
            Some(entry) => Ok(entry.manifest().validator.len),
            None => self.inner.len().await,
        }
    }

    /// Bytes of the file not on disk yet (all of it when it is read past the cache).
    pub async fn missing_bytes(&self) -> Result<u64> {
        match self.entry().await? {
            Some(entry) => {
                let manifest = entry.manifest();
                Ok(manifest.validator.len - manifest.cached_bytes())
            }
            None => self.inner.len().await,
        }
    }

    /// Exactly `[offset, offset + len)`, `len >= 1`, checked against the file size by the caller.
    pub(super) async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let shared = &self.cache.shared;
        match self.entry().await? {
            Some(entry) => entry.read(&self.inner, &shared.meter, &shared.notes, offset, len).await,
            None => shared.meter.network_read(&self.inner, offset, len).await,
        }
    }
}
