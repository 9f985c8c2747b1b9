// Headless Chromium with WebGPU on (SwiftShader where there is no GPU), in a fresh profile, as every browser test
// opens it. This machine reaches no network but package registries: Chromium is kept from trying.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** Launches Chromium in a new profile folder named after `name`; the caller removes `profileDir` when done. */
export async function launchChromium(name) {
  const profileDir = await mkdtemp(join(tmpdir(), `${name}-chromium-`));
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 720 },
    args: [
      "--enable-unsafe-webgpu",
      "--no-sandbox",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      "--no-first-run",
    ],
  });
  return { context, profileDir };
}
