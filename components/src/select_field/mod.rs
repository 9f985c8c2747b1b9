use dioxus::prelude::*;

/// # SelectField
///
/// A labelled drop-down over `(value, label)` options; reports the chosen value.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::SelectField;
///
/// fn Effort() -> Element {
///     let mut effort = use_signal(|| "medium".to_string());
///     let options = ["low", "medium", "high"].map(|e| (e.to_string(), e.to_string())).to_vec();
///     rsx! { SelectField { label: "reasoning effort", value: effort(), options, onchange: move |v| effort.set(v) } }
/// }
/// ```
///
/// ## Styling
///
/// - `label.hud-field` holding `.hud-field-label` and `select.hud-field-input` (shares NumberField's look)
#[component]
pub fn SelectField(
    label: String,
    value: String,
    /// `(value, label)` pairs in display order.
    options: Vec<(String, String)>,
    #[props(default)] disabled: bool,
    onchange: EventHandler<String>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    rsx! {
        document::Stylesheet { href: asset!("/src/number_field/style.css") }
        label { class: "hud-field", ..attributes,
            span { class: "hud-field-label", {label} }
            select {
                class: "hud-field-input",
                disabled,
                onchange: move |e| onchange.call(e.value()),
                for (v, text) in options {
                    option { key: "{v}", value: v.clone(), selected: v == value, {text} }
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
    fn marks_the_selected_option() {
        let html = render_to_string(|| {
            rsx! {
                SelectField {
                    label: "reasoning effort",
                    value: "medium",
                    options: ["low", "medium", "high"].map(|e| (e.to_string(), e.to_uppercase())).to_vec(),
                    onchange: |_| {},
                }
            }
        });
        assert_snapshot("select_field/snapshots/effort.html", &html);
        assert_eq!(html.matches("selected=true").count(), 1, "{html}");
    }
}
