// Why the websocket is down, in words for the status bar. A page cannot see the HTTP status of a
// refused upgrade, nor a certificate or DNS error (the browser hides them from scripts): it sees
// close codes, and what a probe of the server's /healthz answers. Pure: the probe is done by the
// caller.

/**
 * What a close of an open websocket means, or undefined for an ordinary drop.
 * @param {number} code the close code
 * @param {string} reason the server's reason (may be empty)
 * @returns {string | undefined}
 */
export function closeProblem(code, reason) {
  switch (code) {
    case 1001:
      return "the server is restarting";
    case 1011:
      return reason ? `server error: ${reason}` : "server error";
    case 1013:
      return "the server is busy";
    default:
      return undefined;
  }
}

/**
 * What a websocket that never opened means, from a probe of `/healthz`: `null` when the probe
 * itself failed (no network, DNS, refused, or a certificate the browser no longer accepts).
 * `available` is its `x-tandem-websockets-available` header (null when absent: an older server,
 * or a proxy that drops it).
 * @param {{ status: number, body: string, available?: string | null } | null} health
 * @returns {string}
 */
export function failedOpenProblem(health) {
  if (!health) return "cannot reach the server";
  if (health.status === 503) return `server unavailable: ${health.body.trim() || "HTTP 503"}`;
  if (health.status !== 200) return `the server answers HTTP ${health.status}`;
  // The server is up and healthy but refused the upgrade (a 503 the page cannot see).
  if (health.available === "0") return "server full: it takes no more connections";
  return "the server refuses the connection (full, or a proxy without websocket upgrades)";
}
