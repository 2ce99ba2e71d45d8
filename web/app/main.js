// tandem's page: `/` lists documents and opens one by id (home.js); `/d/DOC-ID` edits a
// document (document.js). An invalid id gets an error page, never an editor.

import { docIdError, docIdFromPath } from "./docid.js";
import { openDocument } from "./document.js";
import { $, showErrorPage, tokenFromUrl } from "./dom.js";
import { showHome } from "./home.js";
import { identity, setName } from "./store.js";
import { rememberTheme, resolveTheme, storedTheme } from "./theme.js";

/** @param {import("./theme.js").Theme} theme */
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  // A toggle button keeps its name ("dark"); aria-pressed says whether it is on.
  $("theme-toggle").setAttribute("aria-pressed", String(theme === "dark"));
}

function setUpTheme() {
  const media = matchMedia("(prefers-color-scheme: dark)");
  applyTheme(resolveTheme(storedTheme(), media.matches));
  // Follow the system until the person chooses.
  media.addEventListener("change", () => applyTheme(resolveTheme(storedTheme(), media.matches)));
  $("theme-toggle").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    rememberTheme(next);
    applyTheme(next);
  });
}

function start() {
  setUpTheme();
  const nameInput = /** @type {HTMLInputElement} */ ($("my-name"));
  nameInput.value = identity().name;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch((error) => console.info("tandem: no service worker", error));
  }
  // The server sends this page for `/d/ID` and for `/ID`.
  const route = docIdFromPath(location.pathname);
  if (route === null) {
    nameInput.addEventListener("change", () => setName(nameInput.value.trim() || identity().name));
    showHome(tokenFromUrl());
    return;
  }
  const error = "error" in route ? route.error : docIdError(route.id);
  if (error !== null || !("id" in route)) {
    document.title = "invalid document id · tandem";
    showErrorPage("This is not a valid document id", `${error}.`);
    return;
  }
  openDocument(route.id).catch((error) => {
    console.error(error);
    showErrorPage("Could not open the document", String(error));
  });
}

start();
