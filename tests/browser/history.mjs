// Browser scenarios for the history sidebar (tests/web_history.rs, issue 14). Each takes
// { base, doc, texts } from run.mjs's arguments and reports JSON lines.

import { axeViolations, launch, openSynced, report, scrollsSideways, typeText, waitInPage } from "./browser.mjs";

/** How long a step may wait on a loaded machine (the sidebar refreshes its list every 10 s). */
const STEP_MS = 60_000;

const editorText = (page) => page.evaluate(() => window.tandem.view.state.doc.toString());

/** Waits until the page's editor and client both hold exactly `text`. */
const waitText = (page, what, text) =>
  waitInPage(page, what, (t) => window.tandem.view.state.doc.toString() === t && window.tandem.text() === t, text, STEP_MS);

/** Types `text` at the end of the page's document. */
async function typeAtEnd(page, text) {
  await page.click(".cm-content");
  await page.keyboard.press("Control+End");
  await typeText(page, text, 0);
}

/** Opens the history sidebar and waits for its list. */
async function openHistory(page) {
  await page.click("#history-button");
  await page.waitForSelector(".history-list", { timeout: STEP_MS });
}

/** Names the current text `name` from the sidebar and waits until the list shows it. */
async function nameVersion(page, name) {
  await page.fill("#history-name", name);
  await page.press("#history-name", "Enter");
  await waitInPage(page, `the version "${name}" listed`, (n) => [...document.querySelectorAll(".version-title")].some((t) => t.textContent === n), name, STEP_MS);
}

/** The sidebar's entry called `title` (a locator). */
const entry = (page, title) => page.locator(".version", { has: page.locator(".version-title", { hasText: title }) }).first();

/** What the sidebar shows for the selected version, read in the page. */
const previewState = () => ({
  title: document.querySelector(".history-preview-title")?.textContent,
  summary: document.querySelector(".history-summary")?.textContent,
  inserted: [...document.querySelectorAll(".history-preview ins")].map((e) => e.textContent),
  deleted: [...document.querySelectorAll(".history-preview del")].map((e) => e.textContent),
  text: document.querySelector(".history-preview")?.textContent,
});

/** Each author of the entry called `title` with the colour of their dot, and each person present with theirs. */
const colours = (title) => {
  const button = [...document.querySelectorAll(".version")].find((b) => b.querySelector(".version-title")?.textContent === title);
  const authors = [...(button?.querySelectorAll(".author") ?? [])].map((a) => [a.textContent, getComputedStyle(a.querySelector(".dot")).backgroundColor]);
  const present = [...document.querySelectorAll("#presence .person")].map((p) => [p.textContent.replace(" (you)", ""), getComputedStyle(p.querySelector(".dot")).backgroundColor]);
  return { authors, present };
};

/**
 * Two pages edit; A names the text "first draft"; B deletes a word, types and names "second
 * draft"; A previews it (the deletion and the insertion marked); the terminal editor (driven
 * by the Rust test on the "named" event) types its line; A restores "first draft" after
 * confirming; both pages show the first draft's text. `texts`: A's line, B's line, the word B
 * deletes, B's addition, the terminal's line; `out`: where to save a screenshot of the sidebar.
 */
export async function history({ base, doc, texts, out }) {
  const [lineA, lineB, dropped, added, terminalLine] = texts;
  const docUrl = `${base}/d/${encodeURIComponent(doc)}`;
  const browserA = await launch();
  const browserB = await launch();
  try {
    const [pageA, pageB] = [await browserA.context.newPage(), await browserB.context.newPage()];
    for (const [page, name] of [[pageA, "Ada"], [pageB, "Bo"]]) {
      await openSynced(page, docUrl);
      await page.fill("#my-name", name);
      await page.press("#my-name", "Enter");
    }
    await typeAtEnd(pageA, lineA);
    await waitInPage(pageB, "A's line", (t) => window.tandem.text().includes(t), lineA, STEP_MS);
    await typeAtEnd(pageB, lineB);
    const first = lineA + lineB;
    await waitText(pageA, "both lines", first);
    // The server hears both before the version is named, so both are its authors.
    await waitInPage(pageA, "durable edits", () => window.tandem.client.unconfirmedCount() === 0, undefined, STEP_MS);
    await waitInPage(pageB, "durable edits", () => window.tandem.client.unconfirmedCount() === 0, undefined, STEP_MS);

    await openHistory(pageA);
    await nameVersion(pageA, "first draft");
    const firstColours = await pageA.evaluate(colours, "first draft");

    // B drops a word (a local edit like any other) and adds a line, then names that.
    await pageB.evaluate((word) => {
      const view = window.tandem.view;
      const from = view.state.doc.toString().indexOf(word);
      view.dispatch({ changes: { from, to: from + word.length, insert: "" } });
    }, dropped);
    await typeAtEnd(pageB, added);
    const second = first.replace(dropped, "") + added;
    await waitText(pageA, "B's changes", second);
    await waitInPage(pageB, "durable edits", () => window.tandem.client.unconfirmedCount() === 0, undefined, STEP_MS);
    await openHistory(pageB);
    await nameVersion(pageB, "second draft");
    report("named", { first, second, colours: firstColours });

    // A's list catches up by itself; the preview marks what the second draft changed.
    await waitInPage(pageA, "the second draft in A's list", () => [...document.querySelectorAll(".version-title")].some((t) => t.textContent === "second draft"), undefined, STEP_MS);
    await entry(pageA, "second draft").click();
    await waitInPage(pageA, "the preview", () => document.querySelectorAll(".history-preview ins, .history-preview del").length > 0, undefined, STEP_MS);
    const preview = await pageA.evaluate(previewState);

    // The terminal editor types its line (the Rust test, on "named"); everyone sees it.
    await waitInPage(pageA, "the terminal's line", (t) => window.tandem.text().includes(t), terminalLine, STEP_MS);
    await waitInPage(pageB, "the terminal's line", (t) => window.tandem.text().includes(t), terminalLine, STEP_MS);
    const messy = await editorText(pageB);

    await entry(pageA, "first draft").click();
    await waitInPage(pageA, "the first draft's preview", () => document.querySelector(".history-preview-title")?.textContent.startsWith("first draft"), undefined, STEP_MS);
    await pageA.click(".history-restore");
    const dialog = pageA.locator("dialog[open]");
    const question = await dialog.locator("h2").textContent();
    const focusedFirst = await pageA.evaluate(() => document.activeElement?.textContent);
    await dialog.getByRole("button", { name: "Restore" }).click();
    await waitText(pageA, "the restored text on A", first);
    await waitText(pageB, "the restored text on B", first);
    // B's sidebar lists the restore by itself.
    await waitInPage(pageB, "the restore in B's list", () => document.querySelector(".version.kind-restore") !== null, undefined, STEP_MS);
    const outcome = await pageA.$eval(".history-outcome", (e) => e.textContent);

    // The sidebar with a preview open passes axe-core in both themes.
    await entry(pageA, "second draft").click();
    await waitInPage(pageA, "the preview", () => document.querySelectorAll(".history-preview ins").length > 0, undefined, STEP_MS);
    const violations = await axeViolations(pageA, "history, light");
    if (out) await pageA.screenshot({ path: out });
    await pageA.click("#theme-toggle");
    violations.push(...(await axeViolations(pageA, "history, dark")));
    report("restored", {
      textA: await editorText(pageA),
      textB: await editorText(pageB),
      messy,
      preview,
      question,
      focusedFirst,
      outcome,
      violations,
    });
  } finally {
    await browserA.close();
    await browserB.close();
  }
}

/**
 * A read-only link on a phone in the dark: the sidebar (opened and used from the keyboard)
 * lists the versions and previews one, naming and restoring are disabled with the reason, the
 * sidebar covers the screen without sideways scrolling, Escape closes it. `texts`: the token,
 * the named version's name; `out`: where to save a screenshot.
 */
export async function historyReadOnly({ base, doc, texts, out }) {
  const [token, name] = texts;
  const phone = await launch({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: "dark" });
  try {
    const page = await phone.context.newPage();
    await openSynced(page, `${base}/d/${encodeURIComponent(doc)}#token=${encodeURIComponent(token)}`);
    await waitInPage(page, "the read-only access", () => window.tandem.access() === "read-only", undefined, STEP_MS);
    await page.focus("#history-button");
    await page.keyboard.press("Enter");
    await waitInPage(page, "the version listed", (n) => [...document.querySelectorAll(".version-title")].some((t) => t.textContent === n), name, STEP_MS);
    // Keyboard only: Tab to the first version, Enter previews it.
    let presses = 0;
    while (!(await page.evaluate(() => document.activeElement?.classList.contains("version")))) {
      if (++presses > 10) throw new Error("Tab never reached a version");
      await page.keyboard.press("Tab");
    }
    await page.keyboard.press("Enter");
    await waitInPage(page, "the preview", () => (document.querySelector(".history-preview")?.textContent ?? "").length > 0, undefined, STEP_MS);
    const state = await page.evaluate(() => {
      const box = document.getElementById("history").getBoundingClientRect();
      return {
        preview: document.querySelector(".history-preview").textContent,
        restoreDisabled: document.querySelector(".history-restore").disabled,
        nameDisabled: document.getElementById("history-name").disabled,
        why: document.getElementById("history-why").hidden ? null : document.getElementById("history-why").textContent,
        describedBy: document.querySelector(".history-restore").getAttribute("aria-describedby"),
        width: box.width,
        viewport: window.innerWidth,
        theme: document.documentElement.dataset.theme,
      };
    });
    const sideways = await page.evaluate(scrollsSideways);
    if (out) await page.screenshot({ path: out });
    const violations = await axeViolations(page, "history, read-only phone");
    await page.keyboard.press("Escape");
    const closed = await page.evaluate(() => ({
      hidden: document.getElementById("history").hidden,
      focus: document.activeElement?.id,
      expanded: document.getElementById("history-button").getAttribute("aria-expanded"),
    }));
    report("readOnly", { ...state, sideways, violations, closed, presses });
  } finally {
    await phone.close();
  }
}

/** Each author's coloured text (joined), the colour of its underline, and who is present in which colour. */
const authorMarks = () => {
  /** @type {Record<string, { text: string, colors: string[] }>} */
  const byAuthor = {};
  for (const mark of document.querySelectorAll(".tandem-author")) {
    const author = mark.getAttribute("data-author");
    byAuthor[author] ??= { text: "", colors: [] };
    byAuthor[author].text += mark.textContent;
    const color = getComputedStyle(mark).boxShadow.match(/rgba?\([^)]*\)/)?.[0];
    if (!byAuthor[author].colors.includes(color)) byAuthor[author].colors.push(color);
  }
  const present = Object.fromEntries(
    [...document.querySelectorAll("#presence .person")].map((p) => [p.textContent.replace(" (you)", ""), getComputedStyle(p.querySelector(".dot")).backgroundColor]),
  );
  const legend = [...document.querySelectorAll("#author-legend li")].map((li) => li.textContent);
  return { byAuthor, present, legend };
};

/**
 * "Who wrote this": the Rust test's client (present as "Rusty") wrote a line; the page types,
 * switches the authorship colouring on and sees each author's text in the colour of their
 * cursor, types more (coloured once the server has it), and switches it off. `texts`: what the
 * page types first, what it types after.
 */
export async function authorship({ base, doc, texts }) {
  const [typed, more] = texts;
  const browser = await launch();
  try {
    const page = await browser.context.newPage();
    await openSynced(page, `${base}/d/${encodeURIComponent(doc)}`);
    await page.fill("#my-name", "Ada");
    await page.press("#my-name", "Enter");
    await typeAtEnd(page, typed);
    await waitInPage(page, "durable edits", () => window.tandem.client.unconfirmedCount() === 0, undefined, STEP_MS);
    await waitInPage(page, "Rusty present", () => document.getElementById("presence").textContent.includes("Rusty"), undefined, STEP_MS);
    await page.click("#authors-button");
    const bothColoured = (t) => {
      const marks = [...document.querySelectorAll(".tandem-author")];
      return marks.some((m) => m.dataset.author === "Rusty") && marks.filter((m) => m.dataset.author === "Ada").map((m) => m.textContent).join("") === t;
    };
    await waitInPage(page, "both authors coloured", bothColoured, typed, STEP_MS);
    const first = await page.evaluate(authorMarks);
    const pressed = await page.$eval("#authors-button", (b) => b.getAttribute("aria-pressed"));

    await typeAtEnd(page, more);
    await waitInPage(page, "the new text coloured", bothColoured, typed + more, STEP_MS);
    const after = await page.evaluate(authorMarks);

    await page.click("#authors-button");
    await waitInPage(page, "the colouring off", () => document.querySelector(".tandem-author, #author-legend") === null, undefined, STEP_MS);
    report("authorship", { first, after, pressed });
  } finally {
    await browser.close();
  }
}
