// A workspace's last 30 days, drawn (GET /api/v1/activity): messages received and sent per
// channel and day, delivery failures by reason, and each person's median first response and
// resolution times; each table also as CSV. Admins and supervisors read it, and the operator
// inside a workspace. Days run from the browser's midnight to midnight (utc_offset).

import { api } from "../api.js";
import { DURATION_STEPS, barChart, csvLink, dayChart, offsetName, periodQuery } from "../charts.js";
import { el, show } from "../dom.js";
import { formatNumber, formatSeconds, t } from "../i18n.js";
import { pluginById } from "../state.js";

const DAYS = 30;

export async function activityPage() {
  const query = periodQuery(DAYS);
  const activity = await api("GET", `/activity?${query}`);
  const { days, channels, failures, agents } = activity;
  const today = days[days.length - 1] || "";
  const csv = (name, what) => csvLink(name, `/activity/${name}.csv?${query}`, `activity-${name}-${today}.csv`, what);

  // Messages: received and sent, a bar a day, a colour a channel (the same in both charts).
  const series = (field) => channels.map((c) => ({ key: c.id, name: c.name, note: (pluginById(c.plugin) || { name: c.plugin }).name, values: c[field] }));
  const moved = channels.some((c) => c.received.some(Boolean) || c.sent.some(Boolean));
  const messages = el("section", { id: "activity-messages", "aria-labelledby": "activity-messages-title" },
    el("h2", { id: "activity-messages-title", text: t("activity.messages") }),
    moved
      ? [dayChart({ name: "received", label: t("activity.received_per_day"), days, series: series("received"), valueLabel: t("activity.messages") }),
        dayChart({ name: "sent", label: t("activity.sent_per_day"), days, series: series("sent"), valueLabel: t("activity.messages") })]
      : el("p", { class: "muted empty", id: "no-messages", text: t("activity.no_messages", { days: formatNumber(DAYS) }) }),
    csv("messages", t("activity.messages_csv")));

  const failed = el("section", { id: "activity-failures", "aria-labelledby": "activity-failures-title" },
    el("h2", { id: "activity-failures-title", text: t("activity.failures") }),
    failures.length
      ? barChart({
        name: "failures", label: t("activity.failures_by_reason"), categoryLabel: t("activity.reason"), valueLabel: t("activity.failed_messages"),
        categories: failures.map((f) => ({ key: f.reason, name: f.reason })),
        series: [{ key: "count", name: t("activity.failed_messages"), values: failures.map((f) => f.count) }],
      })
      : el("p", { class: "muted empty", id: "no-failures", text: t("activity.no_failures", { days: formatNumber(DAYS) }) }),
    csv("failures", t("activity.failures_csv")));

  // Response times: a row a person (or nobody: conversations resolved while unassigned), the
  // median as the bar, how many conversations it is the median of in the table.
  const person = (a) => ({ key: a.person_id == null ? "none" : String(a.person_id), name: a.name == null ? t("inbox.unassigned") : a.name });
  const timed = (field) => {
    const listed = agents.filter((a) => a[field] && a[field].conversations > 0);
    return { listed, categories: listed.map(person) };
  };
  const first = timed("first_response");
  const resolved = timed("resolution");
  const durationChart = (name, label, { listed, categories }, field) => barChart({
    name, label, categories, categoryLabel: t("activity.person"), valueLabel: t("activity.median_time"),
    series: [{ key: "median", name: t("activity.median"), values: listed.map((a) => a[field].median_seconds) }],
    columns: [{ key: "conversations", name: t("activity.conversations"), values: listed.map((a) => a[field].conversations) }],
    format: formatSeconds, steps: DURATION_STEPS, whole: false,
  });
  const times = el("section", { id: "activity-agents", "aria-labelledby": "activity-agents-title" },
    el("h2", { id: "activity-agents-title", text: t("activity.response_times") }),
    first.listed.length || resolved.listed.length ? [
      first.listed.length ? durationChart("first-response", t("activity.first_response"), first, "first_response")
        : el("p", { class: "muted empty", id: "no-first-responses", text: t("activity.no_first_responses", { days: formatNumber(DAYS) }) }),
      resolved.listed.length ? durationChart("resolution", t("activity.resolution"), resolved, "resolution")
        : el("p", { class: "muted empty", id: "no-resolutions", text: t("activity.no_resolutions", { days: formatNumber(DAYS) }) }),
    ] : el("p", { class: "muted empty", id: "no-response-times", text: t("activity.no_response_times", { days: formatNumber(DAYS) }) }),
    csv("agents", t("activity.agents_csv")));

  show(el("h1", { text: t("activity.title") }),
    el("p", { class: "muted", id: "activity-period", text: t("activity.intro", { days: formatNumber(DAYS), zone: offsetName(activity.utc_offset) }) }),
    messages, failed, times);
}
