// Local storage of documents: IndexedDB keeps each document's OfflineState (full state plus the
// updates the server has not confirmed), so edits survive a closed tab and merge on reconnect.
// localStorage keeps the small things: the user's name and colour, and recently opened documents.

import { PALETTE } from "./color.js";

const DB_NAME = "tandem";
const STORE = "documents";

/** @type {Promise<IDBDatabase> | null} */
let dbPromise = null;

/** @returns {Promise<IDBDatabase>} */
function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return dbPromise;
}

/**
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest} action
 * @returns {Promise<any>}
 */
function run(mode, action) {
  return openDb().then(
    (db) =>
      new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = action(tx.objectStore(STORE));
        // Resolve on commit, not on the request: only then is the write durable.
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error);
      }),
  );
}

/**
 * The stored OfflineState bytes of `docId`, or undefined.
 * @param {string} docId
 * @returns {Promise<Uint8Array | undefined>}
 */
export async function loadDocument(docId) {
  const record = await run("readonly", (store) => store.get(docId));
  return record && record.state instanceof Uint8Array ? record.state : undefined;
}

/**
 * Stores `state` (OfflineState bytes) for `docId`.
 * @param {string} docId
 * @param {Uint8Array} state
 */
export function saveDocument(docId, state) {
  return run("readwrite", (store) => store.put({ state, savedAt: Date.now() }, docId));
}

const RECENT_KEY = "tandem.recent";
const IDENTITY_KEY = "tandem.identity";

/**
 * @param {string} key
 * @param {any} fallback
 * @returns {any}
 */
function readJson(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? "null");
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

/**
 * Recently opened documents, newest first.
 * @returns {{ id: string, openedAt: number }[]}
 */
export function recentDocuments() {
  const list = readJson(RECENT_KEY, []);
  return Array.isArray(list) ? list.filter((d) => d && typeof d.id === "string") : [];
}

/**
 * Puts `docId` first in the recent list.
 * @param {string} docId
 */
export function rememberDocument(docId) {
  const list = recentDocuments().filter((d) => d.id !== docId);
  list.unshift({ id: docId, openedAt: Date.now() });
  localStorage.setItem(RECENT_KEY, JSON.stringify(list.slice(0, 50)));
}

/**
 * This browser's user, made up on first use.
 * @returns {{ name: string, color: string }}
 */
export function identity() {
  const stored = readJson(IDENTITY_KEY, null);
  if (stored && typeof stored.name === "string" && /^#[0-9a-f]{6}$/i.test(stored.color)) {
    return stored;
  }
  const pick = new Uint32Array(2);
  crypto.getRandomValues(pick);
  const fresh = { name: `Guest ${1000 + (pick[0] % 9000)}`, color: PALETTE[pick[1] % PALETTE.length] };
  localStorage.setItem(IDENTITY_KEY, JSON.stringify(fresh));
  return fresh;
}

/**
 * Takes `docId` off the recent list (the server refused it).
 * @param {string} docId
 */
export function forgetDocument(docId) {
  localStorage.setItem(RECENT_KEY, JSON.stringify(recentDocuments().filter((d) => d.id !== docId)));
}

/**
 * Changes the user's display name.
 * @param {string} name
 */
export function setName(name) {
  localStorage.setItem(IDENTITY_KEY, JSON.stringify({ ...identity(), name }));
}

/**
 * Removes the stored copy of `docId` (it moved, or the person discarded it).
 * @param {string} docId
 */
export function deleteStoredDocument(docId) {
  return run("readwrite", (store) => store.delete(docId));
}

const GONE_KEY = "tandem.gone";

/**
 * Ids deleted on the server whose copy this browser keeps: opening one shows the copy instead
 * of connecting, which would bring the document back.
 * @returns {string[]}
 */
function goneDocuments() {
  const list = readJson(GONE_KEY, []);
  return Array.isArray(list) ? list.filter((id) => typeof id === "string") : [];
}

/**
 * Whether `docId` was deleted on the server while this browser held a copy.
 * @param {string} docId
 * @returns {boolean}
 */
export function isGone(docId) {
  return goneDocuments().includes(docId);
}

/**
 * Marks (or unmarks) `docId` as deleted on the server.
 * @param {string} docId
 * @param {boolean} gone
 */
export function setGone(docId, gone) {
  const others = goneDocuments().filter((id) => id !== docId);
  localStorage.setItem(GONE_KEY, JSON.stringify(gone ? [...others, docId] : others));
}
