// Measures the browser client on a 1 MB document against a running tandem-server:
//   node bench.mjs --base http://127.0.0.1:PORT [--keys 1000] [--size 1000000]
// - time to interactive: cold (empty browser: page, wasm and the document over the websocket)
//   and warm (document restored from IndexedDB before connecting), from navigation start;
// - local keystroke handling at 1 MB: one CodeMirror transaction per key, timed with
//   performance.now() in the page, split into the whole dispatch and the binding's share
//   (WebClient.replace + setSelection);
// - the IndexedDB snapshot (offlineState) of the 1 MB document.
// Prints one JSON object.

import { launch, openSynced, waitInPage } from "./browser.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const base = option("--base");
const keys = Number(option("--keys", "1000"));
const size = Number(option("--size", "1000000"));
const doc = `bench-${size}-${Date.now()}`;
const url = `${base}/d/${doc}`;

/** About `size` UTF-16 units of prose in lines, with CJK and emoji so the astral index is busy. */
function bigText(size) {
  const lines = [
    "The quick brown fox jumps over the lazy dog while the team edits together.",
    "共同編集のテスト：日本語と中文混在的文本，还有 emoji 😀 🎉 👍🏽 在里面。",
    "fn main() { println!(\"hello, {}\", \"wörld\"); } // a line of code 🦀",
    "",
  ];
  let out = "";
  for (let i = 0; out.length < size; i++) out += `${lines[i % lines.length]}\n`;
  return out;
}

const stats = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  const round = (x) => Math.round(x * 1000) / 1000;
  return {
    n: sorted.length,
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    p50: round(at(0.5)),
    p95: round(at(0.95)),
    p99: round(at(0.99)),
    max: round(sorted[sorted.length - 1]),
  };
};

async function main() {
  const result = { size_utf16: 0, keys };
  // 1. Seed the document through a page and wait until the server confirmed it durable.
  const seeder = await launch();
  try {
    const page = await seeder.context.newPage();
    await openSynced(page, url);
    result.size_utf16 = await page.evaluate((text) => {
      window.tandem.view.dispatch({ changes: { from: 0, insert: text } });
      return window.tandem.view.state.doc.length;
    }, bigText(size));
    await waitInPage(page, "the seed to be durable", () => window.tandem.client.unconfirmedCount() === 0, undefined, 60_000);
  } finally {
    await seeder.close();
  }

  // 2. Cold and warm time to interactive in a fresh browser.
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await openSynced(page, url);
    result.cold = await page.evaluate(() => ({
      editor_ms: Math.round(window.tandem.stats.interactiveAt),
      synced_ms: Math.round(window.tandem.stats.syncedAt),
      length: window.tandem.view.state.doc.length,
    }));
    await page.evaluate(() => window.tandem.flush());
    await page.reload();
    await waitInPage(page, "the restored document", (n) => window.tandem && window.tandem.view.state.doc.length === n, result.size_utf16);
    await waitInPage(page, "the sync", () => window.tandem.client.isSynced());
    result.warm = await page.evaluate(() => ({
      editor_ms: Math.round(window.tandem.stats.interactiveAt),
      synced_ms: Math.round(window.tandem.stats.syncedAt),
    }));

    // 3. Keystrokes at line starts spread over the document, one transaction each.
    result.keystroke_ms = await page.evaluate((keys) => {
      const { view, client } = window.tandem;
      let binding = 0;
      const wrap = (name) => {
        const original = client[name].bind(client);
        client[name] = (...a) => {
          const t0 = performance.now();
          try {
            return original(...a);
          } finally {
            binding += performance.now() - t0;
          }
        };
      };
      wrap("replace");
      wrap("setSelection");
      const type = (position) => {
        const total = [];
        const ours = [];
        for (let i = 0; i < keys; i++) {
          const at = position(i);
          binding = 0;
          const t0 = performance.now();
          view.dispatch({ changes: { from: at, insert: "x" }, selection: { anchor: at + 1 }, userEvent: "input.type" });
          total.push(performance.now() - t0);
          ours.push(binding);
        }
        return { total, ours };
      };
      // Typing in one place, in the middle of the document, scrolled into view.
      const middle = view.state.doc.line(Math.floor(view.state.doc.lines / 2)).from;
      view.dispatch({ selection: { anchor: middle }, scrollIntoView: true });
      const inPlace = type((i) => middle + i);
      // One key on each of many lines spread over the document (every edit far from the last).
      const lines = view.state.doc.lines;
      const scattered = type((i) => view.state.doc.line(1 + ((i * 7919) % lines)).from);
      return { inPlace, scattered };
    }, keys);
    const raw = result.keystroke_ms;
    result.keystroke_ms = {
      in_place: { dispatch: stats(raw.inPlace.total), binding: stats(raw.inPlace.ours) },
      scattered: { dispatch: stats(raw.scattered.total), binding: stats(raw.scattered.ours) },
    };

    // 4. The IndexedDB snapshot the page writes after a batch of changes.
    result.offline_state_ms = await page.evaluate(() => {
      const times = [];
      let bytes = 0;
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        bytes = window.tandem.client.offlineState().length;
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      return { median: Math.round(times[10] * 100) / 100, bytes };
    });
    await waitInPage(page, "the keystrokes to be durable", () => window.tandem.client.unconfirmedCount() === 0, undefined, 60_000);
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result, null, 2));
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(1);
});
