//! The page's side of the model cache (the engine's `source::cache`, in the origin private file system): the
//! engine host opens it in its worker, checks a load's room against the storage quota before any tensor byte is
//! fetched, reports where bytes come from while a load runs, and lists and deletes cached models for the cache
//! panel, whose USE makes a cached model the chosen one, read from the cache alone. What the HUD keeps of it is
//! [`CacheView`].

use dioxus::prelude::*;
use gptoss_components::{format_bytes, CachePanel, CachedModelRow, Readout, Tone};
use gptoss_engine::events::Event;
use gptoss_engine::gguf::GgufModel;
use gptoss_engine::source::cache::{key_name, CachedModel, Estimate, Traffic};
use gptoss_engine::source::{ByteSource, ModelCache};
use gptoss_engine::Result;

use crate::engine_host::Queue;
use crate::hud::Update;

/// A download at least this large asks the browser to keep the origin's storage (`navigator.storage.persist()`),
/// so it is not evicted under storage pressure.
pub const PERSIST_FROM_BYTES: u64 = 1 << 30;

/// The room a load needs in the cache against what the browser grants, shown before the load fetches anything.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StorageCheck {
    pub model_bytes: u64,
    /// Bytes of the model not cached yet: what this load will write.
    pub missing_bytes: u64,
    pub estimate: Option<Estimate>,
}

/// The cached models and the storage estimate, for the cache panel.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CacheListing {
    pub models: Vec<CachedModel>,
    pub estimate: Option<Estimate>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum CacheUpdate {
    Traffic(Traffic),
    Storage(StorageCheck),
    Listing(CacheListing),
}

/// What the HUD shows of the cache.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CacheView {
    pub traffic: Option<Traffic>,
    pub storage: Option<StorageCheck>,
    pub listing: Option<CacheListing>,
}

impl CacheView {
    pub fn apply(&mut self, update: CacheUpdate) {
        match update {
            CacheUpdate::Traffic(t) => self.traffic = Some(t),
            CacheUpdate::Storage(s) => self.storage = Some(s),
            CacheUpdate::Listing(l) => self.listing = Some(l),
        }
    }

    /// The panel's rows; `now_ms` (since the Unix epoch) words the last use.
    pub fn rows(&self, now_ms: f64) -> Vec<CachedModelRow> {
        let models = self.listing.as_ref().map_or(&[][..], |l| &l.models[..]);
        models
            .iter()
            .map(|m| CachedModelRow {
                model: m.model.clone(),
                name: key_name(&m.model).to_string(),
                files: m.files,
                bytes: m.bytes,
                cached_bytes: m.cached_bytes,
                last_used: ago(now_ms - m.last_used_ms),
            })
            .collect()
    }

    /// "network 70.0 MiB at 12.3 MiB/s · cache 0 B": where the last load's bytes came from (a picked file's,
    /// "· file 70.0 MiB at …", when it read any).
    pub fn traffic_line(&self) -> Option<String> {
        let t = self.traffic?;
        let side = |bytes: u64, rate: f64| {
            if bytes == 0 {
                "0 B".to_string()
            } else {
                format!("{} at {}", format_bytes(bytes), gptoss_components::format_rate(rate))
            }
        };
        let repaired =
            if t.repaired_chunks > 0 { format!(" · {} chunks repaired", t.repaired_chunks) } else { String::new() };
        let file =
            if t.file_bytes > 0 { format!(" · file {}", side(t.file_bytes, t.file_rate())) } else { String::new() };
        Some(format!(
            "network {} · cache {}{file}{repaired}",
            side(t.network_bytes, t.network_rate()),
            side(t.cache_bytes, t.cache_rate())
        ))
    }
}

fn ago(ms: f64) -> String {
    let s = (ms / 1e3).max(0.0);
    match s {
        s if s < 60.0 => "just now".into(),
        s if s < 3600.0 => format!("{:.0} min ago", s / 60.0),
        s if s < 86_400.0 => format!("{:.0} h ago", s / 3600.0),
        s => format!("{:.0} days ago", s / 86_400.0),
    }
}

/// The cache in the origin private file system, where the engine runs in its worker (only workers have the
/// synchronous file access it needs); elsewhere no cache, said in the HUD.
pub fn open(queue: &Queue) -> Option<ModelCache> {
    #[cfg(target_arch = "wasm32")]
    if crate::worker::in_worker() {
        return Some(ModelCache::new(gptoss_engine::source::cache::Root::new()));
    }
    queue.push(Update::Log(
        Tone::Warning,
        "model cache off: it needs the engine's worker (synchronous OPFS access); every load streams from the network"
            .into(),
    ));
    None
}

/// The cache a model's files are read through, if they are.
pub fn of(model: &GgufModel) -> Option<&ModelCache> {
    model.shards().iter().find_map(|s| match &s.source {
        ByteSource::Cached(c) => Some(c.cache()),
        _ => None,
    })
}

/// Says how much the load will write and what the browser grants, before any tensor byte is fetched. A model that
/// will not fit is still loaded, read past the cache (the engine checks each file the same way), and the log says
/// so: a quota smaller than the model (headless Chrome grants 10 GiB) must not keep a user from running it.
pub async fn check_room(cache: &ModelCache, model: &GgufModel, queue: &Queue) -> Result<()> {
    let mut missing_bytes = 0;
    for shard in model.shards() {
        if let ByteSource::Cached(c) = &shard.source {
            missing_bytes += c.missing_bytes().await?;
        }
    }
    let model_bytes = model.shards().iter().map(|s| s.file_len).sum();
    let estimate = cache.estimate().await?;
    queue.push(Update::Cache(CacheUpdate::Storage(StorageCheck { model_bytes, missing_bytes, estimate })));
    let Some(e) = estimate else { return Ok(()) };
    let free = e.quota.saturating_sub(e.usage);
    if missing_bytes > free {
        queue.push(Update::Log(
            Tone::Warning,
            format!(
                "{}: not cached: this model of {} needs {} more in the model cache, and the browser's storage quota \
                 has {} free ({} of {} used); it loads from the network without a copy. Delete cached models in the \
                 cache panel or free disk space to cache it",
                model.shards()[0].source.name(),
                format_bytes(model_bytes),
                format_bytes(missing_bytes),
                format_bytes(free),
                format_bytes(e.usage),
                format_bytes(e.quota)
            ),
        ));
    }
    Ok(())
}

/// The cache's notes as log lines and its traffic so far.
pub fn report(cache: &ModelCache, queue: &Queue) {
    for note in cache.take_notes() {
        queue.push(Update::Log(Tone::Warning, format!("cache: {note}")));
    }
    queue.push(Update::Cache(CacheUpdate::Traffic(cache.traffic())));
}

/// An event sink that also reports the cache's traffic with each step of a load's progress.
pub fn reporting_sink(
    mut inner: impl FnMut(Event) + 'static,
    cache: ModelCache,
    queue: Queue,
) -> impl FnMut(Event) + 'static {
    move |event| {
        let progress = matches!(event, Event::StageProgress { .. } | Event::StageCompleted { .. });
        inner(event);
        if progress {
            report(&cache, &queue);
        }
    }
}

/// The listing for the cache panel.
pub async fn listing(cache: &ModelCache) -> Result<CacheListing> {
    Ok(CacheListing { models: cache.list().await?, estimate: cache.estimate().await? })
}

/// Asks the browser to keep this origin's storage (`navigator.storage.persist()`, which only the page's thread
/// has) when a load is about to write at least [`PERSIST_FROM_BYTES`], and says what it answered.
#[cfg(target_arch = "wasm32")]
pub fn ask_persistence(check: &StorageCheck, queue: &Queue) {
    use wasm_bindgen_futures::JsFuture;
    if check.missing_bytes < PERSIST_FROM_BYTES {
        return;
    }
    let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) else { return };
    let queue = queue.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let answer = match storage.persist() {
            Ok(promise) => JsFuture::from(promise).await.map(|v| v.as_bool() == Some(true)),
            Err(e) => Err(e),
        };
        queue.push(match answer {
            Ok(true) => Update::Log(Tone::Done, "storage: the browser will keep the model cache (persisted)".into()),
            Ok(false) => Update::Log(
                Tone::Warning,
                "storage: the browser did not grant persistence; it may evict the model cache under storage pressure"
                    .into(),
            ),
            Err(e) => Update::Log(Tone::Warning, format!("storage: navigator.storage.persist() failed: {e:?}")),
        });
    });
}

/// The HUD's cache panel: where the last load's bytes came from, the room it needed, and the cached models;
/// `on_use` gets the key of a cached model chosen with USE.
#[component]
pub fn CacheSection(app: crate::session::GptossSession, view: CacheView, on_use: EventHandler<String>) -> Element {
    use_hook({
        let app = app.clone();
        move || app.list_cache()
    });
    let now_ms =
        web_time::SystemTime::now().duration_since(web_time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let traffic = view.traffic.unwrap_or_default();
    let storage = view.storage.as_ref().map(|s| {
        let grant = s
            .estimate
            .map_or("no estimate".into(), |e| format!("{} used of {}", format_bytes(e.usage), format_bytes(e.quota)));
        format!("model {} · to write {} · storage {grant}", format_bytes(s.model_bytes), format_bytes(s.missing_bytes))
    });
    let usage = view.listing.as_ref().and_then(|l| l.estimate).map(|e| (e.usage, e.quota));
    let (delete, clear) = (app.clone(), app.clone());
    rsx! {
        if let Some(line) = view.traffic_line() {
            Readout { id: "bytes-from", label: "BYTES FROM", tone: Tone::Data,
                "data-network-bytes": traffic.network_bytes, "data-cache-bytes": traffic.cache_bytes,
                "data-file-bytes": traffic.file_bytes, "data-repaired": traffic.repaired_chunks, {line}
            }
        }
        if let Some(line) = storage {
            Readout { id: "storage-check", label: "ROOM", tone: Tone::Data, {line} }
        }
        CachePanel {
            id: "cache-panel",
            "data-listed": view.listing.is_some(),
            models: view.rows(now_ms),
            usage,
            on_use,
            on_delete: move |model: String| delete.delete_cached(Some(model)),
            on_clear: move |_| clear.delete_cached(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picked_files_row_is_named_by_the_file_and_the_traffic_line_says_where_bytes_came_from() {
        let key = gptoss_engine::source::cache::file_key("m.gguf", 70 << 20, 1_718_000_000_000.0);
        let model = |model: &str| CachedModel {
            model: model.into(),
            files: 1,
            bytes: 70 << 20,
            cached_bytes: 70 << 20,
            last_used_ms: 1_000.0,
        };
        let mut view = CacheView::default();
        view.apply(CacheUpdate::Listing(CacheListing {
            models: vec![model(&key), model("/models/m.gguf")],
            estimate: None,
        }));
        let rows = view.rows(2_000.0);
        assert_eq!((rows[0].model.as_str(), rows[0].name.as_str()), (key.as_str(), "m.gguf"));
        assert_eq!(rows[1].name, "/models/m.gguf");

        let picked = Traffic { file_bytes: 70 << 20, file_ms: 1_000.0, ..Traffic::default() };
        view.apply(CacheUpdate::Traffic(picked));
        assert_eq!(view.traffic_line().unwrap(), "network 0 B · cache 0 B · file 70 MiB at 70.0 MiB/s");
        let from_cache = Traffic { cache_bytes: 70 << 20, cache_ms: 100.0, ..Traffic::default() };
        view.apply(CacheUpdate::Traffic(from_cache));
        assert_eq!(view.traffic_line().unwrap(), "network 0 B · cache 70 MiB at 700.0 MiB/s");
    }
}
