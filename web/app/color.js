// Colours of other users' cursors and labels. Label text is black or white, whichever contrasts
// more with the user's colour: for any colour one of them reaches at least 4.58:1 (WCAG's AA
// needs 4.5:1), because the two contrasts multiply to 21.

const HEX = /^#[0-9a-f]{6}$/i;

/** The colours users get. */
export const PALETTE = ["#e11d48", "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

/**
 * The colour this user should show so that no two users present share one: `mine` unless a
 * peer with a lower client id has it (the higher id yields, so two users never both switch),
 * then the first colour of the palette no peer uses (or `mine` when all are taken).
 * @param {string} mine
 * @param {number} myId
 * @param {{ clientId: number, color: string }[]} peers
 * @returns {string}
 */
export function distinctColor(mine, myId, peers) {
  const taken = new Set(peers.map((peer) => peer.color.toLowerCase()));
  const clash = peers.some((peer) => peer.clientId < myId && peer.color.toLowerCase() === mine.toLowerCase());
  if (!clash) return mine;
  return PALETTE.find((color) => !taken.has(color)) ?? mine;
}

/**
 * A colour for the name `name` of someone who is not here to say theirs (an author in the
 * history): always the same palette colour for one name.
 * @param {string} name
 * @returns {string}
 */
export function nameColor(name) {
  // FNV-1a over the UTF-16 units: stable, and spreads short names over the palette.
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

/**
 * The colour shown for the author `name`: the colour of the person present with that name
 * (the one of their cursor), else [`nameColor`].
 * @param {string} name
 * @param {{ name: string, color: string }[]} present this page's user and its peers
 * @returns {string}
 */
export function authorColor(name, present) {
  const person = present.find((p) => p.name === name);
  return person ? safeColor(person.color) : nameColor(name);
}

/** The colour of a user whose stated colour is not `#rrggbb`. */
export const FALLBACK_COLOR = "#6b7280";

/**
 * `color` when it is `#rrggbb`, else the fallback: the colour comes from another client.
 * @param {unknown} color
 * @returns {string}
 */
export function safeColor(color) {
  return typeof color === "string" && HEX.test(color) ? color : FALLBACK_COLOR;
}

/**
 * WCAG relative luminance of `#rrggbb`.
 * @param {string} hex
 * @returns {number}
 */
export function luminance(hex) {
  const channel = (/** @type {number} */ at) => {
    const c = parseInt(hex.slice(at, at + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
}

/**
 * WCAG contrast ratio of two `#rrggbb` colours.
 * @param {string} a
 * @param {string} b
 * @returns {number}
 */
export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/**
 * Black or white, the one more readable on `background` (`#rrggbb`).
 * @param {string} background
 * @returns {"#000000" | "#ffffff"}
 */
export function labelTextColor(background) {
  return contrast(background, "#000000") >= contrast(background, "#ffffff") ? "#000000" : "#ffffff";
}
