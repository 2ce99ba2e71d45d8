import assert from "node:assert/strict";
import { test } from "node:test";

import { listNote } from "../app/home.js";
import { EXPIRY_CHOICES, apiPath, apiProblem, documentLink, shareBody } from "../app/manage.js";

test("links keep the id percent-encoded per segment and the token in the fragment", () => {
  assert.equal(documentLink("notes", ""), "/d/notes");
  assert.equal(documentLink("会议/记录.md", "a.b=", "https://x.org"), "https://x.org/d/%E4%BC%9A%E8%AE%AE/%E8%AE%B0%E5%BD%95.md#token=a.b%3D");
});

test("API paths carry the id as one segment", () => {
  assert.equal(apiPath("team/a b.md", "/share"), "/api/docs/team%2Fa%20b.md/share");
  assert.equal(apiPath("x"), "/api/docs/x");
});

test("a share request asks for an expiry only when one is chosen", () => {
  assert.deepEqual(JSON.parse(shareBody("r", 3600)), { access: "r", expires_in_s: 3600 });
  assert.deepEqual(JSON.parse(shareBody("rw", 0)), { access: "rw" });
  assert.ok(EXPIRY_CHOICES.some((choice) => choice.seconds === 0), "as long as the maker's own link");
});

test("API answers in words", () => {
  assert.equal(apiProblem(200, "{}"), null);
  assert.equal(apiProblem(204, ""), null);
  assert.equal(apiProblem(403, "the token grants read-only access\n"), "the token grants read-only access");
  assert.match(apiProblem(401, "token expired") ?? "", /token expired/);
  assert.equal(apiProblem(409, ""), "that id is taken");
  assert.equal(apiProblem(500, ""), "the server answered HTTP 500");
});

test("a refusal as JSON (the history's endpoints) is answered with its reason, not the JSON", () => {
  assert.equal(apiProblem(403, '{"error":"the token grants reading only"}'), "the token grants reading only");
  assert.equal(apiProblem(404, '{"error":"document \\"a\\" has no version 9"}'), 'document "a" has no version 9');
  assert.equal(apiProblem(400, '{"other": 1}'), '{"other": 1}');
});

test("the home page says when the list needs a token, and nothing when it listed", () => {
  assert.equal(listNote(200, false), null);
  assert.match(listNote(401, false) ?? "", /only with a token/);
  assert.match(listNote(401, true) ?? "", /does not grant the whole list/);
  assert.match(listNote(503, false) ?? "", /HTTP 503/);
});
