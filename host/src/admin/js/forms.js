// Settings forms drawn from a plugin's schema, and their errors. Labels, help and guides come
// from the plugin (its own words); the host's own words go through t().

import { el, errorDialog } from "./dom.js";
import { t } from "./i18n.js";

export function input(field, value, disabled) {
  const common = { id: `f-${field.key}`, name: field.key, disabled };
  switch (field.kind) {
    case "textarea":
      return el("textarea", { ...common, rows: 4 }, value || "");
    case "select":
      return el("select", common, el("option", { value: "", text: "—" }),
        field.options.map((o) => el("option", { value: o.value, text: o.label, selected: o.value === (value || field.default) })));
    case "boolean":
      return el("select", common, ["true", "false"].map((v) => el("option", { value: v, text: v === "true" ? t("forms.on") : t("forms.off"), selected: v === (value || field.default || "false") })));
    default: {
      const type = { secret: "password", url: "url", email: "email", number: "number" }[field.kind] || "text";
      const box = el("input", { ...common, type, value: value || "", placeholder: field.default || "", autocomplete: field.secret ? "new-password" : "off" });
      return field.widget === "color" ? colorPicker(field, box, disabled) : box;
    }
  }
}

// A colour setting: the text box (#rrggbb, what is saved) with a picker beside it, kept in step.
export function colorPicker(field, box, disabled) {
  const hex = (v) => (/^#[0-9a-fA-F]{6}$/.test(v) ? v.toLowerCase() : null);
  const picker = el("input", { type: "color", id: `f-${field.key}-picker`, "aria-label": t("forms.pick_colour", { field: field.label }), disabled,
    value: hex(box.value) || hex(field.default || "") || "#000000" });
  picker.addEventListener("input", () => { box.value = picker.value; box.dispatchEvent(new Event("input", { bubbles: true })); });
  box.addEventListener("input", () => { if (hex(box.value)) picker.value = hex(box.value); });
  return el("div", { class: "row color-field" }, box, picker);
}

// Beside a connect form: who may connect and use the channel (the host's roles), then the
// plugin's own steps. Everything is text nodes; only https links are made clickable.
export function guidePanel(plugin) {
  const inline = (parts) => parts.map((part) => {
    if (part.type === "strong") return el("strong", { text: part.text });
    if (part.type === "code") return el("code", { text: part.text });
    if (part.type === "link" && /^https:\/\//.test(part.url)) return el("a", { href: part.url, target: "_blank", rel: "noopener noreferrer", text: part.text });
    return document.createTextNode(part.type === "link" ? `${part.text} (${part.url})` : part.text);
  });
  const block = (b) => {
    if (b.type === "steps") return el("ol", {}, b.steps.map((step) => el("li", {}, inline(step))));
    if (b.type === "note") return el("p", { class: "notice" }, inline(b.line));
    return el("p", {}, inline(b.line));
  };
  const sections = (plugin.guide && plugin.guide.sections) || [];
  return el("aside", { class: "guide", id: "guide", "aria-label": t("guide.label", { plugin: plugin.name }) },
    el("p", { class: "who", text: t("guide.who", { plugin: plugin.name }) }),
    sections.map((section) => el("section", {}, el("h2", { text: section.title }), section.blocks.map(block))));
}

export function fieldRow(field, value, { disabled = false, note = "" } = {}) {
  return el("div", { class: "field", "data-field": field.key },
    el("label", { for: `f-${field.key}` }, field.label, field.required ? el("span", { class: "required", title: t("forms.required"), text: " *" }) : null),
    input(field, value, disabled),
    field.help ? el("div", { class: "help", text: field.help }) : null,
    note ? el("div", { class: "help", text: note }) : null,
    el("div", { class: "error", "data-error-for": field.key }));
}

export function showErrors(form, error) {
  form.querySelectorAll("[data-error-for]").forEach((node) => { node.textContent = ""; });
  const general = form.querySelector(".form-error");
  general.textContent = "";
  const fields = (error.body && error.body.fields) || {};
  let placed = false;
  for (const [key, problem] of Object.entries(fields)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(key)}"]`);
    if (slot) { slot.textContent = problem; placed = true; }
  }
  if (!placed || error.body.error !== "invalid_fields") general.textContent = error.message;
}

// An answer to a connect or a settings change: problems with fields beside their fields (as
// showErrors), anything else (the provider refused, could not be reached …) in the Error
// dialog, focus back on `button` once read.
export function showRefusal(form, error, button) {
  if (error.body && error.body.error === "invalid_fields") return showErrors(form, error);
  if (error.status === 401) return; // signed out already: the Login page says why
  form.querySelectorAll("[data-error-for], .form-error").forEach((node) => { node.textContent = ""; });
  errorDialog(error.message, button);
}

export function formValues(form, schema) {
  const settings = {};
  for (const field of schema) {
    const control = form.elements[field.key];
    if (!control || control.disabled) continue;
    if (control.value.trim() !== "") settings[field.key] = control.value.trim();
  }
  return settings;
}
