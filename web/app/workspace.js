// Workspaces in the document list: a workspace is a prefix with a manifest document,
// `PREFIX/.tandem/manifest`, whose text has one line per file, `ID<TAB>PATH`: the file PATH is
// the document `PREFIX/ID` (its id stays when it is renamed). `tandem share` and `tandem sync`
// write it; the page only reads it, with the same resolution rules as the engine.

/** The manifest's id under a workspace's prefix. */
export const MANIFEST_NAME = ".tandem/manifest";

/**
 * The workspace prefixes among document ids (those that have a manifest).
 * @param {Iterable<string>} ids
 * @returns {string[]}
 */
export function workspacePrefixes(ids) {
  const suffix = `/${MANIFEST_NAME}`;
  const prefixes = [];
  for (const id of ids) {
    if (id.endsWith(suffix) && id.length > suffix.length) prefixes.push(id.slice(0, -suffix.length));
  }
  return prefixes.sort();
}

/**
 * The files a manifest lists, in path order: one id on several paths keeps the first path, several
 * ids on one path the first id (as the engine reads them; the others show once an engine has moved
 * them to their conflict paths); lines that do not parse are skipped.
 * @param {string} text
 * @returns {{ path: string, id: string }[]}
 */
export function manifestFiles(text) {
  /** @type {Map<string, string>} */
  const pathOf = new Map();
  for (const line of text.split("\n").slice(0, -1)) {
    const tab = line.indexOf("\t");
    if (tab <= 0 || tab === line.length - 1) continue;
    const id = line.slice(0, tab);
    const path = line.slice(tab + 1);
    const known = pathOf.get(id);
    if (known === undefined || path < known) pathOf.set(id, path);
  }
  /** @type {Map<string, string>} */
  const idAt = new Map();
  for (const [id, path] of pathOf) {
    const known = idAt.get(path);
    if (known === undefined || id < known) idAt.set(path, id);
  }
  return [...idAt].map(([path, id]) => ({ path, id })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
