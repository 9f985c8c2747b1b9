//! The snapshot tests' two helpers: render a component server-side, compare with a committed file.

use dioxus::prelude::*;

/// Renders `root` once on the server side, the way every snapshot test in this crate checks its markup.
pub(crate) fn render_to_string(root: fn() -> Element) -> String {
    let mut dom = VirtualDom::new(root);
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

/// Compares `actual` with the committed snapshot `src/<path>`. `UPDATE_SNAPSHOTS=1` rewrites the file instead
/// (review the diff before committing it); a missing snapshot fails.
pub(crate) fn assert_snapshot(path: &str, actual: &str) {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(path);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(file.parent().expect("snapshot path has a folder")).expect("create snapshot folder");
        std::fs::write(&file, actual).unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!("snapshot {} is missing ({e}); run with UPDATE_SNAPSHOTS=1 to create it", file.display())
    });
    assert_eq!(actual, expected, "snapshot {} differs (UPDATE_SNAPSHOTS=1 rewrites it)", file.display());
}
