//! The model cache: a URL's or a picked file's bytes kept on disk as they stream, so the next load of the same
//! model reads them from there. In the browser it lives in the Origin Private File System (synchronous access
//! handles, which only a dedicated worker has: the engine's), natively in a folder (`gptoss --cache DIR`).
//!
//! A cached file is a data file at the file's own offsets plus a manifest: its key (the URL, or a picked file's
//! name, size and last-modified time: [`file_key`]), the server's size, ETag and Last-Modified when it was first
//! fetched (a picked file's size and last-modified time), and an xxh3 checksum per [`CHUNK_BYTES`] chunk that is on
//! disk. A load fetches only the chunks the manifest does not list, whole, and writes each as it arrives, in the
//! same pass that hands the bytes on (nothing reads the file twice, nothing holds more than the ranges in flight).
//! So an interrupted load resumes from what it wrote; a chunk whose bytes fail their checksum is named and fetched
//! again; a copy whose server-side size or ETag changed is named and discarded. A cached model can also be chosen
//! by its key alone ([`ModelCache::cached`]: the cache panel), with no URL asked and no file picked.

mod entry;
mod manifest;
mod origin;
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
use origin::Origin;

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

/// What begins the key of a picked file's copy.
const FILE_KEY: &str = "file:";

/// The cache key of a picked file: `file:<name>:<size>:<last-modified ms>`, what the browser's `File` says of it (a
/// file with the same three is taken for the same file).
pub fn file_key(name: &str, size: u64, last_modified_ms: f64) -> String {
    format!("{FILE_KEY}{name}:{size}:{last_modified_ms:.0}")
}

/// The parts of a [`file_key`]: name, size, last-modified ms; `None` for any other key (a URL).
fn file_key_parts(key: &str) -> Option<(&str, u64, u64)> {
    let mut parts = key.strip_prefix(FILE_KEY)?.rsplitn(3, ':');
    let last_modified = parts.next()?.parse().ok()?;
    let size = parts.next()?.parse().ok()?;
    Some((parts.next()?, size, last_modified))
}

/// Whether `key` is a picked file's (else it is a URL).
pub fn is_file_key(key: &str) -> bool {
    file_key_parts(key).is_some()
}

/// What errors and the HUD call the file of `key`: a picked file's name, else the URL.
pub fn key_name(key: &str) -> &str {
    file_key_parts(key).map_or(key, |(name, _, _)| name)
}

/// A cached model as the cache panel lists it: all its files (a split model's shards) together.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CachedModel {
    /// The key of its first file: a URL or a [`file_key`].
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

    /// `source` read through the cache: URLs and picked files (a browser `File`, whose last-modified time names
    /// its version) are cached; a local file, or a `Blob` with no last-modified time, is read where it is.
    pub fn wrap(&self, source: ByteSource) -> ByteSource {
        match source {
            ByteSource::Http(inner) => {
                let key = inner.url().to_string();
                ByteSource::Cached(CachedSource::new(key, Origin::Http(inner), self))
            }
            #[cfg(target_arch = "wasm32")]
            ByteSource::Blob { ref blob, last_modified_ms: Some(ms), .. } => {
                let size = blob.size() as u64;
                self.wrap_file(source, size, ms)
            }
            other => other,
        }
    }

    /// `source`, a file of `size` bytes read where it is (a picked file: [`ModelCache::wrap`]; natively, bytes in
    /// memory), cached under its [`file_key`].
    pub fn wrap_file(&self, source: ByteSource, size: u64, last_modified_ms: f64) -> ByteSource {
        let key = file_key(&source.name(), size, last_modified_ms);
        let origin = Origin::File { source: Box::new(source), last_modified_ms };
        ByteSource::Cached(CachedSource::new(key, origin, self))
    }

    /// The cached model `model` (a [`CachedModel::model`]) as a source of its own, read from its copy: nothing is
    /// asked of a server while the copy is complete. What a URL's copy lacks is read from the URL (the copy checked
    /// against the server first, as any URL load does); a picked file's copy has nowhere else to read from, and a
    /// read of what it lacks is an error naming the file and the bytes.
    pub fn cached(&self, model: &str) -> ByteSource {
        let url = (!is_file_key(model)).then(|| HttpSource::new(model));
        let origin = Origin::Copy { name: key_name(model).to_string(), url };
        ByteSource::Cached(CachedSource::new(model.to_string(), origin, self))
    }

    /// What the cache has found since last asked: each line names the file (and chunk) and what was done.
    pub fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *locked(&self.shared.notes))
    }

    /// Bytes from the network, picked files and the cache since the last [`ModelCache::reset_traffic`].
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
            match self.read_manifest(name).await {
                Ok(m) => out.push(m),
                Err(why) => locked(&self.shared.notes).push(format!("model cache: {why}: left out of the list")),
            }
        }
        Ok(out)
    }

    async fn read_manifest(&self, name: &str) -> std::result::Result<Manifest, String> {
        let text = self.shared.root.open(name).await?.read_all()?;
        Manifest::parse(&String::from_utf8_lossy(&text), name)
    }

    /// What a copy chosen by its key ([`ModelCache::cached`]) is checked against: nothing while it is complete or
    /// there is nothing to ask (a picked file's copy), its URL's `HEAD` when part of it must come from there. A
    /// copy that is not on disk is an error.
    async fn copy_validator(&self, key: &str, url: Option<&HttpSource>) -> Result<Result<Option<Validator>>> {
        let name = format!("{}.json", manifest::stem(key));
        let fail = |e: String| Error::Source(format!("model cache ({}): {e}", self.describe()));
        if !self.shared.root.names().await.map_err(fail)?.contains(&name) {
            return Err(fail(format!("{}: not in the cache (deleted since it was listed?)", key_name(key))));
        }
        let copy = self.read_manifest(&name).await.map_err(fail)?;
        Ok(match url {
            Some(url) if !copy.is_complete() => url.validator().await.map(Some),
            _ => Ok(None),
        })
    }

    fn open_entry(&self, key: &str) -> Option<Arc<Entry>> {
        locked(&self.shared.open).get(key).and_then(Weak::upgrade)
    }

    /// The entry of `key`, opened (and checked against its origin) if no load holds it yet; `None` when the file is
    /// read past the cache, which is noted: a file not cached yet that the storage quota cannot hold (so the cache
    /// never fills the disk half way), or one whose cache files another tab of the site holds open.
    async fn entry(&self, key: &str, origin: &Origin, model: &str) -> Result<Option<Arc<Entry>>> {
        if let Some(entry) = self.open_entry(key) {
            return Ok(Some(entry));
        }
        let validator = match origin {
            Origin::Copy { url, .. } => self.copy_validator(key, url.as_ref()).await?,
            live => {
                let validator = live.validator().await;
                if let Ok(v) = &validator {
                    if let Some(why) = self.no_room_for(key, v.len).await? {
                        locked(&self.shared.notes).push(format!("{key}: not cached: {why}"));
                        return Ok(None);
                    }
                }
                validator.map(Some)
            }
        };
        let mut notes = Vec::new();
        let opened = Entry::open(&self.shared.root, key, model, validator, &mut notes).await;
        locked(&self.shared.notes).extend(notes);
        let entry = match opened {
            Ok(entry) => Arc::new(entry),
            Err(Error::Source(why)) if why.contains(BUSY) && origin.reaches_past_cache() => {
                let note = format!("{key}: not cached in this load: {why}; its bytes come from {}", origin.describe());
                locked(&self.shared.notes).push(note);
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

/// A file read through a [`ModelCache`]: a URL, a picked file, or a copy chosen by its key. Its entry is opened on
/// the first read, so building one (and naming a split model's siblings) costs nothing.
#[derive(Clone)]
pub struct CachedSource {
    /// The cache key: the URL or a [`file_key`].
    key: String,
    origin: Origin,
    cache: ModelCache,
    /// The key of the model's first file (the cache panel's entry).
    model: String,
    /// The entry once opened: `Some(None)` when the file is read past the cache.
    entry: Arc<futures::lock::Mutex<Option<Option<Arc<Entry>>>>>,
}

impl std::fmt::Debug for CachedSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CachedSource({})", self.key)
    }
}

impl CachedSource {
    /// The first (or only) file of a model.
    fn new(key: String, origin: Origin, cache: &ModelCache) -> CachedSource {
        CachedSource { model: key.clone(), key, origin, cache: cache.clone(), entry: Arc::default() }
    }

    /// Its cache key: the URL, or a picked file's [`file_key`].
    pub fn key(&self) -> &str {
        &self.key
    }

    /// What errors and the HUD call it: the URL, or a picked file's name.
    pub fn name(&self) -> &str {
        key_name(&self.key)
    }

    /// The last path segment of its URL, or a picked file's name: what split-file naming works on.
    pub fn file_name(&self) -> String {
        match is_file_key(&self.key) {
            true => self.name().to_string(),
            false => super::url_file_name(&self.key),
        }
    }

    /// Its server's retries since the last call (see [`HttpSource::take_retries`]).
    pub fn take_retries(&self) -> Vec<String> {
        self.origin.take_retries()
    }

    /// Whether its server answers range requests with the whole file: the cache then fills in file order, and
    /// serves random reads from disk once it holds the whole file.
    pub fn server_ignores_ranges(&self) -> bool {
        self.origin.whole_file_only()
    }

    /// Whether a read the cache cannot serve has somewhere else to go (a picked file's copy chosen by its key has
    /// not).
    pub fn reaches_past_cache(&self) -> bool {
        self.origin.reaches_past_cache()
    }

    /// The key of the model's first file.
    pub fn model(&self) -> &str {
        &self.model
    }

    pub fn cache(&self) -> &ModelCache {
        &self.cache
    }

    /// The same file with its entry not yet opened: dropping every holder of the old one closes its files.
    pub fn detached(&self) -> CachedSource {
        CachedSource { entry: Arc::default(), ..self.clone() }
    }

    /// The file called `file_name` beside this one (a split model's other shards), of the same model; a picked
    /// file has none to name.
    pub(super) fn sibling(&self, file_name: &str) -> Option<CachedSource> {
        let (key, origin) = self.origin.sibling(file_name)?;
        Some(CachedSource { key, origin, entry: Arc::default(), ..self.clone() })
    }

    async fn entry(&self) -> Result<Option<Arc<Entry>>> {
        let mut slot = self.entry.lock().await;
        if let Some(entry) = &*slot {
            return Ok(entry.clone());
        }
        let entry = self.cache.entry(&self.key, &self.origin, &self.model).await?;
        *slot = Some(entry.clone());
        Ok(entry)
    }

    pub async fn len(&self) -> Result<u64> {
        match self.entry().await? {
            Some(entry) => Ok(entry.manifest().validator.len),
            None => self.origin.len().await,
        }
    }

    /// Bytes of the file not on disk yet (all of it when it is read past the cache).
    pub async fn missing_bytes(&self) -> Result<u64> {
        match self.entry().await? {
            Some(entry) => {
                let manifest = entry.manifest();
                Ok(manifest.validator.len - manifest.cached_bytes())
            }
            None => self.origin.len().await,
        }
    }

    /// Exactly `[offset, offset + len)`, `len >= 1`, checked against the file size by the caller.
    pub(super) async fn read(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let shared = &self.cache.shared;
        match self.entry().await? {
            Some(entry) => entry.read(&self.origin, &shared.meter, &shared.notes, offset, len).await,
            None => shared.meter.origin_read(&self.origin, offset, len).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_files_key_names_it_and_a_url_is_no_file_key() {
        let key = file_key("a:b.gguf", 70 << 20, 1_718_000_000_123.4);
        assert_eq!(key, "file:a:b.gguf:73400320:1718000000123");
        assert!(is_file_key(&key));
        assert_eq!(key_name(&key), "a:b.gguf");
        for url in ["https://h.example/m.gguf", "/models/m.gguf", "file:///m.gguf", "file:m.gguf:12"] {
            assert!(!is_file_key(url), "{url}");
            assert_eq!(key_name(url), url);
        }
    }
}
