// How long a lost connection waits before the next attempt.

/** The first retry's ceiling. */
export const MIN_DELAY_MS = 500;
/** No retry waits longer. */
export const MAX_DELAY_MS = 30_000;

/**
 * The delay before retry number `attempt` (0 for the first): half an exponential ceiling plus a
 * random part of the other half, so clients that lost the same server do not all come back in
 * the same instant, yet none retries at once in a loop.
 * @param {number} attempt
 * @param {number} random a number in [0, 1), e.g. `Math.random()`
 * @returns {number} milliseconds
 */
export function retryDelay(attempt, random) {
  const ceiling = Math.min(MAX_DELAY_MS, MIN_DELAY_MS * 2 ** attempt);
  return ceiling / 2 + random * (ceiling / 2);
}
