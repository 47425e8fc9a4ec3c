// One channel's settings (and the website chat's live preview).

import { api } from "../api.js";
import { confirmDialog, copyButton, el, main, notice, setupList, show } from "../dom.js";
import { fieldRow, formValues, showErrors } from "../forms.js";
import { isAdmin, pluginById } from "../state.js";

export async function channelPage(id) {
  const channel = await api("GET", `/channels/${id}`);
  const plugin = pluginById(channel.plugin);
  const schema = plugin ? plugin.settings_schema : [];
  const fixedName = plugin && plugin.capabilities.includes("fixed_name");
  const readOnly = !isAdmin();
  const form = el("form", { class: "stack", id: "settings", novalidate: true },
    el("h1", { text: `${channel.name} — Settings` }),
    channel.status === "active" ? null : notice(channel.status === "plugin_unavailable"
      ? "The plugin of this channel is not loaded: install it again to use this channel."
      : `This channel needs reconnection: ${channel.status_reason || "update its credentials and save"}.`, "bad"),
    fieldRow({ key: "name", label: "Name", kind: "text", required: true }, channel.name,
      { disabled: readOnly || fixedName, note: fixedName ? "Read-only once connected." : "" }),
    schema.map((field) => {
      const setting = channel.settings[field.key];
      const value = setting ? setting.value : "";
      return fieldRow(field, value, { disabled: readOnly || field.immutable, note: field.immutable ? "Read-only once connected." : "" });
    }),
    el("div", { class: "error form-error" }),
    el("div", { class: "saved" }),
    readOnly ? null : el("div", { class: "row" },
      el("button", { type: "submit", text: "Save Changes" }),
      el("button", { type: "button", class: "danger", id: "disconnect", text: "Disconnect", onclick: () => disconnect(channel) })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector(".saved").replaceChildren();
    const body = { settings: formValues(form, schema) };
    if (!fixedName) body.name = form.elements.name.value.trim();
    try {
      await api("PATCH", `/channels/${id}`, body);
      form.querySelectorAll("[data-error-for], .form-error").forEach((n) => { n.textContent = ""; });
      form.querySelector(".saved").replaceChildren(notice("Saved.", "ok"));
    } catch (error) {
      showErrors(form, error);
    }
  });
  const templatesLink = plugin && plugin.capabilities.includes("templates")
    ? el("p", {}, el("a", { class: "button secondary", href: `#/channels/${id}/templates`, text: "24 Hours HSM Template" })) : null;
  const details = [form, el("p", { class: "muted" }, "Webhook URL: ", el("code", { text: channel.webhook_url }), " ", copyButton(channel.webhook_url)),
    setupList(channel.setup), templatesLink];
  show(channel.plugin === "webchat" ? el("div", { class: "with-aside" }, el("div", {}, details), widgetPreview(channel, form)) : el("div", {}, details));
}

// The website chat as visitors will see it, redrawn from the form's unsaved values as they are
// typed (the host's preview page takes them as overrides and never talks to the visitor API).
export function widgetPreview(channel, form) {
  const frame = el("iframe", { id: "widget-preview", title: "Preview of the chat widget", src: `/webchat/${encodeURIComponent(channel.id)}/preview` });
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
  return el("aside", { class: "preview", "aria-label": "Widget preview" }, el("h2", { text: "Preview" }),
    el("p", { class: "muted", text: "Unsaved changes show here as you type." }), frame);
}

export async function disconnect(channel) {
  const sure = await confirmDialog("Are you sure? Disconnecting this channel will also delete this channel");
  if (!sure) return;
  try {
    await api("DELETE", `/channels/${channel.id}`);
    location.hash = "#/integrations";
  } catch (error) {
    main.prepend(notice(error.message, "bad"));
  }
}
