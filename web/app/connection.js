// The websocket to the server, reconnecting with exponential backoff and jitter. It knows nothing
// of the protocol: frames in and out, and a state the page shows.

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/**
 * states: "connecting" (with retryAt while waiting), "connected", "offline" (the browser says
 * there is no network; we wait for it to come back), "denied" (the server refused us).
 */
export class Connection {
  constructor(url, { onOpen, onFrame, onClose, onState }) {
    this.url = url;
    this.handlers = { onOpen, onFrame, onClose, onState };
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = false;
    this.state = { kind: "connecting" };
    window.addEventListener("online", () => this.connectNow());
    window.addEventListener("offline", () => this.goOffline());
  }

  start() {
    if (navigator.onLine === false) this.goOffline();
    else this.open();
  }

  /** Sends frames if the socket is open; the caller keeps unsent edits in its client. */
  send(frames) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    for (const frame of frames) this.socket.send(frame);
  }

  /** Stops for good (the server denied access, or the page is leaving). */
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
    socket.onopen = () => {
      this.attempt = 0;
      this.setState({ kind: "connected" });
      this.handlers.onOpen();
    };
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) this.handlers.onFrame(new Uint8Array(event.data));
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.handlers.onClose();
      this.scheduleRetry();
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

  scheduleRetry() {
    if (this.stopped) return;
    if (navigator.onLine === false) {
      this.setState({ kind: "offline" });
      return;
    }
    // Full jitter over an exponential ceiling: clients that lost the same server do not all
    // come back in the same instant.
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempt += 1;
    this.setState({ kind: "connecting", retryAt: Date.now() + delay });
    this.timer = setTimeout(() => this.open(), delay);
  }

  setState(state) {
    this.state = state;
    this.handlers.onState(state);
  }
}
