//! How much of the page one token re-renders: the page is built natively around a real session, the HUD is given
//! a loaded model's shape and a generation's tokens, and Dioxus's own `render` spans are counted per component.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use dioxus::prelude::*;
use gptoss_components::{AdapterSummary, GpuStatus};
use gptoss_engine::events::{Event, TokenEvent};
use gptoss_engine::gpu::ExpertBudget;
use gptoss_engine::harmony::{Channel, TokenPart};

use super::HudPage;
use crate::hud::{Hud, KvShape, Update};
use crate::session::use_gptoss;
use crate::webgpu::{SelfTest, WebGpu};

thread_local! {
    static HUD: Cell<Option<Signal<Hud>>> = const { Cell::new(None) };
}

/// The page as the app builds it, on a device that is up (natively there is no browser to bring one up).
fn page() -> Element {
    let app = use_gptoss();
    HUD.set(Some(app.hud));
    let adapter =
        AdapterSummary { max_buffer_size: 1 << 30, max_storage_buffer_binding_size: 1 << 30, ..Default::default() };
    let gpu = WebGpu { status: use_signal(|| GpuStatus::Ready(adapter)), self_test: use_signal(|| SelfTest::Running) };
    rsx! { HudPage { app, gpu } }
}

/// Counts Dioxus's `render` spans (one per component run) by the component's name.
#[derive(Clone, Default)]
struct RenderCounter {
    renders: Arc<Mutex<BTreeMap<String, usize>>>,
    next_id: Arc<AtomicU64>,
}

impl RenderCounter {
    fn take(&self) -> BTreeMap<String, usize> {
        std::mem::take(&mut self.renders.lock().expect("counter lock"))
    }
}

struct ScopeName(Option<String>);

impl tracing::field::Visit for ScopeName {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "scope" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

impl tracing::Subscriber for RenderCounter {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        if span.metadata().name() == "render" {
            let mut name = ScopeName(None);
            span.record(&mut name);
            // `gptoss_components::charts::figure::ChartFigure<…HeatmapData>` counts as `ChartFigure`.
            if let Some(path) = name.0 {
                let name = path.split('<').next().and_then(|p| p.rsplit("::").next()).unwrap_or(&path).to_string();
                *self.renders.lock().expect("counter lock").entry(name).or_default() += 1;
            }
        }
        tracing::span::Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn token(index: usize) -> TokenEvent {
    TokenEvent {
        index,
        position: 40 + index,
        id: 100 + index as u32,
        text: format!(" w{index}"),
        channel: Some(Channel::Final),
        part: TokenPart::Content,
        top: vec![(100 + index as u32, 0.75), (7, 0.25)],
        top_text: vec![format!(" w{index}"), " x".into()],
        entropy: 0.5 + index as f32 * 0.1,
        routes: vec![vec![(index as u32 % 4, 1.0)], vec![(1, 0.5), (2, 0.5)]],
        attention: None,
        paging: None,
        expert_residency: None,
        expert_uses: None,
        elapsed_ms: 500.0 * index as f64,
    }
}

/// Applies `updates` as the frame pump does (one write), then lets memos and components settle.
fn apply(dom: &mut VirtualDom, updates: Vec<Update>) {
    let mut hud = HUD.get().expect("the page was built");
    dom.in_runtime(|| {
        let mut hud = hud.write();
        for update in updates {
            hud.apply(0.0, update);
        }
    });
    // Memos recompute in tasks, and a changed memo dirties its readers: a few rounds settle both.
    for _ in 0..4 {
        dom.render_immediate(&mut dioxus_core::NoOpMutations);
    }
}

#[test]
fn a_token_re_renders_the_panels_that_draw_it_and_not_the_layout() {
    let counter = RenderCounter::default();
    tracing::subscriber::with_default(counter.clone(), || {
        let mut dom = VirtualDom::new(page);
        dom.rebuild_in_place();
        let shape =
            KvShape { sliding: vec![true, false], window: 128, context: 4096, n_expert: 4, experts: ExpertBudget::All };
        apply(&mut dom, vec![Update::Kv(shape), Update::GenerationStarted { prompt_tokens: 40 }]);
        apply(&mut dom, (0..3).map(|i| Update::Engine(Event::Token(token(i)))).collect());
        counter.take();

        apply(&mut dom, vec![Update::Engine(Event::Token(token(3)))]);
        let renders = counter.take();
        let total: usize = renders.values().sum();
        println!("one token re-rendered {total} components: {renders:?}");
        for drawn in ["Stream", "Speed", "NextToken", "Caches", "Routing", "TokenStream", "Waterfall", "Heatmap"] {
            assert!(renders.contains_key(drawn), "{drawn} draws the token but did not re-render: {renders:?}");
        }
        for still in [
            "HudPage",
            "Panel",
            "Controls",
            "Actions",
            "ChatPanel",
            "ParityView",
            "EventLog",
            "LoadProgress",
            "Memory",
            "CacheSection",
            "AttentionView",
            "SourcePicker",
            "FactTable",
        ] {
            assert!(!renders.contains_key(still), "{still} re-rendered for a token: {renders:?}");
        }
    });
}
