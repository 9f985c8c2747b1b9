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

// Where each component's markup starts, as its doc block's Styling section names it. A component exported without
// an entry here (or without a panel in the gallery) fails the first test.
const ROOTS = {
  Button: "button.hud-button",
  CachePanel: ".hud-cache",
  ChartCanvas: "canvas.hud-chart-canvas",
  ChartFigure: 'figure.hud-chart[data-chart="bars"]',
  ChatMessage: ".hud-chat-message",
  ContextBar: ".hud-context-bar",
  EventLog: "ol.hud-log",
  FactTable: "dl.hud-facts",
  Heatmap: 'figure.hud-chart[data-chart="heatmap"]',
  KvFill: 'figure.hud-chart[data-chart="kv-fill"]',
  MemoryGauge: ".hud-memory",
  Metric: ".hud-metric",
  NumberField: 'label.hud-field input[type="number"]',
  Panel: "section.hud-panel",
  ProgressBar: ".hud-progress",
  Readout: ".hud-readout",
  SelectField: "label.hud-field select",
  SourcePicker: ".hud-source",
  Sparkline: 'figure.hud-chart[data-chart="sparkline"]',
  StageList: "ol.hud-stages",
  TensorTicker: ".hud-ticker",
  TokenStream: ".hud-stream",
  ToolCallCard: ".hud-tool-call",
  TopProbabilities: "ol.hud-top",
  Waterfall: 'figure.hud-chart[data-chart="waterfall"]',
  WebGpuStatus: ".hud-webgpu",
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

test("every component the crate exports has a panel in the gallery, and its markup rendered there", async () => {
  // The crate's components are the names it exports a `…Props` for.
  const lib = await readFile(LIB_RS, "utf8");
  const exported = [...new Set([...lib.matchAll(/\b([A-Z]\w*)Props\b/g)].map((m) => m[1]))].sort();
  assert.ok(exported.length >= 20, `components exported: ${exported}`);
  assert.deepEqual(exported, Object.keys(ROOTS).sort(), "ROOTS names each exported component");
  const shown = await page.$$eval("[data-component]", (els) => els.map((e) => e.dataset.component).sort());
  assert.deepEqual(shown, exported);
  for (const [name, selector] of Object.entries(ROOTS)) {
    const found = await page.evaluate(([name, selector]) => {
      const panel = document.querySelector(`[data-component="${name}"]`);
      return panel.matches(selector) || panel.querySelector(selector) !== null;
    }, [name, selector]);
    assert.ok(found, `${name}: no ${selector} in its panel`);
  }
  console.log(`${exported.length} components rendered: ${exported.join(", ")}`);
});

test("every chart canvas is painted by its Draw code", async () => {
  const count = await page.locator("canvas.hud-chart-canvas").count();
  // Sparkline, 2 heatmaps, Waterfall, KvFill, the gallery's own figure and bare canvas.
  assert.equal(count, 7);
  // A canvas is painted when some pixel is neither transparent nor the background (5, 8, 10).
  await page.waitForFunction(() => [...document.querySelectorAll("canvas.hud-chart-canvas")].every((canvas) => {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 0 && (data[i] !== 5 || data[i + 1] !== 8 || data[i + 2] !== 10)) return true;
    }
    return false;
  }), null, { timeout: LOAD_TIMEOUT_MS });
  // A chart without data says why instead of drawing.
  const unavailable = page.locator('figure[data-chart="heatmap"][data-available="false"] .hud-chart-unavailable');
  assert.equal(await unavailable.innerText(), "no attention rows yet");
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
