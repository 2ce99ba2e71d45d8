// Small DOM helpers shared by the home and document pages.

/**
 * The element with `id`; the page's HTML has every id the scripts use.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`the page has no #${id}`);
  return element;
}

/**
 * Sets `element[name]` to `value` unless it holds that already: the DOM counts a write of an
 * equal value as a change (text nodes replaced, styles invalidated, live regions announced).
 * @template {"textContent" | "className" | "hidden"} K
 * @param {HTMLElement} element
 * @param {K} name
 * @param {HTMLElement[K]} value
 */
export function setProperty(element, name, value) {
  if (element[name] !== value) element[name] = value;
}

/**
 * The access token from `#token=...` or `?token=...`.
 * @returns {string}
 */
export function tokenFromUrl() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  return fromHash || new URLSearchParams(location.search).get("token") || "";
}

/**
 * Replaces the page's main area with an error that says why (no editor is offered).
 * @param {string} title
 * @param {string} detail
 */
export function showErrorPage(title, detail) {
  const main = $("main");
  main.innerHTML = "";
  const box = document.createElement("section");
  box.className = "error-page";
  box.setAttribute("role", "alert");
  const heading = document.createElement("h1");
  heading.textContent = title;
  const text = document.createElement("p");
  text.textContent = detail;
  const back = document.createElement("a");
  back.href = "/";
  back.textContent = "Back to the document list";
  box.append(heading, text, back);
  main.append(box);
}
