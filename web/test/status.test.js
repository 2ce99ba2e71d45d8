import assert from "node:assert/strict";
import { test } from "node:test";

import { statusView } from "../app/status.js";

/** @typedef {import("../app/status.js").StatusInput} StatusInput */

/** @param {Partial<StatusInput>} input */
const view = (input) =>
  statusView({ connection: { kind: "connected" }, synced: true, unconfirmed: 0, access: "unknown", now: 0, ...input });

test("connected and synced with nothing pending: everything saved", () => {
  assert.deepEqual(view({}), {
    kind: "connected",
    connection: "connected",
    saved: "all edits saved on the server",
    pending: false,
    readOnly: false,
  });
  assert.equal(view({ unconfirmed: 1 }).saved, "1 edit not yet saved on the server");
  assert.equal(view({ unconfirmed: 15 }).saved, "15 edits not yet saved on the server");
});

test("a refused page never claims its edits are on the server", () => {
  const denied = view({ connection: { kind: "denied", reason: "bad token" }, unconfirmed: 0 });
  assert.equal(denied.connection, "access denied: bad token");
  assert.equal(denied.saved, "");
  assert.equal(view({ connection: { kind: "denied", reason: "x" }, unconfirmed: 3 }).saved, "3 edits kept only in this browser");
});

test("no state but a synced connection says 'all edits saved'", () => {
  /** @type {import("../app/connection.js").ConnectionState[]} */
  const states = [
    { kind: "connecting" },
    { kind: "connecting", retryAt: 5_000 },
    { kind: "offline" },
    { kind: "denied", reason: "no" },
    { kind: "connected" },
  ];
  for (const connection of states) {
    for (const synced of [false, true]) {
      const status = view({ connection, synced });
      const claimsSaved = status.saved.includes("saved on the server") && !status.saved.includes("not yet");
      assert.equal(claimsSaved, connection.kind === "connected" && synced, JSON.stringify({ connection, synced }));
    }
  }
});

test("the retry countdown rounds up and never goes negative", () => {
  assert.equal(view({ connection: { kind: "connecting", retryAt: 2_100 }, now: 0 }).connection, "connecting, retry in 3s");
  assert.equal(view({ connection: { kind: "connecting", retryAt: 2_100 }, now: 9_000 }).connection, "connecting, retry in 0s");
  assert.equal(view({ connection: { kind: "connecting" } }).connection, "connecting…");
});

test("a known problem replaces 'connecting' in the countdown", () => {
  const connection = /** @type {const} */ ({ kind: "connecting", retryAt: 1_000, problem: "the server is restarting" });
  assert.equal(view({ connection, now: 0 }).connection, "the server is restarting, retry in 1s");
});

test("read-only access shows the badge", () => {
  assert.equal(view({ access: "read-only" }).readOnly, true);
  assert.equal(view({ access: "read-write" }).readOnly, false);
});

test("a document gone from the server says so and never claims the edits are saved", () => {
  const gone = view({ connection: { kind: "gone", reason: "document deleted" }, unconfirmed: 2 });
  assert.equal(gone.connection, "document deleted on the server");
  assert.equal(gone.saved, "2 edits kept only in this browser");
  assert.equal(view({ connection: { kind: "gone", reason: "document deleted" } }).saved, "");
});
