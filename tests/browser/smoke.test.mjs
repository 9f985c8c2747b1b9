// Browser smoke test: the built app, served as static files on 127.0.0.1, opened at /gptoss in Debian's headless
// Chromium with WebGPU on (SwiftShader, Chrome's CPU implementation, as there is no GPU here).
//
//   APP_DIR=<dx build output>/public [SCREENSHOT=path.png] node --test tests/browser/
//
// scripts/test.sh builds the app and runs this.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { startStaticServer } from "./static-server.mjs";

const APP_DIR = process.env.APP_DIR;
const SCREENSHOT = resolve(process.env.SCREENSHOT ?? "target/browser/gptoss.screenshot.png");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// The app comes up in seconds, but a debug wasm build on a busy 2-core machine can take a while to compile.
const LOAD_TIMEOUT_MS = 120_000;

let server, context, page, profileDir;
const consoleErrors = [];
const pageErrors = [];
const websockets = [];

before(async () => {
  assert.ok(APP_DIR, "APP_DIR must name the built app's public directory");
  server = await startStaticServer(APP_DIR);
  profileDir = await mkdtemp(join(tmpdir(), "gptoss-chromium-"));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      "--enable-unsafe-webgpu",
      "--no-sandbox",
      // This machine reaches no network but package registries: keep Chromium from trying.
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run",
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => {
    const line = `[console.${msg.type()}] ${msg.text()}`;
    console.log(line);
    if (msg.type() === "error") consoleErrors.push(line);
  });
  // A build for a plain static server must not try dx's live-reload socket.
  page.on("websocket", (ws) => websockets.push(ws.url()));
  page.on("pageerror", (error) => {
    console.log(`[pageerror] ${error.stack ?? error}`);
    pageErrors.push(String(error));
  });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

/** Waits until `selector`'s data-state is one of `states`, and returns it. */
async function settledState(selector, states) {
  const list = JSON.stringify(states);
  await page.waitForFunction(
    ([sel, wanted]) => JSON.parse(wanted).includes(document.querySelector(sel)?.dataset.state),
    [selector, list],
    { timeout: LOAD_TIMEOUT_MS },
  );
  return page.getAttribute(selector, "data-state");
}

test("the deep link /gptoss loads the app", async () => {
  const response = await page.goto(`${server.url}/gptoss`);
  assert.equal(response.status(), 200);
  await page.locator("#load-model").waitFor({ state: "visible", timeout: LOAD_TIMEOUT_MS });
  assert.equal(new URL(page.url()).pathname, "/gptoss");
});

test("the WebGPU line names the SwiftShader adapter and its limits", async () => {
  const line = page.locator("#webgpu-status");
  const state = await settledState("#webgpu-status", ["ready", "unavailable"]);
  const text = await line.innerText();
  assert.equal(state, "ready", `WebGPU did not come up: ${text}`);
  assert.match(text, /swiftshader/i);
  assert.match(text, /shader-f16 (yes|no)/);
  assert.match(text, /maxBufferSize \d/);
  assert.match(text, /maxStorageBufferBindingSize \d/);
  for (const attr of ["data-max-buffer-size", "data-max-storage-buffer-binding-size"]) {
    const bytes = Number(await line.getAttribute(attr));
    // WebGPU guarantees at least 128 MiB for both; the device asks for the adapter's maxima.
    assert.ok(bytes >= 128 * 2 ** 20, `${attr} = ${bytes}`);
  }
  console.log(`WebGPU line: ${text.replace(/\s+/g, " ")}`);
});

test("one compute dispatch runs through the engine's device", async () => {
  const state = await settledState("#self-test", ["passed", "failed"]);
  const line = page.locator("#self-test");
  assert.equal(state, "passed", await line.innerText());
  // out[i] = i*i + 7 for i < 1024, summed here independently of the engine: Σi² = (n-1)n(2n-1)/6.
  const n = 1024;
  const expected = ((n - 1) * n * (2 * n - 1)) / 6 + 7 * n;
  assert.equal(Number(await line.getAttribute("data-elements")), n);
  assert.equal(Number(await line.getAttribute("data-checksum")), expected);
});

test("the LOAD MODEL button is visible and shows hover and press", async () => {
  const button = page.locator("#load-model");
  assert.ok(await button.isVisible());
  assert.equal((await button.innerText()).trim(), "LOAD MODEL");
  // Enabled once the device is ready (checked above).
  assert.equal(await button.getAttribute("data-state"), "idle");
  assert.equal(await button.isEnabled(), true);
  await button.hover();
  await page.waitForSelector('#load-model[data-hovered="true"]');
  await page.mouse.down();
  await page.waitForSelector('#load-model[data-pressed="true"]');
  await page.mouse.up();
  await page.waitForSelector('#load-model[data-pressed="false"]');
  await page.mouse.move(0, 0);
  await page.waitForSelector('#load-model[data-hovered="false"]');
});

test("a screenshot of the HUD is saved", async () => {
  await mkdir(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  console.log(`screenshot: ${SCREENSHOT}`);
});

test("/ leads to /gptoss", async () => {
  await page.goto(`${server.url}/`);
  await page.locator("#load-model").waitFor({ state: "visible", timeout: LOAD_TIMEOUT_MS });
  await page.waitForURL(/\/gptoss$/);
});

test("without WebGPU the page says why and LOAD MODEL stays disabled", async () => {
  // A browser without WebGPU, as Firefox or an old Chrome: no navigator.gpu at all.
  const bare = await context.newPage();
  bare.on("console", (msg) => msg.type() === "error" && consoleErrors.push(`[no-webgpu console.error] ${msg.text()}`));
  bare.on("pageerror", (error) => pageErrors.push(`[no-webgpu] ${error}`));
  await bare.addInitScript(() => delete Navigator.prototype.gpu);
  await bare.goto(`${server.url}/gptoss`);
  const line = bare.locator('#webgpu-status[data-state="unavailable"]');
  await line.waitFor({ timeout: LOAD_TIMEOUT_MS });
  assert.match(await line.innerText(), /UNAVAILABLE — this browser does not expose WebGPU \(navigator\.gpu is missing\)/);
  assert.equal(await line.locator(".hud-readout").getAttribute("data-tone"), "error");
  await bare.waitForSelector('#self-test[data-state="not-run"]');
  assert.equal(await bare.getAttribute("#load-model", "data-state"), "disabled");
  assert.equal(await bare.locator("#load-model").isDisabled(), true);
  const shot = SCREENSHOT.replace(/\.screenshot\.png$/, "-no-webgpu.screenshot.png");
  await bare.screenshot({ path: shot, fullPage: true });
  console.log(`screenshot without WebGPU: ${shot}`);
  await bare.close();
});

test("a missing file is a 404, not the app's page", async () => {
  const response = await page.request.get(`${server.url}/models/missing.gguf`);
  assert.equal(response.status(), 404);
});

test("byte ranges are served as 206 with Content-Range", async () => {
  const whole = await page.request.get(`${server.url}/index.html`);
  const size = (await whole.body()).length;
  const part = await page.request.get(`${server.url}/index.html`, { headers: { Range: "bytes=2-9" } });
  assert.equal(part.status(), 206);
  assert.equal(part.headers()["content-range"], `bytes 2-9/${size}`);
  assert.deepEqual(await part.body(), (await whole.body()).subarray(2, 10));
});

test("no console error, no page error, no live-reload socket", () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(websockets, []);
});
