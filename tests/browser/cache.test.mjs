// The model cache in the browser (OPFS, written by the engine's worker), on the real page with the bundled model:
// a second load after a reload asks the server for no model byte and generates the same greedy ids; a corrupt
// cached chunk is named and fetched again alone; deleting from the cache panel lowers the storage estimate; a load
// cut off half way resumes with only the missing part; a quota that refuses the cache's writes leaves no
// half-written copy and the model still loads; a picked file is cached as it loads, and after a reload USE in the
// cache panel loads it from the cache alone, with no file picked, and generates the same greedy ids.
//
//   APP_DIR=<dx build output>/public node --test tests/browser/cache.test.mjs
//
// Loads are stopped by leaving the page once what a check needs has happened (a reload ends the worker, as a
// closed tab does): SwiftShader's first token takes tens of seconds, so only the first two tests' loads generate
// (three greedy tokens each).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { launchChromium } from "./launch.mjs";
import { startStaticServer } from "./static-server.mjs";

const APP_DIR = process.env.APP_DIR;
const TIMEOUT_MS = 180_000;
const MODEL_PATH = "/models/wordnet-gpt-oss.gguf";
const CHUNK_BYTES = 4 << 20;
// The prompt's first greedy tokens compared between the two loads (a few: SwiftShader is slow).
const GREEDY_TOKENS = 3;

let server, context, page, profileDir, modelBytes;
// Every ranged request the server answered, and the ones Playwright saw (the worker's fetches included).
const ranges = { seen: [], budget: null, ignore: false, whole: [] };
const playwrightRanges = [];

before(async () => {
  assert.ok(APP_DIR, "APP_DIR must name the built app's public directory");
  modelBytes = (await stat(join(APP_DIR, MODEL_PATH))).size;
  server = await startStaticServer(APP_DIR, { ranges });
  ({ context, profileDir } = await launchChromium("gptoss-cache"));
  context.on("request", (request) => {
    if (request.url().endsWith(MODEL_PATH) && request.headers()["range"]) playwrightRanges.push(request.headers()["range"]);
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => msg.type() === "error" && console.log(`[console.error] ${msg.text()}`));
  page.on("pageerror", (error) => console.log(`[pageerror] ${error.stack ?? error}`));
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

const rangeBytes = () => ranges.seen.reduce((n, r) => n + (r.end - r.start + 1), 0);
const resetCounts = () => {
  ranges.seen.length = 0;
  playwrightRanges.length = 0;
};

/** The app at /gptoss with the bundled model chosen (its header read) and the cache panel listed. Leaving a page
 * whose engine is generating waits for the GPU work it submitted (SwiftShader's prefill takes tens of seconds). */
async function openApp() {
  await page.goto(`${server.url}/gptoss`, { timeout: TIMEOUT_MS });
  await page.waitForSelector('#webgpu-status[data-state="ready"]', { timeout: TIMEOUT_MS });
  await page.locator("#preload-summary").getByText(/GPU memory @ 4096 ctx/).waitFor({ timeout: TIMEOUT_MS });
  await page.waitForSelector('#cache-panel[data-listed="true"]', { timeout: TIMEOUT_MS });
}

/** A same-origin page without the app (no worker holds the cache's files), for OPFS work from the test. */
async function openBlank() {
  await page.goto(`${server.url}/no-app-here.txt`, { timeout: TIMEOUT_MS });
}

async function clearOpfs() {
  await openBlank();
  await page.evaluate(async () => {
    const root = await navigator.storage.getDirectory();
    await root.removeEntry("gptoss-cache", { recursive: true }).catch((e) => {
      if (e.name !== "NotFoundError") throw e;
    });
  });
}

async function loadGreedy() {
  await page.fill("#temperature input", "0");
  await page.fill("#max-new-tokens input", String(GREEDY_TOKENS));
  const started = Date.now();
  await page.click("#load-model");
  await page.waitForSelector("#model-ready", { timeout: TIMEOUT_MS });
  const loadMs = Date.now() - started;
  await page.waitForSelector('#load-model[data-phase="idle"]', { timeout: TIMEOUT_MS });
  const ids = await page.$$eval("#token-stream .hud-token", (els) => els.map((e) => Number(e.dataset.id)));
  return { loadMs, ids };
}

const bytesFrom = async (name) => Number(await page.getAttribute("#bytes-from", `data-${name}`));
const cachedRow = () => page.locator(`.hud-cache-model[data-model="${MODEL_PATH}"]`);

let firstIds;

test("the first load streams from the network into the cache; after a reload the second asks for no model byte", async () => {
  await clearOpfs();
  resetCounts();
  await openApp();
  const first = await loadGreedy();
  firstIds = first.ids;
  assert.equal(firstIds.length, GREEDY_TOKENS);
  const seen = ranges.seen.map((r) => `${r.start}-${r.end}`).join(" ");
  assert.equal(rangeBytes(), modelBytes, `each byte of the model fetched exactly once; ranges: ${seen}`);
  assert.ok(playwrightRanges.length > 0, "Playwright sees the worker's range requests");
  assert.ok((await bytesFrom("network-bytes")) > 0.9 * modelBytes, await page.innerText("#bytes-from"));
  assert.equal(await bytesFrom("cache-bytes"), 0);
  await page.waitForSelector(`.hud-cache-model[data-model="${MODEL_PATH}"][data-complete="true"]`);
  console.log(`load from the network: ${first.loadMs} ms (${ranges.seen.length} range requests); ids ${firstIds}`);

  resetCounts();
  await openApp();
  const second = await loadGreedy();
  assert.deepEqual(ranges.seen, [], "no range request for model bytes");
  assert.deepEqual(playwrightRanges, [], "Playwright saw no range request either");
  assert.deepEqual(second.ids, firstIds, "the same first greedy ids from the cached bytes");
  assert.equal(await bytesFrom("network-bytes"), 0);
  assert.ok((await bytesFrom("cache-bytes")) > 0.9 * modelBytes, await page.innerText("#bytes-from"));
  console.log(`load from the cache: ${second.loadMs} ms; bytes from: ${await page.innerText("#bytes-from")}`);
});

/** Waits until `name` is the chosen source, its header read (the summary shown) and the engine idle again. */
async function chosen(name) {
  await page.waitForFunction(
    (name) =>
      (document.querySelector("#event-log")?.innerText ?? "").includes(`source: ${name}`) &&
      /GPU memory @ 4096 ctx/.test(document.querySelector("#preload-summary")?.innerText ?? "") &&
      document.querySelector("#load-model")?.dataset.phase === "idle",
    name,
    { timeout: TIMEOUT_MS },
  );
}

test("a picked file is cached as it loads; after a reload USE in the cache panel loads it from the cache alone, with the same greedy ids", async () => {
  assert.ok(firstIds, "the first test's greedy ids of the bundled model");
  const name = MODEL_PATH.split("/").pop();
  const fileRowSelector = `.hud-cache-model[data-model^="file:${name}:${modelBytes}:"]`;
  const fileRow = () => page.locator(fileRowSelector);
  await openApp();
  resetCounts();
  await page.setInputFiles("#source-picker input.hud-source-file-input", join(APP_DIR, MODEL_PATH));
  await chosen(name);
  // Greedy, to the end: the URL's first ids, and no generation left running for the reload to wait for (the
  // prefill is most of it, and leaving the page would wait for it anyway).
  const picked = await loadGreedy();
  assert.deepEqual(picked.ids, firstIds, "the picked file's first greedy ids are the URL's");
  await page.waitForSelector(`${fileRowSelector}[data-complete="true"]`, { timeout: TIMEOUT_MS });
  assert.deepEqual(ranges.seen, [], "a picked file asks the server for no model byte");
  assert.equal(await bytesFrom("file-bytes"), modelBytes, "each byte read from the file once");
  assert.equal(await bytesFrom("network-bytes"), 0);
  assert.equal(await bytesFrom("cache-bytes"), 0);
  const key = await fileRow().getAttribute("data-model");
  assert.equal(await fileRow().locator(".hud-cache-name").innerText(), name);
  console.log(`picked file: loaded in ${picked.loadMs} ms, cached as ${key}; bytes from: ${await page.innerText("#bytes-from")}`);

  // A reload ends the load (and its worker); the file is not picked again.
  await openApp();
  assert.equal(await page.$eval("#source-picker input.hud-source-file-input", (i) => i.files.length), 0);
  resetCounts();
  await fileRow().locator(".hud-cache-use").click();
  await chosen(name);
  assert.match(await page.innerText("#source-picker .hud-source-file-name"), /\(from the cache\)/);
  const fromCache = await loadGreedy();
  assert.deepEqual(fromCache.ids, firstIds, "the same first greedy ids as the bundled model's first load");
  assert.deepEqual(ranges.seen, [], "no range request for model bytes");
  assert.deepEqual(playwrightRanges, [], "Playwright saw no range request either");
  assert.equal(await bytesFrom("network-bytes"), 0);
  assert.equal(await bytesFrom("file-bytes"), 0);
  assert.ok((await bytesFrom("cache-bytes")) > 0.9 * modelBytes, await page.innerText("#bytes-from"));
  assert.match(await page.innerText("#bytes-from"), /network 0 B · cache [\d.]+ MiB at/);
  console.log(`USE from the cache panel: loaded in ${fromCache.loadMs} ms; bytes from: ${await page.innerText("#bytes-from")}`);

  // Deleting that copy leaves nothing to read the chosen model from: the choice goes with it, said in the log, and
  // LOAD MODEL says to choose a model instead of failing on a missing chunk.
  await fileRow().locator(".hud-cache-delete").click();
  await fileRow().waitFor({ state: "detached", timeout: TIMEOUT_MS });
  await page.locator("#event-log").getByText(`${name}: no model is chosen now`).waitFor({ timeout: TIMEOUT_MS });
  await page.click("#load-model");
  await page.locator("#hud-error").getByText("choose a model first").waitFor({ timeout: TIMEOUT_MS });
});

test("a corrupt cached chunk is named in the log and fetched again, alone", async () => {
  const chunk = 5;
  await openBlank();
  await page.evaluate(
    async ([chunk, chunkBytes]) => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("gptoss-cache");
      for await (const [name, handle] of dir.entries()) {
        if (!name.endsWith(".gguf")) continue;
        const writable = await handle.createWritable({ keepExistingData: true });
        await writable.write({ type: "write", position: chunk * chunkBytes + 1234, data: new Uint8Array([1, 2, 3, 4]) });
        await writable.close();
      }
    },
    [chunk, CHUNK_BYTES],
  );
  resetCounts();
  await openApp();
  await page.click("#load-model");
  await page.waitForSelector('#bytes-from[data-repaired="1"]', { timeout: TIMEOUT_MS });
  await page.waitForSelector('.hud-stage[data-stage="fetch_tensors"][data-state="done"]', { timeout: TIMEOUT_MS });
  const log = await page.innerText("#event-log");
  assert.match(log, new RegExp(`cached chunk ${chunk} \\(bytes ${chunk * CHUNK_BYTES}\\.\\.${(chunk + 1) * CHUNK_BYTES}\\) is corrupt`));
  assert.deepEqual(ranges.seen.map((r) => [r.start, r.end]), [[chunk * CHUNK_BYTES, (chunk + 1) * CHUNK_BYTES - 1]]);
});

test("deleting the model in the cache panel lowers the storage estimate", async () => {
  await openApp();
  const usage = async () => Number(await page.getAttribute(".hud-cache-usage", "data-usage"));
  const before = await usage();
  assert.ok(before >= modelBytes, `usage ${before} with the model cached`);
  await cachedRow().locator(".hud-cache-delete").click();
  await cachedRow().waitFor({ state: "detached", timeout: TIMEOUT_MS });
  await page.waitForFunction(
    ([b, m]) => Number(document.querySelector(".hud-cache-usage")?.dataset.usage) < b - m / 2,
    [before, modelBytes],
    { timeout: TIMEOUT_MS },
  );
  console.log(`usage estimate: ${before} → ${await usage()} bytes after the delete`);
});

test("a load cut off half way resumes from what was cached, fetching only the missing part", async () => {
  await clearOpfs();
  resetCounts();
  ranges.budget = Math.floor(modelBytes / 2);
  await openApp();
  await page.click("#load-model");
  await page.waitForSelector('#load-model[data-phase="error"]', { timeout: TIMEOUT_MS });
  ranges.budget = null;
  assert.match(await page.innerText("#hud-error"), /wordnet-gpt-oss\.gguf/);
  await openApp();
  const cached = await cachedRow().getAttribute("data-cached-bytes").then(Number);
  assert.ok(cached > 0 && cached < modelBytes, `cached ${cached} of ${modelBytes}`);
  resetCounts();
  await page.click("#load-model");
  await page.waitForSelector('.hud-stage[data-stage="fetch_tensors"][data-state="done"]', { timeout: TIMEOUT_MS });
  assert.equal(rangeBytes(), modelBytes - cached, "only the chunks not cached are fetched");
  assert.ok(ranges.seen.every((r) => r.start % CHUNK_BYTES === 0));
  console.log(`resumed: ${cached} bytes were cached, ${rangeBytes()} fetched`);
});

// Chromium's quota override (CDP) makes the storage refuse writes past the quota but leaves
// navigator.storage.estimate() as it was, so this checks what happens when the browser refuses a write; the
// refusal before a load that the estimate predicts (model_cache::check_room) cannot be driven from here.
test("a storage quota that refuses the cache's writes: the copy is emptied, the log says why, the model still loads", async () => {
  await clearOpfs();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Storage.overrideQuotaForOrigin", { origin: server.url, quotaSize: 16 << 20 });
  try {
    // Choosing the model reads its header through the cache, whose second write is refused.
    await openApp();
    assert.match(await page.innerText("#event-log"), /not cached: the browser refused to store more \(.*QuotaExceededError/);
    resetCounts();
    await page.click("#load-model");
    await page.waitForSelector("#model-ready", { timeout: TIMEOUT_MS });
    // The tensor data, from where it starts to the end of the file, each byte once (the header was read above).
    const dataStart = Math.min(...ranges.seen.map((r) => r.start));
    assert.ok(dataStart > 0 && dataStart < modelBytes / 2, `tensor data from ${dataStart}`);
    assert.equal(rangeBytes(), modelBytes - dataStart, "the tensor data came from the network, once");
    await openBlank();
    const sizes = await page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("gptoss-cache");
      const out = [];
      for await (const [name, handle] of dir.entries()) {
        if (name.endsWith(".gguf")) out.push((await handle.getFile()).size);
      }
      return out;
    });
    assert.deepEqual(sizes, [0], "no half-written copy is left");
    console.log(`quota refusal: the model loaded from the network; cached data files ${JSON.stringify(sizes)} bytes`);
  } finally {
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: server.url });
  }
});

test("a server without range support: the model streams into the GPU and the cache in one request, and the HUD says so", async () => {
  await clearOpfs();
  resetCounts();
  ranges.whole.length = 0;
  ranges.ignore = true;
  try {
    await openApp();
    await page.click("#load-model");
    await page.waitForSelector("#model-ready", { timeout: TIMEOUT_MS });
    assert.match(await page.innerText("#event-log"), /no range support\): the model is read in one pass/);
    const model = ranges.whole.filter((r) => r.path.endsWith(MODEL_PATH));
    assert.equal(model.length, 1, `whole-file GETs of the model: ${JSON.stringify(model)}`);
    assert.deepEqual(ranges.seen, [], "no ranged answer was given");
    await page.waitForSelector(`.hud-cache-model[data-model="${MODEL_PATH}"][data-complete="true"]`, { timeout: TIMEOUT_MS });
    console.log(`no range support: one GET of the model, cached complete`);
  } finally {
    ranges.ignore = false;
  }
});
