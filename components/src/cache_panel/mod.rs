use dioxus::prelude::*;

use crate::format::format_bytes;

/// One cached model as the panel lists it (a split model's files are one row).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CachedModelRow {
    /// What identifies it (its first file's cache key, handed to the callbacks): a URL, or a picked file's key.
    pub model: String,
    /// What the panel calls it: the URL, or the picked file's name.
    pub name: String,
    pub files: usize,
    pub bytes: u64,
    pub cached_bytes: u64,
    /// When a load last used it, already in words ("2 min ago", a date).
    pub last_used: String,
}

/// # CachePanel
///
/// The models kept in the browser's storage: per model its size, how much of it is on disk, its files and when it
/// was last used, with a button to use it (complete models only: its owner makes it the chosen model, read from the
/// cache) and one to delete it; a button to clear them all; and the origin's storage usage against its quota.
/// Model names are rendered as text.
///
/// ## Example
///
/// ```rust
/// use dioxus::prelude::*;
/// use gptoss_components::{CachePanel, CachedModelRow};
///
/// fn Cache() -> Element {
///     let models = vec![CachedModelRow {
///         model: "/models/m.gguf".into(),
///         name: "/models/m.gguf".into(),
///         files: 1,
///         bytes: 70 << 20,
///         cached_bytes: 70 << 20,
///         last_used: "just now".into(),
///     }];
///     rsx! {
///         CachePanel {
///             models,
///             usage: Some((70 << 20, 10 << 30)),
///             on_use: |_model: String| {},
///             on_delete: |_model: String| {},
///             on_clear: |_| {},
///         }
///     }
/// }
/// ```
///
/// ## Styling
///
/// - `section.hud-cache`; `.hud-cache-usage[data-usage][data-quota]` (the estimate, bytes in the attributes)
/// - each model `li.hud-cache-model[data-model][data-complete="true" | "false"][data-bytes][data-cached-bytes]` with
///   `.hud-cache-name`, `.hud-cache-size`, `.hud-cache-used`, `button.hud-cache-use` (complete models only) and
///   `button.hud-cache-delete`; `button.hud-cache-clear`
/// - `.hud-cache-empty` when nothing is cached
#[component]
pub fn CachePanel(
    models: Vec<CachedModelRow>,
    /// `(usage, quota)` in bytes, as `navigator.storage.estimate()` gave them.
    usage: Option<(u64, u64)>,
    /// A complete model chosen, by its `model`.
    on_use: EventHandler<String>,
    on_delete: EventHandler<String>,
    on_clear: EventHandler<()>,
    #[props(extends = GlobalAttributes)] attributes: Vec<Attribute>,
) -> Element {
    let usage_text = match usage {
        Some((used, quota)) => format!("{} used of {}", format_bytes(used), format_bytes(quota)),
        None => "storage estimate not available".to_string(),
    };
    let (used, quota) = usage.unwrap_or_default();
    rsx! {
        document::Stylesheet { href: asset!("/src/cache_panel/style.css") }
        section { class: "hud-cache", ..attributes,
            div { class: "hud-cache-usage", "data-usage": used, "data-quota": quota, {usage_text} }
            if models.is_empty() {
                div { class: "hud-cache-empty", "no models cached" }
            }
            ul { class: "hud-cache-models",
                for row in models {
                    li {
                        key: "{row.model}",
                        class: "hud-cache-model",
                        "data-model": row.model.clone(),
                        "data-complete": row.cached_bytes == row.bytes,
                        "data-bytes": row.bytes,
                        "data-cached-bytes": row.cached_bytes,
                        span { class: "hud-cache-name", {row.name.clone()} }
                        span { class: "hud-cache-size",
                            {format!("{} of {}{}", format_bytes(row.cached_bytes), format_bytes(row.bytes),
                                if row.files > 1 { format!(" · {} files", row.files) } else { String::new() })}
                        }
                        span { class: "hud-cache-used", {row.last_used.clone()} }
                        if row.cached_bytes == row.bytes {
                            button {
                                class: "hud-cache-use",
                                r#type: "button",
                                title: "make it the chosen model, read from the cache",
                                onclick: {
                                    let model = row.model.clone();
                                    move |_| on_use.call(model.clone())
                                },
                                "USE"
                            }
                        }
                        button {
                            class: "hud-cache-delete",
                            r#type: "button",
                            onclick: move |_| on_delete.call(row.model.clone()),
                            "DELETE"
                        }
                    }
                }
            }
            button { class: "hud-cache-clear", r#type: "button", onclick: move |_| on_clear.call(()), "CLEAR ALL" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{assert_snapshot, render_to_string};

    #[test]
    fn models_with_sizes_completeness_and_usage() {
        let html = render_to_string(|| {
            rsx! {
                CachePanel {
                    models: vec![
                        CachedModelRow {
                            model: "https://h.example/gpt-oss-120b-mxfp4-00001-of-00003.gguf".into(),
                            name: "https://h.example/gpt-oss-120b-mxfp4-00001-of-00003.gguf".into(),
                            files: 3,
                            bytes: 63_000_000_000,
                            cached_bytes: 21_000_000_000,
                            last_used: "5 min ago".into(),
                        },
                        CachedModelRow {
                            model: "file:<b>.gguf:73400320:1718000000123".into(),
                            name: "<b>.gguf".into(),
                            files: 1,
                            bytes: 70 << 20,
                            cached_bytes: 70 << 20,
                            last_used: "just now".into(),
                        },
                    ],
                    usage: Some((21_073_741_824, 100_000_000_000)),
                    on_use: |_| {},
                    on_delete: |_| {},
                    on_clear: |_| {},
                }
            }
        });
        assert_snapshot("cache_panel/snapshots/models.html", &html);
        assert!(html.contains("data-complete=false") && html.contains("data-complete=true"), "{html}");
        assert!(html.contains("3 files") && html.contains("&#60;b&#62;"), "{html}");
        // USE on the complete model only, after its name and size.
        let use_button = r#"class="hud-cache-use""#;
        assert_eq!(html.matches(use_button).count(), 1, "{html}");
        let (incomplete, complete) = html.split_once("file:&#60;b&#62;.gguf").unwrap();
        assert!(!incomplete.contains(use_button) && complete.contains(use_button), "{html}");
    }

    #[test]
    fn empty_without_estimate() {
        let html = render_to_string(|| {
            rsx! { CachePanel { models: vec![], usage: None, on_use: |_| {}, on_delete: |_| {}, on_clear: |_| {} } }
        });
        assert!(html.contains("no models cached") && html.contains("storage estimate not available"), "{html}");
    }
}
