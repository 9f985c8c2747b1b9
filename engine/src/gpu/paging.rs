//! Expert pools and paging. Each layer's experts live in pools of slots (one expert's gate, up and down each);
//! when the experts do not all fit, each layer keeps a fixed number of slots and an LRU cache decides which experts
//! live there. The kernels read experts through the (layer, expert) → (pool, slot) table whether or not paging is
//! on, so a paged run computes bit for bit what a resident run computes.

use super::buffers::{Allocator, PoolSizes};
use super::model::GpuModel;
use super::weights::{MatrixLayout, WeightUpload};
pub use crate::events::PagingStats;
use crate::source::ByteSource;
use crate::{Error, Result};

/// Which of an expert's three matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpertPart {
    Gate,
    Up,
    Down,
}

impl ExpertPart {
    pub const ALL: [ExpertPart; 3] = [ExpertPart::Gate, ExpertPart::Up, ExpertPart::Down];

    /// The part a `blk.N.ffn_{gate,up,down}_exps.weight` tensor holds.
    pub fn of(tensor: &str) -> Result<Self> {
        [("ffn_gate_exps", ExpertPart::Gate), ("ffn_up_exps", ExpertPart::Up), ("ffn_down_exps", ExpertPart::Down)]
            .into_iter()
            .find(|(n, _)| tensor.contains(n))
            .map(|(_, p)| p)
            .ok_or_else(|| Error::Model(format!("tensor `{tensor}` is no expert gate, up or down stack")))
    }
}

/// A location-table entry no pool matches: the expert is not resident.
pub(super) const NOT_RESIDENT: u32 = u32::MAX;

/// One layer's experts on the GPU.
pub(super) struct ExpertPools {
    pub sizes: PoolSizes,
    pub pools: Vec<wgpu::Buffer>,
}

impl ExpertPools {
    pub fn allocate(sizes: PoolSizes, layer: usize, a: &mut Allocator) -> Result<Self> {
        let pools = (sizes.pools().into_iter().enumerate())
            .map(|(p, slots)| a.weight(&format!("blk.{layer}.experts[pool {p}]"), slots * sizes.slot_bytes()))
            .collect::<Result<_>>()?;
        Ok(ExpertPools { sizes, pools })
    }

    pub fn slot_words(&self) -> u64 {
        self.sizes.slot_bytes() / 4
    }

    /// Word offset of `part` within a slot, and its layout.
    pub fn part_offset(&self, part: ExpertPart) -> (u64, MatrixLayout) {
        let gate = self.sizes.gate;
        match part {
            ExpertPart::Gate => (0, gate),
            ExpertPart::Up => (gate.words(), gate),
            ExpertPart::Down => (2 * gate.words(), self.sizes.down),
        }
    }

    /// The location-table entry for a slot: pool << 16 | slot in pool.
    pub fn location(&self, slot: u64) -> u32 {
        let per_pool = self.sizes.slots_per_pool;
        (((slot / per_pool) << 16) | (slot % per_pool)) as u32
    }

    /// Upload GGUF rows `row0..` of `part` of the expert in `slot`.
    pub fn write_rows(
        &self,
        upload: &WeightUpload,
        slot: u64,
        part: ExpertPart,
        row0: u64,
        bytes: &[u8],
    ) -> Result<()> {
        let per_pool = self.sizes.slots_per_pool;
        let (offset, layout) = self.part_offset(part);
        let base = (slot % per_pool) * self.slot_words() + offset;
        upload.write_rows(&self.pools[(slot / per_pool) as usize], base, &layout, row0, bytes)
    }
}

/// Expert paging state of a model whose experts do not all fit.
pub(super) struct Paging {
    pub cache: ExpertCache,
    /// Per layer: gate, up and down in the file.
    pub files: Vec<[ExpertFileRange; 3]>,
    pub chosen_readback: wgpu::Buffer,
}

impl GpuModel {
    /// Submit each layer's part of the pass up to its router, then bring that layer's chosen experts in.
    pub(super) async fn page_layers(
        &self,
        paging: &mut Paging,
        n_tokens: usize,
        logits_rows: usize,
    ) -> Result<PagingStats> {
        let c = &self.config;
        let k = c.n_expert_used as u64;
        let mut stats = PagingStats::default();
        let mut start = 0;
        for (layer, &end) in self.plan.route_ends.iter().enumerate() {
            let mut encoder = self.encode_range(start..end, n_tokens, logits_rows, false);
            let src = (layer as u64 * self.options.max_batch as u64 * k) * 4;
            encoder.copy_buffer_to_buffer(&self.act.chosen, src, &paging.chosen_readback, 0, k * 4);
            self.ctx.queue.submit([encoder.finish()]);
            let waited = web_time::Instant::now();
            let bytes = self.ctx.read_buffer(&paging.chosen_readback).await?;
            let chosen: Vec<u32> = bytemuck::cast_slice(&bytes).to_vec();
            if let Some(bad) = chosen.iter().find(|&&e| e as usize >= c.n_expert) {
                return Err(Error::Gpu(format!("layer {layer}: the router chose expert {bad} of {}", c.n_expert)));
            }
            let placement = paging.cache.place(layer, &chosen)?;
            stats.hits += placement.hits;
            stats.syncs += 1;
            let pools = &self.weights.layers[layer].experts;
            // Every part of every missing expert is asked for at once: over HTTP (or a picked file) the reads
            // overlap, where one at a time each waited out its own round trip.
            let reads = placement.loads.iter().flat_map(|load| {
                (paging.files[layer].iter().zip(ExpertPart::ALL))
                    .map(move |(file, part)| read_part(layer, load, file, part))
            });
            for (load, part, data) in futures::future::try_join_all(reads).await? {
                pools.write_rows(&self.upload, load.slot as u64, part, 0, &data)?;
                stats.bytes_uploaded += data.len() as u64;
            }
            for load in &placement.loads {
                let entry = |e: u32| (layer * c.n_expert + e as usize) as u64 * 4;
                if let Some(old) = load.evicted {
                    self.ctx.queue.write_buffer(&self.location, entry(old), bytemuck::bytes_of(&NOT_RESIDENT));
                    stats.evictions += 1;
                }
                let loc = pools.location(load.slot as u64);
                self.ctx.queue.write_buffer(&self.location, entry(load.expert), bytemuck::bytes_of(&loc));
                stats.misses += 1;
            }
            stats.stall_ms += waited.elapsed().as_secs_f64() * 1e3;
            start = end;
        }
        Ok(stats)
    }
}

/// One part of an expert that `load` brings in, read from its file.
async fn read_part<'a>(
    layer: usize,
    load: &'a Load,
    file: &ExpertFileRange,
    part: ExpertPart,
) -> Result<(&'a Load, ExpertPart, Vec<u8>)> {
    let at = file.offset + load.expert as u64 * file.bytes_per_expert;
    let data = file.source.read(at, file.bytes_per_expert).await.map_err(|e| {
        Error::Gpu(format!(
            "paging in expert {} of layer {layer} ({}, bytes {at}..{}) failed: {e}",
            load.expert,
            file.tensor,
            at + file.bytes_per_expert
        ))
    })?;
    Ok((load, part, data))
}

/// How much GPU memory the experts may take.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub enum ExpertBudget {
    /// Every expert resident: no paging, no readback.
    #[default]
    All,
    /// A fraction of each layer's experts (at least the k one token needs).
    Fraction(f64),
    /// Bytes for all layers' expert slots together.
    Bytes(u64),
    /// The fewest slots one token needs: k per layer.
    Min,
}

impl ExpertBudget {
    /// `min`, `N%` or a byte count (`--expert-budget` on the CLI).
    pub fn parse(text: &str) -> Result<Self> {
        let t = text.trim();
        if t == "min" {
            return Ok(ExpertBudget::Min);
        }
        if let Some(p) = t.strip_suffix('%') {
            let p: f64 = p.parse().map_err(|_| Error::Usage(format!("expert budget `{text}`: not a percentage")))?;
            if !(p > 0.0 && p <= 100.0) {
                return Err(Error::Usage(format!("expert budget `{text}`: must be in (0, 100]%")));
            }
            return Ok(if p >= 100.0 { ExpertBudget::All } else { ExpertBudget::Fraction(p / 100.0) });
        }
        t.parse::<u64>()
            .map(ExpertBudget::Bytes)
            .map_err(|_| Error::Usage(format!("expert budget `{text}`: expected `min`, `N%` or a byte count")))
    }

    /// Slots per layer for `n_expert` experts of `slot_bytes` each, `k` used per token, over `n_layer` layers.
    pub fn slots(self, n_expert: usize, k: usize, n_layer: usize, slot_bytes: u64) -> Result<usize> {
        let slots = match self {
            ExpertBudget::All => n_expert,
            ExpertBudget::Fraction(f) => ((n_expert as f64 * f).ceil() as usize).max(k),
            ExpertBudget::Min => k,
            ExpertBudget::Bytes(b) => {
                let per_layer = (b / (n_layer as u64 * slot_bytes).max(1)) as usize;
                if per_layer < k {
                    return Err(Error::Usage(format!(
                        "expert budget of {b} bytes holds {per_layer} experts per layer; one token needs {k} \
                         ({} bytes in all)",
                        k as u64 * n_layer as u64 * slot_bytes
                    )));
                }
                per_layer
            }
        };
        Ok(slots.min(n_expert))
    }
}

/// Which expert each slot of each layer holds, and the least-recently-used order.
#[derive(Debug, Clone)]
pub struct ExpertCache {
    /// Per layer: the expert in each slot.
    slots: Vec<Vec<Option<u32>>>,
    /// Per layer and slot: the step that last used it.
    last_used: Vec<Vec<u64>>,
    /// Per layer and expert: tokens routed to it.
    uses: Vec<Vec<u64>>,
    clock: u64,
}

/// What bringing a layer's chosen experts in takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// (expert, slot) for experts to upload; `evicted` is the expert the slot held before.
    pub loads: Vec<Load>,
    pub hits: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub expert: u32,
    pub slot: usize,
    pub evicted: Option<u32>,
}

impl ExpertCache {
    /// Slots of every layer filled with experts 0, 1, … (what the load uploads).
    pub fn new(n_layer: usize, n_expert: usize, slots: usize) -> Self {
        ExpertCache {
            slots: vec![(0..slots as u32).map(Some).collect(); n_layer],
            last_used: vec![vec![0; slots]; n_layer],
            uses: vec![vec![0; n_expert]; n_layer],
            clock: 0,
        }
    }

    pub fn slots_per_layer(&self) -> usize {
        self.slots.first().map_or(0, |s| s.len())
    }

    pub fn slot_of(&self, layer: usize, expert: u32) -> Option<usize> {
        self.slots[layer].iter().position(|s| *s == Some(expert))
    }

    /// Place `chosen` (one token's experts in `layer`): hits are touched; each miss takes the least recently used
    /// slot whose expert is not among `chosen`. Fails when `chosen` has more distinct experts than slots.
    pub fn place(&mut self, layer: usize, chosen: &[u32]) -> Result<Placement> {
        self.clock += 1;
        let now = self.clock;
        let mut wanted: Vec<u32> = chosen.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        if wanted.len() > self.slots[layer].len() {
            return Err(Error::Gpu(format!(
                "layer {layer} needs {} experts at once but has {} slots",
                wanted.len(),
                self.slots[layer].len()
            )));
        }
        let mut hits = 0;
        let mut loads = Vec::new();
        for &e in chosen {
            self.uses[layer][e as usize] += 1;
        }
        for &e in &wanted {
            if let Some(s) = self.slot_of(layer, e) {
                self.last_used[layer][s] = now;
                hits += 1;
            }
        }
        for &e in &wanted {
            if self.slot_of(layer, e).is_some() {
                continue;
            }
            // The least recently used slot not serving this token (ties: the lowest slot).
            let victim = (0..self.slots[layer].len())
                .filter(|&s| self.last_used[layer][s] != now)
                .min_by_key(|&s| (self.last_used[layer][s], s))
                .ok_or_else(|| Error::Gpu(format!("layer {layer}: no slot free for expert {e}")))?;
            let evicted = self.slots[layer][victim].replace(e);
            self.last_used[layer][victim] = now;
            loads.push(Load { expert: e, slot: victim, evicted });
        }
        Ok(Placement { loads, hits })
    }

    /// Per layer, which experts are resident.
    pub fn residency(&self, n_expert: usize) -> Vec<Vec<bool>> {
        self.slots
            .iter()
            .map(|layer| {
                let mut r = vec![false; n_expert];
                for e in layer.iter().flatten() {
                    r[*e as usize] = true;
                }
                r
            })
            .collect()
    }

    /// Per layer and expert: tokens routed to it so far.
    pub fn uses(&self) -> &[Vec<u64>] {
        &self.uses
    }
}

/// Where one layer's expert matrices are in the file: per part (gate, up, down) the source, the absolute
/// offset of expert 0 and the bytes of one expert.
#[derive(Debug, Clone)]
pub struct ExpertFileRange {
    pub tensor: String,
    pub source: ByteSource,
    pub offset: u64,
    pub bytes_per_expert: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_not_in_use() {
        // 1 layer, 8 experts, 4 slots holding 0..4.
        let mut c = ExpertCache::new(1, 8, 4);
        assert_eq!(c.place(0, &[0, 1]).unwrap(), Placement { loads: vec![], hits: 2 });
        // 2 and 3 were last used at the start (clock 0); 2 is the lower slot.
        let p = c.place(0, &[5]).unwrap();
        assert_eq!(p.loads, vec![Load { expert: 5, slot: 2, evicted: Some(2) }]);
        let p = c.place(0, &[6, 0]).unwrap();
        assert_eq!(p.hits, 1);
        assert_eq!(p.loads, vec![Load { expert: 6, slot: 3, evicted: Some(3) }]);
        // Now LRU order: slot 1 (expert 1, clock 1), slot 2 (5, clock 2), slots 0 and 3 (clock 3).
        let p = c.place(0, &[7, 4]).unwrap();
        assert_eq!(
            p.loads,
            vec![Load { expert: 4, slot: 1, evicted: Some(1) }, Load { expert: 7, slot: 2, evicted: Some(5) }]
        );
        assert_eq!(c.residency(8)[0], vec![true, false, false, false, true, false, true, true]);
        assert_eq!(c.uses()[0][0], 2);
        assert!(c.place(0, &[0, 1, 2, 3, 4]).is_err());
    }

    #[test]
    fn budgets() {
        assert_eq!(ExpertBudget::parse("min").unwrap(), ExpertBudget::Min);
        assert_eq!(ExpertBudget::parse("50%").unwrap(), ExpertBudget::Fraction(0.5));
        assert_eq!(ExpertBudget::parse("100%").unwrap(), ExpertBudget::All);
        assert_eq!(ExpertBudget::parse("1000").unwrap(), ExpertBudget::Bytes(1000));
        assert!(ExpertBudget::parse("0%").is_err() && ExpertBudget::parse("lots").is_err());
        assert_eq!(ExpertBudget::Fraction(0.25).slots(32, 4, 24, 10).unwrap(), 8);
        assert_eq!(ExpertBudget::Fraction(0.01).slots(32, 4, 24, 10).unwrap(), 4);
        assert_eq!(ExpertBudget::Min.slots(32, 4, 24, 10).unwrap(), 4);
        assert_eq!(ExpertBudget::Bytes(24 * 10 * 6).slots(32, 4, 24, 10).unwrap(), 6);
        assert!(ExpertBudget::Bytes(24 * 10 * 3).slots(32, 4, 24, 10).is_err());
    }
}
