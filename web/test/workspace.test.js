import assert from "node:assert/strict";
import test from "node:test";

import { manifestFiles, workspacePrefixes } from "../app/workspace.js";

test("workspaces are the prefixes with a manifest", () => {
  const ids = ["notes", "team/.tandem/manifest", "team/src/main.rs", "a/b/.tandem/manifest", ".tandem/manifest"];
  assert.deepEqual(workspacePrefixes(ids), ["a/b", "team"]);
});

test("manifest lines map paths to documents, renamed files keep theirs", () => {
  const text = "README.md\tREADME.md\nsrc/a.rs\tsrc/b.rs\ngarbage\n\tx\nREADME.md\tREADME.md\ntorn\tline";
  assert.deepEqual(manifestFiles(text), [
    { path: "README.md", id: "README.md" },
    { path: "src/b.rs", id: "src/a.rs" },
  ]);
});

test("conflicting lines resolve as the engine resolves them", () => {
  assert.deepEqual(manifestFiles("b\tb2\nb\tb1\nd\tp\nc\tp\n"), [
    { path: "b1", id: "b" },
    { path: "p", id: "c" },
  ]);
});
