import assert from "node:assert/strict";
import { test } from "node:test";

import { resolveTheme } from "../app/theme.js";

test("the system's preference applies until a choice is stored", () => {
  assert.equal(resolveTheme(null, true), "dark");
  assert.equal(resolveTheme(null, false), "light");
  assert.equal(resolveTheme("light", true), "light");
  assert.equal(resolveTheme("dark", false), "dark");
  assert.equal(resolveTheme("purple", true), "dark", "a stored value from elsewhere is ignored");
});
