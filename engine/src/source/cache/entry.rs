//! One cached file while a load uses it: its data file, its manifest, and which chunks this session has checked.
//! A read takes what is on disk (each chunk's checksum checked the first time it is read), fetches the chunks
//! that are missing (whole chunks, written as they arrive), and waits for chunks another read is fetching, so
//! concurrent reads never download the same chunk twice.

use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;
use std::sync::Mutex;

use futures::channel::oneshot;

use super::manifest::{checksum, now_unix_ms, stem, Manifest, Validator};
use super::origin::Origin;
use super::store::{RandomFile, Root};
use super::traffic::{Side, TrafficMeter};
use crate::{Error, Result};

pub(super) struct Entry {
    pub stem: String,
    data: RandomFile,
    manifest_file: RandomFile,
    state: Mutex<State>,
}

struct State {
    manifest: Manifest,
    /// Chunks whose bytes on disk matched their checksum in this session (or were written in it).
    verified: Vec<bool>,
    /// Chunks fetched in this session: reading them back is not counted as bytes from the cache.
    fetched: Vec<bool>,
    /// Chunks a read is fetching now, and who waits for them.
    fetching: HashSet<u64>,
    waiters: HashMap<u64, Vec<oneshot::Sender<()>>>,
    /// Set when the storage refused a write (its quota is full): the copy is emptied and every read from then on
    /// goes to the origin (the network, the picked file), so the cache never holds half a file it cannot finish.
    refused: bool,
}

/// What one round of a read has to do.
struct Plan {
    fetch: Vec<RangeInclusive<u64>>,
    /// Wake-ups for the chunks another read is fetching.
    wait: Vec<oneshot::Receiver<()>>,
}

/// A cached chunk that did not hold what its checksum says.
struct Corrupt;

/// Rounds of a read after which a chunk that keeps failing its check is an error (it was fetched again each time).
const MAX_ROUNDS: u32 = 4;

impl Entry {
    /// Opens the entry of `key`, checking a cached copy against what its origin says now (`validator`; an error when
    /// the server could not be asked; `None` for a copy taken as it is, chosen in the cache panel). Anything that
    /// makes the copy unusable is said in `notes` and starts it over.
    pub async fn open(
        root: &Root,
        key: &str,
        model: &str,
        validator: Result<Option<Validator>>,
        notes: &mut Vec<String>,
    ) -> Result<Entry> {
        let stem = stem(key);
        let fail = |e: String| Error::Source(format!("model cache ({}): {e}", root.describe()));
        let manifest_file = root.open(&format!("{stem}.json")).await.map_err(fail)?;
        let data = root.open(&format!("{stem}.gguf")).await.map_err(fail)?;
        let text = manifest_file.read_all().map_err(fail)?;
        let cached = match text.is_empty() {
            true => None,
            false => match Manifest::parse(&String::from_utf8_lossy(&text), &format!("{stem}.json")) {
                Ok(m) if m.key == key => Some(m),
                Ok(m) => {
                    notes.push(format!("{key}: its cache files belong to {} (a hash collision): starting over", m.key));
                    None
                }
                Err(why) => {
                    notes.push(format!("{key}: {why}: the file is fetched again"));
                    None
                }
            },
        };
        let manifest = match (cached, validator) {
            (Some(m), Ok(Some(now))) => match m.validator.mismatch(&now) {
                None => m,
                Some(why) => {
                    notes.push(format!("{key}: the cached copy is stale ({why}): it is discarded and fetched again"));
                    data.replace(&[]).map_err(fail)?;
                    Manifest::new(key, model, now)
                }
            },
            // Its chunks' checksums are still checked as they are read.
            (Some(m), Ok(None)) => m,
            (Some(m), Err(e)) => {
                notes.push(format!(
                    "{key}: the server could not say whether the cached copy is current ({e}); using it, every \
                     chunk's checksum still checked"
                ));
                m
            }
            (None, Ok(Some(now))) => {
                data.replace(&[]).map_err(fail)?;
                Manifest::new(key, model, now)
            }
            (None, Ok(None)) => return Err(fail(format!("{key}: not in the cache"))),
            (None, Err(e)) => return Err(e),
        };
        let n = manifest.chunks.len();
        let entry = Entry {
            stem,
            data,
            manifest_file,
            state: Mutex::new(State {
                manifest,
                verified: vec![false; n],
                fetched: vec![false; n],
                fetching: HashSet::new(),
                waiters: HashMap::new(),
                refused: false,
            }),
        };
        entry.lock().manifest.last_used_ms = now_unix_ms();
        entry.save()?;
        Ok(entry)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn manifest(&self) -> Manifest {
        self.lock().manifest.clone()
    }

    fn save(&self) -> Result<()> {
        let text = serde_json::to_vec(&self.lock().manifest)
            .map_err(|e| Error::Source(format!("{}.json: the manifest would not serialise: {e}", self.stem)))?;
        self.manifest_file.replace(&text).map_err(|e| Error::Source(format!("model cache: {e}")))
    }

    /// Bytes `[offset, offset + len)`, `len >= 1`, inside the file: from disk where cached, else from `origin`.
    pub async fn read(
        &self,
        origin: &Origin,
        meter: &TrafficMeter,
        notes: &Mutex<Vec<String>>,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>> {
        let chunks = self.lock().manifest.chunks_of(offset, len);
        for _ in 0..MAX_ROUNDS {
            if self.lock().refused {
                return meter.origin_read(origin, offset, len).await;
            }
            let plan = self.plan(chunks.clone());
            if plan.fetch.is_empty() && plan.wait.is_empty() {
                match self.assemble(offset, len, meter, notes) {
                    Ok(bytes) => return Ok(bytes),
                    Err(Ok(Corrupt)) => continue,
                    Err(Err(e)) => return Err(e),
                }
            }
            for run in plan.fetch {
                self.fetch(origin, meter, notes, run).await?;
            }
            for waiter in plan.wait {
                // A cancelled sender only means the other read ended; the next round looks again.
                let _ = waiter.await;
            }
        }
        Err(Error::Source(format!(
            "{}: bytes {offset}..{} kept failing their checksum after being fetched again {MAX_ROUNDS} times",
            self.lock().manifest.key,
            offset + len
        )))
    }

    /// Claims the missing chunks of `chunks` that nobody fetches (in contiguous runs) and subscribes to the rest.
    fn plan(&self, chunks: RangeInclusive<u64>) -> Plan {
        let mut s = self.lock();
        let mut plan = Plan { fetch: Vec::new(), wait: Vec::new() };
        for i in chunks {
            if s.manifest.chunks[i as usize].is_some() {
                continue;
            }
            if s.fetching.contains(&i) {
                let (tx, rx) = oneshot::channel();
                s.waiters.entry(i).or_default().push(tx);
                plan.wait.push(rx);
                continue;
            }
            s.fetching.insert(i);
            match plan.fetch.last_mut() {
                Some(run) if *run.end() + 1 == i => *run = *run.start()..=i,
                _ => plan.fetch.push(i..=i),
            }
        }
        plan
    }

    /// The storage refused a write: empties the copy, notes why, and sends every later read to `origin`.
    fn refuse(&self, why: &str, origin: &Origin, notes: &Mutex<Vec<String>>) -> Result<()> {
        let key = {
            let mut s = self.lock();
            s.refused = true;
            s.manifest.chunks.iter_mut().for_each(|c| *c = None);
            s.manifest.key.clone()
        };
        let note = format!("{key}: not cached: the browser refused to store more ({why}); the copy is emptied and the model streams from {}", origin.describe());
        notes.lock().unwrap_or_else(|p| p.into_inner()).push(note);
        self.data.replace(&[]).map_err(|e| Error::Source(format!("model cache: {e}")))?;
        self.save()
    }

    /// Fetches the claimed chunks `run` from `origin` and writes them; the claim ends however this does.
    async fn fetch(
        &self,
        origin: &Origin,
        meter: &TrafficMeter,
        notes: &Mutex<Vec<String>>,
        run: RangeInclusive<u64>,
    ) -> Result<()> {
        let _claim = Claim { entry: self, run: run.clone() };
        let (start, end) = {
            let s = self.lock();
            (s.manifest.chunk_range(*run.start()).0, s.manifest.chunk_range(*run.end()).1)
        };
        let bytes = meter.origin_read(origin, start, end - start).await?;
        let fail = |e: String| Error::Source(format!("model cache: {e}"));
        if let Err(e) = self.data.write_at(start, &bytes) {
            if !e.contains("QuotaExceededError") {
                return Err(fail(e));
            }
            return self.refuse(&e, origin, notes);
        }
        // On disk before the manifest lists it: a crash in between leaves a chunk that is fetched again.
        self.data.flush().map_err(fail)?;
        {
            let mut s = self.lock();
            for i in run {
                let (a, b) = s.manifest.chunk_range(i);
                s.manifest.chunks[i as usize] = Some(checksum(&bytes[(a - start) as usize..(b - start) as usize]));
                s.verified[i as usize] = true;
                s.fetched[i as usize] = true;
            }
        }
        self.save()
    }

    /// Copies `[offset, offset + len)` off the disk, checking each chunk not yet checked in this session. A chunk
    /// that fails is named in `notes`, dropped from the manifest and reported as [`Corrupt`] (the read fetches it
    /// again); any other failure is an error.
    fn assemble(
        &self,
        offset: u64,
        len: u64,
        meter: &TrafficMeter,
        notes: &Mutex<Vec<String>>,
    ) -> std::result::Result<Vec<u8>, Result<Corrupt>> {
        let _busy = meter.start(Side::Cache);
        let end = offset + len;
        let mut out = vec![0u8; len as usize];
        let mut s = self.lock();
        let mut corrupt = false;
        for i in s.manifest.chunks_of(offset, len) {
            let (a, b) = s.manifest.chunk_range(i);
            let (from, to) = (a.max(offset), b.min(end));
            let dest = &mut out[(from - offset) as usize..(to - offset) as usize];
            if s.verified[i as usize] {
                self.data.read_at(from, dest).map_err(|e| Err(Error::Source(format!("model cache: {e}"))))?;
            } else {
                let mut chunk = vec![0u8; (b - a) as usize];
                let expected = s.manifest.chunks[i as usize];
                let problem = match self.data.read_at(a, &mut chunk) {
                    Err(e) => Some(format!("cannot be read ({e})")),
                    Ok(()) if Some(checksum(&chunk)) != expected => Some(format!(
                        "is corrupt (checksum {:016x}, the manifest says {:016x})",
                        checksum(&chunk),
                        expected.unwrap_or_default()
                    )),
                    Ok(()) => None,
                };
                if let Some(problem) = problem {
                    let key = &s.manifest.key;
                    let note = format!("{key}: cached chunk {i} (bytes {a}..{b}) {problem}: fetching it again");
                    notes.lock().unwrap_or_else(|p| p.into_inner()).push(note);
                    meter.repaired();
                    s.manifest.chunks[i as usize] = None;
                    corrupt = true;
                    continue;
                }
                s.verified[i as usize] = true;
                dest.copy_from_slice(&chunk[(from - a) as usize..(to - a) as usize]);
            }
            if !s.fetched[i as usize] {
                meter.add(Side::Cache, to - from);
            }
        }
        drop(s);
        if corrupt {
            // The manifest stops listing the bad chunks before they are fetched again.
            return Err(self.save().map(|()| Corrupt));
        }
        Ok(out)
    }
}

/// Chunks a read has claimed for fetching; released, and whoever waits on them woken, when it ends.
struct Claim<'a> {
    entry: &'a Entry,
    run: RangeInclusive<u64>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut s = self.entry.lock();
        for i in self.run.clone() {
            s.fetching.remove(&i);
            for waiter in s.waiters.remove(&i).unwrap_or_default() {
                // A waiter that went away (its load was cancelled) needs no wake-up.
                let _ = waiter.send(());
            }
        }
    }
}
