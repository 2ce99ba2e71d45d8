// The history sidebar of the document page: the timeline of versions by day (time, authors in
// their colours, name, kind), a preview of the selected version with what it inserted and
// deleted since the version before, "Restore" (asked first) and "Name this version". Loaded
// on demand (document.js imports it when the sidebar first opens), so it does not weigh on the
// page's first load. The grouping and the diff's segments are history-days.js's and
// history-diff.js's; the REST calls history-api.js's.

import { authorColor } from "./color.js";
import { confirmAction } from "./dialogs.js";
import { listVersions, nameVersion, restoreVersion, versionDiff, versionText } from "./history-api.js";
import { changeCounts, diffSegments } from "./history-diff.js";
import { groupByDay, timeOfDay, versionBefore, versionTitle } from "./history-days.js";

/** @typedef {import("./history-days.js").Version} Version */
/** @typedef {import("./history-diff.js").Segment} Segment */

/** How often an open sidebar asks for new versions (others name and restore too). */
const REFRESH_MS = 10_000;

/** Versions drawn at first and per "Show older" (a document may have thousands). */
const PAGE = 200;

/** Why a read-only page cannot name or restore, next to the disabled buttons. */
const READ_ONLY_REASON = "Your link grants reading only: naming and restoring versions need a link that can edit.";

/**
 * What the sidebar needs from the page.
 * @typedef {object} HistoryContext
 * @property {string} docId
 * @property {string} token the page's token ("" when the server needs none)
 * @property {() => import("./status.js").Access} access what the server lets this page do
 * @property {() => { name: string, color: string }[]} people this page's user and its peers (for authors' colours)
 * @property {() => void} onClose the sidebar closed (Escape or its close button)
 */

/**
 * The open sidebar.
 * @typedef {object} HistoryPanel
 * @property {() => void} close
 * @property {() => Promise<void>} refresh asks the server for the versions again
 * @property {() => void} accessChanged the server said what this page may do
 */

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function element(tag, className = "", text = "") {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text) made.textContent = text;
  return made;
}

/**
 * Opens the sidebar in `aside` (emptied first).
 * @param {HTMLElement} aside
 * @param {HistoryContext} context
 * @returns {HistoryPanel}
 */
export function openHistory(aside, context) {
  const { docId, token } = context;
  aside.innerHTML = "";
  aside.hidden = false;

  const head = element("div", "history-head");
  const title = element("h2", "", "History");
  title.id = "history-title";
  const closeButton = element("button", "history-close", "Close");
  closeButton.type = "button";
  head.append(title, closeButton);

  const why = element("p", "history-why", READ_ONLY_REASON);
  why.id = "history-why";
  const nameForm = element("form", "history-name");
  const nameLabel = element("label", "", "Name this version");
  const nameInput = element("input");
  nameInput.id = "history-name";
  nameInput.maxLength = 200;
  nameInput.required = true;
  nameInput.placeholder = "before the review";
  nameLabel.htmlFor = nameInput.id;
  const nameButton = element("button", "", "Name");
  nameButton.type = "submit";
  const nameRow = element("div", "history-name-row");
  nameRow.append(nameInput, nameButton);
  nameForm.append(nameLabel, nameRow);
  const outcome = element("p", "history-outcome");
  outcome.setAttribute("role", "status");

  const list = element("nav", "history-list");
  list.setAttribute("aria-label", "Versions");

  const previewArea = element("section", "history-preview-area");
  previewArea.hidden = true;
  const previewTitle = element("h3", "history-preview-title");
  previewTitle.id = "history-preview-title";
  previewArea.setAttribute("aria-labelledby", previewTitle.id);
  const summary = element("p", "history-summary");
  const preview = element("div", "history-preview");
  // Focusable: it scrolls, and a keyboard must be able to scroll it.
  preview.tabIndex = 0;
  preview.setAttribute("role", "region");
  preview.setAttribute("aria-label", "Text of the selected version, insertions and deletions marked");
  const restoreButton = element("button", "history-restore", "Restore this version");
  restoreButton.type = "button";
  // The button above the preview, so that a long text never pushes it out of sight.
  previewArea.append(previewTitle, summary, restoreButton, preview);

  // A panel of its own, so that closing drops its listeners with it.
  const panel = element("div", "history-panel");
  panel.append(head, why, nameForm, outcome, list, previewArea);
  aside.append(panel);

  /** @type {Version[]} */
  let versions = [];
  let listed = "";
  let shown = PAGE;
  /** @type {number | null} */
  let selected = null;
  // Answers to an older selection must not overwrite the newer one's preview.
  let selection = 0;

  const accessChanged = () => {
    const readOnly = context.access() === "read-only";
    why.hidden = !readOnly;
    for (const control of [nameInput, nameButton, restoreButton]) {
      control.disabled = readOnly;
      if (readOnly) control.setAttribute("aria-describedby", why.id);
      else control.removeAttribute("aria-describedby");
    }
  };

  /** @param {Version} version */
  const entry = (version) => {
    const item = element("li");
    const choose = element("button", `version kind-${version.kind}`);
    choose.type = "button";
    choose.dataset.id = String(version.id);
    choose.setAttribute("aria-pressed", String(version.id === selected));
    const line = element("span", "version-line");
    line.append(
      element("span", "version-time", timeOfDay(version.created_at_ms)),
      element("span", "version-title", versionTitle(version)),
      element("span", "version-kind", version.kind),
    );
    const authors = element("span", "version-authors");
    const people = context.people();
    for (const name of version.authors) {
      const author = element("span", "author");
      const dot = element("span", "dot");
      dot.setAttribute("aria-hidden", "true");
      dot.style.background = authorColor(name, people);
      author.append(dot, name);
      authors.append(author);
    }
    choose.append(line, authors);
    choose.addEventListener("click", () => select(version.id));
    item.append(choose);
    return item;
  };

  const renderList = () => {
    const focused = /** @type {HTMLElement | null} */ (list.querySelector(".version:focus"));
    list.innerHTML = "";
    if (versions.length === 0) {
      list.append(element("p", "history-empty", "No versions yet: one is kept every few minutes of editing, and when you name one."));
      return;
    }
    for (const day of groupByDay(versions.slice(0, shown), Date.now())) {
      const section = element("section", "history-day");
      const heading = element("h3", "", day.label);
      const items = element("ol");
      items.append(...day.versions.map(entry));
      section.append(heading, items);
      list.append(section);
    }
    if (versions.length > shown) {
      const older = element("button", "history-older", `Show older versions (${versions.length - shown} more)`);
      older.type = "button";
      older.addEventListener("click", () => {
        shown += PAGE;
        renderList();
        /** @type {HTMLElement | null} */ (list.querySelector(`.version[data-id="${versions[shown - PAGE]?.id}"]`))?.focus();
      });
      list.append(older);
    }
    if (focused) {
      /** @type {HTMLElement | null} */ (list.querySelector(`.version[data-id="${focused.dataset.id}"]`))?.focus();
    }
  };

  const refresh = async () => {
    const answer = await listVersions(docId, token);
    if (!answer.ok) {
      outcome.textContent = `The history could not be read: ${answer.problem}.`;
      return;
    }
    const text = JSON.stringify(answer.value);
    if (text === listed) return;
    listed = text;
    versions = Array.isArray(answer.value) ? answer.value : [];
    renderList();
  };

  /**
   * @param {Segment[]} segments
   */
  const showSegments = (segments) => {
    preview.innerHTML = "";
    for (const segment of segments) {
      if (segment.kind === "same") preview.append(segment.text);
      else preview.append(element(segment.kind === "inserted" ? "ins" : "del", "", segment.text));
    }
  };

  /** @param {number} id */
  const select = async (id) => {
    const version = versions.find((v) => v.id === id);
    if (!version) return;
    selected = id;
    const mine = ++selection;
    for (const button of list.querySelectorAll(".version")) {
      button.setAttribute("aria-pressed", String(/** @type {HTMLElement} */ (button).dataset.id === String(id)));
    }
    previewArea.hidden = false;
    previewTitle.textContent = `${versionTitle(version)}, ${timeOfDay(version.created_at_ms)}`;
    summary.textContent = "Loading…";
    const before = versionBefore(versions, id);
    const answers = before
      ? await Promise.all([versionText(docId, token, before.id), versionDiff(docId, token, id, before.id)])
      : [await versionText(docId, token, id)];
    if (mine !== selection) return;
    const failed = answers.find((a) => !a.ok);
    if (failed && !failed.ok) {
      summary.textContent = `This version could not be read: ${failed.problem}.`;
      preview.innerHTML = "";
      return;
    }
    const [text, runs] = answers.map((a) => (a.ok ? a.value : null));
    const segments = before ? diffSegments(String(text), Array.isArray(runs) ? runs : []) : [{ kind: "same", text: String(text) }];
    const { inserted, deleted } = changeCounts(/** @type {Segment[]} */ (segments));
    summary.textContent = before
      ? `${inserted} character${inserted === 1 ? "" : "s"} inserted, ${deleted} deleted since ${timeOfDay(before.created_at_ms)}.`
      : "The oldest version kept.";
    showSegments(/** @type {Segment[]} */ (segments));
  };

  nameForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) return;
    nameButton.disabled = true;
    const answer = await nameVersion(docId, token, name);
    nameButton.disabled = false;
    accessChanged();
    if (!answer.ok) {
      outcome.textContent = `Not named: ${answer.problem}.`;
      return;
    }
    nameInput.value = "";
    outcome.textContent = `Named the current text “${name}”.`;
    await refresh();
  });

  restoreButton.addEventListener("click", () => {
    const version = versions.find((v) => v.id === selected);
    if (!version) return;
    const when = timeOfDay(version.created_at_ms);
    confirmAction({
      title: `Restore “${versionTitle(version)}” of ${when}?`,
      note: "The text becomes this version's for everyone who has the document open. The text as it is now is kept in the history first, so restoring it undoes this.",
      action: "Restore",
      failed: "Not restored",
      run: () => restoreVersion(docId, token, version.id),
      onDone: async () => {
        outcome.textContent = `Restored “${versionTitle(version)}” of ${when}.`;
        await refresh();
        restoreButton.focus();
      },
    });
  });

  // Up and Down move between versions, as in any list.
  list.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const buttons = /** @type {HTMLElement[]} */ ([...list.querySelectorAll(".version")]);
    const at = buttons.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    if (at < 0) return;
    event.preventDefault();
    buttons[Math.max(0, Math.min(buttons.length - 1, at + (event.key === "ArrowDown" ? 1 : -1)))].focus();
  });

  const timer = setInterval(refresh, REFRESH_MS);
  const close = () => {
    clearInterval(timer);
    aside.hidden = true;
    aside.innerHTML = "";
    context.onClose();
  };
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });

  accessChanged();
  refresh();
  title.tabIndex = -1;
  title.focus();
  return { close, refresh, accessChanged };
}
