// The websocket to the server, reconnecting with exponential backoff and jitter. It knows nothing
// of the protocol: frames in and out, and a state the page shows.

import { retryDelay } from "./backoff.js";
import { closeProblem } from "./problem.js";

/**
 * "connecting" (with retryAt while waiting, and why the last attempt failed when that is known),
 * "connected", "offline" (the browser says there is no network; we wait for it to come back),
 * "denied" (the server refused us, for good), "gone" (the document was deleted or renamed on the
 * server: reconnecting to its id would bring it back, so never).
 * @typedef {{ kind: "connecting", retryAt?: number, problem?: string } | { kind: "connected" }
 *   | { kind: "offline" } | { kind: "denied", reason: string } | { kind: "gone", reason: string }} ConnectionState
 */

/** The close code of a document deleted or renamed on the server (server/src/outbox.rs). */
export const CLOSE_GONE = 4410;

/**
 * @typedef {object} ConnectionHandlers
 * @property {() => void} onOpen the socket is open
 * @property {(frame: Uint8Array) => void} onFrame one binary message from the server
 * @property {() => void} onClose the socket closed (or was dropped)
 * @property {(state: ConnectionState) => void} onState the state changed
 * @property {() => void} [onFailedOpen] a socket closed before it opened: the server may have
 *   refused the upgrade, whose HTTP status a browser does not show to the page
 */

export class Connection {
  /**
   * @param {string} url
   * @param {ConnectionHandlers} handlers
   */
  constructor(url, handlers) {
    this.url = url;
    this.handlers = handlers;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.attempt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.stopped = false;
    /** @type {ConnectionState} */
    this.state = { kind: "connecting" };
    window.addEventListener("online", () => this.connectNow());
    window.addEventListener("offline", () => this.goOffline());
  }

  start() {
    if (navigator.onLine === false) this.goOffline();
    else this.open();
  }

  /**
   * Sends frames if the socket is open; the caller keeps unsent edits in its client.
   * @param {Iterable<Uint8Array>} frames
   */
  send(frames) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    for (const frame of frames) this.socket.send(frame);
  }

  /**
   * Stops for good (the server denied access, or the page is leaving).
   * @param {ConnectionState} [state]
   */
  stop(state) {
    this.stopped = true;
    clearTimeout(this.timer);
    this.closeSocket();
    if (state) this.setState(state);
  }

  connectNow() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    if (!this.socket) this.open();
  }

  goOffline() {
    // The browser knows the network is gone: drop the socket at once rather than wait for a
    // timeout, so edits are counted as offline and the state says so.
    clearTimeout(this.timer);
    this.closeSocket();
    if (!this.stopped) this.setState({ kind: "offline" });
  }

  open() {
    this.setState({ kind: "connecting" });
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      console.error("tandem: bad websocket URL", error);
      this.stop({ kind: "denied", reason: String(error) });
      return;
    }
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    let opened = false;
    socket.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.setState({ kind: "connected" });
      this.handlers.onOpen();
    };
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) this.handlers.onFrame(new Uint8Array(event.data));
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.handlers.onClose();
      if (event.code === CLOSE_GONE) {
        this.stop({ kind: "gone", reason: event.reason || "the document left this id" });
        return;
      }
      this.scheduleRetry(opened ? closeProblem(event.code, event.reason) : undefined);
      if (!opened) this.handlers.onFailedOpen?.();
    };
  }

  closeSocket() {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    socket.onclose = null;
    socket.close();
    this.handlers.onClose();
  }

  /** @param {string} [problem] why the connection is down, when known */
  scheduleRetry(problem) {
    if (this.stopped) return;
    if (navigator.onLine === false) {
      this.setState({ kind: "offline" });
      return;
    }
    const delay = retryDelay(this.attempt, Math.random());
    this.attempt += 1;
    this.setState({ kind: "connecting", retryAt: Date.now() + delay, problem });
    this.timer = setTimeout(() => this.open(), delay);
  }

  /**
   * Says why the connection is down, learned after the fact (a probe); kept until the next try.
   * @param {string} problem
   */
  explain(problem) {
    if (this.state.kind === "connecting" && this.state.retryAt) this.setState({ ...this.state, problem });
  }

  /** @param {ConnectionState} state */
  setState(state) {
    this.state = state;
    this.handlers.onState(state);
  }
}
