// The operator's provider app of a plugin: its settings, and what to paste in the provider's
// dashboard (the one callback URL and the verify token).

import { api } from "../api.js";
import { el, notice, setupList, show } from "../dom.js";
import { fieldRow, formValues, showRefusal } from "../forms.js";
import { t } from "../i18n.js";
import { pluginById, state } from "../state.js";

export async function providerAppPage(pluginId) {
  const app = await api("GET", `/plugins/${pluginId}/app`);
  const plugin = pluginById(pluginId) || { name: pluginId };
  const form = el("form", { class: "stack", id: "provider-app", novalidate: true },
    el("h1", { text: t("provider_app.title", { plugin: plugin.name }) }),
    el("p", { class: "muted", text: t("provider_app.intro", { count: app.channels }) }),
    app.schema.map((field) => fieldRow(field, app.settings[field.key] || "")),
    el("div", { class: "error form-error" }),
    el("div", { class: "row" }, el("button", { type: "submit", text: t("common.save_changes") }),
      el("a", { class: "button secondary", href: "#/plugins", text: t("common.back") })),
    el("div", { id: "app-setup" }, app.configured ? appSetup(app) : null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const saved = await api("PUT", `/plugins/${pluginId}/app`, { settings: formValues(form, app.schema) });
      state.plugins = await api("GET", "/plugins");
      // Show what is stored now: secrets masked again.
      for (const field of app.schema) if (form.elements[field.key]) form.elements[field.key].value = saved.settings[field.key] || "";
      form.querySelector("#app-setup").replaceChildren(notice(t("common.updated"), "ok"), appSetup(saved));
    } catch (error) {
      showRefusal(form, error, form.querySelector("button[type=submit]"));
    }
  });
  show(form);
}

export function appSetup(app) {
  return setupList([
    { key: "callback_url", label: t("provider_app.callback_url"), value: app.callback_url },
    { key: "verify_token", label: t("provider_app.verify_token"), value: app.verify_token },
  ]);
}

