// What the status bar says, from the connection state, the sync and the unconfirmed count. One
// function decides all of it, so its parts cannot contradict each other: "all edits saved on the
// server" only while connected and synced, never next to "access denied".

/** @typedef {import("./connection.js").ConnectionState} ConnectionState */

/**
 * What the server lets this page do with the document: unknown until the server says (the
 * `Access` extension message), then read-write or read-only.
 * @typedef {"unknown" | "read-write" | "read-only"} Access
 */

/**
 * @typedef {object} StatusInput
 * @property {ConnectionState} connection
 * @property {boolean} synced the first sync of this connection finished
 * @property {number} unconfirmed local edits the server has not confirmed durable
 * @property {Access} access
 * @property {number} now milliseconds, for the retry countdown
 */

/**
 * @typedef {object} StatusView
 * @property {string} kind the class of the connection dot: connected, connecting, offline, denied, gone
 * @property {string} connection what the connection is doing
 * @property {string} saved where the local edits are ("" when there is nothing worth saying)
 * @property {boolean} pending some local edits are not on the server yet
 * @property {boolean} readOnly show the read-only badge
 */

/**
 * @param {number} count
 * @returns {string}
 */
function edits(count) {
  return `${count} edit${count === 1 ? "" : "s"}`;
}

/**
 * @param {StatusInput} input
 * @returns {StatusView}
 */
export function statusView({ connection, synced, unconfirmed, access, now }) {
  const pending = unconfirmed > 0;
  const readOnly = access === "read-only";
  /** @type {(text: string, saved: string) => StatusView} */
  const view = (text, saved) => ({ kind: connection.kind, connection: text, saved, pending, readOnly });
  switch (connection.kind) {
    case "connected":
      if (!synced) return view("connected, syncing…", pending ? `${edits(unconfirmed)} not yet saved on the server` : "");
      return view("connected", pending ? `${edits(unconfirmed)} not yet saved on the server` : "all edits saved on the server");
    case "offline":
      return view("offline: edits are kept in this browser", pending ? `${edits(unconfirmed)} not yet saved on the server` : "");
    case "denied":
      return view(`access denied: ${connection.reason}`, pending ? `${edits(unconfirmed)} kept only in this browser` : "");
    case "gone":
      return view(`${connection.reason} on the server`, pending ? `${edits(unconfirmed)} kept only in this browser` : "");
    default: {
      const text = connection.retryAt
        ? `${connection.problem ?? "connecting"}, retry in ${Math.max(0, Math.ceil((connection.retryAt - now) / 1000))}s`
        : "connecting…";
      return view(text, pending ? `${edits(unconfirmed)} not yet saved on the server` : "");
    }
  }
}
