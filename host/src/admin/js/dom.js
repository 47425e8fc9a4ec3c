// Small DOM helpers: elements built from data (text always via textContent), notices, dialogs.

import { t } from "./i18n.js";

export const main = document.getElementById("main");

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function show(...nodes) {
  main.replaceChildren(...nodes.filter((node) => node != null));
}

export function notice(text, kind = "") {
  return el("div", { class: `notice ${kind}`, role: "status", text });
}

export function copyButton(value) {
  return el("button", {
    class: "secondary", type: "button", text: t("common.copy"),
    onclick: async (event) => {
      try { await navigator.clipboard.writeText(value); event.target.textContent = t("common.copied"); }
      catch { event.target.textContent = t("common.select_and_copy"); }
    },
  });
}

// What to do or know to finish a channel's setup (the plugin's items), with copy buttons.
export function setupList(items, { heading = "h2" } = {}) {
  if (!items || !items.length) return null;
  return el("div", { class: "setup" },
    el(heading, { text: t("setup.title") }),
    el("ul", { class: "plain" }, items.map((item) =>
      el("li", { "data-setup": item.key }, el("strong", { text: `${item.label}: ` }), el("code", { text: item.value }), " ",
        item.value.startsWith("http") || item.key.includes("token") || item.key.includes("url") || item.key.includes("address") ? copyButton(item.value) : null))));
}

// A table's header row; an empty label is the actions column (named for screen readers).
export function tableHead(labels) {
  return el("thead", {}, el("tr", {}, labels.map((label) => el("th", {},
    label ? label : el("span", { class: "visually-hidden", text: t("common.actions") })))));
}

// A table that may be wider than a phone scrolls inside its own box, not the page.
export function wideTable(table) {
  return el("div", { class: "table-wrap", tabindex: "0" }, table);
}

// A provider's refusal (or any error not tied to one field), as an alert the person must
// acknowledge: the message, OK focused; Escape or OK closes it and focus goes back to
// `returnTo` (the button that sent the form).
export function errorDialog(message, returnTo) {
  const dialog = document.getElementById("error-dialog");
  document.getElementById("error-text").textContent = message;
  dialog.addEventListener("close", () => { if (returnTo && returnTo.isConnected) returnTo.focus(); }, { once: true });
  dialog.showModal();
  document.getElementById("error-ok").focus();
}

// The page's one confirm dialog; `ok` names its confirming button (Disconnect, Delete …).
export function confirmDialog(text, ok = t("channel.disconnect")) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-ok").textContent = ok;
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}
