//! Every WGSL module the engine composes parses and validates with naga (the front end wgpu uses), so a shader bug
//! fails `cargo test`, not the first run in a browser; and every file in shaders/ is part of some module.

use gptoss_engine::gpu::shaders::all_modules;

fn validate(name: &str, src: &str) -> Result<(), String> {
    let module = naga::front::wgsl::parse_str(src).map_err(|e| format!("{name}: {}", e.emit_to_string(src)))?;
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::all())
        .validate(&module)
        .map(|_| ())
        .map_err(|e| format!("{name}: {}", e.emit_to_string(src)))
}

#[test]
fn every_composed_module_validates() {
    let modules = all_modules();
    let failures: Vec<String> = modules.iter().filter_map(|(n, s)| validate(n, s).err()).collect();
    assert!(failures.is_empty(), "invalid shaders:\n{}", failures.join("\n\n"));
    eprintln!("validated {} composed modules", modules.len());
}

#[test]
fn standalone_shaders_validate() {
    validate("compute_check", include_str!("../../shaders/compute_check.wgsl")).unwrap();
    validate("read_bandwidth", include_str!("../../shaders/read_bandwidth.wgsl")).unwrap();
}

#[test]
fn every_wgsl_file_is_used() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shaders");
    let modules = all_modules();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "wgsl") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let standalone = ["compute_check.wgsl", "read_bandwidth.wgsl"];
        let used = standalone.iter().any(|f| path.file_name().unwrap() == *f)
            || modules.iter().any(|(_, s)| s.contains(&text));
        assert!(used, "{} is not composed into any module", path.display());
    }
}
