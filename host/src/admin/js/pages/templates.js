// A channel's message templates (WhatsApp's HSM templates).

import { api } from "../api.js";
import { el, notice, show, wideTable } from "../dom.js";
import { fieldRow, formValues, showErrors } from "../forms.js";
import { isAdmin } from "../state.js";

export async function templatesPage(id) {
  const [channel, templates] = await Promise.all([api("GET", `/channels/${id}`), api("GET", `/channels/${id}/templates`)]);
  const status = el("div", { id: "template-status" });
  const rows = templates.map((t) => el("tr", { "data-template": t.name },
    el("td", { text: t.name }), el("td", { text: t.language }), el("td", { text: t.category }),
    el("td", { text: t.body }), el("td", { text: t.status }),
    el("td", {}, el("label", { class: "switch" },
      el("input", { type: "checkbox", checked: t.enabled, disabled: !isAdmin(), onchange: async (event) => {
        try {
          const answer = await api("PATCH", `/channels/${id}/templates/${encodeURIComponent(t.name)}`, { enabled: event.target.checked });
          status.replaceChildren(notice((answer && answer.message) || "Successfully updated!", "ok"));
        } catch (error) {
          event.target.checked = !event.target.checked;
          status.replaceChildren(notice(error.message, "bad"));
        }
      } }), el("span", { text: "ON/OFF" }))),
    el("td", {}, isAdmin() ? el("button", { class: "secondary", type: "button", text: "Delete", onclick: async () => {
      try { await api("DELETE", `/channels/${id}/templates/${encodeURIComponent(t.name)}`); templatesPage(id); }
      catch (error) { status.replaceChildren(notice(error.message, "bad")); }
    } }) : null)));
  const schema = [
    { key: "name", label: "Template name", kind: "text", required: true, help: "Lowercase letters, digits and underscores." },
    { key: "language", label: "Language", kind: "text", required: true, default: "id" },
    { key: "category", label: "Category", kind: "select", required: true, options: ["UTILITY", "MARKETING", "AUTHENTICATION"].map((v) => ({ value: v, label: v })) },
    { key: "body", label: "Body", kind: "textarea", required: true, help: "Use {{1}}, {{2}} … for parameters." },
  ];
  const form = el("form", { class: "stack", id: "add-template", novalidate: true },
    el("h2", { text: "Add HSM Template" }), schema.map((f) => fieldRow(f, f.default || "")),
    el("div", { class: "error form-error" }), el("button", { type: "submit", text: "Next" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/channels/${id}/templates`, formValues(form, schema));
      templatesPage(id);
    } catch (error) {
      showErrors(form, error);
    }
  });
  show(el("h1", { text: `${channel.name} — 24 Hours HSM Template` }), status,
    wideTable(el("table", {}, el("thead", {}, el("tr", {}, ["Name", "Language", "Category", "Body", "Status", "Enabled", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows))),
    isAdmin() ? form : null);
}
