// Light or dark: the browser's prefers-color-scheme, unless the person chose with the toggle
// (remembered in this browser).

/** @typedef {"light" | "dark"} Theme */

const THEME_KEY = "tandem.theme";

/**
 * The theme to show: the stored choice when there is a valid one, else the system's.
 * @param {string | null} stored
 * @param {boolean} systemDark
 * @returns {Theme}
 */
export function resolveTheme(stored, systemDark) {
  if (stored === "light" || stored === "dark") return stored;
  return systemDark ? "dark" : "light";
}

/**
 * The stored choice, or null (localStorage may be unavailable).
 * @returns {string | null}
 */
export function storedTheme() {
  try {
    return localStorage.getItem(THEME_KEY);
  } catch {
    return null;
  }
}

/**
 * Remembers `theme` for this browser.
 * @param {Theme} theme
 */
export function rememberTheme(theme) {
  try {
    localStorage.setItem(THEME_KEY, theme);
  } catch (error) {
    console.info("tandem: theme not remembered", error);
  }
}
