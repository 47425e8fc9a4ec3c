// Event webhooks: a workspace's CRMs, ticketing and bots hear what happens in the inbox.

import { api } from "../api.js";
import { confirmDialog, copyButton, el, notice, show, tableHead, wideTable } from "../dom.js";
import { fieldRow, showErrors } from "../forms.js";
import { formatDate, formatNumber, t } from "../i18n.js";

// The events an endpoint may hear, each with its words (the code stays beside them: it is
// what the receiver reads).
const EVENT_LABELS = {
  "message.received": "events.message_received",
  "message.sent": "events.message_sent",
  "message.delivered": "events.message_delivered",
  "message.read": "events.message_read",
  "message.failed": "events.message_failed",
  "choice.made": "events.choice_made",
  "conversation.created": "events.conversation_created",
  "conversation.assigned": "events.conversation_assigned",
  "conversation.resolved": "events.conversation_resolved",
  "conversation.reopened": "events.conversation_reopened",
  "channel.connected": "events.channel_connected",
  "channel.needs_reconnect": "events.channel_needs_reconnect",
  "channel.disconnected": "events.channel_disconnected",
};
export const WEBHOOK_EVENTS = Object.keys(EVENT_LABELS);

// A delivery's state, by the API's word.
const DELIVERY_STATES = { pending: "deliveries.state_pending", delivered: "deliveries.state_delivered", failed: "deliveries.state_failed" };
const deliveryState = (state) => (DELIVERY_STATES[state] ? t(DELIVERY_STATES[state]) : state);

export async function webhooksPage() {
  const [endpoints, channels] = await Promise.all([api("GET", "/webhook-endpoints"), api("GET", "/channels")]);
  const result = el("div", { id: "webhook-result", role: "status" });
  const failed = (error) => result.replaceChildren(notice(error.message, "bad"));
  // Shown on the page drawn again after the change (not this one's, which it replaced).
  const secretShown = (text, secret) => {
    document.getElementById("webhook-result").replaceChildren(notice(text, "ok"),
      el("p", { "data-setup": "webhook_secret" }, el("code", { text: secret }), " ", copyButton(secret)));
  };
  const row = (endpoint) => el("tr", { "data-endpoint": endpoint.id },
    el("td", {}, el("a", { href: `#/webhooks/${endpoint.id}`, text: endpoint.url }), endpoint.description ? el("div", { class: "muted", text: endpoint.description }) : null),
    el("td", { text: endpoint.events.length === WEBHOOK_EVENTS.length ? t("webhooks.all_events") : endpoint.events.join(", ") }),
    el("td", { text: endpoint.bot_channels.map((id) => (channels.find((c) => c.id === id) || { name: id }).name).join(", ") || "—" }),
    el("td", {}, endpoint.enabled ? el("span", { class: "badge", text: t("webhooks.on") })
      : el("span", { class: "badge bad", title: endpoint.disabled_reason || "", text: t("webhooks.off") }), endpoint.disabled_reason ? el("div", { class: "muted", text: endpoint.disabled_reason }) : null),
    el("td", {},
      el("button", { type: "button", class: "secondary", text: t("webhooks.send_test"), onclick: async () => {
        try {
          const attempt = await api("POST", `/webhook-endpoints/${endpoint.id}/ping`, {});
          result.replaceChildren(notice(attempt.status
            ? t("webhooks.test_answered", { status: attempt.status, ms: formatNumber(attempt.latency_ms) })
            : t("webhooks.test_no_answer", { reason: attempt.response }), attempt.status >= 200 && attempt.status < 300 ? "ok" : "bad"));
        } catch (error) { failed(error); }
      } }), " ",
      el("button", { type: "button", class: "secondary", text: endpoint.enabled ? t("webhooks.turn_off") : t("webhooks.turn_on"), onclick: async () => {
        try { await api("PATCH", `/webhook-endpoints/${endpoint.id}`, { enabled: !endpoint.enabled }); await webhooksPage(); } catch (error) { failed(error); }
      } }), " ",
      el("button", { type: "button", class: "secondary", text: t("webhooks.new_secret"), onclick: async () => {
        try {
          const rotated = await api("POST", `/webhook-endpoints/${endpoint.id}/secret`, {});
          await webhooksPage();
          secretShown(t("webhooks.secret_rotated"), rotated.secret);
        } catch (error) { failed(error); }
      } }), " ",
      el("button", { type: "button", class: "secondary", text: t("common.delete"), onclick: async () => {
        if (!(await confirmDialog(t("webhooks.delete_confirm", { url: endpoint.url }), t("common.delete")))) return;
        try { await api("DELETE", `/webhook-endpoints/${endpoint.id}`); await webhooksPage(); } catch (error) { failed(error); }
      } })));
  const form = el("form", { class: "stack", id: "add-endpoint", novalidate: true },
    el("h2", { text: t("webhooks.add_title") }),
    fieldRow({ key: "url", label: t("webhooks.url"), kind: "url", required: true }, ""),
    fieldRow({ key: "description", label: t("webhooks.description"), kind: "text" }, ""),
    el("fieldset", { class: "field", "data-field": "events" },
      el("legend", { text: t("webhooks.events") }),
      el("label", {}, el("input", { type: "checkbox", name: "all-events", id: "f-all-events" }), " ", t("webhooks.all_events_choice")),
      WEBHOOK_EVENTS.map((event) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "events", value: event }), " ", t(EVENT_LABELS[event]), " ", el("code", { text: event }))),
      el("div", { class: "error", "data-error-for": "events" })),
    channels.length ? el("fieldset", { class: "field", "data-field": "bot_channels" },
      el("legend", { text: t("webhooks.bot_channels") }),
      el("div", { class: "help", text: t("webhooks.bot_channels_help") }),
      channels.map((c) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "bot_channels", value: c.id }), ` ${c.name}`)),
      el("div", { class: "error", "data-error-for": "bot_channels" })) : null,
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: t("common.add") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const checked = (name) => [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
    const body = {
      url: form.elements.url.value.trim(),
      description: form.elements.description.value.trim(),
      events: form.elements["all-events"].checked ? ["*"] : checked("events"),
      bot_channels: checked("bot_channels"),
    };
    try {
      const made = await api("POST", "/webhook-endpoints", body);
      await webhooksPage();
      secretShown(t("webhooks.added_secret"), made.secret);
    } catch (error) {
      showErrors(form, error);
    }
  });
  show(el("h1", { text: t("webhooks.title") }),
    el("p", { class: "muted", text: t("webhooks.intro") }),
    endpoints.length
      ? wideTable(el("table", { id: "endpoints" }, tableHead([t("webhooks.endpoint"), t("webhooks.events"), t("webhooks.bot_of"), t("webhooks.status"), ""]),
        el("tbody", {}, endpoints.map(row))))
      : el("p", { class: "muted empty", id: "no-endpoints", text: t("webhooks.empty") }),
    result, form);
}

// One endpoint's deliveries, newest first, each with its attempts; a finished one can go again.
export async function webhookDeliveriesPage(id) {
  const [endpoint, deliveries] = await Promise.all([api("GET", `/webhook-endpoints/${id}`), api("GET", `/webhook-endpoints/${id}/deliveries?limit=100`)]);
  const result = el("div", { id: "delivery-result", role: "status" });
  const attempts = (delivery) => delivery.attempts.map((a) => el("div", { class: "muted" },
    a.status
      ? t("deliveries.attempt_answered", { when: formatDate(a.at), status: a.status, ms: formatNumber(a.latency_ms) })
      : t("deliveries.attempt_no_answer", { when: formatDate(a.at), ms: formatNumber(a.latency_ms) }),
    a.response ? ` — ${a.response.slice(0, 200)}` : ""));
  const row = (delivery) => el("tr", { "data-delivery": delivery.id },
    el("td", {}, el("code", { text: delivery.event_type }), el("div", { class: "muted", text: delivery.event_id })),
    el("td", {}, el("span", { class: delivery.state === "failed" ? "badge bad" : "badge", "data-state": delivery.state, text: deliveryState(delivery.state) }),
      delivery.next_attempt_at ? el("div", { class: "muted", text: t("deliveries.next_try", { when: formatDate(delivery.next_attempt_at) }) }) : null),
    el("td", {}, attempts(delivery)),
    el("td", {}, delivery.state === "pending" ? null : el("button", { type: "button", class: "secondary", text: t("deliveries.send_again"), onclick: async () => {
      try { await api("POST", `/webhook-endpoints/${id}/redeliver`, { delivery_id: delivery.id }); result.replaceChildren(notice(t("deliveries.queued_again"), "ok")); }
      catch (error) { result.replaceChildren(notice(error.message, "bad")); }
    } })));
  show(el("h1", { text: endpoint.url }),
    endpoint.enabled ? null : notice(t("deliveries.endpoint_off", { reason: endpoint.disabled_reason || t("deliveries.turned_off_by_admin") }), "bad"),
    result,
    deliveries.length
      ? wideTable(el("table", { id: "deliveries" }, tableHead([t("deliveries.event"), t("deliveries.state"), t("deliveries.attempts"), ""]),
        el("tbody", {}, deliveries.map(row))))
      : el("p", { class: "muted empty", id: "no-deliveries", text: t("deliveries.empty") }),
    el("p", {}, el("a", { class: "button secondary", href: "#/webhooks", text: t("common.back") })));
}
