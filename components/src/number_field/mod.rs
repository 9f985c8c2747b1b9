use dioxus::prelude::*;

/// # NumberField
///
/// A labelled number input. It reports a new value only when the text parses and lies in `[min, max]`; otherwise
/// it marks itself invalid and keeps the last good value with its owner.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::NumberField;
///
/// fn Temperature() -> Element {
///     let mut t = use_signal(|| 1.0);
///     rsx! {
///         NumberField { label: "temperature", value: t(), min: 0.0, max: 2.0, step: 0.05,
///                       onchange: move |v| t.set(v) }
///     }
/// }
/// ```
///
/// ## Styling
///
/// - `label.hud-field[data-invalid="true" | "false"]` holding `.hud-field-label` and `input.hud-field-input`
#[component]
pub fn NumberField(
    label: String,
    value: f64,
    min: f64,
    max: f64,
    #[props(default = 1.0)] step: f64,
    #[props(default)] disabled: bool,
    onchange: EventHandler<f64>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let mut invalid = use_signal(|| false);
    rsx! {
        document::Stylesheet { href: asset!("/src/number_field/style.css") }
        label { class: "hud-field", "data-invalid": invalid().to_string(), ..attributes,
            span { class: "hud-field-label", {label} }
            input {
                class: "hud-field-input",
                r#type: "number",
                value: value.to_string(),
                min: min.to_string(),
                max: max.to_string(),
                step: step.to_string(),
                disabled,
                oninput: move |e| match e.value().trim().parse::<f64>() {
                    Ok(v) if v >= min && v <= max => {
                        invalid.set(false);
                        onchange.call(v);
                    }
                    _ => invalid.set(true),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn renders_bounds_and_value() {
        let html = render_to_string(|| {
            rsx! { NumberField { label: "top-p", value: 0.95, min: 0.01, max: 1.0, step: 0.01, onchange: |_| {} } }
        });
        assert_snapshot("number_field/snapshots/top_p.html", &html);
    }
}
