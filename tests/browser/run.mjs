// Browser scenarios for tandem's end-to-end tests, run by the Rust tests in tests/web_*.rs:
//
//   node run.mjs SCENARIO --base http://127.0.0.1:PORT --doc DOC [--text A --text B ...] [--out FILE]
//
// Each prints JSON lines ({"event": ...}) on stdout and exits non-zero on failure.

import { heard, launch, openSynced, report, typeText, waitInPage } from "./browser.mjs";
import * as history from "./history.mjs";
import { measureLatency } from "./latency.mjs";
import * as ui from "./ui.mjs";

const args = process.argv.slice(2);
const scenario = args[0];
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const options = (name) => args.flatMap((arg, i) => (arg === name ? [args[i + 1]] : []));
const base = option("--base");
const doc = option("--doc");
const docUrl = `${base}/d/${encodeURIComponent(doc)}`;

const pageText = (page) => page.evaluate(() => window.tandem.text());
const editorText = (page) => page.evaluate(() => window.tandem.view.state.doc.toString());

/** Waits until every page's editor and client hold the same text containing every `parts`. */
async function waitConverged(pages, parts) {
  for (const page of pages) {
    await waitInPage(
      page,
      "every edit to arrive",
      (parts) => {
        const text = window.tandem.view.state.doc.toString();
        return text === window.tandem.text() && parts.every((part) => text.includes(part));
      },
      parts,
    );
  }
  const texts = await Promise.all(pages.map(editorText));
  if (new Set(texts).size !== 1) throw new Error(`pages differ: ${JSON.stringify(texts)}`);
  return texts[0];
}

/** Waits until every page's editor and client hold exactly `want` (`what` names it on failure). */
async function waitText(pages, want, what) {
  for (const page of pages) {
    await waitInPage(
      page,
      what,
      (want) => window.tandem.view.state.doc.toString() === want && window.tandem.text() === want,
      want,
    );
  }
}

/**
 * Two pages type concurrently (the Rust test types from its own client meanwhile); all converge
 * and each page shows the other users' cursors. `--text` gives page A's, page B's and the Rust
 * client's text, in that order; `--out` where to save the screenshot. The pages stay open after
 * "converged" until the test says "close".
 */
async function converge() {
  const [textA, textB, textRust] = options("--text");
  // Two browsers, so the two users have their own storage and identity, as two people would.
  const browserA = await launch();
  const browserB = await launch();
  try {
    const [pageA, pageB] = [await browserA.context.newPage(), await browserB.context.newPage()];
    await openSynced(pageA, docUrl);
    await openSynced(pageB, docUrl);
    for (const [page, name] of [[pageA, "Ada"], [pageB, "Bo"]]) {
      await page.fill("#my-name", name);
      await page.press("#my-name", "Enter");
    }
    report("ready");
    // A types at the end, B at the start, both at once.
    await pageA.click(".cm-content");
    await pageA.keyboard.press("Control+End");
    await pageB.click(".cm-content");
    await pageB.keyboard.press("Control+Home");
    await Promise.all([typeText(pageA, textA), typeText(pageB, textB)]);
    const text = await waitConverged([pageA, pageB], [textA, textB, textRust]);
    // Each page shows two other people with cursors: the other page and the Rust client.
    for (const page of [pageA, pageB]) {
      await waitInPage(page, "two remote cursors", () => document.querySelectorAll(".tandem-caret").length === 2);
    }
    const labelsA = await pageA.$$eval(".tandem-caret-label", (els) => els.map((e) => e.textContent).sort());
    const labelsB = await pageB.$$eval(".tandem-caret-label", (els) => els.map((e) => e.textContent).sort());
    // A selection in B, so the screenshot shows one.
    await pageB.keyboard.press("Shift+ArrowRight");
    await pageB.keyboard.press("Shift+ArrowRight");
    await pageB.keyboard.press("Shift+ArrowRight");
    await waitInPage(pageA, "B's selection", () => document.querySelector(".tandem-selection") !== null);
    const out = option("--out");
    if (out) await pageA.screenshot({ path: out });

    // Undo is per user: A's undo steps remove A's text and nothing else, redo brings it back.
    // Undo until exactly A's text is gone: how typing is grouped into steps depends on its pace
    // (under load A's first keys made a step of their own, and a loop that stopped once A's
    // first words were gone left those keys behind).
    const withoutA = text.replace(textA, "");
    let undos = 0;
    while ((await editorText(pageA)) !== withoutA) {
      if (++undos > 50) throw new Error(`undo never came to the text without A's: ${JSON.stringify(await editorText(pageA))}`);
      await pageA.keyboard.press("Control+z");
    }
    await waitText([pageA, pageB], withoutA, "the text without A's after A's undo");
    for (let i = 0; i < undos; i++) await pageA.keyboard.press("Control+y");
    await waitText([pageA, pageB], text, "the whole text after A's redo");
    report("converged", { text, labelsA, labelsB, undos });
    // Closing pages say they left: the Rust test reads their presence first. Under load this
    // line can reach it after frames the pages send later, so it says when it has read.
    await heard("close");
  } finally {
    await browserA.close();
    await browserB.close();
  }
}

/**
 * Page A goes offline, types, reloads while offline, types again, goes online; page B types
 * meanwhile. Nothing is lost. `--text`: A online, A offline, A after reload, B while A is away.
 */
async function offline() {
  const [online, offlineText, afterReload, fromB] = options("--text");
  const browserA = await launch();
  const browserB = await launch();
  try {
    const pageA = await browserA.context.newPage();
    const pageB = await browserB.context.newPage();
    await openSynced(pageA, docUrl);
    await openSynced(pageB, docUrl);
    // The service worker must hold the page's files before the network goes.
    await pageA.evaluate(() => navigator.serviceWorker.ready);
    await waitInPage(pageA, "the service worker's cache", async () => (await caches.keys()).length > 0 && (await (await caches.open((await caches.keys())[0])).keys()).length >= 4);
    await pageA.click(".cm-content");
    await pageA.keyboard.press("Control+End");
    await typeText(pageA, online);
    await waitConverged([pageA, pageB], [online]);

    await browserA.context.setOffline(true);
    await waitInPage(pageA, "the offline state", () => document.getElementById("conn").classList.contains("offline"));
    await typeText(pageA, offlineText);
    await pageA.evaluate(() => window.tandem.flush());
    const unconfirmedBefore = await pageA.evaluate(() => window.tandem.client.unconfirmedCount());
    report("typed-offline", { unconfirmed: unconfirmedBefore });

    await pageA.reload();
    await waitInPage(pageA, "the page restored from IndexedDB", (t) => window.tandem && window.tandem.text().includes(t), offlineText);
    const restored = await pageA.evaluate(() => ({
      text: window.tandem.text(),
      offline: document.getElementById("conn").classList.contains("offline"),
      unconfirmed: window.tandem.client.unconfirmedCount(),
    }));
    if (!restored.offline) throw new Error("the reloaded page does not say it is offline");
    report("reloaded-offline", restored);
    await pageA.click(".cm-content");
    await pageA.keyboard.press("Control+End");
    await typeText(pageA, afterReload);
    await pageA.evaluate(() => window.tandem.flush());

    await pageB.click(".cm-content");
    await pageB.keyboard.press("Control+Home");
    await typeText(pageB, fromB);

    await browserA.context.setOffline(false);
    const text = await waitConverged([pageA, pageB], [online, offlineText, afterReload, fromB]);
    report("merged", { text });
  } finally {
    await browserA.close();
    await browserB.close();
  }
}

/**
 * The home page lists the server's documents (`--text`: one that exists) and opens a new one
 * by name; prints the URL it went to.
 */
async function home() {
  const [existing] = options("--text");
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector(`#doc-list a[href="/d/${existing}"]`, { timeout: 20_000 });
    await page.fill("#open-name", doc);
    await page.press("#open-name", "Enter");
    await page.waitForURL(/\/d\//, { timeout: 20_000 });
    await waitInPage(page, "the first sync", () => window.tandem && window.tandem.client.isSynced());
    await typeText(page, "made from the home page");
    await waitInPage(page, "durable edits", () => window.tandem.client.unconfirmedCount() === 0);
    report("opened", { url: page.url() });
  } finally {
    await browser.close();
  }
}

/**
 * The status bar says why the page is not connected: a second page on a full server (the Rust test
 * starts it with one connection allowed), then the first page when the server stops (going away)
 * and stays down (unreachable).
 */
async function banner() {
  const browser = await launch();
  const status = (page) => page.$eval("#conn", (el) => el.textContent);
  const waitStatus = (page, what, words) =>
    waitInPage(page, what, (words) => document.getElementById("conn").textContent.includes(words), words, 60_000);
  try {
    // The first page's websocket fills the server; the second page still loads (sockets that
    // are not websockets have slots of their own) and says why its websocket was refused.
    const first = await browser.context.newPage();
    await openSynced(first, docUrl);
    const second = await browser.context.newPage();
    await second.goto(docUrl);
    await waitStatus(second, "the full server explained", "server full");
    report("full", { status: await status(second) });
    await second.close();
    await waitStatus(first, "the server going away", "the server is restarting, retry in");
    report("going-away", { status: await status(first) });
    await waitStatus(first, "the server unreachable", "cannot reach the server, retry in");
    report("unreachable", { status: await status(first) });
  } finally {
    await browser.close();
  }
}

/**
 * A smoke run of the page-to-page keystroke benchmark (latency.mjs): `--keys` keys, reported
 * as its figures. The Rust test checks that every key was measured, never how fast.
 */
async function latency() {
  const figures = await measureLatency({ base, doc, keys: Number(option("--keys") ?? "20"), interval: 60 });
  report("latency", figures);
}

const uiArgs = { base, doc, texts: options("--text"), out: option("--out") };
const scenarios = {
  converge,
  offline,
  home,
  banner,
  latency,
  ...Object.fromEntries(Object.entries({ ...ui, ...history }).map(([name, run]) => [name, () => run(uiArgs)])),
};
if (!scenarios[scenario]) {
  console.error(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
scenarios[scenario]().then(
  () => process.exit(0),
  (error) => {
    console.error(error.stack || String(error));
    process.exit(1);
  },
);
