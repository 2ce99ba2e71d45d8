// When the server will not take this page's edits (read-only access, a refused id or token),
// the edits it has not confirmed are not dropped: a banner says how many and offers the whole
// text for copying or as a file, and the stored copy in IndexedDB stays.

/**
 * A file name for the text of `docId`: its last segment, `.txt` added when it has no extension.
 * @param {string} docId
 * @returns {string}
 */
export function downloadName(docId) {
  const name = docId.slice(docId.lastIndexOf("/") + 1).replace(/[\\/:*?"<>|]/g, "_");
  return name.lastIndexOf(".") > 0 ? name : `${name}.txt`;
}

/**
 * Saves `text` as a file named after `docId`, through the browser's download.
 * @param {string} docId
 * @param {string} text
 */
export function downloadText(docId, text) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  link.download = downloadName(docId);
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/**
 * Shows (or updates) the banner above the editor in `main`.
 * @param {HTMLElement} main
 * @param {{ docId: string, unconfirmed: number, text: () => string }} kept
 */
export function showKeptAside(main, { docId, unconfirmed, text }) {
  let banner = /** @type {HTMLElement | null} */ (main.querySelector(".kept"));
  if (!banner) {
    banner = document.createElement("section");
    banner.className = "kept";
    banner.setAttribute("role", "alert");
    const message = document.createElement("span");
    message.className = "kept-message";
    const [copy, download] = keepButtons(docId, text);
    banner.append(message, copy, download);
    main.prepend(banner);
  }
  const message = /** @type {HTMLElement} */ (banner.querySelector(".kept-message"));
  message.textContent = `The server will not take edits here: ${unconfirmed} edit${unconfirmed === 1 ? "" : "s"} made in this browser could not be saved. They stay in this browser; copy or download the text to keep them elsewhere.`;
}

/**
 * Shows the banner of a document deleted on the server while this browser held it: the copy
 * stays here, to copy, download or discard (discarding opens the id afresh).
 * @param {HTMLElement} main
 * @param {{ docId: string, text: () => string, onDiscard: () => void }} gone
 */
export function showGoneBanner(main, { docId, text, onDiscard }) {
  if (main.querySelector(".kept.gone")) return;
  const banner = document.createElement("section");
  banner.className = "kept gone";
  banner.setAttribute("role", "alert");
  const message = document.createElement("span");
  message.className = "kept-message";
  message.textContent = `“${docId}” was deleted on the server. This browser keeps its copy: copy or download the text to keep it.`;
  const [copy, download] = keepButtons(docId, text);
  const discard = document.createElement("button");
  discard.type = "button";
  discard.className = "kept-discard";
  discard.textContent = "Discard this copy";
  discard.addEventListener("click", onDiscard);
  banner.append(message, copy, download, discard);
  main.prepend(banner);
}

/**
 * The two buttons every kept-copy banner offers: copy the text, download it as a file.
 * @param {string} docId
 * @param {() => string} text
 * @returns {[HTMLButtonElement, HTMLButtonElement]}
 */
function keepButtons(docId, text) {
  const copy = document.createElement("button");
  copy.type = "button";
  copy.textContent = "Copy the text";
  copy.addEventListener("click", () => {
    navigator.clipboard.writeText(text()).catch((error) => console.error("tandem: copy failed", error));
  });
  const download = document.createElement("button");
  download.type = "button";
  download.className = "kept-download";
  download.textContent = "Download";
  download.addEventListener("click", () => downloadText(docId, text()));
  return [copy, download];
}
