use dioxus::prelude::*;

use crate::format::whitespace_label;

/// One candidate of the sampler's top list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Candidate {
    pub id: u32,
    pub text: String,
    /// Probability at the sampling temperature, 0–1.
    pub prob: f32,
}

/// # TopProbabilities
///
/// The sampler's most likely next tokens as horizontal bars (token text, bar, percentage), the one chosen
/// marked. Token text comes from the model's vocabulary and is rendered as text; whitespace is labelled.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{Candidate, TopProbabilities};
///
/// fn Top() -> Element {
///     let candidates = vec![
///         Candidate { id: 12194, text: "Paris".into(), prob: 0.82 },
///         Candidate { id: 623, text: " the".into(), prob: 0.05 },
///     ];
///     rsx! { TopProbabilities { candidates, chosen: Some(12194) } }
/// }
/// ```
///
/// ## Styling
///
/// - `ol.hud-top` of `li.hud-top-row[data-chosen="true" | "false"]` with `data-id` and `data-prob`
/// - `--p`: the probability 0–1, set inline on each row; `.hud-prob-bar` (its fill), `.hud-top-text`,
///   `.hud-top-percent`; `.hud-top-text[data-whitespace="true"]` for labelled whitespace
#[component]
pub fn TopProbabilities(
    candidates: Vec<Candidate>,
    /// The id the sampler picked, when it is among the candidates.
    chosen: Option<u32>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    rsx! {
        document::Stylesheet { href: asset!("/src/top_probabilities/style.css") }
        ol { class: "hud-top", ..attributes,
            for (rank, c) in candidates.iter().enumerate() {
                CandidateRow { key: "{rank}", candidate: c.clone(), chosen: chosen == Some(c.id) }
            }
        }
    }
}

#[component]
fn CandidateRow(candidate: Candidate, chosen: bool) -> Element {
    let label = whitespace_label(&candidate.text);
    let whitespace = label.is_some().then_some("true");
    let p = candidate.prob.clamp(0.0, 1.0);
    let percent = format!("{:.1}%", p * 100.0);
    rsx! {
        li {
            class: "hud-top-row",
            "data-chosen": chosen.to_string(),
            "data-id": candidate.id.to_string(),
            "data-prob": candidate.prob.to_string(),
            style: "--p: {p:.4}",
            span { class: "hud-top-text", "data-whitespace": whitespace, title: "id {candidate.id}",
                {label.unwrap_or(candidate.text.clone())}
            }
            span { class: "hud-prob-track", span { class: "hud-prob-bar" } }
            span { class: "hud-top-percent", {percent} }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn bars_with_chosen_marked() {
        let html = render_to_string(|| {
            rsx! {
                TopProbabilities {
                    chosen: Some(12194),
                    candidates: vec![
                        Candidate { id: 12194, text: "Paris".into(), prob: 0.8125 },
                        Candidate { id: 220, text: " ".into(), prob: 0.125 },
                        Candidate { id: 27, text: "<b>".into(), prob: 0.0625 },
                    ],
                }
            }
        });
        assert_snapshot("top_probabilities/snapshots/three.html", &html);
        assert_eq!(html.matches("hud-prob-bar").count(), 3, "{html}");
        assert_eq!(html.matches(r#"data-chosen="true""#).count(), 1, "{html}");
        assert!(html.contains("--p: 0.8125") && html.contains("81.2%"), "{html}");
        assert!(html.contains("&#60;b&#62;"), "{html}");
    }
}
