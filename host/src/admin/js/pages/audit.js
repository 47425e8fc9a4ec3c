// The audit log: who did what, when, from where (GET /api/v1/audit), newest first. A
// workspace's admin reads their workspace's; the operator everyone's, or one workspace's
// (`?workspace=`). Filters (action, who, from and to dates) apply on submit, all together, and
// stay while "Older" pages back with `before` (an entry id); "Clear filters" drops them.

import { api } from "../api.js";
import { el, notice, show, tableHead, wideTable } from "../dom.js";
import { showErrors } from "../forms.js";
import { formatDate, language, t } from "../i18n.js";
import { isOperator } from "../state.js";

// What each recorded action is called; the code stays beside it (what scripts filter on). The
// action filter offers these. Every action the host records, no other: a Rust test
// (api/audit.rs) holds this table to `store::audit::ACTIONS`.
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
  "webhook_endpoint.disabled": "audit.action_webhook_endpoint_disabled",
  "workspace.create": "audit.action_workspace_create",
  "workspace.rename": "audit.action_workspace_rename",
  "workspace.suspend": "audit.action_workspace_suspend",
  "workspace.resume": "audit.action_workspace_resume",
  "workspace.delete": "audit.action_workspace_delete",
};
const PAGE_SIZES = [50, 100, 500];

// The filters stay while the person pages and comes back to the page. `from` and `to` are
// days (YYYY-MM-DD) in the browser's time zone, both included.
const FILTERS = ["workspace", "action", "actor", "from", "to"];
const noFilters = () => Object.fromEntries(FILTERS.map((key) => [key, ""]));
const filters = { ...noFilters(), limit: 100 };
const filtered = () => FILTERS.some((key) => filters[key] !== "");

// Midnight starting `day` (YYYY-MM-DD) here, `plus` days later, as the API takes a moment.
function midnight(day, plus = 0) {
  const [year, month, date] = day.split("-").map(Number);
  return new Date(year, month - 1, date + plus).toISOString();
}

export async function auditPage() {
  const workspaces = isOperator() ? await api("GET", "/workspaces").catch(() => []) : [];
  const field = (id, label, control, key) => el("div", { class: "field" },
    el("label", { for: id, text: label }), control, key ? el("div", { class: "error", "data-error-for": key }) : null);
  const actions = Object.entries(AUDIT_ACTIONS).map(([code, key]) => [code, t(key)])
    .sort((a, b) => a[1].localeCompare(b[1], language()));
  const clear = el("button", { type: "button", class: "secondary", id: "audit-clear", text: t("audit.clear") });
  const form = el("form", { class: "row filters", id: "audit-filters", role: "search", "aria-label": t("audit.filters"), novalidate: true },
    isOperator() ? field("audit-workspace", t("audit.workspace"),
      el("select", { id: "audit-workspace", name: "workspace" },
        el("option", { value: "", text: t("audit.all_workspaces"), selected: filters.workspace === "" }),
        workspaces.map((w) => el("option", { value: String(w.id), text: `${w.name} (#${w.id})`, selected: filters.workspace === String(w.id) }))), "workspace") : null,
    field("audit-action", t("audit.action"),
      el("select", { id: "audit-action", name: "action" },
        el("option", { value: "", text: t("audit.all_actions"), selected: filters.action === "" }),
        actions.map(([code, label]) => el("option", { value: code, text: label, selected: filters.action === code }))), "action"),
    field("audit-actor", t("audit.actor_contains"),
      el("input", { id: "audit-actor", name: "actor", type: "text", value: filters.actor, autocomplete: "off", spellcheck: "false" }), "actor"),
    field("audit-from", t("audit.since"), el("input", { id: "audit-from", name: "from", type: "date", value: filters.from }), "since"),
    field("audit-to", t("audit.until"), el("input", { id: "audit-to", name: "to", type: "date", value: filters.to }), "until"),
    field("audit-limit", t("audit.page_size"),
      el("select", { id: "audit-limit", name: "limit" }, PAGE_SIZES.map((n) => el("option", { value: String(n), text: String(n), selected: n === filters.limit })))),
    el("div", { class: "row" }, el("button", { type: "submit", text: t("audit.apply") }), clear),
    el("div", { class: "error form-error", role: "alert" }));
  const body = el("tbody");
  const table = wideTable(el("table", { id: "audit" }, tableHead([t("audit.time"), t("audit.who"), t("audit.action"), t("audit.target"), t("audit.from")]), body));
  const status = el("div", { id: "audit-status", role: "status" });
  const older = el("button", { type: "button", class: "secondary", id: "audit-older", text: t("audit.older"), hidden: true });
  const empty = el("p", { class: "muted empty", id: "no-audit", hidden: true });
  let oldest = null;

  const row = (entry) => el("tr", { "data-audit": entry.id, "data-action": entry.action },
    el("td", {}, el("time", { datetime: new Date(entry.at).toISOString(), text: formatDate(entry.at) })),
    el("td", { text: entry.actor }),
    el("td", {}, AUDIT_ACTIONS[entry.action] ? t(AUDIT_ACTIONS[entry.action]) : "", el("div", {}, el("code", { text: entry.action }))),
    el("td", {}, entry.target || "—", entry.workspace_id != null && isOperator() ? el("div", { class: "muted", text: t("audit.in_workspace", { id: entry.workspace_id }) }) : null),
    el("td", { text: entry.address || "—" }));

  // One page: the newest (`before` none) or the one older than what is shown, through the
  // filters applied last.
  async function load(before) {
    const query = new URLSearchParams({ limit: String(filters.limit) });
    if (before) query.set("before", String(before));
    if (filters.action) query.set("action", filters.action);
    if (filters.actor) query.set("actor", filters.actor);
    if (filters.from) query.set("since", midnight(filters.from));
    if (filters.to) query.set("until", midnight(filters.to, 1));
    if (isOperator() && filters.workspace) query.set("workspace", filters.workspace);
    // The operator's choice here, not the workspace it works in: no X-Workspace header.
    const options = isOperator() ? { workspace: "" } : {};
    let entries;
    try { entries = await api("GET", `/audit?${query}`, undefined, undefined, options); }
    catch (error) {
      if (error.body && error.body.error === "invalid_fields") showErrors(form, error);
      else status.replaceChildren(notice(error.message, "bad"));
      return;
    }
    status.replaceChildren();
    form.querySelectorAll("[data-error-for], .form-error").forEach((node) => { node.textContent = ""; });
    if (!before) body.replaceChildren();
    body.append(...entries.map(row));
    if (entries.length) oldest = entries[entries.length - 1].id;
    older.hidden = entries.length < filters.limit;
    empty.textContent = filtered() ? t("audit.no_match") : t("audit.empty");
    empty.hidden = body.children.length > 0;
    table.hidden = body.children.length === 0;
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = (name) => (form.elements[name] ? form.elements[name].value.trim() : "");
    // Days as YYYY-MM-DD compare as text.
    if (value("from") && value("to") && value("to") < value("from")) {
      form.querySelectorAll("[data-error-for], .form-error").forEach((node) => { node.textContent = ""; });
      form.querySelector('[data-error-for="until"]').textContent = t("audit.dates_reversed");
      form.elements.to.focus();
      return;
    }
    Object.assign(filters, { workspace: value("workspace"), action: value("action"), actor: value("actor"), from: value("from"), to: value("to") });
    filters.limit = Number(form.elements.limit.value);
    load(null);
  });
  clear.addEventListener("click", () => {
    Object.assign(filters, noFilters());
    for (const name of FILTERS) if (form.elements[name]) form.elements[name].value = "";
    load(null);
  });
  older.addEventListener("click", () => load(oldest));
  show(el("h1", { text: t("audit.title") }),
    el("p", { class: "muted", text: isOperator() ? t("audit.intro_operator") : t("audit.intro_admin") }),
    form, status, empty, table, el("p", {}, older));
  await load(null);
}
