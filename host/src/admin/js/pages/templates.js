// A channel's message templates (WhatsApp's HSM templates).

import { api } from "../api.js";
import { el, notice, show, tableHead, wideTable } from "../dom.js";
import { fieldRow, formValues, showErrors } from "../forms.js";
import { t } from "../i18n.js";
import { isAdmin } from "../state.js";

export async function templatesPage(id) {
  const [channel, templates] = await Promise.all([api("GET", `/channels/${id}`), api("GET", `/channels/${id}/templates`)]);
  const status = el("div", { id: "template-status" });
  const rows = templates.map((template) => el("tr", { "data-template": template.name },
    el("td", { text: template.name }), el("td", { text: template.language }), el("td", { text: template.category }),
    el("td", { text: template.body }), el("td", { text: template.status }),
    el("td", {}, el("label", { class: "switch" },
      el("input", { type: "checkbox", checked: template.enabled, disabled: !isAdmin(), onchange: async (event) => {
        try {
          const answer = await api("PATCH", `/channels/${id}/templates/${encodeURIComponent(template.name)}`, { enabled: event.target.checked });
          status.replaceChildren(notice((answer && answer.message) || t("common.updated"), "ok"));
        } catch (error) {
          event.target.checked = !event.target.checked;
          status.replaceChildren(notice(error.message, "bad"));
        }
      } }), el("span", { text: t("templates.on_off") }))),
    el("td", {}, isAdmin() ? el("button", { class: "secondary", type: "button", text: t("common.delete"), onclick: async () => {
      try { await api("DELETE", `/channels/${id}/templates/${encodeURIComponent(template.name)}`); templatesPage(id); }
      catch (error) { status.replaceChildren(notice(error.message, "bad")); }
    } }) : null)));
  const schema = [
    { key: "name", label: t("templates.name"), kind: "text", required: true, help: t("templates.name_help") },
    { key: "language", label: t("templates.language"), kind: "text", required: true, default: "id" },
    { key: "category", label: t("templates.category"), kind: "select", required: true, options: ["UTILITY", "MARKETING", "AUTHENTICATION"].map((v) => ({ value: v, label: v })) },
    { key: "body", label: t("templates.body"), kind: "textarea", required: true, help: t("templates.body_help") },
  ];
  const form = el("form", { class: "stack", id: "add-template", novalidate: true },
    el("h2", { text: t("templates.add_title") }), schema.map((f) => fieldRow(f, f.default || "")),
    el("div", { class: "error form-error" }), el("button", { type: "submit", text: t("templates.next") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/channels/${id}/templates`, formValues(form, schema));
      templatesPage(id);
    } catch (error) {
      showErrors(form, error);
    }
  });
  show(el("h1", { text: t("templates.title", { name: channel.name }) }), status,
    templates.length
      ? wideTable(el("table", { id: "templates" }, tableHead([t("templates.name_column"), t("templates.language"), t("templates.category"), t("templates.body"), t("templates.status"), t("templates.enabled"), ""]),
        el("tbody", {}, rows)))
      : el("p", { class: "muted empty", id: "no-templates", text: t("templates.empty") }),
    isAdmin() ? form : null);
}
