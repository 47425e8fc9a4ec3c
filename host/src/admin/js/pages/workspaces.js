// The operator's console: workspaces (create, rename, suspend, switch to one).

import { api } from "../api.js";
import { el, notice, show, tableHead, wideTable } from "../dom.js";
import { fieldRow } from "../forms.js";
import { formatNumber, t } from "../i18n.js";
import { state } from "../state.js";

// A workspace's status, by the API's word.
const WORKSPACE_STATUS = { active: "workspaces.status_active", suspended: "workspaces.status_suspended" };
const workspaceStatus = (status) => (WORKSPACE_STATUS[status] ? t(WORKSPACE_STATUS[status]) : status);

export async function workspacesPage() {
  const workspaces = await api("GET", "/workspaces");
  const status = el("div");
  const act = async (fn) => { try { await fn(); await workspacesPage(); } catch (error) { status.replaceChildren(notice(error.message, "bad")); } };
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
  show(el("h1", { text: t("workspaces.title") }),
    notice(state.workspace ? t("workspaces.working_in", { id: state.workspace }) : t("workspaces.not_in_one")),
    !workspaces.length ? el("p", { class: "muted empty", id: "no-workspaces", text: t("workspaces.empty") }) : wideTable(el("table", {}, tableHead([t("workspaces.workspace"), t("workspaces.channels"), t("workspaces.status"), ""]),
      el("tbody", {}, workspaces.map((w) => el("tr", { "data-workspace": w.name },
        el("td", {}, el("strong", { text: w.name }), el("div", { class: "muted", text: `#${w.id}` })),
        el("td", { text: formatNumber(w.channels) }),
        el("td", { text: workspaceStatus(w.status) }),
        el("td", {},
          el("button", { type: "button", class: current(w) ? "" : "secondary", text: current(w) ? t("workspaces.current") : t("workspaces.switch_to"),
            onclick: () => { state.workspace = String(w.id); localStorage.setItem("switchboard.workspace", state.workspace); location.hash = "#/integrations"; } }), " ",
          el("button", { type: "button", class: "secondary", text: w.status === "suspended" ? t("workspaces.resume") : t("workspaces.suspend"),
            onclick: () => act(() => api("PATCH", `/workspaces/${w.id}`, { status: w.status === "suspended" ? "active" : "suspended" })) }))))))),
    status, create);
}
