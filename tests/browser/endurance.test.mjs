// Endurance on the real page (headless Chromium, SwiftShader): the bundled model loaded, generated with and stopped
// 20 times in one page, with the GPU bytes the model's own each time and neither the engine's wasm memory nor the
// page's JavaScript heap growing; then Stop pressed at 50 random points of loads and generations, after which
// the page still loads and generates the same greedy tokens.
//
//   APP_DIR=<dx build output>/public node --test tests/browser/endurance.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { launchChromium } from "./launch.mjs";
import { startStaticServer } from "./static-server.mjs";

const APP_DIR = process.env.APP_DIR;
const TIMEOUT_MS = 300_000;
const CYCLES = 20;
const STOPS = 50;
// Growth allowed over the cycles after the first two (which warm the allocator and the HUD): a leak of one
// model's worth per load would be 70 MB of wasm memory; a HUD that kept every load's rows, megabytes of heap.
const MAX_WASM_GROWTH = 8 << 20;
const MAX_HEAP_GROWTH = 4 << 20;

let server, context, profileDir, page, cdp;
const consoleErrors = [];

before(async () => {
  assert.ok(APP_DIR, "APP_DIR must name the built app's public directory");
  server = await startStaticServer(APP_DIR);
  ({ context, profileDir } = await launchChromium("gptoss-endurance"));
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (error) => consoleErrors.push(`[pageerror] ${error.stack ?? error}`));
  cdp = await context.newCDPSession(page);
  await page.goto(`${server.url}/gptoss`);
  await page.waitForSelector('#webgpu-status[data-state="ready"]', { timeout: TIMEOUT_MS });
  await page.waitForSelector('#load-model[data-phase="idle"]:not([disabled])', { timeout: TIMEOUT_MS });
  // Greedy, so every generation starts with the same tokens; short, so a cycle is mostly the load.
  await page.fill("#temperature input", "0");
  await page.fill("#max-new-tokens input", "8");
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

const attr = (selector, name) => page.getAttribute(selector, name);
const phase = (wanted) => page.waitForSelector(`#load-model[data-phase="${wanted}"]`, { timeout: TIMEOUT_MS });
const shownIds = () => page.$$eval("#token-stream .hud-token", (els) => els.map((e) => e.dataset.id).join(","));
const engine = () => {
  const worker = page.workers()[0];
  assert.ok(worker, "the engine runs in a worker");
  return worker;
};

/** The page's JavaScript heap after a full collection, in bytes. */
async function pageHeap() {
  await cdp.send("HeapProfiler.collectGarbage");
  return (await cdp.send("Runtime.getHeapUsage")).usedSize;
}

/** LOAD MODEL through to the end of its generation: its milliseconds and those of its load, the GPU bytes and
 * the token ids shown. */
async function cycle() {
  const started = Date.now();
  await page.click("#load-model");
  await page.waitForSelector("#model-ready", { timeout: TIMEOUT_MS });
  const loadMs = Date.now() - started;
  await phase("generating");
  await phase("idle");
  const gpu = Number(await attr("#memory-gauge", "data-allocated"));
  return { ms: Date.now() - started, loadMs, gpu, ids: await shownIds() };
}

// The first cycle, and the last of the 20: a warm one (the device keeps its pipelines, so later loads are faster),
// whose load and generation times the random Stops are spread over.
let first, warm;

test(`${CYCLES} load → generate cycles in one page: the GPU bytes are the model's each time, memory stops growing`, async () => {
  first = await cycle();
  assert.ok(first.gpu > 0 && first.ids.split(",").length === 8, JSON.stringify(first));
  const gauges = [first.gpu];
  let wasm2, heap2;
  const times = [first.ms];
  for (let i = 2; i <= CYCLES; i++) {
    const run = await cycle();
    warm = run;
    times.push(run.ms);
    gauges.push(run.gpu);
    assert.equal(run.ids, first.ids, `cycle ${i}: the greedy tokens changed`);
    if (i === 2) [wasm2, heap2] = [await engine().evaluate(() => self.__gptossWasmBytes()), await pageHeap()];
  }
  const [wasm, heap] = [await engine().evaluate(() => self.__gptossWasmBytes()), await pageHeap()];
  const log = await page.locator("#event-log").innerText();
  const released = log.match(new RegExp(`released the previous model's ${first.gpu} GPU bytes`, "g")) ?? [];
  console.log(
    `${CYCLES} cycles: ms ${times.join(" ")}; GPU bytes ${[...new Set(gauges)].join("/")}; ` +
      `wasm memory ${wasm2} → ${wasm} bytes; page heap ${heap2} → ${heap} bytes; ${released.length} releases logged`,
  );
  assert.deepEqual(new Set(gauges), new Set([first.gpu]), "every load allocates the same GPU bytes");
  assert.equal(released.length, CYCLES - 1, "each LOAD after the first released the previous model");
  assert.ok(wasm - wasm2 <= MAX_WASM_GROWTH, `wasm memory grew by ${wasm - wasm2} bytes over ${CYCLES - 2} cycles`);
  assert.ok(heap - heap2 <= MAX_HEAP_GROWTH, `the page's heap grew by ${heap - heap2} bytes over ${CYCLES - 2} cycles`);
  assert.deepEqual(consoleErrors, []);
});

test(`Stop at ${STOPS} random points of loads and generations: each stops cleanly, then the page generates the same tokens`, async () => {
  // A fixed seed, so a failure can be replayed; every other point within a warm load's time, the rest within its
  // generation's.
  let seed = 0x9e3779b9;
  const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const outcomes = { loading: 0, generating: 0, idle: 0 };
  for (let i = 0; i < STOPS; i++) {
    await page.click("#load-model");
    const wait = i % 2 === 0 ? random() * warm.loadMs : warm.loadMs + random() * (warm.ms - warm.loadMs);
    await page.waitForTimeout(Math.floor(wait));
    const at = await attr("#load-model", "data-phase");
    outcomes[at] = (outcomes[at] ?? 0) + 1;
    // A click that lands after the generation ended finds Stop disabled, and does nothing.
    await page.evaluate(() => document.querySelector("#stop").click());
    await phase("idle");
    const gpu = Number(await attr("#memory-gauge", "data-allocated"));
    const ready = await page.locator("#model-ready").count();
    // Stopped in a load: nothing of the model stays on the GPU. Stopped later: the whole model does.
    assert.ok(ready ? gpu === first.gpu : gpu === 0, `stop ${i + 1} at ${at}: ${gpu} GPU bytes, model ready ${ready}`);
  }
  console.log(`${STOPS} stops, by the phase they found: ${JSON.stringify(outcomes)}`);
  assert.ok(outcomes.loading > 0 && outcomes.generating > 0, JSON.stringify(outcomes));
  const after = await cycle();
  assert.equal(after.gpu, first.gpu);
  assert.equal(after.ids, first.ids);
  assert.deepEqual(consoleErrors, []);
});
