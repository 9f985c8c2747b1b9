//! Every WGSL module the engine composes parses and validates with naga (the front end wgpu uses), so a shader bug
//! fails `cargo test`, not the first run in a browser; every file in shaders/ is part of some module; and every
//! Rust parameter struct has the layout of its WGSL twin.

use gptoss_engine::gpu::params::all_layouts;
use gptoss_engine::gpu::shaders::{all_modules, source};

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

/// The element type of a Rust member type as naga spells it: `u32`, `f32`, or the element of `[u32; N]`.
fn rust_scalar(ty: &str) -> &str {
    ty.strip_prefix('[').and_then(|t| t.split(';').next()).unwrap_or(ty).trim()
}

fn wgsl_scalar(module: &naga::Module, ty: naga::Handle<naga::Type>) -> String {
    match &module.types[ty].inner {
        naga::TypeInner::Scalar(s) => match s.kind {
            naga::ScalarKind::Uint => "u32".into(),
            naga::ScalarKind::Float => "f32".into(),
            k => format!("{k:?}"),
        },
        naga::TypeInner::Array { base, .. } => wgsl_scalar(module, *base),
        other => format!("{other:?}"),
    }
}

/// By naga reflection: each parameter struct's size, member names, offsets and element types equal those of the
/// WGSL struct it mirrors, in every composed module that declares it.
#[test]
fn parameter_structs_match_their_wgsl() {
    let mut checked = 0;
    for layout in all_layouts() {
        for kernel in &layout.kernels {
            for variant in kernel.variants() {
                let what = format!("{} ↔ {}+{variant:?} `{}`", layout.rust, kernel.name(), layout.wgsl);
                let src = source(*kernel, variant).unwrap();
                let module = naga::front::wgsl::parse_str(&src).unwrap_or_else(|e| panic!("{what}: {e}"));
                let (_, ty) = module
                    .types
                    .iter()
                    .find(|(_, t)| t.name.as_deref() == Some(layout.wgsl))
                    .unwrap_or_else(|| panic!("{what}: no such WGSL struct"));
                let naga::TypeInner::Struct { members, span } = &ty.inner else { panic!("{what}: not a struct") };
                assert_eq!(*span as usize, layout.size, "{what}: size");
                let wgsl: Vec<(String, usize, String)> = members
                    .iter()
                    .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize, wgsl_scalar(&module, m.ty)))
                    .collect();
                let rust: Vec<(String, usize, String)> =
                    layout.members.iter().map(|(n, o, t)| (n.to_string(), *o, rust_scalar(t).to_string())).collect();
                assert_eq!(rust, wgsl, "{what}: members (name, offset, type)");
                checked += 1;
            }
        }
    }
    eprintln!("{checked} struct layouts match");
}
