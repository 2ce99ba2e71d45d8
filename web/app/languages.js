// Syntax highlighting from the document id's extension. The language packages are loaded only
// when a document needs one (esbuild puts each in its own chunk), so the first load of the page
// stays small; any other id is plain text.

import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";

/** @typedef {"rust" | "javascript" | "jsx" | "typescript" | "tsx" | "python" | "markdown" | "json" | "css"} LanguageName */

/** @type {Record<string, LanguageName>} */
const BY_EXTENSION = {
  rs: "rust",
  js: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  jsx: "jsx",
  ts: "typescript",
  mts: "typescript",
  cts: "typescript",
  tsx: "tsx",
  py: "python",
  md: "markdown",
  markdown: "markdown",
  json: "json",
  css: "css",
};

/**
 * The language of a document from its id's extension (of the last segment, case-insensitive),
 * or null for plain text.
 * @param {string} docId
 * @returns {LanguageName | null}
 */
export function languageFor(docId) {
  const name = docId.slice(docId.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return null;
  const extension = name.slice(dot + 1).toLowerCase();
  return Object.hasOwn(BY_EXTENSION, extension) ? BY_EXTENSION[extension] : null;
}

// Token colours are CSS variables (style.css defines them per theme, each readable on its
// background), so one style serves light and dark.
const highlightStyle = HighlightStyle.define([
  { tag: [tags.keyword, tags.modifier, tags.controlKeyword, tags.operatorKeyword], color: "var(--hl-keyword)" },
  { tag: [tags.string, tags.special(tags.string), tags.regexp], color: "var(--hl-string)" },
  { tag: [tags.number, tags.bool, tags.null, tags.atom], color: "var(--hl-number)" },
  { tag: [tags.comment, tags.meta], color: "var(--hl-comment)", fontStyle: "italic" },
  { tag: [tags.typeName, tags.className, tags.namespace], color: "var(--hl-type)" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName), tags.macroName], color: "var(--hl-function)" },
  { tag: [tags.propertyName, tags.attributeName], color: "var(--hl-property)" },
  { tag: tags.heading, fontWeight: "700", color: "var(--hl-keyword)" },
  { tag: tags.emphasis, fontStyle: "italic" },
  { tag: tags.strong, fontWeight: "700" },
  { tag: tags.link, textDecoration: "underline" },
  { tag: tags.invalid, color: "var(--bad)" },
]);

/**
 * The CodeMirror extensions for `language` (its parser and the token colours), loading its
 * package now.
 * @param {LanguageName} language
 * @returns {Promise<import("@codemirror/state").Extension>}
 */
export async function loadLanguage(language) {
  return [await languageSupport(language), syntaxHighlighting(highlightStyle)];
}

/**
 * @param {LanguageName} language
 * @returns {Promise<import("@codemirror/state").Extension>}
 */
async function languageSupport(language) {
  switch (language) {
    case "rust":
      return (await import("@codemirror/lang-rust")).rust();
    case "javascript":
    case "jsx":
    case "typescript":
    case "tsx": {
      const { javascript } = await import("@codemirror/lang-javascript");
      return javascript({ jsx: language === "jsx" || language === "tsx", typescript: language === "typescript" || language === "tsx" });
    }
    case "python":
      return (await import("@codemirror/lang-python")).python();
    case "markdown":
      return (await import("@codemirror/lang-markdown")).markdown();
    case "json":
      return (await import("@codemirror/lang-json")).json();
    case "css":
      return (await import("@codemirror/lang-css")).css();
  }
}
