// The history's REST endpoints (server/src/history/api.rs), as the sidebar calls them. Every
// call answers an ApiResult (manage.js): the value, or the problem in words.

import { apiPath, call, callText, headers } from "./manage.js";

/** @typedef {import("./manage.js").ApiResult} ApiResult */

/**
 * The versions of `docId`, newest first (value: Version[], see history-days.js).
 * @param {string} docId
 * @param {string} token
 * @returns {Promise<ApiResult>}
 */
export function listVersions(docId, token) {
  return call(apiPath(docId, "/versions"), { headers: headers(token), cache: "no-store" });
}

/**
 * The plain text of version `id` (value: string).
 * @param {string} docId
 * @param {string} token
 * @param {number} id
 * @returns {Promise<ApiResult>}
 */
export function versionText(docId, token, id) {
  return callText(apiPath(docId, `/versions/${id}/text`), { headers: headers(token) });
}

/**
 * The change from version `against`'s text to version `id`'s, as runs (value: Run[], see
 * history-diff.js).
 * @param {string} docId
 * @param {string} token
 * @param {number} id
 * @param {number} against
 * @returns {Promise<ApiResult>}
 */
export function versionDiff(docId, token, id, against) {
  return call(apiPath(docId, `/versions/${id}/diff?against=${against}`), { headers: headers(token) });
}

/**
 * Records the current text as a version named `name` (value: the new Version).
 * @param {string} docId
 * @param {string} token
 * @param {string} name
 * @returns {Promise<ApiResult>}
 */
export function nameVersion(docId, token, name) {
  return call(apiPath(docId, "/versions"), { method: "POST", headers: headers(token), body: JSON.stringify({ name }) });
}

/**
 * Makes the document's text version `id`'s for everyone (value: the restore's Version).
 * @param {string} docId
 * @param {string} token
 * @param {number} id
 * @returns {Promise<ApiResult>}
 */
export function restoreVersion(docId, token, id) {
  return call(apiPath(docId, "/restore"), { method: "POST", headers: headers(token), body: JSON.stringify({ version: id }) });
}
