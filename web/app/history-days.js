// The history sidebar's timeline, pure: versions (as the server lists them, newest first)
// grouped by the reader's local day, with the words each entry shows. Time comes in as
// arguments (now, the zone's offset at an instant), so the grouping is testable anywhere.

/**
 * A version as `GET /api/docs/ID/versions` lists it.
 * @typedef {object} Version
 * @property {number} id unique, increasing with time
 * @property {number} created_at_ms unix milliseconds
 * @property {string | null} name the name of a named version
 * @property {string[]} authors who edited since the version before it
 * @property {number} chars its length in chars
 * @property {"auto" | "named" | "restore"} kind why it was made
 */

/**
 * One day of the timeline.
 * @typedef {object} Day
 * @property {string} key `YYYY-MM-DD` in local time
 * @property {string} label "Today", "Yesterday" or the date in words
 * @property {Version[]} versions newest first
 */

/**
 * The local zone's offset from UTC at `ms`, in minutes east (DST changes it during a year).
 * @param {number} ms
 * @returns {number}
 */
export function localOffset(ms) {
  return -new Date(ms).getTimezoneOffset();
}

/**
 * The instant `ms` shifted to local wall-clock time, read with the UTC getters.
 * @param {number} ms
 * @param {(ms: number) => number} offset minutes east of UTC at an instant
 * @returns {Date}
 */
function wallClock(ms, offset) {
  return new Date(ms + offset(ms) * 60_000);
}

/**
 * The local day of `ms` as `YYYY-MM-DD`.
 * @param {number} ms
 * @param {(ms: number) => number} [offset]
 * @returns {string}
 */
export function dayKey(ms, offset = localOffset) {
  return wallClock(ms, offset).toISOString().slice(0, 10);
}

/**
 * The local time of `ms` as `HH:MM` (24 hours: short, and the same in every locale).
 * @param {number} ms
 * @param {(ms: number) => number} [offset]
 * @returns {string}
 */
export function timeOfDay(ms, offset = localOffset) {
  return wallClock(ms, offset).toISOString().slice(11, 16);
}

/**
 * The heading of the day `key` seen at `now`.
 * @param {string} key `YYYY-MM-DD`
 * @param {number} now
 * @param {(ms: number) => number} offset
 * @param {string | undefined} locale
 * @returns {string}
 */
function dayLabel(key, now, offset, locale) {
  const today = dayKey(now, offset);
  if (key === today) return "Today";
  // Noon of today minus a day is yesterday whatever the DST shift.
  const noon = Date.parse(`${today}T12:00:00Z`);
  if (key === new Date(noon - 86_400_000).toISOString().slice(0, 10)) return "Yesterday";
  const sameYear = key.slice(0, 4) === today.slice(0, 4);
  return new Intl.DateTimeFormat(locale, {
    weekday: "long",
    day: "numeric",
    month: "long",
    year: sameYear ? undefined : "numeric",
    timeZone: "UTC",
  }).format(new Date(`${key}T12:00:00Z`));
}

/**
 * `versions` (newest first) in days, newest day first, each day's versions newest first.
 * @param {Version[]} versions
 * @param {number} now unix milliseconds
 * @param {{ offset?: (ms: number) => number, locale?: string }} [options]
 * @returns {Day[]}
 */
export function groupByDay(versions, now, { offset = localOffset, locale } = {}) {
  /** @type {Map<string, Version[]>} */
  const days = new Map();
  const newestFirst = [...versions].sort((a, b) => b.created_at_ms - a.created_at_ms || b.id - a.id);
  for (const version of newestFirst) {
    const key = dayKey(version.created_at_ms, offset);
    const day = days.get(key);
    if (day) day.push(version);
    else days.set(key, [version]);
  }
  return [...days].map(([key, list]) => ({ key, label: dayLabel(key, now, offset, locale), versions: list }));
}

/**
 * What a version is called in the timeline: its name, or what made it.
 * @param {Version} version
 * @returns {string}
 */
export function versionTitle(version) {
  if (version.kind === "named" && version.name) return version.name;
  return version.kind === "restore" ? "Restored an earlier version" : "Saved automatically";
}

/**
 * The version just before `id` in `versions` (newest first), the one its changes are shown
 * against; null for the oldest.
 * @param {Version[]} versions
 * @param {number} id
 * @returns {Version | null}
 */
export function versionBefore(versions, id) {
  const older = versions.filter((v) => v.id < id);
  return older.reduce((best, v) => (best === null || v.id > best.id ? v : best), /** @type {Version | null} */ (null));
}
