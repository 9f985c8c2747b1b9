// Ranged reads fetched by a few dedicated workers instead of the engine's own thread. Chrome does much of a fetch
// body's work on the thread that called fetch(): on the H200 one thread tops out near 0.44–0.65 GB/s of 8 MiB
// ranges, and four threads together reach ~1 GB/s (scripts/load-probe/workers.html). Each worker fetches one range,
// reads a 206 body whole and hands the ArrayBuffer over (transferred, not copied) with the status and headers. Any
// other answer comes back without its body (cancelled): an error status needs none, and a 200 (a server that
// ignores Range sends the whole file) the engine asks for again on its own thread, where a body can be streamed.

const WORKERS = 4;

const WORKER_SOURCE = `
onmessage = async (e) => {
  const { id, url, range } = e.data;
  let r;
  try {
    r = await fetch(url, { headers: { Range: range }, cache: "no-store" });
  } catch (err) {
    postMessage({ id, fetchError: String(err) });
    return;
  }
  const headers = {};
  r.headers.forEach((value, name) => { headers[name] = value; });
  if (r.status !== 206) {
    r.body?.cancel().catch(() => {});
    postMessage({ id, status: r.status, headers, body: null });
    return;
  }
  try {
    const body = await r.arrayBuffer();
    postMessage({ id, status: r.status, headers, body }, [body]);
  } catch (err) {
    postMessage({ id, status: r.status, headers, body: null, bodyError: String(err) });
  }
};`;

let pool = null;

function startPool() {
  const source = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
  const started = { workers: [], waiting: new Map(), next: 0, ids: 0, broken: null };
  for (let i = 0; i < WORKERS; i++) {
    const worker = new Worker(source);
    worker.onmessage = (e) => {
      const done = started.waiting.get(e.data.id);
      started.waiting.delete(e.data.id);
      done?.(e.data);
    };
    // A worker that cannot run (its script refused, say) fails every read waiting on the pool, and the pool is
    // not used again: the engine then reads on its own thread.
    worker.onerror = (e) => {
      started.broken = `a fetch worker failed: ${e.message || "its script did not run"}`;
      for (const done of started.waiting.values()) done({ workerError: started.broken });
      started.waiting.clear();
    };
    started.workers.push(worker);
  }
  return started;
}

// GET `url` (relative to this context's address) with `Range: range` on the next worker; resolves to
// `{ status, headers, body }` (`body` an ArrayBuffer for a 206, else null; `bodyError` if the body broke off) or
// `{ fetchError }` when fetch itself was rejected, `{ workerError }` when the pool broke. The workers start at the
// first call; it throws where this context cannot start them (no Worker, blob: workers refused) or one failed before.
export function fetch_pool_get(url, range) {
  if (pool === null) pool = startPool();
  if (pool.broken !== null) throw new Error(pool.broken);
  const absolute = new URL(url, self.location.href).href;
  const id = pool.ids++;
  const worker = pool.workers[pool.next++ % pool.workers.length];
  return new Promise((resolve) => {
    pool.waiting.set(id, resolve);
    worker.postMessage({ id, url: absolute, range });
  });
}
