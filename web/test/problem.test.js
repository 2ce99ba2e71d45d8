import assert from "node:assert/strict";
import { test } from "node:test";

import { closeProblem, failedOpenProblem } from "../app/problem.js";

test("close codes the server sends are said in words; ordinary drops are not", () => {
  assert.equal(closeProblem(1001, "server shutting down"), "the server is restarting");
  assert.equal(closeProblem(1011, "document could not be loaded"), "server error: document could not be loaded");
  assert.equal(closeProblem(1013, ""), "the server is busy");
  assert.equal(closeProblem(1006, ""), undefined);
  assert.equal(closeProblem(1000, ""), undefined);
});

test("a websocket that never opened is explained by the health probe", () => {
  assert.equal(failedOpenProblem(null), "cannot reach the server");
  assert.equal(failedOpenProblem({ status: 503, body: "storage refuses writes: disk full\n" }), "server unavailable: storage refuses writes: disk full");
  assert.equal(failedOpenProblem({ status: 502, body: "" }), "the server answers HTTP 502");
  assert.match(failedOpenProblem({ status: 200, body: "ok\n" }), /refuses the connection \(full, or a proxy/);
  assert.match(failedOpenProblem({ status: 200, body: "ok\n", available: "3" }), /refuses the connection/);
  assert.equal(failedOpenProblem({ status: 200, body: "ok\n", available: "0" }), "server full: it takes no more connections");
});
