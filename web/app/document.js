// The document page (`/d/DOC-ID`): the WASM client (tandem-crdt) shown by CodeMirror through
// binding.js, the websocket, the status bar, the presence list and saving to IndexedDB.

import init, { WebClient } from "tandem-wasm";
import { Compartment, EditorState } from "@codemirror/state";
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { defaultKeymap } from "@codemirror/commands";
import { indentUnit } from "@codemirror/language";
import { highlightSelectionMatches, searchKeymap } from "@codemirror/search";

import { applyRemoteChanges, refreshPeers, tandemBinding } from "./binding.js";
import { distinctColor, safeColor } from "./color.js";
import { Connection } from "./connection.js";
import { docIdPath } from "./docid.js";
import { failedOpenProblem } from "./problem.js";
import { $, setProperty, tokenFromUrl } from "./dom.js";
import { TAB_WIDTH, tabKeymap } from "./indent.js";
import { countText, formatCounts } from "./counts.js";
import { downloadText, showGoneBanner, showKeptAside } from "./kept.js";
import { showDeleteDialog, showRenameDialog, showShareDialog } from "./dialogs.js";
import { documentLink } from "./manage.js";
import { languageFor, loadLanguage } from "./languages.js";
import { statusView } from "./status.js";
import {
  deleteStoredDocument,
  forgetDocument,
  identity,
  isGone,
  loadDocument,
  rememberDocument,
  saveDocument,
  setGone,
  setName,
} from "./store.js";
import { editorTheme } from "./theme-editor.js";

/** @typedef {import("./status.js").Access} Access */
/** @typedef {import("./connection.js").ConnectionState} ConnectionState */

const SAVE_DELAY_MS = 150;
const COUNT_DELAY_MS = 300;
const PRESENCE_RENEW_MS = 15_000;
const PEER_EXPIRY_CHECK_MS = 5_000;

/**
 * 53 random bits: a Yjs client id that is exact as a JS number.
 * @returns {number}
 */
function randomClientId() {
  const words = new Uint32Array(2);
  crypto.getRandomValues(words);
  return (words[0] & 0x1fffff) * 2 ** 32 + words[1];
}

/**
 * @param {string} docId
 * @param {string} token
 * @returns {string}
 */
function websocketUrl(docId, token) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ ext: "durable" });
  if (token) query.set("token", token);
  return `${scheme}://${location.host}${docIdPath(docId, "/")}?${query}`;
}

/**
 * Why the server refused a websocket that never opened, or null when it did not refuse (it is
 * down, or the network is): a browser hides the upgrade's HTTP status, so ask the REST endpoint
 * of the same document, which applies the same id and token rules.
 * @param {string} docId
 * @param {string} token
 * @returns {Promise<string | null>}
 */
async function refusalReason(docId, token) {
  /** @type {Record<string, string>} */
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  let response;
  try {
    // One path segment, `/` as %2F: the route is /api/docs/{id}/text.
    response = await fetch(`/api/docs/${encodeURIComponent(docId)}/text`, { headers });
  } catch {
    return null;
  }
  if (response.status === 400 || response.status === 401 || response.status === 403) {
    const text = (await response.text().catch(() => "")).trim();
    return text || `HTTP ${response.status}`;
  }
  return null;
}

/**
 * What `/healthz` answers, or null when it cannot be reached: why a websocket did not open.
 * @returns {Promise<{ status: number, body: string, available: string | null } | null>}
 */
async function probeHealth() {
  try {
    const response = await fetch("/healthz", { cache: "no-store" });
    const available = response.headers.get("x-tandem-websockets-available");
    return { status: response.status, body: await response.text().catch(() => ""), available };
  } catch {
    return null;
  }
}

/**
 * Restores the stored copy if there is one; a corrupt copy is set aside, not fatal.
 * @param {number} id this page load's client id
 * @param {Uint8Array | undefined} stored
 * @param {{ name: string, color: string }} me
 * @returns {WebClient}
 */
function makeClient(id, stored, me) {
  if (stored) {
    try {
      return WebClient.restore(id, me.name, me.color, stored);
    } catch (error) {
      console.error("tandem: stored copy unreadable, starting from the server's", error);
    }
  }
  return new WebClient(id, me.name, me.color);
}

/**
 * Opens the document `docId` (already checked with `docIdError`).
 * @param {string} docId
 */
export async function openDocument(docId) {
  const started = performance.now();
  document.title = `${docId} · tandem`;
  $("doc-name").textContent = docId;
  $("status-bar").hidden = false;
  const token = tokenFromUrl();
  const [, stored] = await Promise.all([
    init({ module_or_path: "/tandem_web_bg.wasm" }),
    loadDocument(docId).catch((error) => console.warn("tandem: IndexedDB unavailable", error)),
  ]);
  // A document enters the list once the server took it (first sync) or when this browser holds
  // edits of it; an id the server refuses never does.
  if (stored && !isGone(docId)) rememberDocument(docId);
  // The colour may change for this page's session (two users present must not share one).
  const me = { ...identity() };
  const myId = randomClientId();
  const client = makeClient(myId, stored || undefined, me);

  // Saving: one IndexedDB write per batch of changes, at most every SAVE_DELAY_MS, in order.
  /** @type {ReturnType<typeof setTimeout> | null} */
  let saveTimer = null;
  let saving = Promise.resolve();
  const stats = { saves: 0, started, interactiveAt: 0, syncedAt: 0 };
  const saveNow = () => {
    if (saveTimer) clearTimeout(saveTimer);
    saveTimer = null;
    const bytes = client.offlineState();
    saving = saving
      .then(() => saveDocument(docId, bytes))
      .then(() => {
        stats.saves++;
      })
      .catch((error) => console.error("tandem: could not store the document", error));
    return saving;
  };
  // Counting words walks the whole text: after a pause in the changes, not per keystroke.
  /** @type {ReturnType<typeof setTimeout> | null} */
  let countTimer = null;
  const showCounts = () => {
    countTimer = null;
    $("counts").textContent = formatCounts(countText(client.text()));
  };
  /** @type {ReturnType<typeof import("./authorship-view.js").authorship> | null} */
  let colouring = null;
  const scheduleSave = () => {
    colouring?.changed();
    if (!saveTimer) saveTimer = setTimeout(saveNow, SAVE_DELAY_MS);
    if (!countTimer) countTimer = setTimeout(showCounts, COUNT_DELAY_MS);
    showStatus();
  };

  /** @type {Connection | undefined} */
  let connection;
  /** @type {Access} */
  let access = "unknown";
  const session = {
    client,
    // The editor publishes the cursor as it starts, before the connection exists.
    send: (/** @type {Uint8Array[]} */ frames) => connection?.send(frames),
    changed: scheduleSave,
    now: Date.now,
  };
  const editable = new Compartment();
  const language = new Compartment();
  const authors = new Compartment();
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
        EditorView.contentAttributes.of({ "aria-label": `Text of the document ${docId}` }),
        indentUnit.of(" ".repeat(TAB_WIDTH)),
        editorTheme(),
        editable.of([]),
        language.of([]),
        authors.of([]),
        tandemBinding(session),
        keymap.of([...tabKeymap, ...defaultKeymap, ...searchKeymap]),
      ],
    }),
  });
  stats.interactiveAt = performance.now();
  const wanted = languageFor(docId);
  if (wanted) {
    loadLanguage(wanted)
      .then((extension) => view.dispatch({ effects: language.reconfigure(extension) }))
      .catch((error) => console.warn(`tandem: no ${wanted} highlighting`, error));
  }

  /** Nothing typed may go where the server will not take it; the text stays for copying. */
  const lockEditor = () => {
    view.dispatch({ effects: editable.reconfigure([EditorState.readOnly.of(true), EditorView.editable.of(false)]) });
  };
  /** @type {import("./history.js").HistoryPanel | null} */
  let history = null;
  /** @param {Access} next what the server says this page may do (the `Access` message) */
  const setAccess = (next) => {
    access = next;
    if (next === "read-only") lockEditor();
    history?.accessChanged();
    showStatus();
  };

  /** @type {ReturnType<typeof setInterval> | undefined} */
  let countdown;
  const showStatus = () => {
    const state = connection?.state ?? { kind: "connecting" };
    const status = statusView({
      connection: state,
      synced: client.isSynced(),
      unconfirmed: client.unconfirmedCount(),
      access,
      now: Date.now(),
    });
    // This runs on every keystroke and every confirmation: only changes touch the DOM
    // (rewriting the live region unchanged was the page's heaviest function of its own in a
    // CPU profile of typing, see web/BENCHMARKS-web.md).
    const conn = $("conn");
    setProperty(conn, "className", `conn ${status.kind}`);
    setProperty(conn, "textContent", status.connection);
    const saved = $("unconfirmed");
    setProperty(saved, "textContent", status.saved);
    if (saved.classList.contains("pending") !== status.pending) saved.classList.toggle("pending", status.pending);
    setProperty($("access"), "hidden", !status.readOnly);
    const refused = state.kind === "denied" || status.readOnly;
    if (refused && status.pending && state.kind !== "gone") {
      showKeptAside($("main"), { docId, unconfirmed: client.unconfirmedCount(), text: () => client.text() });
    }
  };
  /** The people last listed, so that cursor moves (most presence changes) leave the list alone. */
  let listed = "";
  const showPresence = () => {
    const people = [{ name: `${identity().name} (you)`, color: me.color, clientId: 0 }, ...client.peers()];
    const key = JSON.stringify(people.map((person) => [person.clientId, person.name, person.color]));
    if (key === listed) return;
    listed = key;
    const list = $("presence");
    list.innerHTML = "";
    for (const person of people) {
      const chip = document.createElement("li");
      chip.className = "person";
      const dot = document.createElement("span");
      dot.className = "dot";
      dot.setAttribute("aria-hidden", "true");
      dot.style.background = safeColor(person.color);
      chip.append(dot, person.name || `user ${person.clientId}`);
      list.append(chip);
    }
  };
  /** @param {ConnectionState} state */
  const onState = (state) => {
    clearInterval(countdown);
    showStatus();
    if (state.kind === "connecting" && state.retryAt) countdown = setInterval(showStatus, 1000);
  };
  /** @param {string} reason */
  const refuse = (reason) => {
    forgetDocument(docId);
    lockEditor();
    connection?.stop({ kind: "denied", reason });
  };

  /**
   * The document left this id (deleted or renamed on the server, by anyone): never reconnect
   * to it. Renamed: this copy moves with it (unconfirmed edits included) and the page reopens
   * there. Deleted: the copy stays in this browser, locked, for copy, download or discard.
   * @param {{ deleted?: boolean, renamedTo?: string }} gone
   */
  let goneSeen = false;
  const documentGone = async (gone) => {
    if (goneSeen) return;
    goneSeen = true;
    const to = gone.renamedTo;
    connection?.stop({ kind: "gone", reason: to ? `document renamed to ${to}` : "document deleted" });
    lockEditor();
    forgetDocument(docId);
    if (to) {
      await saving;
      await saveDocument(to, client.offlineState()).catch((error) => console.error("tandem: could not move the copy", error));
      await deleteStoredDocument(docId).catch(() => {});
      location.replace(documentLink(to, token));
      return;
    }
    setGone(docId, true);
    await saveNow();
    showGone();
  };
  const showGone = () =>
    showGoneBanner($("main"), {
      docId,
      text: () => client.text(),
      onDiscard: async () => {
        setGone(docId, false);
        await deleteStoredDocument(docId).catch(() => {});
        location.reload();
      },
    });

  const nameInput = /** @type {HTMLInputElement} */ ($("my-name"));
  const socket = new Connection(websocketUrl(docId, token), {
    onOpen: () => socket.send(client.connect()),
    onClose: () => {
      client.disconnect();
      refreshPeers(view);
      showPresence();
    },
    onState,
    onFailedOpen: () => {
      refusalReason(docId, token).then(async (reason) => {
        if (reason) refuse(reason);
        else socket.explain(failedOpenProblem(await probeHealth()));
      });
    },
    onFrame: (frame) => {
      let event;
      try {
        event = client.receive(frame, Date.now());
      } catch (error) {
        // A malformed frame means this connection cannot be trusted: drop it and resync.
        console.error("tandem: malformed frame from the server", error);
        socket.goOffline();
        socket.connectNow();
        return;
      }
      socket.send(event.replies);
      applyRemoteChanges(view, event.changes);
      if (event.changes.length > 0 || event.confirmed > 0) scheduleSave();
      if (event.presenceChanged) {
        const color = distinctColor(me.color, myId, client.peers());
        if (color !== me.color) {
          me.color = color;
          socket.send(client.setUser(nameInput.value.trim() || me.name, color, Date.now()));
        }
        refreshPeers(view);
        showPresence();
        colouring?.changed();
      }
      if (event.synced) {
        if (!stats.syncedAt) stats.syncedAt = performance.now();
        rememberDocument(docId);
        showStatus();
      }
      if (event.authDenied !== undefined) refuse(event.authDenied);
      if (event.access !== undefined) setAccess(event.access);
      if (event.gone !== undefined) documentGone(event.gone);
    },
  });
  connection = socket;

  nameInput.addEventListener("change", () => {
    const name = nameInput.value.trim() || me.name;
    setName(name);
    socket.send(client.setUser(name, me.color, Date.now()));
    showPresence();
  });
  setInterval(() => socket.send(client.publishPresence(Date.now())), PRESENCE_RENEW_MS);
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
    socket.send(client.leave(Date.now()));
    saveNow();
  });

  // For people poking at the page from the console, and for the end-to-end tests.
  Object.assign(window, {
    tandem: {
      docId,
      view,
      client,
      stats,
      connection: socket,
      text: () => client.text(),
      flush: saveNow,
      access: () => access,
      setAccess,
      gone: () => goneSeen,
    },
  });
  $("download").addEventListener("click", () => downloadText(docId, client.text()));
  $("doc-actions").hidden = false;
  $("share-button").addEventListener("click", () => showShareDialog(docId, token));
  $("rename-button").addEventListener("click", () =>
    showRenameDialog(docId, token, (to) => documentGone({ renamedTo: to })),
  );
  $("delete-button").addEventListener("click", () => showDeleteDialog(docId, token, () => documentGone({ deleted: true })));
  const people = () => [{ name: identity().name, color: me.color }, ...client.peers()];
  const authorsButton = $("authors-button");
  authorsButton.addEventListener("click", async () => {
    const on = authorsButton.getAttribute("aria-pressed") !== "true";
    authorsButton.setAttribute("aria-pressed", String(on));
    colouring?.stop();
    colouring = null;
    if (on) {
      // A chunk of its own, like the history: loaded the first time someone asks.
      const { authorship } = await import("./authorship-view.js");
      if (authorsButton.getAttribute("aria-pressed") !== "true") return; // switched off meanwhile
      colouring = authorship({ docId, token, view, people });
      view.dispatch({ effects: authors.reconfigure(colouring.extension) });
    } else {
      view.dispatch({ effects: authors.reconfigure([]) });
    }
  });
  const historyButton = $("history-button");
  historyButton.addEventListener("click", async () => {
    if (history) {
      history.close();
      return;
    }
    if (historyButton.getAttribute("aria-expanded") === "true") return; // still loading
    historyButton.setAttribute("aria-expanded", "true");
    // The sidebar's code is a chunk of its own: most visits never open it.
    const { openHistory } = await import("./history.js");
    history = openHistory($("history"), {
      docId,
      token,
      access: () => access,
      people,
      onClose: () => {
        history = null;
        historyButton.setAttribute("aria-expanded", "false");
        historyButton.focus();
      },
    });
  });
  showPresence();
  showStatus();
  showCounts();
  if (isGone(docId)) {
    // Deleted on the server while this browser held it: connecting would bring it back.
    goneSeen = true;
    socket.stop({ kind: "gone", reason: "document deleted" });
    lockEditor();
    showGone();
    return;
  }
  socket.start();
  view.focus();
}
