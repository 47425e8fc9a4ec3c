// The audit log: who did what, when, from where (GET /api/v1/audit), newest first. A
// workspace's admin reads their workspace's; the operator everyone's, or one workspace's
// (the API filters by the X-Workspace header). "Older" pages back with `before` (an entry id).

import { api } from "../api.js";
import { el, notice, show, tableHead, wideTable } from "../dom.js";
import { formatDate, t } from "../i18n.js";
import { isOperator } from "../state.js";

// What each recorded action is called; the code stays beside it (what scripts filter on).
const AUDIT_ACTIONS = {
  "channel.connect": "audit.action_channel_connect",
  "channel.reconnect": "audit.action_channel_reconnect",
  "channel.change": "audit.action_channel_change",
  "channel.disconnect": "audit.action_channel_disconnect",
  "conversation.handed_over": "audit.action_conversation_handed_over",
  "person.invite": "audit.action_person_invite",
  "person.change": "audit.action_person_change",
  "person.reset_password": "audit.action_person_reset_password",
  "plugin.install": "audit.action_plugin_install",
  "plugin.upload_for_review": "audit.action_plugin_upload_for_review",
  "plugin.approve": "audit.action_plugin_approve",
  "plugin.reject": "audit.action_plugin_reject",
  "plugin.remove": "audit.action_plugin_remove",
  "provider_app.set": "audit.action_provider_app_set",
  "provider_app.remove": "audit.action_provider_app_remove",
  "secrets.rotate": "audit.action_secrets_rotate",
  "session.sign_in": "audit.action_session_sign_in",
  "session.sign_in_failed": "audit.action_session_sign_in_failed",
  "template.create": "audit.action_template_create",
  "template.delete": "audit.action_template_delete",
  "template.enable": "audit.action_template_enable",
  "template.disable": "audit.action_template_disable",
  "token.create": "audit.action_token_create",
  "token.revoke": "audit.action_token_revoke",
  "webhook_endpoint.create": "audit.action_webhook_endpoint_create",
  "webhook_endpoint.update": "audit.action_webhook_endpoint_update",
  "webhook_endpoint.delete": "audit.action_webhook_endpoint_delete",
  "webhook_endpoint.redeliver": "audit.action_webhook_endpoint_redeliver",
  "webhook_endpoint.rotate_secret": "audit.action_webhook_endpoint_rotate_secret",
  "workspace.create": "audit.action_workspace_create",
  "workspace.rename": "audit.action_workspace_rename",
  "workspace.suspend": "audit.action_workspace_suspend",
  "workspace.resume": "audit.action_workspace_resume",
  "workspace.delete": "audit.action_workspace_delete",
};
const PAGE_SIZES = [50, 100, 500];

// The filters stay while the person pages and comes back to the page.
const filters = { workspace: "", limit: 100 };

export async function auditPage() {
  const workspaces = isOperator() ? await api("GET", "/workspaces").catch(() => []) : [];
  const form = el("form", { class: "row filters", id: "audit-filters", role: "search", "aria-label": t("audit.filters") },
    isOperator() ? el("div", { class: "field" },
      el("label", { for: "audit-workspace", text: t("audit.workspace") }),
      el("select", { id: "audit-workspace", name: "workspace" },
        el("option", { value: "", text: t("audit.all_workspaces"), selected: filters.workspace === "" }),
        workspaces.map((w) => el("option", { value: String(w.id), text: `${w.name} (#${w.id})`, selected: filters.workspace === String(w.id) })))) : null,
    el("div", { class: "field" },
      el("label", { for: "audit-limit", text: t("audit.page_size") }),
      el("select", { id: "audit-limit", name: "limit" }, PAGE_SIZES.map((n) => el("option", { value: String(n), text: String(n), selected: n === filters.limit })))),
    el("button", { type: "submit", text: t("audit.apply") }));
  const body = el("tbody");
  const table = wideTable(el("table", { id: "audit" }, tableHead([t("audit.time"), t("audit.who"), t("audit.action"), t("audit.target"), t("audit.from")]), body));
  const status = el("div", { id: "audit-status", role: "status" });
  const older = el("button", { type: "button", class: "secondary", id: "audit-older", text: t("audit.older"), hidden: true });
  const empty = el("p", { class: "muted empty", id: "no-audit", text: t("audit.empty"), hidden: true });
  let oldest = null;

  const row = (entry) => el("tr", { "data-audit": entry.id, "data-action": entry.action },
    el("td", {}, el("time", { datetime: new Date(entry.at).toISOString(), text: formatDate(entry.at) })),
    el("td", { text: entry.actor }),
    el("td", {}, AUDIT_ACTIONS[entry.action] ? t(AUDIT_ACTIONS[entry.action]) : "", el("div", {}, el("code", { text: entry.action }))),
    el("td", {}, entry.target || "—", entry.workspace_id != null && isOperator() ? el("div", { class: "muted", text: t("audit.in_workspace", { id: entry.workspace_id }) }) : null),
    el("td", { text: entry.address || "—" }));

  // One page: the newest (`before` none) or the one older than what is shown.
  async function load(before) {
    const query = new URLSearchParams({ limit: String(filters.limit) });
    if (before) query.set("before", String(before));
    // The operator's choice here, not the workspace it works in: "" reads every workspace.
    const options = isOperator() ? { workspace: filters.workspace } : {};
    let entries;
    try { entries = await api("GET", `/audit?${query}`, undefined, undefined, options); }
    catch (error) { status.replaceChildren(notice(error.message, "bad")); return; }
    status.replaceChildren();
    if (!before) body.replaceChildren();
    body.append(...entries.map(row));
    if (entries.length) oldest = entries[entries.length - 1].id;
    older.hidden = entries.length < filters.limit;
    empty.hidden = body.children.length > 0;
    table.hidden = body.children.length === 0;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (form.elements.workspace) filters.workspace = form.elements.workspace.value;
    filters.limit = Number(form.elements.limit.value);
    load(null);
  });
  older.addEventListener("click", () => load(oldest));
  show(el("h1", { text: t("audit.title") }),
    el("p", { class: "muted", text: isOperator() ? t("audit.intro_operator") : t("audit.intro_admin") }),
    form, status, empty, table, el("p", {}, older));
  await load(null);
}
