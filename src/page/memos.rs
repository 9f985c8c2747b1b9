//! The page's memos: every [`crate::view`] projection the panels draw, each recomputed when the HUD (or the
//! device, or the settings) changes and notifying its readers only when its value differs.

use dioxus::prelude::*;
use gptoss_components::{Candidate, Fact, HeatmapData, KvFillData, LogLine, SparklineData, StreamToken, WaterfallData};
use gptoss_engine::events::PagingStats;

use crate::chat_host::ChatSnapshot;
use crate::estimate::Limits;
use crate::hud::{Hud, Parity, Phase};
use crate::model_cache::CacheView;
use crate::session::Settings;
use crate::view::{self, LoadView, MemoryView, SpeedFigures};
use crate::webgpu::WebGpu;

/// Every projection the page draws.
#[derive(Clone, Copy)]
pub(super) struct Views {
    pub(super) phase: Memo<Phase>,
    pub(super) error: Memo<Option<String>>,
    pub(super) limits: Memo<Option<Limits>>,
    pub(super) ready: Memo<Option<(u64, u32, u32)>>,
    pub(super) percent: Memo<Option<f64>>,
    pub(super) preload: Memo<Vec<Fact>>,
    pub(super) adapter: Memo<Vec<Fact>>,
    pub(super) load: Memo<LoadView>,
    pub(super) memory: Memo<MemoryView>,
    pub(super) stream: Memo<Vec<StreamToken>>,
    pub(super) speed: Memo<SpeedFigures>,
    pub(super) candidates: Memo<Option<(Vec<Candidate>, u32)>>,
    pub(super) waterfall: Memo<WaterfallData>,
    pub(super) entropy: Memo<SparklineData>,
    pub(super) kv_fill: Memo<KvFillData>,
    pub(super) residency: Memo<Option<HeatmapData>>,
    pub(super) paging: Memo<Option<PagingStats>>,
    pub(super) routing: Memo<Option<HeatmapData>>,
    /// `(layers, heads)` of the chosen model, for the attention view's fields.
    pub(super) shape: Memo<(usize, usize)>,
    /// The attention view's `(layer, head)`; starts on layer 1 (full attention), head 0, as the engine's probe.
    pub(super) attention_view: Signal<(usize, usize)>,
    pub(super) attention: Memo<(HeatmapData, Option<String>)>,
    pub(super) cache: Memo<CacheView>,
    pub(super) chat: Memo<ChatSnapshot>,
    pub(super) parity: Memo<Parity>,
    pub(super) log: Memo<Vec<LogLine>>,
}

pub(super) fn use_views(hud: Signal<Hud>, gpu: WebGpu, settings: Signal<Settings>) -> Views {
    let limits = use_memo(move || view::limits(&gpu.status.read()));
    let attention_view = use_signal(|| (1, 0));
    Views {
        phase: use_memo(move || hud.read().phase),
        error: use_memo(move || hud.read().error.clone()),
        limits,
        ready: use_memo(move || hud.read().ready),
        percent: use_memo(move || view::percent(&hud.read().transfer)),
        preload: use_memo(move || {
            let (hud, s) = (hud.read(), settings.read());
            view::preload_summary(hud.facts.as_ref(), hud.phase, s.context, s.experts, limits())
        }),
        adapter: use_memo(move || view::adapter_facts(hud.read().adapter.as_ref(), &gpu.status.read())),
        load: use_memo(move || view::load(&hud.read())),
        memory: use_memo(move || view::memory(&hud.read(), limits())),
        stream: use_memo(move || hud.read().tokens.iter().map(view::stream_token).collect()),
        speed: use_memo(move || view::speed(&hud.read())),
        candidates: use_memo(move || hud.read().tokens.last().map(|t| (view::candidates(t), t.id))),
        waterfall: use_memo(move || view::waterfall(&hud.read().tokens)),
        entropy: use_memo(move || view::entropy(&hud.read().tokens)),
        kv_fill: use_memo(move || view::kv_fill(&hud.read())),
        residency: use_memo(move || hud.read().kv.is_some().then(|| view::residency(&hud.read()))),
        paging: use_memo(move || hud.read().paging.clone()),
        routing: use_memo(move || (!hud.read().tokens.is_empty()).then(|| view::routing(&hud.read()))),
        shape: use_memo(move || match hud.read().facts.as_ref().and_then(|f| f.config.as_ref().ok()) {
            Some(c) => (c.n_layer, c.n_head),
            None => (1, 1),
        }),
        attention_view,
        attention: use_memo(move || view::attention(&hud.read().tokens, attention_view())),
        cache: use_memo(move || hud.read().cache.clone()),
        chat: use_memo(move || hud.read().chat.clone()),
        parity: use_memo(move || hud.read().parity.clone()),
        log: use_memo(move || hud.read().log.clone()),
    }
}
