// The load probe's measurements (see index.html), run in a worker (as the app's engine) and on the page's thread (as
// its benchmark mode). Each figure is one pass over `size` bytes.
const MiB = 1 << 20;
// `body`: "reader" (stream reader, chunks copied into one buffer, as the engine reads), "arrayBuffer", or
// "reader+write" (as reader, then each range written to a GPU buffer with writeBuffer, as the engine uploads), or
// "reader+mapped" (each range copied into a mappedAtCreation staging buffer, then copied on the GPU).
async function ranges(url, size, chunk, conc, body, device) {
  const gpu = body.startsWith("reader+") ? device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST }) : null;
  const starts = []; for (let s = 0; s < size; s += chunk) starts.push(s);
  let next = 0, chunks = 0, chunkBytes = 0;
  const t = performance.now();
  async function lane() {
    while (next < starts.length) {
      const s = starts[next++]; const len = Math.min(chunk, size - s);
      const r = await fetch(url, { headers: { Range: `bytes=${s}-${s + len - 1}` }, cache: "no-store" });
      if (body !== "arrayBuffer") {
        const rd = r.body.getReader(); const dst = new Uint8Array(len); let at = 0;
        for (;;) { const { done, value } = await rd.read(); if (done) break; dst.set(value, at); at += value.length; chunks++; chunkBytes += value.length; }
        if (gpu && body === "reader+write") device.queue.writeBuffer(gpu, s, dst);
        if (gpu && body === "reader+mapped") {
          const st = device.createBuffer({ size: len, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
          new Uint8Array(st.getMappedRange()).set(dst); st.unmap();
          const enc = device.createCommandEncoder(); enc.copyBufferToBuffer(st, 0, gpu, s, len);
          device.queue.submit([enc.finish()]); st.destroy();
        }
      } else {
        const b = new Uint8Array(await r.arrayBuffer()); if (b.length !== len) throw new Error("short");
      }
    }
  }
  await Promise.all(Array.from({ length: conc }, lane));
  if (gpu) { await device.queue.onSubmittedWorkDone(); gpu.destroy(); }
  const ms = performance.now() - t;
  return { body, chunk: chunk / MiB, conc, ms: +ms.toFixed(0), MBps: +(size / ms / 1e3).toFixed(0), meanChunkKiB: chunks ? +(chunkBytes / chunks / 1024).toFixed(0) : null };
}
async function writes(device, size, piece) {
  const buf = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const src = new Uint8Array(piece); crypto.getRandomValues(src.subarray(0, 65536));
  const t = performance.now();
  for (let o = 0; o < size; o += piece) device.queue.writeBuffer(buf, o, src);
  const t1 = performance.now();
  await device.queue.onSubmittedWorkDone();
  const ms = performance.now() - t;
  buf.destroy();
  return { write: piece / MiB, callMs: +(t1 - t).toFixed(0), ms: +ms.toFixed(0), MBps: +(size / ms / 1e3).toFixed(0) };
}
async function mapped(device, size, piece) {
  const buf = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  const src = new Uint8Array(piece);
  const t = performance.now();
  const enc = device.createCommandEncoder(); const stagings = [];
  for (let o = 0; o < size; o += piece) {
    const st = device.createBuffer({ size: piece, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    new Uint8Array(st.getMappedRange()).set(src); st.unmap();
    enc.copyBufferToBuffer(st, 0, buf, o, piece); stagings.push(st);
  }
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  const ms = performance.now() - t;
  stagings.forEach(s => s.destroy()); buf.destroy();
  return { mappedAtCreation: piece / MiB, ms: +ms.toFixed(0), MBps: +(size / ms / 1e3).toFixed(0) };
}
async function probe(url, size, cases) {
  const out = [];
  try {
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize, maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } });
    out.push({ adapter: adapter.info?.description || adapter.info?.vendor });
    for (const [body, chunk, conc] of cases.fetch) out.push(await ranges(url, size, chunk * MiB, conc, body, device));
    const wsize = Math.min(size, 1024 * MiB);
    for (const p of cases.write) out.push(await writes(device, wsize, p * MiB));
    for (const p of cases.mapped) out.push(await mapped(device, wsize, p * MiB));
  } catch (err) { out.push({ error: String(err) }); }
  return out;
}
