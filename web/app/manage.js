// Sharing, renaming and deleting a document through the server's JSON API (server/src/manage.rs),
// and what the page says about each answer. Pure but for `fetch`: the dialogs are dialogs.js's.
// The requests themselves (`call`, `callText`) serve the history's endpoints too.

import { docIdPath } from "./docid.js";

/**
 * The page link of a document, with the token in the fragment (never sent to a server log).
 * @param {string} docId
 * @param {string} token
 * @param {string} [origin] `location.origin` for an absolute link
 * @returns {string}
 */
export function documentLink(docId, token, origin = "") {
  return `${origin}${docIdPath(docId)}${token ? `#token=${encodeURIComponent(token)}` : ""}`;
}

/** How long a shared link may work, as offered in the share dialog (seconds; 0: as long as yours). */
export const EXPIRY_CHOICES = /** @type {const} */ ([
  { label: "1 hour", seconds: 3600 },
  { label: "1 day", seconds: 86_400 },
  { label: "7 days", seconds: 7 * 86_400 },
  { label: "30 days", seconds: 30 * 86_400 },
  { label: "as long as your own link", seconds: 0 },
]);

/**
 * The body of `POST /api/docs/ID/share`.
 * @param {"r" | "rw"} access
 * @param {number} seconds 0: no expiry of its own (the server caps it at the maker's)
 * @returns {string}
 */
export function shareBody(access, seconds) {
  return JSON.stringify(seconds > 0 ? { access, expires_in_s: seconds } : { access });
}

/**
 * The API path of a document, `suffix` appended: one path segment, `/` as %2F, like every
 * other API call of the page.
 * @param {string} docId
 * @param {string} [suffix]
 * @returns {string}
 */
export function apiPath(docId, suffix = "") {
  return `/api/docs/${encodeURIComponent(docId)}${suffix}`;
}

/**
 * The headers of a JSON request with `token` ("" when the server needs none).
 * @param {string} token
 * @returns {Record<string, string>}
 */
export function headers(token) {
  /** @type {Record<string, string>} */
  const out = { "content-type": "application/json" };
  if (token) out.authorization = `Bearer ${token}`;
  return out;
}

/**
 * The reason in a refusal's body: the `error` of `{"error": "why"}` (the history's endpoints
 * answer so), else the body's text.
 * @param {string} body
 * @returns {string}
 */
function errorReason(body) {
  try {
    const parsed = JSON.parse(body);
    if (parsed && typeof parsed.error === "string") return parsed.error.trim();
  } catch {
    // Plain text.
  }
  return body.trim();
}

/**
 * What went wrong with an API answer, in words, or null when it succeeded.
 * @param {number} status
 * @param {string} body the server's reason
 * @returns {string | null}
 */
export function apiProblem(status, body) {
  if (status >= 200 && status < 300) return null;
  const reason = errorReason(body);
  switch (status) {
    case 401:
      return `the link's token is not accepted: ${reason || "unauthorized"}`;
    case 403:
      return reason || "your link grants read-only access";
    case 404:
      return reason || "no such document on the server";
    case 409:
      return reason || "that id is taken";
    default:
      return reason || `the server answered HTTP ${status}`;
  }
}

/**
 * @typedef {{ ok: true, value: any } | { ok: false, problem: string }} ApiResult
 */

/**
 * A request whose answer is text (a version's text): `value` is the body as it came.
 * @param {string} path
 * @param {RequestInit} init
 * @returns {Promise<ApiResult>}
 */
export async function callText(path, init) {
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return { ok: false, problem: "cannot reach the server" };
  }
  const body = await response.text().catch(() => "");
  const problem = apiProblem(response.status, body);
  return problem ? { ok: false, problem } : { ok: true, value: body };
}

/**
 * A request whose answer is JSON (or nothing): `value` is the parsed body.
 * @param {string} path
 * @param {RequestInit} init
 * @returns {Promise<ApiResult>}
 */
export async function call(path, init) {
  const answer = await callText(path, init);
  if (!answer.ok) return answer;
  const body = answer.value;
  let value = null;
  try {
    value = body ? JSON.parse(body) : null;
  } catch {
    value = body;
  }
  return { ok: true, value };
}

/**
 * Asks for a token for `docId` (never wider than `token`).
 * @param {string} docId
 * @param {string} token
 * @param {"r" | "rw"} access
 * @param {number} seconds
 * @returns {Promise<ApiResult>} value `{ token, access, expires_at }`
 */
export function share(docId, token, access, seconds) {
  return call(apiPath(docId, "/share"), { method: "POST", headers: headers(token), body: shareBody(access, seconds) });
}

/**
 * Renames `docId` to `to`.
 * @param {string} docId
 * @param {string} token
 * @param {string} to
 * @returns {Promise<ApiResult>}
 */
export function rename(docId, token, to) {
  return call(apiPath(docId, "/rename"), { method: "POST", headers: headers(token), body: JSON.stringify({ to }) });
}

/**
 * Deletes `docId` on the server.
 * @param {string} docId
 * @param {string} token
 * @returns {Promise<ApiResult>}
 */
export function remove(docId, token) {
  return call(apiPath(docId), { method: "DELETE", headers: headers(token) });
}
