//! Where a load's bytes came from: the network or the cache, each with the wall time during which at least one
//! read of that kind was in flight (reads overlap, so summing their durations would understate the rate).

use std::sync::Mutex;
use web_time::Instant;

use crate::source::HttpSource;
use crate::Result;

/// Bytes from each side and the time each was busy.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Traffic {
    pub network_bytes: u64,
    pub network_ms: f64,
    pub cache_bytes: u64,
    pub cache_ms: f64,
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
}

#[derive(Default)]
struct Busy {
    in_flight: u32,
    since: Option<Instant>,
    ms: f64,
}

/// The running count behind [`Traffic`].
#[derive(Default)]
pub(super) struct TrafficMeter {
    inner: Mutex<(Traffic, [Busy; 2])>,
}

/// A read in flight on one side; ends when dropped (also when a cancelled load drops it).
pub(super) struct InFlight<'a> {
    meter: &'a TrafficMeter,
    side: Side,
}

impl TrafficMeter {
    fn lock(&self) -> std::sync::MutexGuard<'_, (Traffic, [Busy; 2])> {
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
        }
    }

    /// `[offset, offset + len)` from the network, timed and counted on the network side.
    pub async fn network_read(&self, inner: &HttpSource, offset: u64, len: u64) -> Result<Vec<u8>> {
        let bytes = {
            let _busy = self.start(Side::Network);
            inner.read(offset, len).await?
        };
        self.add(Side::Network, bytes.len() as u64);
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
