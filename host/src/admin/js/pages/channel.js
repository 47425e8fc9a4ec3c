// One channel's settings (and the website chat's live preview).

import { api } from "../api.js";
import { confirmDialog, copyButton, el, main, notice, setupList, show } from "../dom.js";
import { fieldRow, formValues, showRefusal } from "../forms.js";
import { t } from "../i18n.js";
import { isAdmin, pluginById } from "../state.js";

export async function channelPage(id) {
  const channel = await api("GET", `/channels/${id}`);
  const plugin = pluginById(channel.plugin);
  const schema = plugin ? plugin.settings_schema : [];
  const fixedName = plugin && plugin.capabilities.includes("fixed_name");
  const readOnly = !isAdmin();
  const form = el("form", { class: "stack", id: "settings", novalidate: true },
    el("h1", { text: t("channel.title", { name: channel.name }) }),
    channel.status === "active" ? null : notice(channel.status === "plugin_unavailable"
      ? t("channel.plugin_unavailable")
      : t("channel.needs_reconnect", { reason: channel.status_reason || t("channel.needs_reconnect_default") }), "bad"),
    fieldRow({ key: "name", label: t("connect.name"), kind: "text", required: true }, channel.name,
      { disabled: readOnly || fixedName, note: fixedName ? t("channel.read_only") : "" }),
    schema.map((field) => {
      const setting = channel.settings[field.key];
      const value = setting ? setting.value : "";
      return fieldRow(field, value, { disabled: readOnly || field.immutable, note: field.immutable ? t("channel.read_only") : "" });
    }),
    el("div", { class: "error form-error" }),
    el("div", { class: "saved" }),
    readOnly ? null : el("div", { class: "row" },
      el("button", { type: "submit", text: t("common.save_changes") }),
      el("button", { type: "button", class: "danger", id: "disconnect", text: t("channel.disconnect"), onclick: () => disconnect(channel) })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector(".saved").replaceChildren();
    const body = { settings: formValues(form, schema) };
    if (!fixedName) body.name = form.elements.name.value.trim();
    const button = form.querySelector("button[type=submit]");
    try {
      await api("PATCH", `/channels/${id}`, body);
      form.querySelectorAll("[data-error-for], .form-error").forEach((n) => { n.textContent = ""; });
      form.querySelector(".saved").replaceChildren(notice(t("channel.saved"), "ok"));
    } catch (error) {
      showRefusal(form, error, button);
    }
  });
  const templatesLink = plugin && plugin.capabilities.includes("templates")
    ? el("p", {}, el("a", { class: "button secondary", href: `#/channels/${id}/templates`, text: t("templates.link") })) : null;
  const details = [form, el("p", { class: "muted" }, t("channel.webhook_url"), " ", el("code", { text: channel.webhook_url }), " ", copyButton(channel.webhook_url)),
    setupList(channel.setup), templatesLink];
  show(channel.plugin === "webchat" ? el("div", { class: "with-aside" }, el("div", {}, details), widgetPreview(channel, form)) : el("div", {}, details));
}

// The website chat as visitors will see it, redrawn from the form's unsaved values as they are
// typed (the host's preview page takes them as overrides and never talks to the visitor API).
export function widgetPreview(channel, form) {
  const frame = el("iframe", { id: "widget-preview", title: t("channel.preview_frame"), src: `/webchat/${encodeURIComponent(channel.id)}/preview` });
  let pending = null;
  const redraw = () => {
    const value = (key) => (form.elements[key] ? form.elements[key].value : "");
    const query = new URLSearchParams({ name: value("name"), color: value("color"), greeting: value("greeting"), position: value("position"), enabled: value("enabled") });
    for (const [key, v] of [...query]) if (!v) query.delete(key);
    frame.src = `/webchat/${encodeURIComponent(channel.id)}/preview?${query}`;
  };
  const soon = () => { clearTimeout(pending); pending = setTimeout(redraw, 200); };
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  return el("aside", { class: "preview", "aria-label": t("channel.preview_label") }, el("h2", { text: t("channel.preview") }),
    el("p", { class: "muted", text: t("channel.preview_help") }), frame);
}

export async function disconnect(channel) {
  const sure = await confirmDialog(t("channel.disconnect_confirm"), t("channel.disconnect"));
  if (!sure) return;
  try {
    await api("DELETE", `/channels/${channel.id}`);
    location.hash = "#/integrations";
  } catch (error) {
    main.prepend(notice(error.message, "bad"));
  }
}
