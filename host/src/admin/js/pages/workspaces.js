// The operator's console: workspaces (create, rename, suspend or resume, delete, switch to one).

import { api } from "../api.js";
import { el, notice, show, tableHead, wideTable } from "../dom.js";
import { fieldRow, showErrors } from "../forms.js";
import { formatNumber, t } from "../i18n.js";
import { state } from "../state.js";

// A workspace's status, by the API's word.
const WORKSPACE_STATUS = { active: "workspaces.status_active", suspended: "workspaces.status_suspended" };
const workspaceStatus = (status) => (WORKSPACE_STATUS[status] ? t(WORKSPACE_STATUS[status]) : status);

export async function workspacesPage(said) {
  const workspaces = await api("GET", "/workspaces");
  const status = el("div", { id: "workspace-result", role: "status" });
  const act = async (fn, done) => {
    try { await fn(); await workspacesPage(done); } catch (error) { status.replaceChildren(notice(error.message, "bad")); }
  };
  const create = el("form", { class: "stack", id: "new-workspace", novalidate: true },
    el("h2", { text: t("workspaces.new_title") }),
    fieldRow({ key: "workspace_name", label: t("workspaces.business_name"), kind: "text", required: true }, ""),
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: t("workspaces.create") }));
  create.addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => api("POST", "/workspaces", { name: create.elements.workspace_name.value.trim() })).catch(() => {});
  });
  const current = (w) => String(w.id) === state.workspace;
  const row = (w) => {
    const nameCell = el("td", { class: "workspace-name" }, el("strong", { text: w.name }), el("div", { class: "muted", text: `#${w.id}` }));
    return el("tr", { "data-workspace": w.name, "data-workspace-id": w.id },
      nameCell,
      el("td", { text: formatNumber(w.channels) }),
      el("td", { text: workspaceStatus(w.status) }),
      el("td", { class: "actions" },
        el("button", { type: "button", class: current(w) ? "" : "secondary", text: current(w) ? t("workspaces.current") : t("workspaces.switch_to"),
          onclick: () => { state.workspace = String(w.id); localStorage.setItem("switchboard.workspace", state.workspace); location.hash = "#/integrations"; } }), " ",
        el("button", { type: "button", class: "secondary", "data-action": "rename", text: t("workspaces.rename"),
          onclick: () => nameCell.replaceChildren(renameForm(w)) }), " ",
        el("button", { type: "button", class: "secondary", "data-action": "status", text: w.status === "suspended" ? t("workspaces.resume") : t("workspaces.suspend"),
          onclick: () => act(() => api("PATCH", `/workspaces/${w.id}`, { status: w.status === "suspended" ? "active" : "suspended" }),
            t(w.status === "suspended" ? "workspaces.resumed" : "workspaces.suspended", { name: w.name })) }), " ",
        el("button", { type: "button", class: "danger", "data-action": "delete", text: t("common.delete"), onclick: (event) => deleteDialog(w, event.target) })));
  };
  show(el("h1", { text: t("workspaces.title") }),
    notice(state.workspace ? t("workspaces.working_in", { id: state.workspace }) : t("workspaces.not_in_one")),
    said ? notice(said, "ok") : null,
    !workspaces.length ? el("p", { class: "muted empty", id: "no-workspaces", text: t("workspaces.empty") }) : wideTable(el("table", { id: "workspaces" }, tableHead([t("workspaces.workspace"), t("workspaces.channels"), t("workspaces.status"), ""]),
      el("tbody", {}, workspaces.map(row)))),
    status, create);
}

// Renaming in place: the name becomes a small form (the API's problem shows beside the box).
function renameForm(workspace) {
  const form = el("form", { class: "rename", id: `rename-${workspace.id}`, novalidate: true },
    el("label", { for: "f-rename", class: "visually-hidden", text: t("workspaces.new_name_for", { name: workspace.name }) }),
    el("div", { class: "row" },
      el("input", { id: "f-rename", name: "name", type: "text", value: workspace.name, required: true, autocomplete: "off" }),
      el("button", { type: "submit", text: t("common.save") }),
      el("button", { type: "button", class: "secondary", text: t("common.cancel"), onclick: () => workspacesPage() })),
    el("div", { class: "error", "data-error-for": "name" }),
    el("div", { class: "error form-error" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = form.elements.name.value.trim();
    try {
      await api("PATCH", `/workspaces/${workspace.id}`, { name });
      await workspacesPage(t("workspaces.renamed", { old: workspace.name, name }));
    } catch (error) {
      showErrors(form, error);
    }
  });
  queueMicrotask(() => { form.elements.name.focus(); form.elements.name.select(); });
  return form;
}

// Deleting takes everything in the workspace: the name must be typed again (the API checks it
// and says what is wrong beside the box).
function deleteDialog(workspace, opener) {
  const dialog = el("dialog", { id: "delete-workspace", "aria-labelledby": "delete-workspace-title" });
  const form = el("form", { class: "stack", novalidate: true },
    el("h2", { id: "delete-workspace-title", text: t("workspaces.delete_title", { name: workspace.name }) }),
    el("p", { text: t("workspaces.delete_warning", { count: formatNumber(workspace.channels) }) }),
    el("div", { class: "field", "data-field": "confirm" },
      el("label", { for: "f-confirm", text: t("workspaces.delete_type_name", { name: workspace.name }) }),
      el("input", { id: "f-confirm", name: "confirm", type: "text", autocomplete: "off", spellcheck: "false" }),
      el("div", { class: "error", "data-error-for": "confirm" })),
    el("div", { class: "error form-error" }),
    el("menu", {},
      el("button", { type: "button", class: "secondary", id: "delete-workspace-cancel", text: t("common.cancel"), onclick: () => dialog.close() }),
      el("button", { type: "submit", class: "danger", id: "delete-workspace-ok", text: t("workspaces.delete_confirm") })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("DELETE", `/workspaces/${workspace.id}?confirm=${encodeURIComponent(form.elements.confirm.value)}`);
      if (state.workspace === String(workspace.id)) { state.workspace = ""; localStorage.removeItem("switchboard.workspace"); }
      dialog.close();
      await workspacesPage(t("workspaces.deleted", { name: workspace.name }));
    } catch (error) {
      showErrors(form, error);
    }
  });
  dialog.append(form);
  dialog.addEventListener("close", () => { dialog.remove(); if (opener.isConnected) opener.focus(); });
  document.body.append(dialog);
  dialog.showModal();
  form.elements.confirm.focus();
}
