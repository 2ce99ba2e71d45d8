// Prints the JS files of the page's first load, one per line relative to the output directory:
// the entry and every chunk it imports statically, transitively (from esbuild's metafile). The
// chunks reached only by dynamic import() (the language packages) are loaded later, if at all.
//
//   node tools/first-load.mjs META.json OUTDIR ENTRY

import fs from "node:fs";
import path from "node:path";

const [metaPath, outdir, entry] = process.argv.slice(2);
const outputs = JSON.parse(fs.readFileSync(metaPath, "utf8")).outputs;
const relative = (/** @type {string} */ file) => path.relative(outdir, file);
const byName = new Map(Object.keys(outputs).map((file) => [relative(file), outputs[file]]));
const seen = new Set();
const pending = [entry];
while (pending.length > 0) {
  const file = /** @type {string} */ (pending.pop());
  if (seen.has(file) || !byName.has(file)) continue;
  seen.add(file);
  for (const imported of byName.get(file).imports) {
    if (imported.kind === "import-statement") pending.push(relative(imported.path));
  }
}
for (const file of [...seen].sort()) console.log(file);
