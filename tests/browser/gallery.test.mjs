// The component gallery (examples/gallery): an app that is not the gptoss page renders every component that
// gptoss-components exports, in headless Chromium. No model and no GPU work: it takes seconds.
//
//   GALLERY_DIR=<dx build output of gptoss-gallery>/public node --test tests/browser/gallery.test.mjs
//
// scripts/test.sh builds the gallery and runs this.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, rm } from "node:fs/promises";
import { launchChromium } from "./launch.mjs";
import { startStaticServer } from "./static-server.mjs";

const GALLERY_DIR = process.env.GALLERY_DIR;
const LOAD_TIMEOUT_MS = 120_000;
const LIB_RS = new URL("../../components/src/lib.rs", import.meta.url);

// One spec per component: where its markup starts, as its doc block's Styling section names it, and the data-*
// state that section documents, which some element of its panel must carry. A component exported without an
// entry here (or without a panel in the gallery) fails the first test.
const SPECS = {
  Button: { root: "button.hud-button", state: ["data-state", "data-pressed"] },
  CachePanel: { root: ".hud-cache", state: ["data-model", "data-bytes", "data-cached-bytes", "data-complete", "data-usage", "data-quota"] },
  ChartCanvas: { root: "canvas.hud-chart-canvas", state: [] },
  ChartFigure: { root: 'figure.hud-chart[data-chart="bars"]', state: ["data-available"] },
  ChatMessage: { root: ".hud-chat-message", state: ["data-author", "data-channel"] },
  ContextBar: { root: ".hud-context-bar", state: ["data-prompt", "data-reused", "data-used", "data-window", "data-full"] },
  EventLog: { root: "ol.hud-log", state: ["data-tone"] },
  FactTable: { root: "dl.hud-facts", state: ["data-tone"] },
  Heatmap: { root: 'figure.hud-chart[data-chart="heatmap"]', state: ["data-available", "data-rows", "data-cols"] },
  KvFill: { root: 'figure.hud-chart[data-chart="kv-fill"]', state: ["data-layers", "data-written"] },
  MemoryGauge: { root: ".hud-memory", state: ["data-allocated", "data-budget", "data-state"] },
  Metric: { root: ".hud-metric", state: ["data-known", "data-value"] },
  NumberField: { root: 'label.hud-field input[type="number"]', state: ["data-invalid"] },
  Panel: { root: "section.hud-panel", state: ["data-panel"] },
  ProgressBar: { root: ".hud-progress", state: ["data-state", "data-done", "data-total", "data-percent"] },
  Readout: { root: ".hud-readout", state: ["data-tone"] },
  SelectField: { root: "label.hud-field select", state: [] },
  SourcePicker: { root: ".hud-source", state: ["data-dragging", "data-preset"] },
  Sparkline: { root: 'figure.hud-chart[data-chart="sparkline"]', state: ["data-available", "data-count", "data-last"] },
  StageList: { root: "ol.hud-stages", state: ["data-stage", "data-state"] },
  TensorTicker: { root: ".hud-ticker", state: ["data-count", "data-expected", "data-newest", "data-type"] },
  TokenStream: { root: ".hud-stream", state: ["data-count", "data-live", "data-index", "data-id", "data-channel"] },
  ToolCallCard: { root: ".hud-tool-call", state: ["data-state"] },
  TopProbabilities: { root: "ol.hud-top", state: ["data-id", "data-prob", "data-chosen"] },
  Waterfall: { root: 'figure.hud-chart[data-chart="waterfall"]', state: ["data-available"] },
  WebGpuStatus: { root: ".hud-webgpu", state: ["data-state", "data-available"] },
};

// Whether a canvas is painted: some pixel is neither transparent nor the background (5, 8, 10).
const isPainted = (canvas) => {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && (data[i] !== 5 || data[i + 1] !== 8 || data[i + 2] !== 10)) return true;
  }
  return false;
};

let server, context, page, profileDir;
const problems = [];

before(async () => {
  assert.ok(GALLERY_DIR, "GALLERY_DIR must name the built gallery's public directory");
  server = await startStaticServer(GALLERY_DIR);
  ({ context, profileDir } = await launchChromium("gallery"));
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => msg.type() === "error" && problems.push(`[console.error] ${msg.text()}`));
  page.on("pageerror", (error) => problems.push(`[pageerror] ${error.stack ?? error}`));
  await page.goto(server.url);
  await page.locator("[data-component]").first().waitFor({ timeout: LOAD_TIMEOUT_MS });
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

test("every component the crate exports has a spec here and a panel in the gallery", async () => {
  // The crate's components are the names it exports a `…Props` for.
  const lib = await readFile(LIB_RS, "utf8");
  const exported = [...new Set([...lib.matchAll(/\b([A-Z]\w*)Props\b/g)].map((m) => m[1]))].sort();
  assert.ok(exported.length >= 20, `components exported: ${exported}`);
  assert.deepEqual(exported, Object.keys(SPECS).sort(), "SPECS names each exported component");
  const shown = await page.$$eval("[data-component]", (els) => els.map((e) => e.dataset.component).sort());
  assert.deepEqual(shown, exported);
});

for (const [name, { root, state }] of Object.entries(SPECS)) {
  test(`${name}: rendered and visible in its panel, with its documented data-* state, its canvases painted`, async () => {
    const found = await page.evaluate(([name, root, state]) => {
      const panel = document.querySelector(`[data-component="${name}"]`);
      const element = panel?.matches(root) ? panel : panel?.querySelector(root);
      if (!element) return { missing: root };
      const box = element.getBoundingClientRect();
      return {
        visible: box.width > 0 && box.height > 0 && getComputedStyle(element).visibility !== "hidden",
        unstated: state.filter((attribute) => !panel.hasAttribute(attribute) && !panel.querySelector(`[${attribute}]`)),
      };
    }, [name, root, state]);
    assert.equal(found.missing, undefined, `${name}: no ${root} in its panel`);
    assert.ok(found.visible, `${name}: ${root} has no visible box`);
    assert.deepEqual(found.unstated, [], `${name}: no element of its panel carries ${found.unstated}`);
    await page.waitForFunction(([name, isPainted]) => {
      const painted = new Function(`return (${isPainted})`)();
      return [...document.querySelectorAll(`[data-component="${name}"] canvas.hud-chart-canvas`)].every(painted);
    }, [name, isPainted.toString()], { timeout: LOAD_TIMEOUT_MS });
  });
}

test("the chart canvases: eight of them; a chart without data says why instead of drawing", async () => {
  // Sparkline, 2 heatmaps, Waterfall, KvFill, the gallery's own figure and bare canvas, the themed heatmap.
  assert.equal(await page.locator("canvas.hud-chart-canvas").count(), 8);
  const unavailable = page.locator('figure[data-chart="heatmap"][data-available="false"] .hud-chart-unavailable');
  assert.equal(await unavailable.innerText(), "no attention rows yet");
});

test("a chart under an overridden --hud-data is painted in the override's colour, the others in the default's", async () => {
  const hasPixel = (selector, rgb) => page.$eval(selector, (canvas, [r, g, b]) => {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < data.length; i += 4) if (data[i] === r && data[i + 1] === g && data[i + 2] === b) return true;
    return false;
  }, rgb);
  const themed = '[data-component="Panel"] canvas.hud-chart-canvas';
  const kv = '[data-component="KvFill"] canvas.hud-chart-canvas';
  // The themed heatmap's first cell is at 0.6 of the largest value: drawn in exactly the data colour.
  assert.ok(await hasPixel(themed, [255, 210, 127]), "the themed chart has no #ffd27f pixel");
  assert.ok(!(await hasPixel(themed, [127, 211, 229])), "the themed chart has #7fd3e5 pixels");
  assert.ok(await hasPixel(kv, [127, 211, 229]), "the default-themed KV chart has no #7fd3e5 pixel");
  assert.ok(!(await hasPixel(kv, [255, 210, 127])), "the default-themed KV chart has #ffd27f pixels");
});

test("the theme's variables reach the components, and a subtree can override them", async () => {
  const colour = (selector) => page.$eval(selector, (e) => getComputedStyle(e).color);
  assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue("--hud-data").trim()),
    "#7fd3e5");
  assert.equal(await colour('[data-component="Readout"] .hud-readout[data-tone="data"] .hud-readout-value'),
    "rgb(127, 211, 229)");
  assert.equal(await colour('[data-component="Panel"] .hud-readout[data-tone="data"] .hud-readout-value'),
    "rgb(255, 210, 127)");
  assert.equal(await colour('[data-component="Readout"] .hud-readout[data-tone="error"] .hud-readout-value'),
    "rgb(255, 68, 68)");
});

test("the gallery's components answer input: a button starts, a field updates a readout, a tool call takes output", async () => {
  await page.click("#gallery-button");
  await page.waitForSelector('#gallery-button[data-state="busy"]');
  await page.fill("#gallery-temperature input", "1.25");
  await page.locator('[data-component="Readout"] .hud-readout').first().getByText("temperature 1.25").waitFor();
  const card = page.locator('[data-component="ToolCallCard"] .hud-tool-call[data-state="waiting"]');
  await card.locator("textarea").fill('{"temperature":"12 C"}');
  await card.locator("button").click();
  const answered = page.locator('[data-component="ToolCallCard"] .hud-tool-call[data-state="answered"]');
  assert.equal(await answered.count(), 2);
  assert.match(await answered.first().innerText(), /12 C/);
});

test("no console error and no page error", () => {
  assert.deepEqual(problems, []);
});
