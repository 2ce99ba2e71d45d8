// tandem's page: `/` lists documents and opens one by name; `/d/DOC-ID` edits a document.
// The document lives in the WASM client (tandem-crdt); CodeMirror shows it through binding.js.

import init, { WebClient } from "tandem-wasm";
import { EditorState } from "@codemirror/state";
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";

import { applyRemoteChanges, refreshPeers, tandemBinding } from "./binding.js";
import { Connection } from "./connection.js";
import { identity, loadDocument, recentDocuments, rememberDocument, saveDocument, setName } from "./store.js";

const SAVE_DELAY_MS = 150;
const PRESENCE_RENEW_MS = 15_000;
const PEER_EXPIRY_CHECK_MS = 5_000;

const $ = (id) => document.getElementById(id);

/** 53 random bits: a Yjs client id that is exact as a JS number. */
function randomClientId() {
  const words = new Uint32Array(2);
  crypto.getRandomValues(words);
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1];
}

/** The access token from `#token=...` or `?token=...`. */
function tokenFromUrl() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  return fromHash || new URLSearchParams(location.search).get("token") || "";
}

function websocketUrl(docId, token) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ ext: "durable" });
  if (token) query.set("token", token);
  return `${scheme}://${location.host}/${encodeURIComponent(docId)}?${query}`;
}

/** A document id from a name typed by a person: what the server accepts in a URL path. */
function documentIdFromName(name) {
  return name
    .trim()
    .toLowerCase()
    .replace(/\s+/g, "-")
    .replace(/[^a-z0-9._-]/g, "")
    .replace(/\.{2,}/g, ".")
    .replace(/^[.-]+/, "")
    .slice(0, 128);
}

function documentLink(docId, token) {
  return `/d/${encodeURIComponent(docId)}${token ? `#token=${encodeURIComponent(token)}` : ""}`;
}

function showHome() {
  document.title = "tandem";
  $("doc-name").textContent = "";
  document.querySelector("footer").hidden = true;
  $("my-name").addEventListener("change", () => setName($("my-name").value.trim() || identity().name));
  const token = tokenFromUrl();
  const main = $("main");
  main.innerHTML = `
    <section class="home">
      <h1>Open or create a document</h1>
      <form id="open-form">
        <input id="open-name" placeholder="document name, e.g. meeting-notes" autofocus required>
        <button type="submit">Open</button>
      </form>
      <h2>Documents</h2>
      <ul id="doc-list"><li class="empty">loading…</li></ul>
    </section>`;
  $("open-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const docId = documentIdFromName($("open-name").value);
    if (docId) location.assign(documentLink(docId, token));
  });
  listDocuments(token);
}

/** Server documents (`GET /api/docs`) merged with the ones this browser opened. */
async function listDocuments(token) {
  const docs = new Map();
  for (const recent of recentDocuments()) docs.set(recent.id, { id: recent.id, when: recent.openedAt });
  try {
    const headers = token ? { authorization: `Bearer ${token}` } : {};
    const response = await fetch("/api/docs", { headers });
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
  const sorted = [...docs.values()].sort((a, b) => b.when - a.when);
  if (sorted.length === 0) list.innerHTML = `<li class="empty">No documents yet.</li>`;
  for (const doc of sorted) {
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = documentLink(doc.id, token);
    const name = document.createElement("span");
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

/** Restores the stored copy if there is one; a corrupt copy is set aside, not fatal. */
function makeClient(stored, me) {
  const id = randomClientId();
  if (stored) {
    try {
      return WebClient.restore(id, me.name, me.color, stored);
    } catch (error) {
      console.error("tandem: stored copy unreadable, starting from the server's", error);
    }
  }
  return new WebClient(id, me.name, me.color);
}

async function openDocument(docId) {
  const started = performance.now();
  document.title = `${docId} · tandem`;
  $("doc-name").textContent = docId;
  rememberDocument(docId);
  const token = tokenFromUrl();
  const [, stored] = await Promise.all([
    init({ module_or_path: "/tandem_web_bg.wasm" }),
    loadDocument(docId).catch((error) => console.warn("tandem: IndexedDB unavailable", error)),
  ]);
  const me = identity();
  const client = makeClient(stored, me);

  // Saving: one IndexedDB write per batch of changes, at most every SAVE_DELAY_MS, in order.
  let saveTimer = null;
  let saving = Promise.resolve();
  const stats = { saves: 0, started, interactiveAt: 0, syncedAt: 0 };
  const saveNow = () => {
    clearTimeout(saveTimer);
    saveTimer = null;
    const bytes = client.offlineState();
    saving = saving
      .then(() => saveDocument(docId, bytes))
      .then(() => stats.saves++)
      .catch((error) => console.error("tandem: could not store the document", error));
    return saving;
  };
  const scheduleSave = () => {
    if (!saveTimer) saveTimer = setTimeout(saveNow, SAVE_DELAY_MS);
    showUnconfirmed();
  };

  let connection;
  const session = {
    client,
    // The editor publishes the cursor as it starts, before the connection exists.
    send: (frames) => connection?.send(frames),
    changed: scheduleSave,
    now: Date.now,
  };
  const view = new EditorView({
    parent: $("main"),
    state: EditorState.create({
      doc: client.text(),
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        drawSelection(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        EditorView.lineWrapping,
        tandemBinding(session),
        keymap.of([...defaultKeymap, ...searchKeymap, indentWithTab]),
      ],
    }),
  });
  stats.interactiveAt = performance.now();

  const showUnconfirmed = () => {
    const count = client.unconfirmedCount();
    const element = $("unconfirmed");
    element.textContent = count ? `${count} edit${count === 1 ? "" : "s"} not yet saved on the server` : "all edits saved on the server";
    element.classList.toggle("pending", count > 0);
  };
  const showPresence = () => {
    const people = [{ name: `${identity().name} (you)`, color: me.color }, ...client.peers()];
    const list = $("presence");
    list.innerHTML = "";
    for (const person of people) {
      const chip = document.createElement("span");
      chip.className = "person";
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.style.background = /^#[0-9a-f]{6}$/i.test(person.color) ? person.color : "#888";
      chip.append(dot, person.name || `user ${person.clientId}`);
      list.append(chip);
    }
  };
  let countdown = null;
  const showState = (state) => {
    clearInterval(countdown);
    const element = $("conn");
    element.className = `conn ${state.kind}`;
    const render = () => {
      if (state.kind === "connected") element.textContent = client.isSynced() ? "connected" : "connected, syncing…";
      else if (state.kind === "offline") element.textContent = "offline: edits are kept in this browser";
      else if (state.kind === "denied") element.textContent = `access denied: ${state.reason}`;
      else if (state.retryAt) element.textContent = `connecting, retry in ${Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000))}s`;
      else element.textContent = "connecting…";
    };
    render();
    if (state.retryAt) countdown = setInterval(render, 1000);
  };

  connection = new Connection(websocketUrl(docId, token), {
    onOpen: () => connection.send(client.connect()),
    onClose: () => {
      client.disconnect();
      refreshPeers(view);
      showPresence();
    },
    onState: showState,
    onFrame: (frame) => {
      let event;
      try {
        event = client.receive(frame, Date.now());
      } catch (error) {
        // A malformed frame means this connection cannot be trusted: drop it and resync.
        console.error("tandem: malformed frame from the server", error);
        connection.goOffline();
        connection.connectNow();
        return;
      }
      connection.send(event.replies);
      applyRemoteChanges(view, event.changes);
      if (event.changes.length > 0 || event.confirmed > 0) scheduleSave();
      if (event.presenceChanged) {
        refreshPeers(view);
        showPresence();
      }
      if (event.synced) {
        if (!stats.syncedAt) stats.syncedAt = performance.now();
        showState(connection.state);
        showUnconfirmed();
      }
      if (event.authDenied !== undefined) connection.stop({ kind: "denied", reason: event.authDenied });
    },
  });

  const nameInput = $("my-name");
  nameInput.value = me.name;
  nameInput.addEventListener("change", () => {
    const name = nameInput.value.trim() || me.name;
    setName(name);
    connection.send(client.setUser(name, me.color, Date.now()));
    showPresence();
  });
  setInterval(() => connection.send(client.publishPresence(Date.now())), PRESENCE_RENEW_MS);
  setInterval(() => {
    if (client.expirePeers(Date.now())) {
      refreshPeers(view);
      showPresence();
    }
  }, PEER_EXPIRY_CHECK_MS);
  // A hidden page may be killed without another event: store pending changes now.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && saveTimer) saveNow();
  });
  window.addEventListener("pagehide", () => {
    connection.send(client.leave(Date.now()));
    saveNow();
  });

  // For people poking at the page from the console, and for the end-to-end tests.
  window.tandem = {
    docId,
    view,
    client,
    stats,
    connection,
    text: () => client.text(),
    flush: saveNow,
  };
  showPresence();
  showUnconfirmed();
  connection.start();
  view.focus();
}

function start() {
  $("my-name").value = identity().name;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch((error) => console.info("tandem: no service worker", error));
  }
  // The server sends this page for `/d/ID` and for `/ID`.
  const match = location.pathname.match(/^\/(?:d\/)?([^/]+)$/);
  if (!match || match[1] === "index.html") {
    showHome();
    return;
  }
  let docId;
  try {
    docId = decodeURIComponent(match[1]);
  } catch {
    docId = "";
  }
  openDocument(docId).catch((error) => {
    console.error(error);
    $("main").innerHTML = "";
    const message = document.createElement("p");
    message.className = "error";
    message.textContent = `Could not open the document: ${error}`;
    $("main").append(message);
  });
}

start();
