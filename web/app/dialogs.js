// The document page's dialogs: share (copy the link; with tokens, make a read-only or
// read-write link with an expiry), rename and delete (both confirmed). Native <dialog>s: modal,
// Escape closes them, the focus stays inside; the REST calls are manage.js's.

import { docIdError } from "./docid.js";
import { EXPIRY_CHOICES, documentLink, remove, rename, share } from "./manage.js";

/**
 * A modal dialog with a heading, appended to the body and removed when closed.
 * @param {string} title
 * @returns {{ dialog: HTMLDialogElement, body: HTMLElement, actions: HTMLElement }}
 */
function modal(title) {
  const dialog = document.createElement("dialog");
  dialog.className = "dialog";
  const heading = document.createElement("h2");
  heading.id = `dialog-title-${Date.now()}`;
  heading.textContent = title;
  dialog.setAttribute("aria-labelledby", heading.id);
  const body = document.createElement("div");
  body.className = "dialog-body";
  const actions = document.createElement("div");
  actions.className = "dialog-actions";
  dialog.append(heading, body, actions);
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  return { dialog, body, actions };
}

/**
 * @param {string} text
 * @param {() => void} onClick
 * @param {string} [className]
 * @returns {HTMLButtonElement}
 */
function button(text, onClick, className = "") {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  if (className) element.className = className;
  element.addEventListener("click", onClick);
  return element;
}

/** @returns {HTMLParagraphElement} a live line for what an action did or why it failed */
function outcome() {
  const line = document.createElement("p");
  line.className = "dialog-outcome";
  line.setAttribute("role", "alert");
  return line;
}

/**
 * A read-only field holding `link`, with a Copy button.
 * @param {string} label
 * @param {string} link
 * @returns {HTMLElement}
 */
function linkField(label, link) {
  const row = document.createElement("div");
  row.className = "link-row";
  const id = `link-${Math.random().toString(36).slice(2)}`;
  const name = document.createElement("label");
  name.htmlFor = id;
  name.textContent = label;
  const field = document.createElement("input");
  field.id = id;
  field.readOnly = true;
  field.value = link;
  field.className = "link-field";
  const copied = document.createElement("span");
  copied.className = "copied";
  copied.setAttribute("aria-live", "polite");
  const copy = button("Copy", () => {
    field.select();
    navigator.clipboard
      .writeText(link)
      .then(() => {
        copied.textContent = "copied";
      })
      .catch(() => {
        copied.textContent = "select the link and copy it";
      });
  });
  row.append(name, field, copy, copied);
  return row;
}

/**
 * The share dialog: the document's link; with a token, links of their own for others.
 * @param {string} docId
 * @param {string} token this page's token ("" when the server needs none)
 */
export function showShareDialog(docId, token) {
  const { dialog, body, actions } = modal(`Share “${docId}”`);
  if (!token) {
    const note = document.createElement("p");
    note.textContent = "Anyone who can reach this server can open the document with its link.";
    body.append(note, linkField("Link", documentLink(docId, "", location.origin)));
  } else {
    const note = document.createElement("p");
    note.textContent =
      "This server needs a token. Make a link for others: it opens this document only, never grants more than your own link, and stops working when it expires.";
    const form = document.createElement("form");
    form.className = "share-form";
    form.innerHTML = `
      <label>Access <select name="access">
        <option value="r">read-only</option>
        <option value="rw">can edit</option>
      </select></label>
      <label>Expires after <select name="expiry"></select></label>
      <button type="submit">Create link</button>`;
    const expiry = /** @type {HTMLSelectElement} */ (form.querySelector("select[name=expiry]"));
    for (const choice of EXPIRY_CHOICES) expiry.add(new Option(choice.label, String(choice.seconds)));
    expiry.value = String(EXPIRY_CHOICES[2].seconds);
    const result = outcome();
    const made = document.createElement("div");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const access = data.get("access") === "rw" ? "rw" : "r";
      const answer = await share(docId, token, access, Number(data.get("expiry")));
      made.innerHTML = "";
      if (!answer.ok) {
        result.textContent = `No link made: ${answer.problem}.`;
        return;
      }
      const until = answer.value.expires_at ? new Date(answer.value.expires_at * 1000).toLocaleString() : "never";
      result.textContent = `Link made: ${answer.value.access === "rw" ? "can edit" : "read-only"}, expires ${until}.`;
      made.append(linkField("New link", documentLink(docId, answer.value.token, location.origin)));
    });
    body.append(note, linkField("Your link", documentLink(docId, token, location.origin)), form, result, made);
  }
  actions.append(button("Close", () => dialog.close()));
  dialog.showModal();
}

/**
 * The rename dialog. On success `onRenamed(to)` (the page reopens the document there).
 * @param {string} docId
 * @param {string} token
 * @param {(to: string) => void} onRenamed
 */
export function showRenameDialog(docId, token, onRenamed) {
  const { dialog, body, actions } = modal(`Rename “${docId}”`);
  const form = document.createElement("form");
  form.id = "rename-form";
  const label = document.createElement("label");
  label.textContent = "New id ";
  const input = document.createElement("input");
  input.name = "to";
  input.value = docId;
  input.required = true;
  input.className = "rename-to";
  label.append(input);
  const note = document.createElement("p");
  note.textContent = "Everyone who has it open follows it to the new id.";
  const result = outcome();
  form.append(label, note, result);
  body.append(form);
  const submit = document.createElement("button");
  submit.type = "submit";
  submit.setAttribute("form", form.id);
  submit.textContent = "Rename";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const to = input.value.trim();
    const error = to === docId ? "that is its id already" : docIdError(to);
    input.setAttribute("aria-invalid", String(Boolean(error)));
    if (error) {
      result.textContent = `Cannot rename to “${to}”: ${error}.`;
      return;
    }
    submit.disabled = true;
    const answer = await rename(docId, token, to);
    submit.disabled = false;
    if (!answer.ok) {
      result.textContent = `Not renamed: ${answer.problem}.`;
      return;
    }
    dialog.close();
    onRenamed(to);
  });
  actions.append(button("Cancel", () => dialog.close()), submit);
  dialog.showModal();
  input.select();
}

/**
 * A dialog that asks before an action: `run()` when confirmed, its problem shown in the dialog
 * (which stays open) or `onDone(value)` after closing it. Cancel has the focus, so Enter alone
 * never does the action.
 * @param {{ title: string, note: string, action: string, failed: string, danger?: boolean,
 *   run: () => Promise<import("./manage.js").ApiResult>, onDone: (value: any) => void }} ask
 */
export function confirmAction({ title, note, action, failed, danger = false, run, onDone }) {
  const { dialog, body, actions } = modal(title);
  const text = document.createElement("p");
  text.textContent = note;
  const result = outcome();
  body.append(text, result);
  const confirm = button(
    action,
    async () => {
      confirm.disabled = true;
      const answer = await run();
      confirm.disabled = false;
      if (!answer.ok) {
        result.textContent = `${failed}: ${answer.problem}.`;
        return;
      }
      dialog.close();
      onDone(answer.value);
    },
    danger ? "danger" : "",
  );
  const cancel = button("Cancel", () => dialog.close());
  actions.append(cancel, confirm);
  dialog.showModal();
  cancel.focus();
}

/**
 * The delete dialog, confirming first. On success `onDeleted()`.
 * @param {string} docId
 * @param {string} token
 * @param {() => void} onDeleted
 */
export function showDeleteDialog(docId, token, onDeleted) {
  confirmAction({
    title: `Delete “${docId}”?`,
    note: "It is deleted on the server for everyone. Whoever has it open keeps their copy in their browser, to copy or download.",
    action: "Delete for everyone",
    failed: "Not deleted",
    danger: true,
    run: () => remove(docId, token),
    onDone: onDeleted,
  });
}
