// Browser scenarios for the page's edges and screens (tests/web_browser.rs): document ids, the
// statuses, mobile and dark screens, cursor labels, Tab, accessibility (axe-core), highlighting.
// Each takes { base, doc, texts, out } from run.mjs's arguments and reports JSON lines.

import { axeViolations, launch, openSynced, report, scrollsSideways, typeText, waitInPage } from "./browser.mjs";
import { tabKeySequence } from "./tab-keys.mjs";

/** What the page shows about one document, read in the page. */
const pageState = () => ({
  url: location.href,
  title: document.title,
  docName: document.getElementById("doc-name")?.textContent,
  docId: window.tandem?.docId,
  conn: document.getElementById("conn")?.textContent,
  saved: document.getElementById("unconfirmed")?.textContent,
  editor: document.querySelector(".cm-content") !== null,
  editable: document.querySelector(".cm-content")?.getAttribute("contenteditable") === "true",
  synced: window.tandem?.client.isSynced() ?? false,
  error: document.querySelector(".error-page")?.textContent ?? null,
  recent: JSON.parse(localStorage.getItem("tandem.recent") || "[]").map((d) => d.id),
});

/** Whether the home page shows any status or hint (it must not). */
const homeShowsStatus = () =>
  ["status-bar", "conn", "unconfirmed", "hint"].some((id) => {
    const element = document.getElementById(id);
    return element !== null && element.getClientRects().length > 0;
  });

/**
 * Ids as people type them. `texts`: ids to open from the home page (each must open an editor
 * that syncs), then `--`, then invalid ids to type on the home page, then an invalid id to open
 * by URL (percent-encoded by the test).
 */
export async function ids({ base, texts }) {
  const split = texts.indexOf("--");
  const wanted = texts.slice(0, split);
  const invalid = texts.slice(split + 1);
  const byUrl = invalid.pop();
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector("#doc-list li");
    report("home", { showsStatus: await page.evaluate(homeShowsStatus) });

    const refused = [];
    for (const id of invalid) {
      await page.fill("#open-name", id);
      await page.press("#open-name", "Enter");
      await waitInPage(page, "the id's error", () => document.getElementById("open-error").textContent !== "");
      refused.push({ id, error: await page.textContent("#open-error"), url: page.url() });
      await page.fill("#open-name", "");
    }
    report("refused-on-home", { refused });

    for (const id of wanted) {
      await page.goto(`${base}/`);
      await page.waitForSelector("#doc-list li");
      await page.fill("#open-name", id);
      await page.press("#open-name", "Enter");
      await page.waitForURL(/\/d\//);
      // The server takes every valid id: never "connecting" for ever, never refused.
      await waitInPage(page, "a sync", () => window.tandem?.client.isSynced());
      await page.click(".cm-content");
      await typeText(page, "會議 ok");
      await waitInPage(page, "durable edits", () => window.tandem.client.unconfirmedCount() === 0);
      report("opened", await page.evaluate(pageState));
    }

    await page.goto(`${base}/d/${byUrl}`);
    await page.waitForSelector(".error-page");
    const invalidPage = await page.evaluate(pageState);
    await page.goto(`${base}/`);
    await page.waitForSelector("#doc-list li");
    const listed = await page.$$eval("#doc-list .name", (names) => names.map((n) => n.textContent));
    report("invalid-url", { ...invalidPage, listed });
  } finally {
    await browser.close();
  }
}

/** Whether the page scrolls sideways. */
/**
 * Mobile and dark screens: no horizontal scroll at 390×844 on the home and document pages; the
 * dark theme follows prefers-color-scheme and the toggle's choice survives a reload. `texts`:
 * text to type; `out`: a path prefix for OUT-mobile.png and OUT-dark.png.
 */
export async function screens({ base, doc, texts, out }) {
  const [text] = texts;
  const phone = await launch({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const dark = await launch({ colorScheme: "dark" });
  try {
    const page = await phone.context.newPage();
    await page.goto(`${base}/`);
    await page.waitForSelector("#doc-list li");
    const home = await page.evaluate(scrollsSideways);
    await openSynced(page, `${base}/d/${encodeURIComponent(doc)}`);
    await page.fill("#my-name", "Mobile Mo");
    await page.press("#my-name", "Enter");
    // Touch: a tap puts the cursor in the editor and typing goes there.
    await page.tap(".cm-content");
    await typeText(page, text, 0);
    await waitInPage(page, "the typed text", (t) => window.tandem.text().includes(t), text);
    await waitInPage(page, "the counts", (n) => document.getElementById("counts").textContent.endsWith(`${n} characters`), [...text].length);
    const documentPage = await page.evaluate(scrollsSideways);
    if (out) await page.screenshot({ path: `${out}-mobile.png` });

    const darkPage = await dark.context.newPage();
    await openSynced(darkPage, `${base}/d/${encodeURIComponent(doc)}`);
    const themeOf = () => ({
      theme: document.documentElement.dataset.theme,
      background: getComputedStyle(document.querySelector(".cm-editor")).backgroundColor,
      pressed: document.getElementById("theme-toggle").getAttribute("aria-pressed"),
    });
    const system = await darkPage.evaluate(themeOf);
    if (out) await darkPage.screenshot({ path: `${out}-dark.png` });
    await darkPage.click("#theme-toggle");
    const toggled = await darkPage.evaluate(themeOf);
    await darkPage.reload();
    await waitInPage(darkPage, "the editor", () => window.tandem !== undefined);
    const reloaded = await darkPage.evaluate(themeOf);
    report("screens", { scroll: { home, document: documentPage }, system, toggled, reloaded });
  } finally {
    await phone.close();
    await dark.close();
  }
}

/**
 * Another user's cursor label: shown after the user moved, gone a few seconds later (it never
 * hides text for long), back on hover; its text contrasts ≥ 4.5:1 with its background. Two
 * users who chose the same colour are shown in two.
 */
export async function cursors({ base, doc }) {
  const browserA = await launch();
  const browserB = await launch();
  try {
    // Both users picked the same colour: one of them must show another while both are here.
    for (const [browser, name] of [[browserA, "Ada"], [browserB, "Bo"]]) {
      await browser.context.addInitScript((name) => {
        localStorage.setItem("tandem.identity", JSON.stringify({ name, color: "#e11d48" }));
      }, name);
    }
    const [pageA, pageB] = [await browserA.context.newPage(), await browserB.context.newPage()];
    const url = `${base}/d/${encodeURIComponent(doc)}`;
    await openSynced(pageA, url);
    await openSynced(pageB, url);
    await pageB.click(".cm-content");
    await typeText(pageB, "a line of text for the label to sit above\nsecond line", 0);
    await waitInPage(pageA, "B's cursor", () => document.querySelector(".tandem-caret-label") !== null);
    const label = () => {
      const element = document.querySelector(".tandem-caret-label");
      const style = getComputedStyle(element);
      return { opacity: Number(style.opacity), color: style.color, background: style.backgroundColor };
    };
    const fresh = await pageA.evaluate(label);
    await waitInPage(pageA, "the label to fade", () => Number(getComputedStyle(document.querySelector(".tandem-caret-label")).opacity) === 0, undefined, 10_000);
    const faded = await pageA.evaluate(label);
    const box = await (await pageA.$(".tandem-caret")).boundingBox();
    await pageA.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 4 });
    await pageA.waitForTimeout(100);
    const hovered = await pageA.evaluate(label);
    const dots = (page) =>
      waitInPage(page, "two people in two colours", () => {
        const colors = [...document.querySelectorAll("#presence .dot")].map((d) => d.style.background);
        return colors.length === 2 && colors[0] !== colors[1];
      }).then(() => page.$$eval("#presence .dot", (els) => els.map((e) => e.style.background)));
    const colors = { a: await dots(pageA), b: await dots(pageB) };
    report("cursors", { fresh, faded, hovered, colors });
  } finally {
    await browserA.close();
    await browserB.close();
  }
}

/** Tab at a cursor, on a multi-line selection, Shift-Tab; reports the editor's text after each. */
export async function tabs({ base, doc }) {
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await openSynced(page, `${base}/d/${encodeURIComponent(doc)}`);
    await page.click(".cm-content");
    const result = await tabKeySequence(page);
    await waitInPage(page, "durable edits", () => window.tandem.client.unconfirmedCount() === 0);
    report("tabs", result);
  } finally {
    await browser.close();
  }
}

/**
 * Accessibility: axe-core on the home and document pages, the latter in both themes (serious and
 * critical violations), the
 * editor's name, one live status region, the presence label, and the page used from the keyboard
 * alone: Tab to the editor, type, Escape then Tab leaves it.
 */
export async function a11y({ base, doc, texts }) {
  const [text] = texts;
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    const axe = (what) => axeViolations(page, what);
    await page.goto(`${base}/`);
    await page.waitForSelector("#doc-list li");
    const violations = await axe("home");

    await openSynced(page, `${base}/d/${encodeURIComponent(doc)}`);
    await page.evaluate(() => document.activeElement?.blur());
    // Keyboard only: Tab until the editor has focus, then type.
    let presses = 0;
    while (!(await page.evaluate(() => document.activeElement?.classList.contains("cm-content")))) {
      // A bound that catches a focus trap, not a count: every header and footer control is a stop.
      if (++presses > 20) throw new Error("Tab never reached the editor");
      await page.keyboard.press("Tab");
    }
    await typeText(page, text, 0);
    await waitInPage(page, "the typed text", (t) => window.tandem.text().includes(t), text);
    await page.keyboard.press("Escape");
    await page.keyboard.press("Tab");
    const leftEditor = await page.evaluate(() => !document.activeElement?.classList.contains("cm-content"));
    violations.push(...(await axe("document")));
    await page.click("#theme-toggle");
    violations.push(...(await axe(`document, ${await page.evaluate(() => document.documentElement.dataset.theme)} theme`)));
    const structure = await page.evaluate(() => ({
      editorName: document.querySelector(".cm-content").getAttribute("aria-label"),
      // CodeMirror's own announcer (search results) lives inside the editor.
      liveRegions: [...document.querySelectorAll('[role="status"], [aria-live]')].filter((e) => !e.closest(".cm-editor")).map((e) => e.id),
      statusHolds: ["conn", "unconfirmed"].every((id) => document.getElementById("status").contains(document.getElementById(id))),
      presenceLabel: document.getElementById("presence").getAttribute("aria-label"),
      presenceItems: document.querySelectorAll("#presence li").length,
      counts: document.getElementById("counts").textContent,
    }));
    report("a11y", { violations, presses, leftEditor, ...structure });
  } finally {
    await browser.close();
  }
}

/**
 * Highlighting from the id's extension, its package loaded on demand: `doc` (a .rs id) gets
 * coloured tokens and loads more chunks than a plain-text document, which gets none.
 * `texts`: the Rust source, the plain-text id.
 */
export async function highlight({ base, doc, texts }) {
  const [source, plainId] = texts;
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    const chunks = () => performance.getEntriesByType("resource").filter((e) => e.name.includes("/chunks/")).length;
    const tokens = () => document.querySelectorAll(".cm-content span[class]").length;
    await openSynced(page, `${base}/d/${encodeURIComponent(plainId)}`);
    await page.click(".cm-content");
    await typeText(page, source, 0);
    const plain = { chunks: await page.evaluate(chunks), tokens: await page.evaluate(tokens) };
    await openSynced(page, `${base}/d/${encodeURIComponent(doc)}`);
    await page.click(".cm-content");
    await typeText(page, source, 0);
    await waitInPage(page, "highlighted tokens", () => document.querySelectorAll(".cm-content span[class]").length > 0);
    const keyword = await page.evaluate(() => {
      const span = [...document.querySelectorAll(".cm-content span[class]")].find((s) => s.textContent === "fn");
      return span ? getComputedStyle(span).color : null;
    });
    const rust = { chunks: await page.evaluate(chunks), tokens: await page.evaluate(tokens), keyword };
    report("highlight", { plain, rust });
  } finally {
    await browser.close();
  }
}

/**
 * Access downgraded to read-only while edits are unconfirmed: edits typed offline under a
 * read-write token, then the page reopened with a read-only token, which the server answers
 * with its `Access` message. The editor locks, the badge shows, and the edits are offered for
 * copy and download, not dropped. `texts`: what to type offline, the read-write token, the
 * read-only token.
 */
export async function keptAside({ base, doc, texts }) {
  const [text, writeToken, readToken] = texts;
  const browser = await launch({ acceptDownloads: true });
  try {
    const url = (token) => `${base}/d/${encodeURIComponent(doc)}#token=${encodeURIComponent(token)}`;
    const writer = await browser.context.newPage();
    await openSynced(writer, url(writeToken));
    await browser.context.setOffline(true);
    await waitInPage(writer, "the offline state", () => document.getElementById("conn").classList.contains("offline"));
    await writer.click(".cm-content");
    await typeText(writer, text, 0);
    // The edits wait in IndexedDB, unconfirmed, for the next page of this document.
    await writer.evaluate(() => window.tandem.flush());
    await writer.close();
    await browser.context.setOffline(false);

    const page = await browser.context.newPage();
    await openSynced(page, url(readToken));
    await waitInPage(page, "the server's access message", () => window.tandem.access() === "read-only");
    await page.keyboard.type("more");
    const state = await page.evaluate(() => ({
      text: window.tandem.view.state.doc.toString(),
      editable: document.querySelector(".cm-content").getAttribute("contenteditable") === "true",
      badge: !document.getElementById("access").hidden,
      banner: document.querySelector(".kept")?.textContent ?? null,
      unconfirmed: window.tandem.client.unconfirmedCount(),
    }));
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(".kept-download")]);
    const chunks = [];
    for await (const chunk of await download.createReadStream()) chunks.push(chunk);
    report("kept", { ...state, file: download.suggestedFilename(), downloaded: Buffer.concat(chunks).toString("utf8") });
  } finally {
    await browser.close();
  }
}

/**
 * Sharing and managing (a server with an auth key). `texts`: the text to type, a read-write
 * token for the folder `team/` (the doc lives there), the id to rename to. Two pages of the
 * same browser user edit the document; one makes a read-only link (opened in a third page),
 * renames the document (both pages follow it), then deletes it (both keep their copy, locked,
 * with the banner). The home page without a token says the list needs one.
 */
export async function manage({ base, doc, texts }) {
  const [text, token, renamedTo] = texts;
  const browser = await launch({ acceptDownloads: true, permissions: ["clipboard-read", "clipboard-write"] });
  try {
    const url = (id) => `${base}/d/${id.split("/").map(encodeURIComponent).join("/")}#token=${encodeURIComponent(token)}`;
    const a = await browser.context.newPage();
    const b = await browser.context.newPage();
    await openSynced(a, url(doc));
    await openSynced(b, url(doc));
    await a.click(".cm-content");
    await typeText(a, text, 0);
    await waitInPage(b, "the other page's text", (t) => window.tandem.text() === t, text);
    await waitInPage(a, "durable edits", () => window.tandem.client.unconfirmedCount() === 0);

    // Share: a read-only link, opened in a third page.
    await a.click("#share-button");
    await a.waitForSelector("dialog[open] .share-form");
    const yourLink = await a.inputValue("dialog[open] .link-field");
    await a.selectOption("dialog[open] select[name=access]", "r");
    await a.selectOption("dialog[open] select[name=expiry]", "3600");
    await a.click("dialog[open] .share-form button[type=submit]");
    await waitInPage(a, "the new link", () => document.querySelectorAll("dialog[open] .link-field").length === 2);
    const made = await a.$$eval("dialog[open] .link-field", (fields) => fields.map((f) => /** @type {HTMLInputElement} */ (f).value));
    const outcome = await a.textContent("dialog[open] .dialog-outcome");
    await a.keyboard.press("Escape");
    await waitInPage(a, "the dialog closed", () => !document.querySelector("dialog[open]"));
    const reader = await browser.context.newPage();
    await openSynced(reader, made[1]);
    await waitInPage(reader, "read-only access", () => window.tandem.access() === "read-only");
    const shared = await reader.evaluate(() => ({
      text: window.tandem.text(),
      editable: document.querySelector(".cm-content").getAttribute("contenteditable") === "true",
      badge: !document.getElementById("access").hidden,
    }));
    await reader.close();
    report("shared", { yourLink, link: made[1], outcome, ...shared });

    // Rename: confirmed in the dialog; both pages follow to the new id with the text.
    await a.click("#rename-button");
    await a.waitForSelector("dialog[open] .rename-to");
    await a.fill("dialog[open] .rename-to", "team//bad");
    await a.click("dialog[open] button[type=submit]");
    await waitInPage(a, "the id's error", () => document.querySelector("dialog[open] .dialog-outcome").textContent !== "");
    const invalid = await a.textContent("dialog[open] .dialog-outcome");
    await a.fill("dialog[open] .rename-to", renamedTo);
    await a.click("dialog[open] button[type=submit]");
    for (const page of [a, b]) {
      await page.waitForURL((u) => decodeURIComponent(u.pathname) === `/d/${renamedTo}`);
      await waitInPage(page, "a sync at the new id", () => window.tandem?.client.isSynced());
    }
    const renamed = await Promise.all(
      [a, b].map((page) => page.evaluate(() => ({ docId: window.tandem.docId, text: window.tandem.text(), title: document.title }))),
    );
    report("renamed", { invalid, pages: renamed });

    // Delete: confirmed; both pages keep their copy, locked, and say why.
    await a.click("#delete-button");
    await a.waitForSelector("dialog[open] .danger");
    const question = await a.textContent("dialog[open] h2");
    await a.click("dialog[open] .danger");
    const goneState = () => ({
      gone: window.tandem.gone(),
      text: window.tandem.text(),
      editable: document.querySelector(".cm-content").getAttribute("contenteditable") === "true",
      conn: document.getElementById("conn").textContent,
      saved: document.getElementById("unconfirmed").textContent,
      banner: document.querySelector(".kept.gone")?.textContent ?? null,
      recent: JSON.parse(localStorage.getItem("tandem.recent") || "[]").map((d) => d.id),
    });
    const deleted = [];
    for (const page of [a, b]) {
      await waitInPage(page, "the document gone", () => document.querySelector(".kept.gone") !== null);
      deleted.push(await page.evaluate(goneState));
    }
    const [download] = await Promise.all([b.waitForEvent("download"), b.click(".kept.gone .kept-download")]);
    const chunks = [];
    for await (const chunk of await download.createReadStream()) chunks.push(chunk);
    // A reload shows the kept copy again and does not connect (that would bring it back).
    await b.reload();
    await waitInPage(b, "the kept copy", () => document.querySelector(".kept.gone") !== null && window.tandem?.text() !== "");
    const reloaded = await b.evaluate(goneState);
    report("deleted", { question, pages: deleted, downloaded: Buffer.concat(chunks).toString("utf8"), reloaded });

    // The home page without a token says why the server's list is missing.
    const home = await browser.context.newPage();
    await home.goto(`${base}/`);
    await waitInPage(home, "the list note", () => !document.getElementById("list-note").hidden);
    report("home", { note: await home.textContent("#list-note") });
  } finally {
    await browser.close();
  }
}
