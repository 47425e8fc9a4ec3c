// The operator's console: workspaces (create, rename, suspend, switch to one).

import { api } from "../api.js";
import { el, notice, show, wideTable } from "../dom.js";
import { fieldRow } from "../forms.js";
import { state } from "../state.js";

export async function workspacesPage() {
  const workspaces = await api("GET", "/workspaces");
  const status = el("div");
  const act = async (fn) => { try { await fn(); await workspacesPage(); } catch (error) { status.replaceChildren(notice(error.message, "bad")); } };
  const create = el("form", { class: "stack", id: "new-workspace", novalidate: true },
    el("h2", { text: "New workspace" }),
    fieldRow({ key: "workspace_name", label: "Business name", kind: "text", required: true }, ""),
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: "Create" }));
  create.addEventListener("submit", (event) => {
    event.preventDefault();
    act(() => api("POST", "/workspaces", { name: create.elements.workspace_name.value.trim() })).catch(() => {});
  });
  const current = (w) => String(w.id) === state.workspace;
  show(el("h1", { text: "Workspaces" }),
    notice(state.workspace ? `Working in workspace ${state.workspace}.` : "Not in a workspace: pages show every workspace, read-only."),
    wideTable(el("table", {}, el("thead", {}, el("tr", {}, ["Workspace", "Channels", "Status", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, workspaces.map((w) => el("tr", { "data-workspace": w.name },
        el("td", {}, el("strong", { text: w.name }), el("div", { class: "muted", text: `#${w.id}` })),
        el("td", { text: String(w.channels) }),
        el("td", { text: w.status }),
        el("td", {},
          el("button", { type: "button", class: current(w) ? "" : "secondary", text: current(w) ? "Current" : "Switch to",
            onclick: () => { state.workspace = String(w.id); localStorage.setItem("switchboard.workspace", state.workspace); location.hash = "#/integrations"; } }), " ",
          el("button", { type: "button", class: "secondary", text: w.status === "suspended" ? "Resume" : "Suspend",
            onclick: () => act(() => api("PATCH", `/workspaces/${w.id}`, { status: w.status === "suspended" ? "active" : "suspended" })) }))))))),
    status, create);
}
