// Document ids, as DESIGN.md defines them: path-like, UTF-8, 1 to 512 bytes, segments separated
// by `/`, no empty, `.` or `..` segment, no control characters; percent-encoded in URLs.
// The page checks an id with these rules before it offers an editor or connects, so an id the
// server would refuse never gets edits that cannot be saved, nor a place in the document list.

/** Longest id, in UTF-8 bytes. */
export const MAX_DOC_ID_BYTES = 512;

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// A lone UTF-16 half has no UTF-8 form: such a string is not an id.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why `id` is not a valid document id, or `null` when it is one.
 * @param {string} id
 * @returns {string | null}
 */
export function docIdError(id) {
  if (LONE_SURROGATE.test(id)) return "a document id must be valid Unicode";
  const bytes = new TextEncoder().encode(id).length;
  if (bytes === 0) return "a document id may not be empty";
  if (bytes > MAX_DOC_ID_BYTES) return `a document id may have at most ${MAX_DOC_ID_BYTES} bytes (this one has ${bytes})`;
  if (CONTROL.test(id)) return "a document id may not contain control characters";
  for (const segment of id.split("/")) {
    if (segment === "") return "a document id may not have an empty segment (leading, trailing or double /)";
    if (segment === "." || segment === "..") return `a document id may not have a "${segment}" segment`;
  }
  return null;
}

/**
 * The URL path of `id` after `prefix` ("/d/" for the page, "/" for the websocket): each segment
 * percent-encoded, the `/` between them kept.
 * @param {string} id
 * @param {string} [prefix]
 * @returns {string}
 */
export function docIdPath(id, prefix = "/d/") {
  return prefix + id.split("/").map(encodeURIComponent).join("/");
}

/**
 * The document id in a page path (`/d/ID` or `/ID`; ID may hold `/`), or `null` for the home
 * page; an undecodable path gives `{ error }`.
 * @param {string} pathname
 * @returns {null | { id: string } | { error: string }}
 */
export function docIdFromPath(pathname) {
  const raw = pathname.startsWith("/d/") ? pathname.slice(3) : pathname.slice(1);
  if (raw === "" || raw === "index.html") return null;
  try {
    return { id: decodeURIComponent(raw) };
  } catch {
    return { error: "the address is not a valid percent-encoded document id" };
  }
}
