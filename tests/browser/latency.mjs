// Keystroke latency from one page to another: how long after a key goes down in page A its
// character is in page B's CodeMirror DOM. Two browsers (two users, as two people would be) on
// one document of a running tandem-server:
//
//   node latency.mjs --base http://127.0.0.1:PORT [--keys 200] [--interval 60] [--doc DOC]
//
// Page A types `--keys` characters at the end of the document, one every `--interval` ms (a
// fast typist; each key is done before the next, so none waits behind another). Each page
// records on its own clock (performance.timeOrigin + performance.now(), the same wall clock in
// every process of this machine; the offset between the pages is measured through the driver
// and taken off):
// - key: A's keydown handler runs;
// - sent: A's websocket sends the update (the first sync update frame after the key);
// - received: B's websocket delivers the update to the page;
// - shown: B's editor DOM holds the character (a MutationObserver on CodeMirror's content).
// Prints one JSON object: median, p95, mean and max of key→shown and of each step (ms).

import { launch, openSynced, waitInPage } from "./browser.mjs";

/**
 * Records, in the page, when the websocket sends and receives sync updates (y-protocols message
 * 0, step 2) and when the typed characters reach the editor's DOM. Runs before the page's own
 * scripts (an init script), so it wraps the socket the page makes.
 */
function instrument() {
  const clock = () => performance.timeOrigin + performance.now();
  const isUpdate = (data) => {
    const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? data : null;
    return bytes !== null && bytes.length > 1 && bytes[0] === 0 && bytes[1] === 2;
  };
  const marks = { keys: [], dispatched: [], sent: [], received: [], shown: [], frames: [] };
  window.__latency = marks;
  const Native = window.WebSocket;
  const send = Native.prototype.send;
  Native.prototype.send = function (data) {
    if (isUpdate(data)) marks.sent.push(clock());
    return send.call(this, data);
  };
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      // Registered before the page sets onmessage, so it runs first: the arrival, not the handling.
      this.addEventListener("message", (event) => {
        if (isUpdate(event.data)) marks.received.push(clock());
      });
    }
  };
  window.addEventListener("keydown", () => marks.keys.push(clock()), true);
  /** Marks when the editor starts each transaction that changes the text (a typed key's). */
  window.__watchDispatch = () => {
    const view = window.tandem.view;
    const dispatch = view.dispatch.bind(view);
    // Only text changes: presence from other pages redraws their cursors with a dispatch too.
    const changesText = (spec) => ("docChanged" in spec ? spec.docChanged : spec.changes !== undefined);
    view.dispatch = (...specs) => {
      if (specs.some(changesText)) marks.dispatched.push(clock());
      return dispatch(...specs);
    };
  };
  /**
   * Starts watching the editor: `shown[i]` is when the DOM first holds i + 1 characters of
   * `typed`, `frames[i]` when the next animation frame after that starts (the browser paints it
   * in that frame).
   */
  window.__watchTyped = (typed) => {
    const content = document.querySelector(".cm-content");
    const count = () => {
      let n = 0;
      for (const line of content.querySelectorAll(".cm-line")) {
        let text = line.textContent;
        // Other users' caret labels are in the lines too; their names are not text.
        for (const label of line.querySelectorAll(".tandem-caret-label")) text = text.replace(label.textContent, "");
        for (const ch of text) if (ch === typed) n++;
      }
      return n;
    };
    new MutationObserver(() => {
      const now = clock();
      const n = count();
      const first = marks.shown.length;
      while (marks.shown.length < n) marks.shown.push(now);
      if (n > first) {
        requestAnimationFrame(() => {
          const frame = clock();
          while (marks.frames.length < n) marks.frames.push(frame);
        });
      }
    }).observe(content, { childList: true, subtree: true, characterData: true });
  };
}

/**
 * The page's clock minus the driver's, from the exchange with the shortest round trip (the
 * driver's clock is read on both sides of it; the page's is taken to be read in the middle).
 */
async function clockOffset(page) {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 30; i++) {
    const before = performance.timeOrigin + performance.now();
    const inPage = await page.evaluate(() => performance.timeOrigin + performance.now());
    const after = performance.timeOrigin + performance.now();
    if (after - before < best.rtt) best = { rtt: after - before, offset: inPage - (before + after) / 2 };
  }
  return best;
}

const round = (x) => Math.round(x * 100) / 100;

/** Median, p95, mean and max of `values` (ms). */
export function stats(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    n: sorted.length,
    median: round(at(0.5)),
    p95: round(at(0.95)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    max: round(sorted[sorted.length - 1]),
  };
}

/**
 * Measures `keys` keystrokes typed in one page as seen in another, on document `doc` of the
 * server at `base`; returns the figures.
 * @param {{ base: string, doc: string, keys: number, interval: number }} options
 */
export async function measureLatency({ base, doc, keys, interval }) {
  const url = `${base}/d/${encodeURIComponent(doc)}`;
  // The character typed: one that the page's own text (a caret label aside) never holds.
  const typed = "x";
  const browsers = [await launch(), await launch()];
  try {
    const [pageA, pageB] = await Promise.all(
      browsers.map(async (browser) => {
        await browser.context.addInitScript(instrument);
        const page = await browser.context.newPage();
        await openSynced(page, url);
        return page;
      }),
    );
    await pageB.evaluate((typed) => window.__watchTyped(typed), typed);
    await pageA.evaluate(() => window.__watchDispatch());
    await pageA.click(".cm-content");
    await pageA.keyboard.press("Control+End");
    // Presence and the first sync are done with: only the keystrokes from here on.
    await pageA.waitForTimeout(200);
    await pageA.evaluate(() => Object.assign(window.__latency, { keys: [], dispatched: [], sent: [] }));
    await pageB.evaluate(() => Object.assign(window.__latency, { received: [], shown: [], frames: [] }));
    for (let i = 0; i < keys; i++) {
      const next = performance.now() + interval;
      await pageA.keyboard.press(typed);
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    await waitInPage(pageB, "every key to arrive", (n) => window.__latency.frames.length >= n, keys, 60_000);
    await waitInPage(pageA, "the keys to be durable", () => window.tandem.client.unconfirmedCount() === 0, undefined, 60_000);
    const [offsetA, offsetB] = [await clockOffset(pageA), await clockOffset(pageB)];
    const a = await pageA.evaluate(() => window.__latency);
    const b = await pageB.evaluate(() => window.__latency);
    const counts = { keys: a.keys.length, dispatched: a.dispatched.length, sent: a.sent.length, received: b.received.length };
    if (Object.values(counts).some((n) => n !== keys)) throw new Error(`one mark per key expected: ${JSON.stringify(counts)}`);
    // On the driver's clock.
    const onA = (t) => t - offsetA.offset;
    const onB = (t) => t - offsetB.offset;
    const total = [];
    const painted = [];
    const steps = { key_to_dispatch: [], dispatch_to_send: [], send_to_receive: [], receive_to_dom: [] };
    for (let i = 0; i < keys; i++) {
      total.push(onB(b.shown[i]) - onA(a.keys[i]));
      painted.push(onB(b.frames[i]) - onA(a.keys[i]));
      steps.key_to_dispatch.push(a.dispatched[i] - a.keys[i]);
      steps.dispatch_to_send.push(a.sent[i] - a.dispatched[i]);
      steps.send_to_receive.push(onB(b.received[i]) - onA(a.sent[i]));
      steps.receive_to_dom.push(b.shown[i] - b.received[i]);
    }
    return {
      keys,
      interval_ms: interval,
      clock: { skew_ms: round(offsetB.offset - offsetA.offset), rtt_ms: round(Math.max(offsetA.rtt, offsetB.rtt)) },
      key_to_shown_ms: stats(total),
      key_to_next_frame_ms: stats(painted),
      steps_ms: Object.fromEntries(Object.entries(steps).map(([name, v]) => [name, stats(v)])),
    };
  } finally {
    await Promise.all(browsers.map((browser) => browser.close()));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  measureLatency({
    base: option("--base"),
    doc: option("--doc", `latency-${Date.now()}`),
    keys: Number(option("--keys", "200")),
    interval: Number(option("--interval", "60")),
  }).then(
    (result) => console.log(JSON.stringify(result, null, 2)),
    (error) => {
      console.error(error.stack || String(error));
      process.exit(1);
    },
  );
}
