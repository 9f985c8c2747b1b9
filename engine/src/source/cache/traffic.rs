//! Where a load's bytes came from: the network, a picked file or the cache, each with the wall time during which at
//! least one read of that kind was in flight (reads overlap, so summing their durations would understate the rate).

use std::sync::Mutex;
use web_time::Instant;

use super::origin::Origin;
use crate::Result;

/// Bytes from each side and the time each was busy.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Traffic {
    pub network_bytes: u64,
    pub network_ms: f64,
    pub cache_bytes: u64,
    pub cache_ms: f64,
    /// Bytes read from a picked file, which the cache keeps as it does a URL's.
    pub file_bytes: u64,
    pub file_ms: f64,
    /// Cached chunks found corrupt or unreadable and fetched again.
    pub repaired_chunks: u64,
}

impl Traffic {
    pub fn network_rate(&self) -> f64 {
        rate(self.network_bytes, self.network_ms)
    }

    pub fn cache_rate(&self) -> f64 {
        rate(self.cache_bytes, self.cache_ms)
    }

    pub fn file_rate(&self) -> f64 {
        rate(self.file_bytes, self.file_ms)
    }
}

/// Bytes per second.
fn rate(bytes: u64, ms: f64) -> f64 {
    if ms > 0.0 {
        bytes as f64 / (ms / 1e3)
    } else {
        0.0
    }
}

/// Which side a read is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Network,
    Cache,
    File,
}

const SIDES: usize = 3;

#[derive(Default)]
struct Busy {
    in_flight: u32,
    since: Option<Instant>,
    ms: f64,
}

/// The running count behind [`Traffic`].
#[derive(Default)]
pub(super) struct TrafficMeter {
    inner: Mutex<(Traffic, [Busy; SIDES])>,
}

/// A read in flight on one side; ends when dropped (also when a cancelled load drops it).
pub(super) struct InFlight<'a> {
    meter: &'a TrafficMeter,
    side: Side,
}

impl TrafficMeter {
    fn lock(&self) -> std::sync::MutexGuard<'_, (Traffic, [Busy; SIDES])> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn start(&self, side: Side) -> InFlight<'_> {
        let busy = &mut self.lock().1[side as usize];
        if busy.in_flight == 0 {
            busy.since = Some(Instant::now());
        }
        busy.in_flight += 1;
        InFlight { meter: self, side }
    }

    pub fn add(&self, side: Side, bytes: u64) {
        let traffic = &mut self.lock().0;
        match side {
            Side::Network => traffic.network_bytes += bytes,
            Side::Cache => traffic.cache_bytes += bytes,
            Side::File => traffic.file_bytes += bytes,
        }
    }

    /// `[offset, offset + len)` from `origin`, timed and counted on its side.
    pub async fn origin_read(&self, origin: &Origin, offset: u64, len: u64) -> Result<Vec<u8>> {
        let bytes = {
            let _busy = self.start(origin.side());
            origin.read(offset, len).await?
        };
        self.add(origin.side(), bytes.len() as u64);
        Ok(bytes)
    }

    pub fn repaired(&self) {
        self.lock().0.repaired_chunks += 1;
    }

    /// The figures so far, the time of reads still in flight included.
    pub fn snapshot(&self) -> Traffic {
        let guard = self.lock();
        let mut t = guard.0;
        let busy_ms = |b: &Busy| b.ms + b.since.filter(|_| b.in_flight > 0).map_or(0.0, ms_since);
        t.network_ms = busy_ms(&guard.1[Side::Network as usize]);
        t.cache_ms = busy_ms(&guard.1[Side::Cache as usize]);
        t.file_ms = busy_ms(&guard.1[Side::File as usize]);
        t
    }

    pub fn reset(&self) {
        let mut guard = self.lock();
        guard.0 = Traffic::default();
        for busy in &mut guard.1 {
            busy.ms = 0.0;
            busy.since = (busy.in_flight > 0).then(Instant::now);
        }
    }
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let busy = &mut self.meter.lock().1[self.side as usize];
        busy.in_flight -= 1;
        if busy.in_flight == 0 {
            if let Some(since) = busy.since.take() {
                busy.ms += ms_since(since);
            }
        }
    }
}
