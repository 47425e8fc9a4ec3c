// The operator's view of the installation's health (GET /api/v1/operations, outside any
// workspace): each plugin's calls, errors and latency as this node counted them since it
// started, and each workspace's messages per day over the last 30 days; each table also as CSV.

import { api } from "../api.js";
import { barChart, csvLink, dayChart, offsetName, periodQuery } from "../charts.js";
import { el, show } from "../dom.js";
import { formatDate, formatMilliseconds, formatNumber, t } from "../i18n.js";
import { pluginById } from "../state.js";

const DAYS = 30;
// The installation's figures: never one workspace's (no X-Workspace).
const outside = { workspace: "" };

export async function operationsPage() {
  const query = periodQuery(DAYS);
  const operations = await api("GET", `/operations?${query}`, undefined, undefined, outside);
  const { days, plugins, workspaces } = operations;
  const today = days[days.length - 1] || "";
  const since = formatDate(Date.parse(operations.since));
  const csv = (name, what) => csvLink(name, `/operations/${name}.csv?${query}`, `operations-${name}-${today}.csv`, what, outside);

  // Plugins: calls and errors side by side; the median and 95th percentile of a call's time
  // (none for a plugin not called).
  const called = plugins.some((p) => p.calls > 0);
  const categories = plugins.map((p) => ({ key: p.plugin, name: (pluginById(p.plugin) || { name: p.plugin }).name }));
  const pluginSection = el("section", { id: "operations-plugins", "aria-labelledby": "operations-plugins-title" },
    el("h2", { id: "operations-plugins-title", text: t("operations.plugins") }),
    called ? [
      el("p", { class: "muted", id: "operations-since", text: t("operations.since", { since }) }),
      barChart({
        name: "plugin-calls", label: t("operations.calls_and_errors"), categories, categoryLabel: t("operations.plugin"), valueLabel: t("operations.calls"),
        series: [
          { key: "calls", name: t("operations.calls"), values: plugins.map((p) => p.calls) },
          { key: "errors", name: t("operations.errors"), values: plugins.map((p) => p.errors) },
        ],
      }),
      barChart({
        name: "plugin-latency", label: t("operations.latency"), categories, categoryLabel: t("operations.plugin"), valueLabel: t("operations.latency_axis"),
        series: [
          { key: "median_ms", name: t("operations.median"), values: plugins.map((p) => p.median_ms) },
          { key: "p95_ms", name: t("operations.p95"), values: plugins.map((p) => p.p95_ms) },
        ],
        format: formatMilliseconds, whole: false,
      }),
    ] : el("p", { class: "muted empty", id: "no-plugin-calls", text: t("operations.no_calls", { since }) }),
    csv("plugins", t("operations.plugins_csv")));

  // Workspaces: received and sent a day, a colour a workspace (the same in both charts).
  const series = (field) => workspaces.map((w) => ({ key: String(w.id), name: w.name, note: `#${w.id}`, values: w[field] }));
  const moved = workspaces.some((w) => w.received.some(Boolean) || w.sent.some(Boolean));
  const workspaceSection = el("section", { id: "operations-workspaces", "aria-labelledby": "operations-workspaces-title" },
    el("h2", { id: "operations-workspaces-title", text: t("operations.workspaces") }),
    moved
      ? [dayChart({ name: "workspace-received", label: t("operations.received_per_day"), days, series: series("received"), valueLabel: t("activity.messages") }),
        dayChart({ name: "workspace-sent", label: t("operations.sent_per_day"), days, series: series("sent"), valueLabel: t("activity.messages") })]
      : el("p", { class: "muted empty", id: "no-workspace-messages", text: t("operations.no_messages", { days: formatNumber(DAYS) }) }),
    csv("workspaces", t("operations.workspaces_csv")));

  show(el("h1", { text: t("operations.title") }),
    el("p", { class: "muted", id: "operations-period", text: t("operations.intro", { days: formatNumber(DAYS), zone: offsetName(operations.utc_offset) }) }),
    pluginSection, workspaceSection);
}
