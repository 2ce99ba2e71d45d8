// The home page: open or create a document by its id, and the list of known documents (the
// server's and the ones this browser opened). Ids are kept as typed; an invalid one is refused
// here with the reason and never listed.

import { docIdError, docIdPath } from "./docid.js";
import { $ } from "./dom.js";
import { documentLink } from "./manage.js";
import { recentDocuments } from "./store.js";
import { MANIFEST_NAME, manifestFiles, workspacePrefixes } from "./workspace.js";

export { documentLink };

/**
 * Shows the home page.
 * @param {string} token
 */
export function showHome(token) {
  document.title = "tandem";
  const main = $("main");
  main.innerHTML = `
    <section class="home">
      <h1>Open or create a document</h1>
      <form id="open-form" novalidate>
        <label for="open-name" class="visually-hidden">document id</label>
        <input id="open-name" placeholder="document name, e.g. notes/meeting.md" autofocus required
          aria-describedby="open-error">
        <button type="submit">Open</button>
      </form>
      <p id="open-error" class="form-error" role="alert"></p>
      <h2>Documents</h2>
      <p id="list-note" class="list-note" hidden></p>
      <ul id="doc-list"><li class="empty">loading…</li></ul>
    </section>`;
  const input = /** @type {HTMLInputElement} */ ($("open-name"));
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    // Surrounding spaces are a slip of the keyboard; everything else is the id as typed.
    const docId = input.value.trim();
    const error = docIdError(docId);
    $("open-error").textContent = error ? `Cannot open “${docId}”: ${error}.` : "";
    input.setAttribute("aria-invalid", String(Boolean(error)));
    if (!error) location.assign(documentLink(docId, token));
  });
  listDocuments(token);
}

/**
 * @typedef {{ id: string, when: number, connections?: number }} ListedDocument
 */

/**
 * What the home page says about the server's list, from `GET /api/docs`'s status: null when
 * it listed.
 * @param {number} status
 * @param {boolean} withToken whether the page had a token to send
 * @returns {string | null}
 */
export function listNote(status, withToken) {
  if (status >= 200 && status < 300) return null;
  if (status === 401 && !withToken) {
    return "The server lists its documents only with a token that grants every document (open this page as /#token=…). Below: the documents this browser opened.";
  }
  if (status === 401) {
    return "This link's token does not grant the whole list (it is for one document or a folder). Below: the documents this browser opened.";
  }
  return `The server's list is unavailable (HTTP ${status}). Below: the documents this browser opened.`;
}

/**
 * Server documents (`GET /api/docs`) merged with the ones this browser opened; invalid ids left
 * out (an older page stored some).
 * @param {string} token
 */
async function listDocuments(token) {
  /** @type {Map<string, ListedDocument>} */
  const docs = new Map();
  for (const recent of recentDocuments()) docs.set(recent.id, { id: recent.id, when: recent.openedAt });
  try {
    /** @type {Record<string, string>} */
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const response = await fetch("/api/docs", { headers });
    const note = listNote(response.status, Boolean(token));
    $("list-note").hidden = note === null;
    $("list-note").textContent = note ?? "";
    if (response.ok) {
      const body = await response.json();
      const list = Array.isArray(body) ? body : Array.isArray(body?.docs) ? body.docs : [];
      for (const item of list) {
        const id = typeof item === "string" ? item : item?.id ?? item?.name;
        if (typeof id !== "string") continue;
        const updated = Number(item?.updated_at_ms) || 0;
        const known = docs.get(id);
        docs.set(id, { id, when: Math.max(known?.when ?? 0, updated), connections: item?.connections });
      }
    }
  } catch (error) {
    console.info("tandem: no server document list", error);
  }
  const list = $("doc-list");
  list.innerHTML = "";
  const workspaces = workspacePrefixes(docs.keys());
  const inWorkspace = (/** @type {string} */ id) => workspaces.some((prefix) => id.startsWith(`${prefix}/`));
  const sorted = [...docs.values()]
    .filter((doc) => docIdError(doc.id) === null && !inWorkspace(doc.id))
    .sort((a, b) => b.when - a.when);
  if (sorted.length === 0 && workspaces.length === 0) list.innerHTML = `<li class="empty">No documents yet.</li>`;
  for (const prefix of workspaces) list.append(workspaceItem(prefix, token));
  for (const doc of sorted) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = documentLink(doc.id, token);
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = doc.id;
    const when = document.createElement("span");
    when.className = "when";
    const people = doc.connections ? `${doc.connections} connected · ` : "";
    when.textContent = people + (doc.when ? new Date(doc.when).toLocaleString() : "");
    link.append(name, when);
    item.append(link);
    list.append(item);
  }
}

/**
 * A workspace as a folder: its files (from the manifest) open as documents.
 * @param {string} prefix
 * @param {string} token
 * @returns {HTMLLIElement}
 */
function workspaceItem(prefix, token) {
  const item = document.createElement("li");
  item.className = "workspace";
  const folder = document.createElement("details");
  const summary = document.createElement("summary");
  summary.textContent = `📁 ${prefix}/`;
  const files = document.createElement("ul");
  folder.append(summary, files);
  item.append(folder);
  folder.addEventListener(
    "toggle",
    async () => {
      try {
        /** @type {Record<string, string>} */
        const headers = token ? { authorization: `Bearer ${token}` } : {};
        const response = await fetch(`/api/docs/${docIdPath(`${prefix}/${MANIFEST_NAME}`, "")}/text`, { headers });
        const listed = response.ok ? manifestFiles(await response.text()) : [];
        summary.textContent = `📁 ${prefix}/ (${listed.length} file${listed.length === 1 ? "" : "s"})`;
        for (const file of listed) {
          const entry = document.createElement("li");
          const link = document.createElement("a");
          link.href = documentLink(`${prefix}/${file.id}`, token);
          const name = document.createElement("span");
          name.className = "name";
          name.textContent = file.path;
          link.append(name);
          entry.append(link);
          files.append(entry);
        }
      } catch (error) {
        console.info("tandem: no workspace manifest", error);
      }
    },
    { once: true },
  );
  return item;
}
