// Broken range answers on the real page (headless Chromium, SwiftShader): a wrong Content-Range, a 206 without
// one, and a 416 each give an error in the HUD that names the URL, the range and what was wrong; after them the
// same page loads the bundled model without a reload, through a 503 and a connection reset half way through a body,
// each retried and shown in the log. (The server without range support and the CORS refusal are in cache.test.mjs
// and smoke.test.mjs.)
//
//   APP_DIR=<dx build output>/public node --test tests/browser/transport.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { launchChromium } from "./launch.mjs";
import { startStaticServer } from "./static-server.mjs";

const APP_DIR = process.env.APP_DIR;
const TIMEOUT_MS = 180_000;
const MODEL = "/models/wordnet-gpt-oss.gguf";
const ranges = { seen: [], budget: null, fault: null };
let server, context, profileDir, page;

before(async () => {
  assert.ok(APP_DIR, "APP_DIR must name the built app's public directory");
  server = await startStaticServer(APP_DIR, { ranges });
  ({ context, profileDir } = await launchChromium("gptoss-transport"));
  page = context.pages()[0] ?? (await context.newPage());
  page.on("pageerror", (error) => console.log(`[pageerror] ${error.stack ?? error}`));
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

const FAULTS = [
  ["wrong-content-range", /wrong Content-Range `bytes \d+-\d+\/\d+` \(asked for bytes=\d+-\d+\)/],
  ["no-content-range", /206 without a readable Content-Range/],
  ["416", /HTTP 416: range not satisfiable/],
];

test("broken range answers are named in the HUD, and the page then loads the model without a reload", async () => {
  for (const [fault, expected] of FAULTS) {
    ranges.fault = fault;
    // Each case starts from the network: the cache is cleared (the catch: nothing cached yet is fine).
    await page.goto(`${server.url}/gptoss?gguf=${MODEL}`);
    await page.evaluate(() => navigator.storage.getDirectory().then((d) => d.removeEntry("gptoss-cache", { recursive: true }).catch(() => {})));
    await page.goto(`${server.url}/gptoss?gguf=${MODEL}`);
    const error = page.locator("#hud-error");
    await error.waitFor({ timeout: TIMEOUT_MS });
    const text = await error.innerText();
    assert.match(text, expected, `${fault}: ${text}`);
    assert.ok(text.includes(MODEL), `${fault}: the error names the file: ${text}`);
    console.log(`${fault}: ${text.replace(/\s+/g, " ").slice(0, 240)}`);
  }
  // The server mends after one more 503 (the header's first read) and one connection reset half way through a
  // tensor read (past the header, so fetched by a pool worker); LOAD MODEL on the same page reads the header again
  // and loads, each retried and said in the log (the reset range asked for whole again).
  ranges.fault = "503-once";
  ranges.then = "reset-once";
  ranges.thenFrom = 32 << 20;
  await page.waitForSelector('#load-model[data-state="idle"]', { timeout: TIMEOUT_MS });
  await page.click("#load-model");
  await page.waitForSelector("#model-ready", { timeout: TIMEOUT_MS });
  const log = await page.innerText("#event-log");
  assert.match(log, /bytes=\d+-\d+: HTTP 503; retrying in \d+ ms \(attempt 2 of 5\)/);
  assert.match(log, /bytes=(\d{8,})-\d+: body read failed after 0 of \d+ bytes: .*; retrying in \d+ ms \(attempt 2 of 5\), from byte \1/);
  assert.equal(ranges.fault, null, "the 503 and the reset were answered");
});

/** Where a GGUF file's tensor data begins: past its header (metadata and tensor infos), aligned to `general.alignment`. */
function ggufDataOffset(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8; // magic, version
  const u32 = () => ((at += 4), view.getUint32(at - 4, true));
  const u64 = () => ((at += 8), Number(view.getBigUint64(at - 8, true)));
  const string = () => {
    const n = u64();
    at += n;
    return new TextDecoder().decode(bytes.subarray(at - n, at));
  };
  const SIZES = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const value = (type) => {
    if (type === 8) return string();
    if (type === 9) {
      const [item, n] = [u32(), u64()];
      for (let i = 0; i < n; i++) value(item);
      return null;
    }
    const v = type === 4 ? view.getUint32(at, true) : null;
    at += SIZES[type];
    return v;
  };
  const [tensors, keys] = [u64(), u64()];
  let alignment = 32;
  for (let i = 0; i < keys; i++) {
    const key = string();
    const v = value(u32());
    if (key === "general.alignment") alignment = v;
  }
  for (let i = 0; i < tensors; i++) {
    string();
    const dims = u32();
    at += 8 * dims + 4 + 8; // dims, type, offset
  }
  return Math.ceil(at / alignment) * alignment;
}

test("a slow server: the HUD's rate and ETA say so while the load goes on, and the load completes when it speeds up", async () => {
  // Every tensor read comes at 1 MiB/s (reads in flight at once: a few MiB/s in all), the header at full speed. The
  // header's last read runs past the data's start, so the throttle begins exactly there: a first tensor read
  // served at full speed would put tens of MiB/s in the HUD's first figures.
  const rateFrom = ggufDataOffset(await readFile(join(APP_DIR, MODEL)));
  Object.assign(ranges, { fault: null, rate: 1 << 20, rateFrom });
  await page.goto(`${server.url}/gptoss?gguf=${MODEL}`);
  await page.evaluate(() => navigator.storage.getDirectory().then((d) => d.removeEntry("gptoss-cache", { recursive: true }).catch(() => {})));
  await page.goto(`${server.url}/gptoss?gguf=${MODEL}`);
  await page.waitForSelector('#load-model[data-state="idle"]', { timeout: TIMEOUT_MS });
  await page.click("#load-model");
  // The load counts a read when it is whole, so the first figures come once the first 8 MiB reads are in (~8 s);
  // then the progress line shows the server's low rate and an ETA of many seconds.
  await page.waitForFunction(() => /ETA/.test(document.querySelector("#progress .hud-progress-text")?.innerText ?? ""), null, { timeout: TIMEOUT_MS });
  const text = await page.innerText("#progress .hud-progress-text");
  console.log(`slow server: ${text}`);
  const rate = text.match(/· ([\d.]+) (KiB|MiB)\/s ·/);
  assert.ok(rate, `a rate is shown: ${text}`);
  const mibPerS = Number(rate[1]) / (rate[2] === "KiB" ? 1024 : 1);
  assert.ok(mibPerS < 24, `the rate says the server is slow: ${text}`);
  const eta = text.match(/ETA (?:([\d.]+) s|(\d+) min)/);
  assert.ok(eta && (eta[2] !== undefined || Number(eta[1]) >= 1), `the ETA says it will take a while: ${text}`);
  // The server speeds up: the reads in flight finish at full speed and the model loads.
  ranges.rate = null;
  await page.waitForSelector("#model-ready", { timeout: TIMEOUT_MS });
});
