use dioxus::prelude::*;

use crate::tone::Tone;

/// One labelled fact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fact {
    pub label: String,
    pub value: String,
    pub tone: Tone,
}

impl Fact {
    pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
        Fact { label: label.into(), value: value.into(), tone: Tone::Data }
    }

    pub fn tone(mut self, tone: Tone) -> Self {
        self.tone = tone;
        self
    }
}

/// # FactTable
///
/// A two-column list of labelled facts (an adapter's limits and features, what a model needs), each value in
/// the colour of its [`Tone`]. Values are rendered as text.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{Fact, FactTable, Tone};
///
/// fn Limits() -> Element {
///     let facts = vec![
///         Fact::new("maxBufferSize", "4 GiB"),
///         Fact::new("shader-f16", "no").tone(Tone::Warning),
///     ];
///     rsx! { FactTable { facts } }
/// }
/// ```
///
/// ## Styling
///
/// - `dl.hud-facts`; each fact is a `div.hud-fact[data-tone]` holding `dt.hud-fact-label` and `dd.hud-fact-value`
/// - `--hud-fact-label-width` (default `24ch`)
#[component]
pub fn FactTable(facts: Vec<Fact>, #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>) -> Element {
    rsx! {
        document::Stylesheet { href: asset!("/src/fact_table/style.css") }
        dl { class: "hud-facts", ..attributes,
            for fact in facts {
                div { key: "{fact.label}", class: "hud-fact", "data-tone": fact.tone.as_str(),
                    dt { class: "hud-fact-label", {fact.label.clone()} }
                    dd { class: "hud-fact-value", {fact.value.clone()} }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn facts_in_order_with_tones() {
        let html = render_to_string(|| {
            rsx! {
                FactTable {
                    facts: vec![
                        Fact::new("maxBufferSize", "4 GiB"),
                        Fact::new("shader-f16", "no").tone(Tone::Warning),
                        Fact::new("fits", "<script>").tone(Tone::Error),
                    ],
                }
            }
        });
        assert_snapshot("fact_table/snapshots/facts.html", &html);
        assert!(html.contains("&#60;script&#62;"), "{html}");
    }
}
