use dioxus::html::{FileData, HasFileData};
use dioxus::prelude::*;

/// One preset model the picker offers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SourcePreset {
    /// What `onpreset` reports and `selected` names.
    pub id: String,
    pub label: String,
    /// A line under the label: size, what it is, a warning.
    pub detail: String,
}

/// `selected` when the custom URL is the source.
pub const SOURCE_URL: &str = "url";
/// `selected` when a local file is the source.
pub const SOURCE_FILE: &str = "file";

/// # SourcePicker
///
/// Where the model comes from: a list of presets, a custom URL, or a local file picked or dropped onto the
/// picker. It only reports choices; its owner opens the source.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{SourcePicker, SourcePreset};
///
/// fn Source() -> Element {
///     let mut selected = use_signal(|| "tiny".to_string());
///     let presets = vec![SourcePreset {
///         id: "tiny".into(),
///         label: "bundled tiny model".into(),
///         detail: "62 MB · random weights".into(),
///     }];
///     rsx! {
///         SourcePicker {
///             presets,
///             selected: selected(),
///             onpreset: move |id| selected.set(id),
///             onurl: move |_url: String| {},
///             onfile: move |_file| {},
///         }
///     }
/// }
/// ```
///
/// ## Styling
///
/// - `.hud-source[data-dragging="true" | "false"]` (a file is dragged over it)
/// - `button.hud-source-preset[data-preset=<id>][data-selected]` with `.hud-source-label`, `.hud-source-detail`
/// - `.hud-source-url[data-selected]` holding `input.hud-source-url-input` and `button.hud-source-url-use`
/// - `.hud-source-file[data-selected]` holding `input.hud-source-file-input` and `.hud-source-file-name`
#[component]
pub fn SourcePicker(
    presets: Vec<SourcePreset>,
    /// A preset id, [`SOURCE_URL`] or [`SOURCE_FILE`].
    selected: String,
    /// The custom URL to show in the box.
    #[props(default)]
    url: String,
    /// The picked file's name, when a file is the source.
    #[props(default)]
    file_name: Option<String>,
    #[props(default)] disabled: bool,
    onpreset: EventHandler<String>,
    onurl: EventHandler<String>,
    onfile: EventHandler<FileData>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let mut typed = use_signal(|| url.clone());
    let mut dragging = use_signal(|| false);
    let submit = move || {
        let text = typed.read().trim().to_string();
        if !text.is_empty() {
            onurl.call(text);
        }
    };
    rsx! {
        document::Stylesheet { href: asset!("/src/source_picker/style.css") }
        div {
            class: "hud-source",
            "data-dragging": dragging().to_string(),
            ondragover: move |e| {
                e.prevent_default();
                dragging.set(true);
            },
            ondragleave: move |_| dragging.set(false),
            ondrop: move |e| {
                e.prevent_default();
                dragging.set(false);
                if let Some(file) = e.files().into_iter().next() {
                    if !disabled {
                        onfile.call(file);
                    }
                }
            },
            ..attributes,
            for preset in presets {
                button {
                    key: "{preset.id}",
                    class: "hud-source-preset",
                    r#type: "button",
                    disabled,
                    "data-preset": preset.id.clone(),
                    "data-selected": (preset.id == selected).to_string(),
                    onclick: {
                        let id = preset.id.clone();
                        move |_| onpreset.call(id.clone())
                    },
                    span { class: "hud-source-label", {preset.label.clone()} }
                    span { class: "hud-source-detail", {preset.detail.clone()} }
                }
            }
            div { class: "hud-source-url", "data-selected": (selected == SOURCE_URL).to_string(),
                input {
                    class: "hud-source-url-input",
                    r#type: "url",
                    placeholder: "https://…/model.gguf",
                    "aria-label": "model URL",
                    disabled,
                    value: "{typed}",
                    oninput: move |e| typed.set(e.value()),
                    onkeydown: move |e| {
                        if e.key() == Key::Enter {
                            submit();
                        }
                    },
                }
                button { class: "hud-source-url-use", r#type: "button", disabled, onclick: move |_| submit(), "USE URL" }
            }
            label { class: "hud-source-file", "data-selected": (selected == SOURCE_FILE).to_string(),
                input {
                    class: "hud-source-file-input",
                    r#type: "file",
                    accept: ".gguf",
                    disabled,
                    onchange: move |e| {
                        if let Some(file) = e.files().into_iter().next() {
                            onfile.call(file);
                        }
                    },
                }
                span { class: "hud-source-file-name",
                    {file_name.unwrap_or_else(|| "local .gguf file — pick, or drop it here".to_string())}
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
    fn presets_url_and_file() {
        let html = render_to_string(|| {
            rsx! {
                SourcePicker {
                    presets: vec![
                        SourcePreset { id: "tiny".into(), label: "bundled".into(), detail: "random weights".into() },
                        SourcePreset { id: "20b".into(), label: "gpt-oss-20b".into(), detail: "12.1 GB".into() },
                    ],
                    selected: "20b",
                    url: "https://example.com/m.gguf",
                    onpreset: |_| {},
                    onurl: |_| {},
                    onfile: |_| {},
                }
            }
        });
        assert_snapshot("source_picker/snapshots/presets.html", &html);
        assert!(html.contains(r#"data-preset="20b" data-selected="true""#), "{html}");
    }
}
