// Browser chat test: the CHAT panel on the bundled model in headless Chromium (SwiftShader WebGPU). Two turns, the
// second prefilling only its new tokens (the engine reuses the KV cache of the first); the analysis shown apart,
// collapsible; a tool definition the test types (validated) and a hand-written call rendered as a card, whose
// output the test returns so that generation continues.
//
//   APP_DIR=<dx build output>/public node --test tests/browser/chat.test.mjs
//
// scripts/test.sh builds the app once and runs this after the smoke test.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { launchChromium } from "./launch.mjs";
import { startStaticServer } from "./static-server.mjs";

const APP_DIR = process.env.APP_DIR;
const LOAD_TIMEOUT_MS = 120_000;
// SwiftShader runs the kernels on the CPU: the first token through the page takes tens of seconds.
const TURN_TIMEOUT_MS = 300_000;

let server, context, page, profileDir;
const pageErrors = [];

before(async () => {
  assert.ok(APP_DIR, "APP_DIR must name the built app's public directory");
  server = await startStaticServer(APP_DIR);
  ({ context, profileDir } = await launchChromium("gptoss-chat"));
  page = context.pages()[0] ?? (await context.newPage());
  page.on("console", (msg) => {
    if (msg.type() === "error") console.log(`[console.error] ${msg.text()}`);
  });
  page.on("pageerror", (error) => pageErrors.push(String(error)));
});

after(async () => {
  await context?.close();
  await server?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

/** The context bar's figures after the last turn. */
async function contextBar() {
  const bar = page.locator("#chat-context");
  const n = async (attr) => Number(await bar.getAttribute(attr));
  return { prompt: await n("data-prompt"), reused: await n("data-reused"), used: await n("data-used") };
}

/** Sends `text` and waits for the turn to end (the engine idle again with a new prompt count). */
async function turn(before, act) {
  await act();
  await page
    .waitForFunction(
    (previous) => {
      const bar = document.querySelector("#chat-context");
      const idle = document.querySelector("#load-model")?.dataset.phase === "idle";
      return idle && bar && Number(bar.dataset.prompt) > previous;
    },
    before,
    { timeout: TURN_TIMEOUT_MS },
    )
    .catch(async (error) => {
      // Say where the turn was: the engine's phase, the context bar, the log's last lines.
      const phase = await page.getAttribute("#load-model", "data-phase");
      const bar = await page.locator("#chat-context").evaluate((e) => JSON.stringify(e.dataset));
      const log = await page.locator("#event-log").innerText();
      console.log(`turn did not end: phase ${phase}, context bar ${bar}\n${log.split("\n").slice(-12).join("\n")}`);
      throw error;
    });
  const error = await page.locator("#hud-error").count();
  assert.equal(error, 0, error ? await page.locator("#hud-error").innerText() : "");
  return contextBar();
}

test("two turns on the bundled model, the second prefilling only its new tokens", async () => {
  const started = Date.now();
  await page.goto(`${server.url}/gptoss`);
  await page.locator("#chat-input").waitFor({ state: "visible", timeout: LOAD_TIMEOUT_MS });
  await page.waitForSelector('#webgpu-status[data-state="ready"]', { timeout: LOAD_TIMEOUT_MS });
  await page.fill("#temperature input", "0");
  // Four tokens open the analysis message (`<|channel|>analysis<|message|>` and a word); one more to see it grow.
  await page.fill("#max-new-tokens input", "5");

  // Turn 1 loads the model (nothing is loaded yet) and prefills everything.
  await page.fill("#chat-input", 'What does "car" mean?');
  const first = await turn(0, () => page.click("#chat-send"));
  assert.equal(first.reused, 0, "the first turn has nothing cached");
  console.log(`turn 1: prompt ${first.prompt} tokens, all prefilled (${Date.now() - started} ms since the page opened)`);
  const analysis = page.locator('#chat .hud-chat-message[data-channel="analysis"] details.hud-chat-analysis');
  assert.ok((await analysis.count()) >= 1, "the analysis is its own collapsible block");
  assert.match(await analysis.first().innerText(), /analysis/);
  assert.equal(await page.locator('#chat .hud-chat-message[data-author="user"]').count(), 1);

  // Turn 2 reuses turn 1's prompt (and what of its output renders the same) from the KV cache.
  await page.fill("#chat-input", 'What does "dog" mean?');
  const second = await turn(first.prompt, () => page.click("#chat-send"));
  assert.ok(second.reused >= first.prompt, `turn 2 reused ${second.reused} of ${second.prompt}`);
  const prefilled = second.prompt - second.reused;
  assert.ok(prefilled < second.prompt - first.prompt, `turn 2 prefilled ${prefilled} tokens`);
  assert.equal(await page.locator('#chat .hud-chat-message[data-author="user"]').count(), 2);
  console.log(`turn 2: prompt ${second.prompt} tokens, ${second.reused} reused, ${prefilled} prefilled`);
  assert.deepEqual(pageErrors, []);
});

test("a tool definition is validated and a call renders as a card that takes the tool's output", async () => {
  await page.fill("#chat-tools", "[{");
  await page.locator("#chat-tools-error").waitFor({ state: "visible" });
  assert.match(await page.locator("#chat-tools-error").innerText(), /not valid JSON/);
  assert.equal(await page.locator("#chat-send").isDisabled(), true);

  const tool = {
    name: "lookup",
    description: "Looks a word up in WordNet.",
    parameters: { type: "object", properties: { word: { type: "string" } }, required: ["word"] },
  };
  await page.fill("#chat-tools", JSON.stringify([tool]));
  await page.locator("#chat-tools-error").waitFor({ state: "detached" });
  const call = {
    role: "assistant",
    channel: "commentary",
    recipient: "functions.lookup",
    content_type: "<|constrain|>json",
    content: '{"word":"car"}',
  };
  await page.fill("#chat-history", JSON.stringify([{ role: "user", content: "Look up car." }, call]));
  await page.click("#chat-set-history");
  const card = page.locator('#chat .hud-tool-call[data-state="waiting"]');
  await card.waitFor({ timeout: LOAD_TIMEOUT_MS });
  const text = await card.innerText();
  assert.match(text, /functions\.lookup/);
  assert.match(text, /\{"word":"car"\}/);
  assert.match(text, /constrain: json/);
  assert.equal(await page.getAttribute("#chat", "data-waiting-for-tool"), "true");

  // The output goes back as the tool's message and the model answers after it.
  const before = await contextBar();
  await page.fill("#max-new-tokens input", "3");
  await page.fill("#chat .hud-tool-call-input", '{"definition": "a motor vehicle"}');
  const after = await turn(before.prompt, () => page.click("#chat .hud-tool-call-submit"));
  await page.locator('#chat .hud-tool-call[data-state="answered"]').waitFor();
  assert.match(await page.locator("#chat .hud-tool-call-output").innerText(), /a motor vehicle/);
  console.log(`after the tool's output: prompt ${after.prompt} tokens, ${after.reused} reused`);
  assert.deepEqual(pageErrors, []);
});
