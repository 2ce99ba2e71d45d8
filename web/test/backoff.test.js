import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_DELAY_MS, MIN_DELAY_MS, retryDelay } from "../app/backoff.js";

test("the delay doubles its ceiling per attempt up to the maximum", () => {
  const ceilings = [0, 1, 2, 3, 10, 50].map((attempt) => retryDelay(attempt, 0.999999));
  assert.ok(Math.abs(ceilings[0] - MIN_DELAY_MS) < 0.01);
  assert.ok(Math.abs(ceilings[1] - 2 * MIN_DELAY_MS) < 0.01);
  assert.ok(Math.abs(ceilings[3] - 8 * MIN_DELAY_MS) < 0.1);
  assert.ok(Math.abs(ceilings[4] - MAX_DELAY_MS) < 0.1);
  assert.ok(Math.abs(ceilings[5] - MAX_DELAY_MS) < 0.1, "no overflow after many attempts");
});

test("jitter spreads over the upper half of the ceiling, never zero", () => {
  for (const attempt of [0, 4, 20]) {
    const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** attempt);
    assert.equal(retryDelay(attempt, 0), ceiling / 2);
    assert.equal(retryDelay(attempt, 0.5), (ceiling * 3) / 4);
    for (let i = 0; i < 100; i++) {
      const delay = retryDelay(attempt, Math.random());
      assert.ok(delay >= ceiling / 2 && delay < ceiling, `${delay} for attempt ${attempt}`);
    }
  }
});
