// Launching Debian's Chromium through playwright-core, the way every browser test here does.

import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { chromium } from "playwright-core";

const AXE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

export const CHROMIUM = process.env.TANDEM_CHROMIUM || "/usr/bin/chromium";

// Without the background-networking flags Chromium tries to reach Google's hosts at start, which
// this machine's closed network refuses.
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

// A test server's certificate, signed by an authority made for the test, is trusted by the hash
// of its key (base64 SHA-256 of the SubjectPublicKeyInfo), as if that authority were installed.
const TRUSTED_SPKI = process.env.TANDEM_TRUST_SPKI;

/**
 * A fresh browser with its own empty profile; `close()` removes the profile. `options` are
 * playwright's context options (viewport, colorScheme, isMobile, hasTouch, ...).
 * @param {object} [options]
 */
export async function launch(options = {}) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "tandem-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: TRUSTED_SPKI ? [...ARGS, `--ignore-certificate-errors-spki-list=${TRUSTED_SPKI}`] : ARGS,
    viewport: { width: 900, height: 520 },
    ...options,
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** One JSON line on stdout: how the Rust test learns what happened. */
export function report(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

/** Words the Rust test said on stdin (`Scenario::say`), and whether it closed stdin. */
const said = { words: new Set(), ended: false, changed: () => {} };
let listening = false;

/**
 * Waits until the Rust test says `word` (a line on stdin, `Scenario::say`): a scenario waits
 * for it before doing what would change what the test is still checking, such as closing the
 * pages whose presence the test reads. One wait at a time; fails if stdin ends first or after
 * `timeout` ms.
 */
export function heard(word, timeout = 60_000) {
  if (!listening) {
    listening = true;
    const lines = readline.createInterface({ input: process.stdin });
    lines.on("line", (line) => {
      said.words.add(line.trim());
      said.changed();
    });
    lines.on("close", () => {
      said.ended = true;
      said.changed();
    });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => settle(new Error(`the test did not say ${JSON.stringify(word)} within ${timeout} ms`)), timeout);
    const settle = (error) => {
      clearTimeout(timer);
      said.changed = () => {};
      if (error) reject(error);
      else resolve();
    };
    said.changed = () => {
      if (said.words.has(word)) settle();
      else if (said.ended) settle(new Error(`stdin ended before the test said ${JSON.stringify(word)}`));
    };
    said.changed();
  });
}

/** Waits until `predicate` (run in the page) is truthy; fails with `what` after `timeout` ms. */
export async function waitInPage(page, what, predicate, arg, timeout = 20_000) {
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 50 });
  } catch (error) {
    const text = await page.evaluate(() => window.tandem?.text()).catch(() => "<no page>");
    throw new Error(`timed out waiting for ${what}; page text: ${JSON.stringify(text)}; ${error.message}`);
  }
}

/** Opens `url` and waits until the editor is up and the first sync finished. */
export async function openSynced(page, url) {
  await page.goto(url);
  await waitInPage(page, "the first sync", () => window.tandem && window.tandem.client.isSynced());
}

/** Types `text` into the editor like a person, key by key (emoji and CJK as whole characters). */
export async function typeText(page, text, delay = 15) {
  for (const ch of text) {
    await page.keyboard.type(ch);
    if (delay) await page.waitForTimeout(delay);
  }
}

/** Whether the page scrolls sideways (run in the page). */
export const scrollsSideways = () => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1;

/** axe-core's serious and critical violations on `page` as it is now; `what` names it in the report. */
export async function axeViolations(page, what) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({ page: what, id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
}
