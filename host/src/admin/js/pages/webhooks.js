// Event webhooks: a workspace's CRMs, ticketing and bots hear what happens in the inbox.

import { api } from "../api.js";
import { confirmDialog, copyButton, el, notice, show, wideTable } from "../dom.js";
import { fieldRow, showErrors } from "../forms.js";
import { when } from "../i18n.js";

export const WEBHOOK_EVENTS = ["message.received", "message.sent", "message.delivered", "message.read", "message.failed", "choice.made",
  "conversation.created", "conversation.assigned", "conversation.resolved", "conversation.reopened",
  "channel.connected", "channel.needs_reconnect", "channel.disconnected"];

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
    el("td", { text: endpoint.events.length === WEBHOOK_EVENTS.length ? "all events" : endpoint.events.join(", ") }),
    el("td", { text: endpoint.bot_channels.map((id) => (channels.find((c) => c.id === id) || { name: id }).name).join(", ") || "—" }),
    el("td", {}, endpoint.enabled ? el("span", { class: "badge", text: "on" })
      : el("span", { class: "badge bad", title: endpoint.disabled_reason || "", text: "off" }), endpoint.disabled_reason ? el("div", { class: "muted", text: endpoint.disabled_reason }) : null),
    el("td", {},
      el("button", { type: "button", class: "secondary", text: "Send test", onclick: async () => {
        try {
          const attempt = await api("POST", `/webhook-endpoints/${endpoint.id}/ping`, {});
          result.replaceChildren(notice(attempt.status ? `The endpoint answered ${attempt.status} in ${attempt.latency_ms} ms.` : `No answer: ${attempt.response}`, attempt.status >= 200 && attempt.status < 300 ? "ok" : "bad"));
        } catch (error) { failed(error); }
      } }), " ",
      el("button", { type: "button", class: "secondary", text: endpoint.enabled ? "Turn off" : "Turn on", onclick: async () => {
        try { await api("PATCH", `/webhook-endpoints/${endpoint.id}`, { enabled: !endpoint.enabled }); await webhooksPage(); } catch (error) { failed(error); }
      } }), " ",
      el("button", { type: "button", class: "secondary", text: "New secret", onclick: async () => {
        try {
          const rotated = await api("POST", `/webhook-endpoints/${endpoint.id}/secret`, {});
          await webhooksPage();
          secretShown("The new secret (shown once). Deliveries are signed with the old one too for a day:", rotated.secret);
        } catch (error) { failed(error); }
      } }), " ",
      el("button", { type: "button", class: "secondary", text: "Delete", onclick: async () => {
        if (!(await confirmDialog(`Delete the endpoint ${endpoint.url} and its delivery history?`))) return;
        try { await api("DELETE", `/webhook-endpoints/${endpoint.id}`); await webhooksPage(); } catch (error) { failed(error); }
      } })));
  const form = el("form", { class: "stack", id: "add-endpoint", novalidate: true },
    el("h2", { text: "Add an endpoint" }),
    fieldRow({ key: "url", label: "URL (https)", kind: "url", required: true }, ""),
    fieldRow({ key: "description", label: "Description", kind: "text" }, ""),
    el("fieldset", { class: "field", "data-field": "events" },
      el("legend", { text: "Events" }),
      el("label", {}, el("input", { type: "checkbox", name: "all-events", id: "f-all-events" }), " All events"),
      WEBHOOK_EVENTS.map((event) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "events", value: event }), ` ${event}`)),
      el("div", { class: "error", "data-error-for": "events" })),
    channels.length ? el("fieldset", { class: "field", "data-field": "bot_channels" },
      el("legend", { text: "Bot for these channels (optional)" }),
      el("div", { class: "help", text: "Their new conversations wait for this endpoint's bot, out of the agents' queue, until it hands them over." }),
      channels.map((c) => el("label", { class: "check" }, el("input", { type: "checkbox", name: "bot_channels", value: c.id }), ` ${c.name}`)),
      el("div", { class: "error", "data-error-for": "bot_channels" })) : null,
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: "Add" }));
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
      secretShown("Added. Give the receiver this signing secret (shown once):", made.secret);
    } catch (error) {
      showErrors(form, error);
    }
  });
  show(el("h1", { text: "Webhooks" }),
    el("p", { class: "muted", text: "Your CRM, ticketing or bot hears what happens in the inbox, signed (Standard Webhooks), retried for a day." }),
    endpoints.length
      ? wideTable(el("table", { id: "endpoints" }, el("thead", {}, el("tr", {}, ["Endpoint", "Events", "Bot of", "Status", ""].map((h) => el("th", { text: h })))),
        el("tbody", {}, endpoints.map(row))))
      : el("p", { class: "muted", text: "No endpoints yet." }),
    result, form);
}

// One endpoint's deliveries, newest first, each with its attempts; a finished one can go again.
export async function webhookDeliveriesPage(id) {
  const [endpoint, deliveries] = await Promise.all([api("GET", `/webhook-endpoints/${id}`), api("GET", `/webhook-endpoints/${id}/deliveries?limit=100`)]);
  const result = el("div", { id: "delivery-result", role: "status" });
  const attempts = (delivery) => delivery.attempts.map((a) => el("div", { class: "muted" },
    `${when(a.at)}: ${a.status ? `answered ${a.status}` : "no answer"} in ${a.latency_ms} ms`, a.response ? ` — ${a.response.slice(0, 200)}` : ""));
  const row = (delivery) => el("tr", { "data-delivery": delivery.id },
    el("td", {}, el("code", { text: delivery.event_type }), el("div", { class: "muted", text: delivery.event_id })),
    el("td", {}, el("span", { class: delivery.state === "failed" ? "badge bad" : "badge", text: delivery.state }),
      delivery.next_attempt_at ? el("div", { class: "muted", text: `next try ${when(delivery.next_attempt_at)}` }) : null),
    el("td", {}, attempts(delivery)),
    el("td", {}, delivery.state === "pending" ? null : el("button", { type: "button", class: "secondary", text: "Send again", onclick: async () => {
      try { await api("POST", `/webhook-endpoints/${id}/redeliver`, { delivery_id: delivery.id }); result.replaceChildren(notice("Queued again.", "ok")); }
      catch (error) { result.replaceChildren(notice(error.message, "bad")); }
    } })));
  show(el("h1", { text: endpoint.url }),
    endpoint.enabled ? null : notice(`Off: ${endpoint.disabled_reason || "turned off by an admin"}`, "bad"),
    result,
    deliveries.length
      ? wideTable(el("table", { id: "deliveries" }, el("thead", {}, el("tr", {}, ["Event", "State", "Attempts", ""].map((h) => el("th", { text: h })))),
        el("tbody", {}, deliveries.map(row))))
      : el("p", { class: "muted", id: "no-deliveries", text: "No deliveries yet." }),
    el("p", {}, el("a", { class: "button secondary", href: "#/webhooks", text: "Back" })));
}
