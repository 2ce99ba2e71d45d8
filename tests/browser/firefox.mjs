// The browser client in Firefox, for tests/web_firefox.rs: Debian's Firefox ESR driven by
// puppeteer-core over WebDriver BiDi (Playwright cannot drive a stock Firefox). No browser is
// ever downloaded: puppeteer-core only launches the executable it is given.
//
//   node firefox.mjs --base http://127.0.0.1:PORT --doc DOC --text PAGE_TEXT --rust RUST_TEXT [--out FILE]
//
// One page opens the document, takes the name "Fox", types PAGE_TEXT key by key at the end
// ("typed"), then waits until the Rust test's client appended RUST_TEXT and the page shows that
// user's cursor label and the state "connected" ("shown"); then Tab and Shift-Tab in the
// document DOC-tab ("tabs"). JSON lines on stdout, like run.mjs;
// exits non-zero on failure.

import puppeteer from "puppeteer-core";

import { tabKeySequence } from "./tab-keys.mjs";

/** One JSON line on stdout: how the Rust test learns what happened. */
function report(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

export const FIREFOX = process.env.TANDEM_FIREFOX || "/usr/bin/firefox-esr";

const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const base = option("--base");
const doc = option("--doc");
const pageText = option("--text");
const rustText = option("--rust");
const out = option("--out");
const TIMEOUT = 30_000;

/** Waits until `predicate` (run in the page) is truthy; the error says what and shows the text. */
async function waitInPage(page, what, predicate, ...predicateArgs) {
  try {
    await page.waitForFunction(predicate, { timeout: TIMEOUT, polling: 50 }, ...predicateArgs);
  } catch (error) {
    const state = await page
      .evaluate(() => ({ text: window.tandem?.text(), conn: document.getElementById("conn")?.textContent }))
      .catch(() => "<no page>");
    throw new Error(`timed out waiting for ${what}; page: ${JSON.stringify(state)}; ${error.message}`);
  }
}

async function main() {
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    defaultViewport: { width: 900, height: 520 },
    // The machine's network is loopback only: nothing may try to reach Mozilla's hosts.
    extraPrefsFirefox: {
      "app.update.enabled": false,
      "browser.safebrowsing.malware.enabled": false,
      "browser.safebrowsing.phishing.enabled": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "network.captive-portal-service.enabled": false,
      "network.connectivity-service.enabled": false,
    },
  });
  try {
    const version = await browser.version();
    const page = await browser.newPage();
    page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
    await page.goto(`${base}/d/${encodeURIComponent(doc)}`);
    await waitInPage(page, "the first sync", () => window.tandem && window.tandem.client.isSynced());
    // A name, so the Rust client can tell this page's presence.
    await page.click("#my-name", { count: 3 });
    await page.keyboard.type("Fox");
    await page.keyboard.press("Enter");
    report("ready", { version });

    // Type like a person, one character (code point) at a time, at the end of the document.
    await page.click(".cm-content");
    await page.keyboard.down("Control");
    await page.keyboard.press("End");
    await page.keyboard.up("Control");
    for (const ch of pageText) {
      await page.keyboard.type(ch);
    }
    await waitInPage(
      page,
      "the typed text in the editor and the client",
      (want) => window.tandem.view.state.doc.toString() === want && window.tandem.text() === want,
      pageText,
    );
    report("typed", { text: await page.evaluate(() => window.tandem.view.state.doc.toString()) });

    // The Rust client appends its text and puts its cursor at the end.
    const expected = pageText + rustText;
    await waitInPage(
      page,
      "the Rust client's text",
      (want) => window.tandem.view.state.doc.toString() === want && window.tandem.text() === want,
      expected,
    );
    await waitInPage(page, "the Rust client's cursor", () => document.querySelector(".tandem-caret-label") !== null);
    await waitInPage(page, "the connected state", () => document.getElementById("conn").textContent === "connected");
    const shown = await page.evaluate(() => ({
      text: window.tandem.view.state.doc.toString(),
      // What the editor draws, without the other users' caret widgets and labels.
      rendered: [...document.querySelectorAll(".cm-line")]
        .map((line) => {
          const copy = line.cloneNode(true);
          for (const widget of copy.querySelectorAll(".tandem-caret, .tandem-caret-label")) widget.remove();
          return copy.textContent;
        })
        .join("\n"),
      labels: [...document.querySelectorAll(".tandem-caret-label")].map((label) => label.textContent).sort(),
      conn: document.getElementById("conn").textContent,
      unconfirmed: window.tandem.client.unconfirmedCount(),
      userAgent: navigator.userAgent,
    }));
    if (out) await page.screenshot({ path: out });
    report("shown", shown);
    await tabKeys(browser);
  } finally {
    await browser.close();
  }
}

/**
 * Tab and Shift-Tab in Firefox, whose key events differ from Chromium's: in the document
 * DOC-tab, Tab at a cursor, Tab on every line selected, Shift-Tab twice ("tabs").
 * @param {import("puppeteer-core").Browser} browser
 */
async function tabKeys(browser) {
  const page = await browser.newPage();
  await page.goto(`${base}/d/${encodeURIComponent(`${doc}-tab`)}`);
  await waitInPage(page, "the first sync", () => window.tandem && window.tandem.client.isSynced());
  await page.click(".cm-content");
  report("tabs", await tabKeySequence(page));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error.stack || String(error));
    process.exit(1);
  },
);
