//! The device comes up natively (lavapipe in CI) and computes.

use gptoss_engine::gpu::{compute_check, GpuContext};

#[test]
fn device_computes() {
    let ctx = pollster::block_on(GpuContext::new()).expect("a Vulkan adapter (install mesa-vulkan-drivers)");
    eprintln!("adapter: {:?}", ctx.report);
    assert!(ctx.report.max_storage_buffer_binding_size >= 128 << 20);
    let check = pollster::block_on(compute_check(&ctx)).unwrap();
    assert_eq!(check.elements, 1024);
    // Σ (i² + 7) for i < 1024, computed in closed form.
    let n = 1024u64;
    assert_eq!(check.checksum, (n - 1) * n * (2 * n - 1) / 6 + 7 * n);
}

/// A lost device (destroyed here, as a driver reset would lose it) fails the next step with `Error::GpuLost`
/// naming why, not a hang or a panic; the shared device is replaced by a new one, on which the model loads and
/// generates again.
#[test]
fn a_lost_device_fails_the_next_step_and_a_new_one_takes_over() {
    use gptoss_engine::events::NoEvents;
    use gptoss_engine::gguf::GgufModel;
    use gptoss_engine::gpu::{load_model, GpuOptions};
    use gptoss_engine::sampler::SamplerConfig;
    use gptoss_engine::source::ByteSource;
    use gptoss_engine::Error;

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/tiny.gguf");
    let file = pollster::block_on(GgufModel::open(ByteSource::file(&path), &mut NoEvents)).unwrap();
    let options = GpuOptions { context: 64, max_batch: 16, max_logit_rows: 16, ..Default::default() };
    let load = |ctx: std::rc::Rc<GpuContext>| {
        pollster::block_on(load_model(ctx, &file, options.clone(), &mut NoEvents)).unwrap()
    };
    let greedy = SamplerConfig::greedy();

    let first = pollster::block_on(GpuContext::shared()).expect("a Vulkan adapter");
    let mut model = load(first.clone());
    let before = pollster::block_on(model.step(&[1, 2, 3], &greedy)).unwrap().choice.token;
    first.destroy("destroyed by the test");
    assert_eq!(first.lost().as_deref(), Some("destroyed by the test"));
    match pollster::block_on(model.step(&[before], &greedy)) {
        Err(Error::GpuLost(why)) => assert_eq!(why, "destroyed by the test"),
        other => panic!("a step on a lost device gave {:?}", other.map(|s| s.choice.token)),
    }
    drop(model);

    let second = pollster::block_on(GpuContext::shared()).unwrap();
    assert!(!std::rc::Rc::ptr_eq(&first, &second), "the lost device was handed out again");
    assert_eq!(second.lost(), None);
    let mut model = load(second);
    assert_eq!(pollster::block_on(model.step(&[1, 2, 3], &greedy)).unwrap().choice.token, before);
}

/// A second load on the same device, at another context, builds no pipeline (the device keeps them; building them
/// was most of a small model's load on a CPU driver) and computes the same logits.
#[test]
fn a_second_load_on_the_same_device_builds_no_pipeline() {
    use gptoss_engine::events::NoEvents;
    use gptoss_engine::gguf::GgufModel;
    use gptoss_engine::gpu::{load_model, GpuOptions};
    use gptoss_engine::source::ByteSource;

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/tiny.gguf");
    let file = pollster::block_on(GgufModel::open(ByteSource::file(&path), &mut NoEvents)).unwrap();
    let ctx = std::rc::Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter"));
    let logits = |context: usize| {
        let options = GpuOptions { context, max_batch: 16, max_logit_rows: 1, ..Default::default() };
        let mut model = pollster::block_on(load_model(ctx.clone(), &file, options, &mut NoEvents)).unwrap();
        pollster::block_on(model.logits(&[1, 2, 3, 4, 5])).unwrap().pop().unwrap()
    };
    let first = logits(64);
    let built = ctx.pipelines_built();
    assert!(built > 10, "{built} pipelines for a whole forward pass");
    let second = logits(128);
    assert_eq!(ctx.pipelines_built(), built, "the second load built pipelines");
    assert_eq!(first, second);
}

/// A device lost while the model streams in stops the load at the next chunk with `Error::GpuLost` (writes to a
/// lost device would vanish without an error, and the load would end "ready" with nothing on the GPU).
#[test]
fn a_device_lost_during_a_load_stops_the_load() {
    use gptoss_engine::events::Event;
    use gptoss_engine::gguf::GgufModel;
    use gptoss_engine::gpu::{load_model, GpuOptions};
    use gptoss_engine::source::ByteSource;
    use gptoss_engine::Error;

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/tiny.gguf");
    let file =
        pollster::block_on(GgufModel::open(ByteSource::file(&path), &mut gptoss_engine::events::NoEvents)).unwrap();
    let ctx = std::rc::Rc::new(pollster::block_on(GpuContext::new()).expect("a Vulkan adapter"));
    let victim = ctx.clone();
    let mut fetched = 0;
    let mut destroy_after_three = |event: Event| {
        if matches!(event, Event::TensorFetched { .. }) {
            fetched += 1;
            if fetched == 3 {
                victim.destroy("destroyed during the load");
            }
        }
    };
    let options = GpuOptions { context: 64, max_batch: 16, max_logit_rows: 16, ..Default::default() };
    match pollster::block_on(load_model(ctx.clone(), &file, options, &mut destroy_after_three)) {
        Err(Error::GpuLost(why)) => assert_eq!(why, "destroyed during the load"),
        Err(e) => panic!("the load failed otherwise: {e}"),
        Ok(_) => panic!("the load ended as if the model were on the GPU"),
    }
    assert!(fetched >= 3);
}

/// A context whose KV cache no storage binding of this adapter can hold is refused before the loader allocates a
/// buffer or fetches a byte of weights, naming the layer, the bytes and the limit (it used to be found at the end
/// of the load, after every weight had been fetched and uploaded).
#[test]
fn a_context_over_the_binding_limit_is_refused_before_any_weight_is_fetched() {
    use gptoss_engine::events::Event;
    use gptoss_engine::gguf::GgufModel;
    use gptoss_engine::gpu::{load_model, GpuOptions};
    use gptoss_engine::source::ByteSource;

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/tiny.gguf");
    let file =
        pollster::block_on(GgufModel::open(ByteSource::file(&path), &mut gptoss_engine::events::NoEvents)).unwrap();
    let ctx = pollster::block_on(GpuContext::shared()).expect("a Vulkan adapter");
    let binding = gptoss_engine::gpu::buffers::adapter_binding_limit(&ctx.report);
    // A full-attention layer of the tiny model keeps 2 × 32 f32 per position, so this context is just over it.
    let context = (binding / 256 + 1) as usize;
    let (mut fetched, mut allocated) = (0, 0);
    let mut count = |event: Event| match event {
        Event::TensorFetched { .. } => fetched += 1,
        Event::GpuBufferAllocated { .. } => allocated += 1,
        _ => {}
    };
    let options = GpuOptions {
        context,
        max_batch: 16,
        max_logit_rows: 1,
        kv_storage: Some(gptoss_engine::gpu::KvStorage::F32),
        ..Default::default()
    };
    let err = match pollster::block_on(load_model(ctx.clone(), &file, options, &mut count)) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a context of {context} loaded within a {binding}-byte binding"),
    };
    assert!(
        err.contains(&format!("the KV cache of layer 1 needs {} bytes", context * 256))
            && err.contains(&format!("storage binding limit of {binding} bytes: lower the context")),
        "{err}"
    );
    assert_eq!((fetched, allocated), (0, 0), "{err}");
}
