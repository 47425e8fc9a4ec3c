// Switchboard admin pages: plain JavaScript on the public API (/api/v1), no build step.
// People sign in with a username and password (an HttpOnly session cookie; writes carry the
// session's CSRF token); machines and scripts may use an API token instead, kept in
// localStorage. Every text from the server is set with textContent.
"use strict";

const state = {
  token: localStorage.getItem("switchboard.token") || "",
  csrf: localStorage.getItem("switchboard.csrf") || "",
  role: "", person: null, plugins: [],
  // The operator's current workspace (sent as X-Workspace); none: every workspace, read-only.
  workspace: localStorage.getItem("switchboard.workspace") || "",
};
const main = document.getElementById("main");

// ---- small DOM and API helpers -------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function show(...nodes) {
  main.replaceChildren(...nodes.filter((node) => node != null));
}

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

// Who is asking: the API token, or the session cookie (with its CSRF token on writes); the
// operator's current workspace.
function authHeaders(method, path) {
  const headers = {};
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  else if (method !== "GET") headers["X-CSRF-Token"] = state.csrf;
  if (state.role === "operator" && state.workspace && !path.startsWith("/workspaces")) headers["X-Workspace"] = state.workspace;
  return headers;
}

async function api(method, path, body, contentType = "application/json") {
  const headers = authHeaders(method, path);
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = contentType;
    payload = contentType === "application/json" ? JSON.stringify(body) : body;
  }
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (response.status === 401 && path !== "/me" && path !== "/session") { signOut("Your session has ended; sign in again."); }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// The operator acts as an admin inside the workspace it switched to.
const isAdmin = () => state.role === "admin" || (state.role === "operator" && Boolean(state.workspace));
const signedIn = () => Boolean(state.token || state.csrf);
// The operator runs the installation (plugins, provider apps); a workspace's admin its channels.
const isOperator = () => state.role === "operator";
const when = (ms) => (ms ? new Date(ms).toLocaleString() : "");
const pluginById = (id) => state.plugins.find((p) => p.id === id);

function notice(text, kind = "") {
  return el("div", { class: `notice ${kind}`, role: "status", text });
}

function copyButton(value) {
  return el("button", {
    class: "secondary", type: "button", text: "Copy",
    onclick: async (event) => {
      try { await navigator.clipboard.writeText(value); event.target.textContent = "Copied"; }
      catch { event.target.textContent = "Select and copy"; }
    },
  });
}

function setupList(items) {
  if (!items || !items.length) return null;
  return el("div", { class: "setup" },
    el("h2", { text: "Setup" }),
    el("ul", { class: "plain" }, items.map((item) =>
      el("li", { "data-setup": item.key }, el("strong", { text: `${item.label}: ` }), el("code", { text: item.value }), " ",
        item.value.startsWith("http") || item.key.includes("token") || item.key.includes("url") || item.key.includes("address") ? copyButton(item.value) : null))));
}

// A table that may be wider than a phone scrolls inside its own box, not the page.
function wideTable(table) {
  return el("div", { class: "table-wrap", tabindex: "0" }, table);
}

function confirmDialog(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

// ---- settings forms drawn from a plugin's schema --------------------------------------------

function input(field, value, disabled) {
  const common = { id: `f-${field.key}`, name: field.key, disabled };
  switch (field.kind) {
    case "textarea":
      return el("textarea", { ...common, rows: 4 }, value || "");
    case "select":
      return el("select", common, el("option", { value: "", text: "—" }),
        field.options.map((o) => el("option", { value: o.value, text: o.label, selected: o.value === (value || field.default) })));
    case "boolean":
      return el("select", common, ["true", "false"].map((v) => el("option", { value: v, text: v === "true" ? "On" : "Off", selected: v === (value || field.default || "false") })));
    default: {
      const type = { secret: "password", url: "url", email: "email", number: "number" }[field.kind] || "text";
      const box = el("input", { ...common, type, value: value || "", placeholder: field.default || "", autocomplete: field.secret ? "new-password" : "off" });
      return field.widget === "color" ? colorPicker(field, box, disabled) : box;
    }
  }
}

// A colour setting: the text box (#rrggbb, what is saved) with a picker beside it, kept in step.
function colorPicker(field, box, disabled) {
  const hex = (v) => (/^#[0-9a-fA-F]{6}$/.test(v) ? v.toLowerCase() : null);
  const picker = el("input", { type: "color", id: `f-${field.key}-picker`, "aria-label": `${field.label}: pick a colour`, disabled,
    value: hex(box.value) || hex(field.default || "") || "#000000" });
  picker.addEventListener("input", () => { box.value = picker.value; box.dispatchEvent(new Event("input", { bubbles: true })); });
  box.addEventListener("input", () => { if (hex(box.value)) picker.value = hex(box.value); });
  return el("div", { class: "row color-field" }, box, picker);
}

// Beside a connect form: who may connect and use the channel (the host's roles), then the
// plugin's own steps. Everything is text nodes; only https links are made clickable.
function guidePanel(plugin) {
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
  return el("aside", { class: "guide", id: "guide", "aria-label": `How to connect ${plugin.name}` },
    el("p", { class: "who", text: `Only Admin can integrate ${plugin.name}; Admin, Supervisor and Agent use it in the Inbox.` }),
    sections.map((section) => el("section", {}, el("h2", { text: section.title }), section.blocks.map(block))));
}

function fieldRow(field, value, { disabled = false, note = "" } = {}) {
  return el("div", { class: "field", "data-field": field.key },
    el("label", { for: `f-${field.key}` }, field.label, field.required ? el("span", { class: "required", title: "required", text: " *" }) : null),
    input(field, value, disabled),
    field.help ? el("div", { class: "help", text: field.help }) : null,
    note ? el("div", { class: "help", text: note }) : null,
    el("div", { class: "error", "data-error-for": field.key }));
}

function showErrors(form, error) {
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

function formValues(form, schema) {
  const settings = {};
  for (const field of schema) {
    const control = form.elements[field.key];
    if (!control || control.disabled) continue;
    if (control.value.trim() !== "") settings[field.key] = control.value.trim();
  }
  return settings;
}

// ---- pages ----------------------------------------------------------------------------------

function signInPage(message) {
  const form = el("form", { class: "stack", id: "sign-in", novalidate: true },
    el("h1", { text: "Login" }),
    message ? notice(message, "bad") : null,
    el("div", { class: "field" },
      el("label", { for: "username", text: "Username" }),
      el("input", { id: "username", name: "username", type: "email", autocomplete: "username", required: true })),
    el("div", { class: "field" },
      el("label", { for: "password", text: "Password" }),
      el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true })),
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: "Login" }),
    el("details", { id: "with-token" }, el("summary", { text: "Use an API token instead" }),
      el("div", { class: "field" },
        el("label", { for: "token", text: "API token" }),
        el("input", { id: "token", name: "token", type: "password", autocomplete: "off" }),
        el("div", { class: "help", text: "For scripts and operators: switchboard token create --role ROLE." }))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const problem = form.querySelector(".form-error");
    const token = form.elements.token.value.trim();
    try {
      if (token) {
        state.token = token;
        await loadSession();
        localStorage.setItem("switchboard.token", state.token);
      } else {
        const session = await api("POST", "/session", { username: form.elements.username.value.trim(), password: form.elements.password.value });
        state.csrf = session.csrf_token;
        localStorage.setItem("switchboard.csrf", state.csrf);
        await loadSession();
      }
      location.hash = "#/integrations";
      route();
    } catch (error) {
      state.token = "";
      problem.textContent = error.status === 401 ? (token ? "That token is not valid." : "Wrong username or password.") : error.message;
    }
  });
  document.getElementById("nav").hidden = true;
  show(form);
}

async function loadSession() {
  const me = await api("GET", "/me");
  state.role = me.role;
  state.person = me.person;
  state.plugins = await api("GET", "/plugins");
  document.getElementById("nav").hidden = false;
  document.getElementById("role").textContent = `${me.person ? me.person.display_name + " " : ""}(${state.role})`;
  document.querySelectorAll("[data-admin]").forEach((node) => { node.hidden = !(isAdmin() || isOperator()); });
  document.querySelectorAll("[data-operator]").forEach((node) => { node.hidden = !isOperator(); });
}

function signOut(message) {
  stopInbox();
  if (!state.token && state.csrf) api("DELETE", "/session").catch(() => {});
  state.token = "";
  state.csrf = "";
  state.role = "";
  localStorage.removeItem("switchboard.token");
  localStorage.removeItem("switchboard.csrf");
  state.workspace = "";
  localStorage.removeItem("switchboard.workspace");
  signInPage(message);
}

// The page an invitation (or reset) link opens: set a password, then sign in.
async function invitationPage(token) {
  document.getElementById("nav").hidden = true;
  let who;
  try { who = await api("GET", `/invitations/${token}`); } catch (error) { return show(el("h1", { text: "Invitation" }), notice(error.message, "bad")); }
  const form = el("form", { class: "stack", id: "invitation" },
    el("h1", { text: `Welcome, ${who.display_name}` }),
    el("p", { text: `Set the password for ${who.username}.` }),
    el("div", { class: "field", "data-field": "password" },
      el("label", { for: "f-password", text: "Password" }),
      el("input", { id: "f-password", name: "password", type: "password", autocomplete: "new-password", required: true }),
      el("div", { class: "error", "data-error-for": "password" })),
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: "Set password" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/invitations/${token}`, { password: form.elements.password.value });
      // Leave the one-time link without a hashchange (which would draw the page again).
      history.replaceState(null, "", location.pathname);
      signInPage();
      main.prepend(notice("Your password is set: log in.", "ok"));
    } catch (error) {
      showErrors(form, error);
    }
  });
  show(form);
}

// People of the workspace (admin): invite, change roles, deactivate, reset passwords.
async function peoplePage() {
  const people = await api("GET", "/people");
  const result = el("div", { id: "invite-result" });
  const invite = el("form", { class: "stack", id: "invite", novalidate: true },
    el("h2", { text: "Invite a person" }),
    fieldRow({ key: "username", label: "Username (email)", kind: "email", required: true }, ""),
    fieldRow({ key: "display_name", label: "Name", kind: "text", required: true }, ""),
    fieldRow({ key: "role", label: "Role", kind: "select", required: true, options: ["agent", "supervisor", "admin"].map((r) => ({ value: r, label: r })) }, "agent"),
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: "Invite" }));
  invite.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await api("POST", "/people", { username: invite.elements.username.value.trim(), display_name: invite.elements.display_name.value.trim(), role: invite.elements.role.value });
      await peoplePage();
      document.getElementById("invite-result").replaceChildren(notice(`Send ${made.person.display_name} this one-time link (valid 72 hours):`, "ok"),
        el("p", { "data-setup": "invitation_url" }, el("code", { text: made.invitation_url }), " ", copyButton(made.invitation_url)));
    } catch (error) {
      showErrors(invite, error);
    }
  });
  const row = (person) => el("tr", { "data-person": person.username },
    el("td", {}, el("strong", { text: person.display_name }), el("div", { class: "muted", text: person.username })),
    el("td", {}, el("select", { "aria-label": "role", onchange: async (event) => {
      try { await api("PATCH", `/people/${person.id}`, { role: event.target.value }); } catch (error) { result.replaceChildren(notice(error.message, "bad")); }
    } }, ["agent", "supervisor", "admin"].map((r) => el("option", { value: r, text: r, selected: r === person.role })))),
    el("td", { text: person.active ? (person.has_password ? "active" : "invited") : "deactivated" }),
    el("td", {},
      el("button", { type: "button", class: "secondary", text: person.active ? "Deactivate" : "Activate", onclick: async () => {
        try { await api("PATCH", `/people/${person.id}`, { active: !person.active }); await peoplePage(); } catch (error) { result.replaceChildren(notice(error.message, "bad")); }
      } }), " ",
      el("button", { type: "button", class: "secondary", text: "Reset password", onclick: async () => {
        try {
          const reset = await api("POST", `/people/${person.id}/invitation`, {});
          result.replaceChildren(notice(`New link for ${person.display_name}:`, "ok"), el("p", {}, el("code", { text: reset.invitation_url }), " ", copyButton(reset.invitation_url)));
        } catch (error) { result.replaceChildren(notice(error.message, "bad")); }
      } })));
  show(el("h1", { text: "People" }),
    wideTable(el("table", {}, el("thead", {}, el("tr", {}, ["Person", "Role", "Status", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, people.map(row)))),
    result, invite);
}

// ---- event webhooks: a workspace's CRMs, ticketing and bots -------------------------------------

const WEBHOOK_EVENTS = ["message.received", "message.sent", "message.delivered", "message.read", "message.failed", "choice.made",
  "conversation.created", "conversation.assigned", "conversation.resolved", "conversation.reopened",
  "channel.connected", "channel.needs_reconnect", "channel.disconnected"];

async function webhooksPage() {
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
async function webhookDeliveriesPage(id) {
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

async function integrationsPage() {
  const channels = await api("GET", "/channels");
  const cards = state.plugins.map((plugin) => {
    const accounts = channels.filter((c) => c.plugin === plugin.id);
    return el("section", { class: "card", "data-plugin": plugin.id },
      el("h3", { text: plugin.name }),
      el("div", { class: "muted", text: `version ${plugin.version}` }),
      el("ul", { class: "plain" }, accounts.map((c) => el("li", {},
        el("a", { href: `#/channels/${c.id}`, text: c.name }), " ",
        c.status === "active" ? null : el("span", { class: "badge bad", text: c.status === "plugin_unavailable" ? "plugin unavailable" : "needs reconnection" })))),
      accounts.length ? null : el("p", { class: "muted", text: "No account connected." }),
      isAdmin() ? el("a", { class: "button", href: `#/integrations/${plugin.id}/new`, text: `Add ${plugin.name} account` }) : null);
  });
  show(el("h1", { text: "Integrations" }), el("div", { class: "cards" }, cards));
}

// What the provider calls its login, for the first-party plugins (the contract has no label
// for it yet); any other plugin gets "Connect with <name> login".
const LOGIN_LABELS = { messenger: "Connect with Facebook", instagram: "Connect with Facebook", "whatsapp-cloud": "Connect with Facebook", twitter: "Login in Twitter" };
const loginLabel = (plugin) => LOGIN_LABELS[plugin.id] || `Connect with ${plugin.name} login`;

function newChannelPage(pluginId) {
  const plugin = pluginById(pluginId);
  if (!plugin) return show(notice(`No plugin "${pluginId}" is loaded.`, "bad"));
  const nameField = { key: "name", label: "Name", kind: "text", required: true, help: "How this account is called in the inbox." };
  // With the operator's provider app set up, the login needs nothing typed: it comes first.
  const oneClick = plugin.capabilities.includes("oauth_connect") && plugin.provider_app && plugin.provider_app.configured;
  const quick = oneClick ? el("section", { class: "stack", id: "one-click" },
    el("p", { text: `Log in with ${plugin.name}, then tick the accounts to connect. Nothing to type.` }),
    el("div", { class: "row" }, el("button", { type: "button", id: "oauth-one-click", text: loginLabel(plugin),
      onclick: () => providerLogin(plugin, quick, { oneClick: true }) })),
    el("div", { id: "oauth-status" })) : null;
  const form = el("form", { class: "stack", id: "connect", novalidate: true },
    oneClick ? el("h2", { text: "Or connect with your own app's credentials" }) : el("h1", { text: `Add ${plugin.name} account` }),
    fieldRow(nameField, ""),
    plugin.settings_schema.map((field) => fieldRow(field, field.kind === "boolean" ? field.default : "")),
    el("div", { class: "error form-error" }),
    el("div", { class: "row" }, el("button", { type: "submit", text: "Connect" }),
      plugin.capabilities.includes("oauth_connect")
        ? el("button", { type: "button", class: "secondary", id: "oauth-connect", text: loginLabel(plugin), onclick: () => providerLogin(plugin, form) })
        : null,
      el("a", { class: "button secondary", href: "#/integrations", text: "Cancel" })),
    oneClick ? null : el("div", { id: "oauth-status" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const channel = await api("POST", "/channels", { plugin: plugin.id, name: form.elements.name.value.trim(), settings: formValues(form, plugin.settings_schema) });
      showConnected(channel);
    } catch (error) {
      showErrors(form, error);
    } finally {
      button.disabled = false;
    }
  });
  const forms = oneClick ? [el("h1", { text: `Add ${plugin.name} account` }), quick, form] : [form];
  show(el("div", { class: "with-aside" }, el("div", {}, forms), guidePanel(plugin)));
}

function showConnected(channel) {
  show(el("h1", { text: `${channel.name} is connected` }),
    notice(`Connected as ${channel.display_name || channel.external_account_id || channel.name}.`, "ok"),
    setupList(channel.setup),
    el("p", {}, el("a", { class: "button", href: `#/channels/${channel.id}`, text: "Open settings" })));
}

// "Connect with Facebook"-style login: the provider's page opens in a new tab; this page
// follows the host's flow until the accounts to pick from are there.
// With `oneClick` (the operator's app): nothing from the form, and several accounts ticked.
async function providerLogin(plugin, form, { oneClick = false } = {}) {
  const status = form.querySelector("#oauth-status");
  let started;
  try {
    const body = oneClick ? { settings: {} }
      : { name: form.elements.name.value.trim() || undefined, settings: formValues(form, plugin.settings_schema) };
    started = await api("POST", `/oauth/${plugin.id}/start`, body);
  } catch (error) {
    return oneClick ? status.replaceChildren(notice(error.message, "bad")) : showErrors(form, error);
  }
  window.open(started.authorize_url, "_blank");
  status.replaceChildren(notice(`Log in on the ${plugin.name} tab that opened, then come back here.`));
  for (let tries = 0; tries < 600; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const flow = await api("GET", `/oauth/flows/${started.state}`).catch((error) => ({ status: "failed", error: error.message }));
    if (flow.status === "failed") return status.replaceChildren(notice(flow.error || "The login failed.", "bad"));
    if (flow.status !== "ready") continue;
    if (oneClick) return status.replaceChildren(accountPicker(started.state, flow.accounts));
    return status.replaceChildren(el("h2", { text: "Choose the account to connect" }),
      el("ul", { class: "plain" }, flow.accounts.map((account) => el("li", {},
        el("button", { type: "button", "data-account": account.id, text: account.name, onclick: async () => {
          try { showConnected(await api("POST", `/oauth/flows/${started.state}/connect`, { account_id: account.id })); }
          catch (error) { status.append(notice(error.message, "bad")); }
        } })))));
  }
  status.replaceChildren(notice("The login took too long; start again.", "bad"));
}

// The accounts a login granted, to tick and connect at once (a channel each).
function accountPicker(state, accounts) {
  const picker = el("form", { class: "stack", id: "accounts" },
    el("h2", { text: "Choose the accounts to connect" }),
    el("ul", { class: "plain" }, accounts.map((account) => el("li", {},
      el("label", {}, el("input", { type: "checkbox", name: "account", value: account.id }), ` ${account.name}`)))),
    el("div", { class: "error form-error" }),
    el("div", { class: "row" }, el("button", { type: "submit", text: "Connect selected" })));
  picker.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = [...picker.querySelectorAll("input[name=account]:checked")].map((box) => box.value);
    const problem = picker.querySelector(".form-error");
    if (!ids.length) return problem.replaceChildren("Tick at least one account.");
    try {
      const made = await api("POST", `/oauth/flows/${state}/connect`, { account_ids: ids });
      show(el("h1", { text: `${made.channels.length} connected` }),
        el("ul", { class: "plain", id: "connected" }, made.channels.map((channel) => el("li", {},
          el("a", { href: `#/channels/${channel.id}`, text: channel.name })))),
        ...Object.entries(made.failed).map(([id, why]) => notice(`${id}: ${why}`, "bad")));
    } catch (error) {
      problem.replaceChildren(error.message);
    }
  });
  return picker;
}

async function channelPage(id) {
  const channel = await api("GET", `/channels/${id}`);
  const plugin = pluginById(channel.plugin);
  const schema = plugin ? plugin.settings_schema : [];
  const fixedName = plugin && plugin.capabilities.includes("fixed_name");
  const readOnly = !isAdmin();
  const form = el("form", { class: "stack", id: "settings", novalidate: true },
    el("h1", { text: `${channel.name} — Settings` }),
    channel.status === "active" ? null : notice(channel.status === "plugin_unavailable"
      ? "The plugin of this channel is not loaded: install it again to use this channel."
      : `This channel needs reconnection: ${channel.status_reason || "update its credentials and save"}.`, "bad"),
    fieldRow({ key: "name", label: "Name", kind: "text", required: true }, channel.name,
      { disabled: readOnly || fixedName, note: fixedName ? "Read-only once connected." : "" }),
    schema.map((field) => {
      const setting = channel.settings[field.key];
      const value = setting ? setting.value : "";
      return fieldRow(field, value, { disabled: readOnly || field.immutable, note: field.immutable ? "Read-only once connected." : "" });
    }),
    el("div", { class: "error form-error" }),
    el("div", { class: "saved" }),
    readOnly ? null : el("div", { class: "row" },
      el("button", { type: "submit", text: "Save Changes" }),
      el("button", { type: "button", class: "danger", id: "disconnect", text: "Disconnect", onclick: () => disconnect(channel) })));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector(".saved").replaceChildren();
    const body = { settings: formValues(form, schema) };
    if (!fixedName) body.name = form.elements.name.value.trim();
    try {
      await api("PATCH", `/channels/${id}`, body);
      form.querySelectorAll("[data-error-for], .form-error").forEach((n) => { n.textContent = ""; });
      form.querySelector(".saved").replaceChildren(notice("Saved.", "ok"));
    } catch (error) {
      showErrors(form, error);
    }
  });
  const templatesLink = plugin && plugin.capabilities.includes("templates")
    ? el("p", {}, el("a", { class: "button secondary", href: `#/channels/${id}/templates`, text: "24 Hours HSM Template" })) : null;
  const details = [form, el("p", { class: "muted" }, "Webhook URL: ", el("code", { text: channel.webhook_url }), " ", copyButton(channel.webhook_url)),
    setupList(channel.setup), templatesLink];
  show(channel.plugin === "webchat" ? el("div", { class: "with-aside" }, el("div", {}, details), widgetPreview(channel, form)) : el("div", {}, details));
}

// The website chat as visitors will see it, redrawn from the form's unsaved values as they are
// typed (the host's preview page takes them as overrides and never talks to the visitor API).
function widgetPreview(channel, form) {
  const frame = el("iframe", { id: "widget-preview", title: "Preview of the chat widget", src: `/webchat/${encodeURIComponent(channel.id)}/preview` });
  let pending = null;
  const redraw = () => {
    const value = (key) => (form.elements[key] ? form.elements[key].value : "");
    const query = new URLSearchParams({ name: value("name"), color: value("color"), greeting: value("greeting"), position: value("position"), enabled: value("enabled") });
    for (const [key, v] of [...query]) if (!v) query.delete(key);
    frame.src = `/webchat/${encodeURIComponent(channel.id)}/preview?${query}`;
  };
  const soon = () => { clearTimeout(pending); pending = setTimeout(redraw, 200); };
  form.addEventListener("input", soon);
  form.addEventListener("change", soon);
  return el("aside", { class: "preview", "aria-label": "Widget preview" }, el("h2", { text: "Preview" }),
    el("p", { class: "muted", text: "Unsaved changes show here as you type." }), frame);
}

async function disconnect(channel) {
  const sure = await confirmDialog("Are you sure? Disconnecting this channel will also delete this channel");
  if (!sure) return;
  try {
    await api("DELETE", `/channels/${channel.id}`);
    location.hash = "#/integrations";
  } catch (error) {
    main.prepend(notice(error.message, "bad"));
  }
}

async function templatesPage(id) {
  const [channel, templates] = await Promise.all([api("GET", `/channels/${id}`), api("GET", `/channels/${id}/templates`)]);
  const status = el("div", { id: "template-status" });
  const rows = templates.map((t) => el("tr", { "data-template": t.name },
    el("td", { text: t.name }), el("td", { text: t.language }), el("td", { text: t.category }),
    el("td", { text: t.body }), el("td", { text: t.status }),
    el("td", {}, el("label", { class: "switch" },
      el("input", { type: "checkbox", checked: t.enabled, disabled: !isAdmin(), onchange: async (event) => {
        try {
          const answer = await api("PATCH", `/channels/${id}/templates/${encodeURIComponent(t.name)}`, { enabled: event.target.checked });
          status.replaceChildren(notice((answer && answer.message) || "Successfully updated!", "ok"));
        } catch (error) {
          event.target.checked = !event.target.checked;
          status.replaceChildren(notice(error.message, "bad"));
        }
      } }), el("span", { text: "ON/OFF" }))),
    el("td", {}, isAdmin() ? el("button", { class: "secondary", type: "button", text: "Delete", onclick: async () => {
      try { await api("DELETE", `/channels/${id}/templates/${encodeURIComponent(t.name)}`); templatesPage(id); }
      catch (error) { status.replaceChildren(notice(error.message, "bad")); }
    } }) : null)));
  const schema = [
    { key: "name", label: "Template name", kind: "text", required: true, help: "Lowercase letters, digits and underscores." },
    { key: "language", label: "Language", kind: "text", required: true, default: "id" },
    { key: "category", label: "Category", kind: "select", required: true, options: ["UTILITY", "MARKETING", "AUTHENTICATION"].map((v) => ({ value: v, label: v })) },
    { key: "body", label: "Body", kind: "textarea", required: true, help: "Use {{1}}, {{2}} … for parameters." },
  ];
  const form = el("form", { class: "stack", id: "add-template", novalidate: true },
    el("h2", { text: "Add HSM Template" }), schema.map((f) => fieldRow(f, f.default || "")),
    el("div", { class: "error form-error" }), el("button", { type: "submit", text: "Next" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/channels/${id}/templates`, formValues(form, schema));
      templatesPage(id);
    } catch (error) {
      showErrors(form, error);
    }
  });
  show(el("h1", { text: `${channel.name} — 24 Hours HSM Template` }), status,
    wideTable(el("table", {}, el("thead", {}, el("tr", {}, ["Name", "Language", "Category", "Body", "Status", "Enabled", ""].map((h) => el("th", { text: h })))),
      el("tbody", {}, rows))),
    isAdmin() ? form : null);
}

function messageBubble(message) {
  const all = (message.content && message.content.attachments) || [];
  // Files are drawn (pictures, players, chips); the rest stays a line of text.
  const described = all.filter((a) => !a.file)
    .map((a) => `[${a.kind}${a.filename ? `: ${a.filename}` : a.description ? `: ${a.description}` : ""}]`);
  const template = message.content && message.content.template ? `[template ${message.content.template.name}]` : "";
  const interactive = message.content && message.content.interactive;
  // Interactive content shows as sent (header, body, footer) with its options beneath, not as
  // the numbered text a channel without buttons got.
  const shown = interactive ? [interactive.header, interactive.body, interactive.footer].filter(Boolean).join("\n\n") : message.text;
  const text = [shown, template, ...described].filter(Boolean).join("\n");
  const meta = message.direction === "outbound" ? `${message.status}${message.error ? `: ${message.error}` : ""} · ${when(message.created_at)}` : when(message.provider_timestamp || message.created_at);
  const choice = message.content && message.content.choice;
  return el("div", { class: `bubble ${message.direction}`, "data-status": message.status, "data-message": message.id },
    all.filter((a) => a.file).map((a) => fileView(a.file, a.kind)), text,
    interactive ? optionsOffered(interactive) : null,
    choice ? el("span", { class: "choice", "data-choice": choice.id, text: `Picked: ${choice.title || choice.id}${choice.by === "reply" ? " (typed)" : ""}` }) : null,
    el("span", { class: "meta", text: meta }));
}

// The options an interactive message offered, as chips (an agent reads them; only the
// customer taps).
function optionsOffered(interactive) {
  const labels = interactive.reply_buttons ? interactive.reply_buttons.map((o) => o.title)
    : interactive.quick_replies ? interactive.quick_replies.map((o) => o.title)
    : interactive.list ? interactive.list.sections.flatMap((s) => s.rows.map((r) => r.title))
    : interactive.url_buttons ? interactive.url_buttons.map((b) => `${b.title} ↗`)
    : (interactive.cards || []).map((c) => `${c.title}: ${c.buttons.map((b) => b.url ? `${b.title} ↗` : b.title).join(", ")}`);
  const kind = interactive.list ? `List "${interactive.list.button}"` : interactive.url_buttons ? "Links" : interactive.cards ? "Cards" : interactive.quick_replies ? "Quick replies" : "Buttons";
  return el("div", { class: "options", role: "group", "aria-label": `${kind} offered` },
    el("span", { class: "options-kind", text: kind }), labels.map((label) => el("span", { class: "chip", text: label })));
}

// Files are fetched with the API's credentials (a token cannot ride on an <img src>) and
// shown from a blob URL; each is read once per page (an object URL per file id).
const fileUrls = new Map();
function fileBlobUrl(file) {
  if (!fileUrls.has(file.id)) {
    fileUrls.set(file.id, fetch(file.url, { headers: authHeaders("GET", "/media") }).then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.blob();
    }).then((blob) => URL.createObjectURL(blob)).catch((error) => { fileUrls.delete(file.id); throw error; }));
  }
  return fileUrls.get(file.id);
}

function size(bytes) {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}

// A picture in place (capped; a click opens it whole), a player for sound and video, a chip
// with name and size for any other file; a clear mark while downloading or when it failed.
function fileView(file, kind) {
  const name = file.filename || (kind === "image" ? "Photo" : kind === "audio" ? "Voice note" : kind === "video" ? "Video" : "File");
  if (file.state === "failed") return el("div", { class: "file failed", "data-file": file.id, role: "note", text: `${name}: download failed (${file.error || "unknown reason"})` });
  if (file.state !== "stored") return el("div", { class: "file pending", "data-file": file.id, text: `${name}: downloading…` });
  const mime = file.mime_type || "";
  const box = el("div", { class: "file", "data-file": file.id, "data-mime": mime });
  const fill = (node, attribute) => fileBlobUrl(file).then((url) => { node[attribute] = url; }).catch((error) => box.replaceChildren(`${name}: cannot be shown (${error.message})`));
  if (mime.startsWith("image/") && mime !== "image/svg+xml") {
    const image = el("img", { alt: name, class: "attachment-image" });
    const open = el("a", { href: "#", title: "Open the picture", onclick: (event) => { event.preventDefault(); fileBlobUrl(file).then((url) => window.open(url, "_blank", "noopener")); } }, image);
    fill(image, "src");
    box.append(open);
  } else if (mime.startsWith("audio/")) {
    const player = el("audio", { controls: true, preload: "metadata", "aria-label": name });
    fill(player, "src");
    box.append(player);
  } else if (mime.startsWith("video/")) {
    const player = el("video", { controls: true, preload: "metadata", class: "attachment-video", "aria-label": name });
    fill(player, "src");
    box.append(player);
  } else {
    const chip = el("a", { href: "#", class: "chip", download: name, text: `${name} · ${size(file.size)}`,
      onclick: (event) => {
        event.preventDefault();
        fileBlobUrl(file).then((url) => { const a = el("a", { href: url, download: name }); document.body.append(a); a.click(); a.remove(); });
      } });
    box.append(chip);
  }
  return box;
}

// Mine / unassigned / all ("mine" only for a signed-in person: a token is nobody).
const inboxFilters = () => (state.person ? ["mine", "unassigned", "all"] : ["unassigned", "all"]);

// The inbox follows the workspace live (GET /api/v1/events, server-sent events read with
// fetch so a token can be sent): a change re-reads what it concerns, at once. After a cut the
// stream resumes from the last event id; a `reset` re-reads everything.
const inbox = { selected: null, search: "", live: null, lastEventId: null, refreshList: null, refreshThread: null, tick: null, timers: {} };

async function inboxPage(selected) {
  if (!inboxFilters().includes(state.inboxFilter)) state.inboxFilter = "all";
  inbox.selected = selected || null;
  const channels = await api("GET", "/channels");
  const channelName = (id) => (channels.find((c) => c.id === id) || { name: id }).name;
  const list = el("nav", { class: "conversations", id: "conversation-list", "aria-label": "Conversations" });
  const thread = el("section", { class: "thread", id: "thread", "aria-label": "Conversation" });
  const search = el("input", { type: "search", id: "inbox-search", name: "q", value: inbox.search, placeholder: "Name, handle or words of a message", autocomplete: "off" });
  search.addEventListener("input", () => { inbox.search = search.value; later("list", refreshList, 250); });
  const filters = el("div", { class: "row", id: "inbox-filters", role: "group", "aria-label": "Show" }, inboxFilters().map((filter) =>
    el("button", { type: "button", class: filter === state.inboxFilter ? "" : "secondary", "aria-pressed": String(filter === state.inboxFilter), "data-filter": filter, text: filter[0].toUpperCase() + filter.slice(1),
      onclick: () => { state.inboxFilter = filter; inboxPage(inbox.selected); } })));
  const liveState = el("span", { id: "live-state", class: "muted", role: "status", text: inbox.live ? "Live" : "Connecting…" });

  async function refreshList() {
    const query = new URLSearchParams({ assigned: state.inboxFilter });
    if (inbox.search.trim()) query.set("q", inbox.search.trim());
    const conversations = await api("GET", `/conversations?${query}`).catch((error) => { list.replaceChildren(notice(error.message, "bad")); return null; });
    if (!conversations) return;
    list.replaceChildren(...(conversations.length ? conversations.map((c) => {
      const who = (c.contact && (c.contact.name || c.contact.handle)) || c.name || c.external_id;
      const unread = String(c.id) === inbox.selected ? 0 : c.unread || 0;
      return el("a", { href: `#/inbox/${c.id}`, class: String(c.id) === inbox.selected ? "active" : "", "data-conversation": c.id, "aria-current": String(c.id) === inbox.selected ? "page" : null },
        el("span", { class: "row between" }, el("strong", { text: who }),
          unread ? el("span", { class: "badge unread", "data-unread": unread, "aria-label": `${unread} unread`, text: String(unread) }) : null),
        el("div", { class: "muted", text: `${channelName(c.channel_id)} · ${when(c.last_activity_at)}${c.status === "bot" ? " · with the bot" : ""}` }));
    }) : [el("p", { class: "muted", text: inbox.search.trim() ? "No conversation matches." : "No conversations yet." })]));
  }

  async function refreshThread() {
    if (!inbox.selected) return thread.replaceChildren(el("p", { class: "muted", text: "Pick a conversation." }));
    // A live redraw keeps what the person typed or picked in the reply box (text, template,
    // parameters) and where the cursor was: a customer writing must not wipe a half-done reply.
    // Read once the new view is ready: typing goes on while it loads.
    const view = await threadView(inbox.selected).catch((error) => [notice(error.message, "bad")]);
    const kept = typedIn(thread.querySelector("#reply"));
    // Files already shown stay the same nodes: a voice note keeps playing, a picture is not reloaded.
    const shownFiles = new Map([...thread.querySelectorAll(".file[data-file][data-mime]")].map((node) => [node.dataset.file, node]));
    // The file picker too: its dialog may be open, and the file chosen must land in the form shown.
    const picker = thread.querySelector("#reply-file");
    thread.replaceChildren(...view.filter(Boolean));
    for (const fresh of thread.querySelectorAll(".file[data-file][data-mime]")) {
      const old = shownFiles.get(fresh.dataset.file);
      if (old) fresh.replaceWith(old);
    }
    const freshPicker = thread.querySelector("#reply-file");
    if (picker && freshPicker) {
      freshPicker.replaceWith(picker);
      picker.dispatchEvent(new Event("change"));
    }
    putBack(thread.querySelector("#reply"), kept);
  }

  inbox.refreshList = refreshList;
  inbox.refreshThread = refreshThread;
  show(el("div", { class: "row between" }, el("h1", { text: "Inbox" }), liveState),
    el("div", { class: "row inbox-tools" }, el("label", { for: "inbox-search", class: "visually-hidden", text: "Search conversations" }), search, filters),
    el("div", { class: "inbox" }, list, thread));
  await Promise.all([refreshList(), refreshThread()]);
  followInbox();
  clearInterval(inbox.tick);
  // The window's countdown moves by itself; at its end the thread turns template-only.
  inbox.tick = setInterval(() => { if (location.hash.startsWith("#/inbox")) windowCountdown(); }, 15000);
}

// The values of a form's named fields and which had the focus (file pickers are moved over
// whole by the caller, not copied).
function typedIn(form) {
  if (!form) return null;
  const values = {};
  for (const field of form.elements) if (field.name && field.type !== "file") values[field.name] = field.value;
  return { values, focused: form.contains(document.activeElement) ? document.activeElement.name : null };
}

// Puts `typedIn`'s values back into the redrawn form (a template no longer offered stays unpicked).
function putBack(form, kept) {
  if (!form || !kept) return;
  for (const field of form.elements) {
    if (!field.name || !(field.name in kept.values)) continue;
    field.value = kept.values[field.name];
    if (field.name === kept.focused) field.focus();
  }
}

// Runs `fn` once after `ms`, however often it is asked for meanwhile (bursts of events).
function later(key, fn, ms) {
  clearTimeout(inbox.timers[key]);
  inbox.timers[key] = setTimeout(() => { fn(); }, ms);
}

function liveShown(text) {
  const node = document.getElementById("live-state");
  if (node) node.textContent = text;
}

function stopInbox() {
  if (inbox.live) inbox.live.abort();
  inbox.live = null;
  clearInterval(inbox.tick);
}

// The server writes at least every 15 s (a keep-alive comment); a stream silent for longer
// than this is dead (a proxy or network dropped it without closing): reconnect.
const SILENT_STREAM_MS = 45000;

// One stream while the inbox is open; it reconnects (resuming) until the page leaves the inbox.
function followInbox() {
  if (inbox.live) return;
  const controller = new AbortController();
  inbox.live = controller;
  let connection = null;
  let heard = Date.now();
  const watchdog = setInterval(() => { if (connection && Date.now() - heard > SILENT_STREAM_MS) connection.abort(); }, 5000);
  controller.signal.addEventListener("abort", () => { clearInterval(watchdog); if (connection) connection.abort(); });
  (async () => {
    while (!controller.signal.aborted) {
      connection = new AbortController();
      heard = Date.now();
      try {
        const headers = authHeaders("GET", "/events");
        if (inbox.lastEventId) headers["Last-Event-ID"] = inbox.lastEventId;
        const response = await fetch("/api/v1/events", { headers, signal: connection.signal, cache: "no-store" });
        if (response.status === 401) return signOut("Your session has ended; sign in again.");
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        liveShown("Live");
        await readEvents(response.body, onLiveEvent, () => { heard = Date.now(); });
      } catch (error) {
        if (controller.signal.aborted) return;
      }
      liveShown("Reconnecting…");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
}

// Reads a text/event-stream body: `event:`, `id:` and `data:` lines, a blank line ends one.
async function readEvents(body, handle, alive) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { type: "message", data: "", id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    alive();
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (event.id !== null) inbox.lastEventId = event.id;
        if (event.data) handle(event.type, JSON.parse(event.data));
        event = { type: "message", data: "", id: null };
      } else if (line.startsWith("event:")) event.type = line.slice(6).trim();
      else if (line.startsWith("data:")) event.data += line.slice(5).trim();
      else if (line.startsWith("id:")) event.id = line.slice(3).trim();
    }
  }
}

function onLiveEvent(type, data) {
  if (!inbox.refreshList) return;
  if (type === "ready" || type === "reset") {
    later("list", inbox.refreshList, 0);
    later("thread", inbox.refreshThread, 0);
    return;
  }
  later("list", inbox.refreshList, 50);
  if (String(data.conversation_id) === inbox.selected) later("thread", inbox.refreshThread, 50);
}

// "closes in 3 h 12 min" from the conversation's window; re-reads the thread once it closed.
function windowCountdown() {
  const node = document.getElementById("window-state");
  if (!node) return;
  const closesAt = Number(node.dataset.closesAt || 0);
  if (!closesAt) return;
  const left = closesAt - Date.now();
  if (left <= 0) { node.removeAttribute("data-closes-at"); if (inbox.refreshThread) inbox.refreshThread(); return; }
  node.textContent = `${node.dataset.label} ${duration(left)}`;
}

function duration(ms) {
  // Whole minutes left, rounded down: "23 h 59 min" just after the customer wrote.
  const minutes = Math.max(1, Math.floor(ms / 60000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days) return `${days} d ${hours} h`;
  return hours ? `${hours} h ${rest} min` : `${rest} min`;
}

// Who has the conversation, and its status: supervisors and admins assign anyone; an agent
// takes an unassigned one or gives back their own; anyone resolves or reopens.
async function assignmentBar(conversation, status) {
  const change = async (body) => {
    try { await api("PATCH", `/conversations/${conversation.id}`, body); inboxPage(String(conversation.id)); }
    catch (error) { status.replaceChildren(notice(error.message, "bad")); }
  };
  const bar = el("div", { class: "row", id: "assignment" });
  const me = state.person;
  // A conversation in status `bot` is the channel's bot's until it hands it over or someone
  // takes it (assigning takes it over).
  if (conversation.status === "bot") {
    bar.append(el("span", { class: "muted", id: "handled-by", text: "The bot is handling it" }),
      el("button", { type: "button", class: "secondary", text: "Take over from the bot", onclick: () => change({ status: "open" }) }));
  }
  if (state.role === "agent") {
    const holder = conversation.assignee_id == null ? "Unassigned" : (me && conversation.assignee_id === me.id ? "Assigned to you" : "Assigned to a colleague");
    bar.append(el("span", { class: "muted", text: holder }));
    if (me && conversation.assignee_id == null) bar.append(el("button", { type: "button", text: "Take", onclick: () => change({ assignee_id: me.id }) }));
    if (me && conversation.assignee_id === me.id) bar.append(el("button", { type: "button", class: "secondary", text: "Give back", onclick: () => change({ assignee_id: null }) }));
  } else {
    const people = await api("GET", "/people").catch(() => []);
    bar.append(el("label", { for: "assignee", text: "Assigned to " }),
      el("select", { id: "assignee", onchange: (event) => change({ assignee_id: event.target.value ? Number(event.target.value) : null }) },
        el("option", { value: "", text: "nobody" }),
        people.filter((p) => p.active).map((p) => el("option", { value: p.id, text: p.display_name, selected: p.id === conversation.assignee_id }))));
  }
  bar.append(el("button", { type: "button", class: "secondary", id: "toggle-status",
    text: conversation.status === "resolved" ? "Reopen" : "Resolve",
    onclick: () => change({ status: conversation.status === "resolved" ? "open" : "resolved" }) }),
    el("span", { class: "badge", id: "conversation-status", text: conversation.status }));
  return bar;
}

async function threadView(id) {
  const [conversation, messages] = await Promise.all([api("GET", `/conversations/${id}`), api("GET", `/conversations/${id}/messages`)]);
  const plugin = pluginById(conversation.plugin) || { capabilities: [], name: "" };
  const win = conversation.window || { state: "unrestricted" };
  const closed = win.state === "closed";
  const status = el("div", { class: "send-status" });
  const assignment = await assignmentBar(conversation, status);
  const form = el("form", { class: "reply", id: "reply" });
  if (closed) {
    form.append(notice(`The messaging window of this conversation has closed: free text cannot be sent. ${win.templates_allowed ? "Send an approved template instead." : "This channel cannot reach the customer until they write again."}`, "bad"));
  } else {
    if (win.state === "human_agent") form.append(notice("Past 24 hours: only a human agent's reply can be sent (tagged HUMAN_AGENT).", ""));
    const canAttach = plugin.capabilities.includes("send_media");
    form.append(el("div", { class: "field" }, el("label", { for: "reply-text", text: "Reply" }), el("textarea", { id: "reply-text", name: "text", rows: 3 })),
      el("div", { class: "row" },
        canAttach ? el("label", { for: "reply-file", class: "button secondary", text: "Attach a file" }) : null,
        canAttach ? el("input", { type: "file", id: "reply-file", name: "file", class: "visually-hidden",
          onchange: (event) => { const chosen = event.target.files[0]; document.getElementById("reply-file-name").textContent = chosen ? `${chosen.name} · ${size(chosen.size)}` : ""; } }) : null,
        el("span", { id: "reply-file-name", class: "muted" }),
        el("button", { type: "submit", text: "Send" })));
  }
  if (plugin.capabilities.includes("send_templates") && win.templates_allowed) {
    const templates = await api("GET", `/channels/${conversation.channel_id}/templates`).catch(() => []);
    const usable = templates.filter((t) => t.enabled);
    if (usable.length) {
      form.append(el("div", { class: "field" },
        el("label", { for: "reply-template", text: "Template" }),
        el("select", { id: "reply-template", name: "template" }, el("option", { value: "", text: "—" }), usable.map((t) => el("option", { value: `${t.name}|${t.language}`, text: `${t.name} (${t.language})` }))),
        el("input", { type: "text", name: "params", placeholder: "Parameters, separated by |" })),
      closed ? el("button", { type: "submit", text: "Send template" }) : null);
    }
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.elements.template && form.elements.template.value;
    const attached = form.elements.file && form.elements.file.files[0];
    let body;
    if (attached) {
      // Upload first (its progress shown), then send it with the text as its caption.
      status.replaceChildren(notice(`Uploading ${attached.name}…`, ""));
      try {
        const file = await api("POST", `/media?filename=${encodeURIComponent(attached.name)}`, attached, attached.type || "application/octet-stream");
        body = { file_id: file.id, text: form.elements.text ? form.elements.text.value : "" };
        status.replaceChildren();
      } catch (error) {
        return status.replaceChildren(notice(error.message, "bad"));
      }
    } else if (chosen) {
      const [name, language] = chosen.split("|");
      const params = (form.elements.params.value || "").split("|").map((p) => p.trim()).filter(Boolean);
      body = { template: { name, language, params } };
    } else {
      body = { text: form.elements.text ? form.elements.text.value : "" };
    }
    try {
      await api("POST", `/conversations/${id}/messages`, body);
      form.reset();
      const named = document.getElementById("reply-file-name");
      if (named) named.textContent = "";
      if (inbox.refreshThread) await inbox.refreshThread();
    } catch (error) {
      status.replaceChildren(notice(error.message, "bad"));
    }
  });
  // Read up to the newest message: the conversation's unread count drops for this person.
  if (state.person && messages.length) api("POST", `/conversations/${id}/read`, { message_id: messages[messages.length - 1].id }).catch(() => {});
  return [assignment, windowLine(win), el("div", { id: "messages", role: "log", "aria-label": "Messages" }, messages.map(messageBubble)), status, form];
}

// The messaging window's state in words, with a countdown that moves by itself.
function windowLine(win) {
  const line = (label, until) => {
    const node = el("p", { id: "window-state", class: "muted", "data-label": label, "data-state": win.state });
    if (until) { node.dataset.closesAt = String(until); node.textContent = `${label} ${duration(until - Date.now())}`; }
    else node.textContent = label;
    return node;
  };
  if (win.state === "open" && win.closes_at) return line("Free-form replies: the 24-hour window closes in", win.closes_at);
  if (win.state === "human_agent") return line("Only a human agent's reply can be sent; that ends in", win.changes_at);
  if (win.state === "closed") return line(win.templates_allowed ? "Window closed: templates only." : "Window closed: the customer must write first.");
  return null;
}

async function pluginsPage() {
  const status = el("div");
  const upload = el("form", { class: "stack", id: "upload" },
    el("h2", { text: "Install a plugin" }),
    el("div", { class: "field" }, el("label", { for: "component", text: "Component (.wasm)" }), el("input", { id: "component", type: "file", accept: ".wasm,application/wasm", required: true })),
    el("button", { type: "submit", text: "Install" }));
  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = upload.querySelector("#component").files[0];
    if (!file) return;
    try {
      const answer = await api("POST", "/plugins", await file.arrayBuffer(), "application/wasm");
      state.plugins = await api("GET", "/plugins");
      const said = answer.status === "pending_approval"
        ? `${answer.review.name} ${answer.review.version} waits for your approval: review what it asks for below.`
        : `${answer.name} ${answer.version} is installed.`;
      pluginsPage().then(() => main.prepend(notice(said, "ok")));
    } catch (error) {
      status.replaceChildren(notice(error.message, "bad"));
    }
  });
  state.plugins = await api("GET", "/plugins");
  const reviews = isOperator() ? await api("GET", "/plugin-reviews").catch(() => []) : [];
  const decide = async (review, approve) => {
    try {
      if (approve) await api("POST", `/plugin-reviews/${review.id}/approve`);
      else await api("DELETE", `/plugin-reviews/${review.id}`);
      state.plugins = await api("GET", "/plugins");
      pluginsPage().then(() => main.prepend(notice(`${review.name} ${review.version} ${approve ? "is installed" : "was rejected"}.`, "ok")));
    } catch (error) {
      status.replaceChildren(notice(error.message, "bad"));
    }
  };
  const listed = (items, added) => items.length ? items.map((item) => `${item}${added.includes(item) ? " (new)" : ""}`).join(", ") : "none";
  const waiting = reviews.length ? el("section", { id: "reviews" }, el("h2", { text: "Waiting for your approval" }),
    reviews.map((r) => el("div", { class: "card stack", "data-review": r.id },
      el("div", {}, el("strong", { text: `${r.name} ${r.version}` }), " — ",
        el("span", { class: "muted", text: r.replaces ? `replaces ${r.replaces}, which keeps serving until you approve` : "a new plugin" })),
      el("div", { text: `Signed by: ${r.signer || "nobody (unsigned plugins are allowed on this host)"}` }),
      el("div", { text: `Reaches: ${listed(r.outbound_hosts, r.new_outbound_hosts)}` }),
      el("div", { text: `Host capabilities: ${listed(r.host_imports, r.new_host_imports)}` }),
      el("div", { text: `Features: ${r.capabilities.join(", ") || "none"}` }),
      el("div", { class: "row" },
        el("button", { type: "button", text: "Approve", onclick: () => decide(r, true) }),
        el("button", { type: "button", class: "secondary", text: "Reject", onclick: () => decide(r, false) }))))) : null;
  show(el("h1", { text: "Plugins" }), waiting,
    wideTable(el("table", {}, el("thead", {}, el("tr", {}, ["Plugin", "Version", "Contract", "Outbound hosts", "Signed by", "Provider app"].map((h) => el("th", { text: h })))),
      el("tbody", {}, state.plugins.map((p) => el("tr", { "data-plugin": p.id },
        el("td", {}, el("strong", { text: p.name }), el("div", { class: "muted", text: p.id })), el("td", { text: p.version }),
        el("td", { text: p.api_version }), el("td", { text: p.outbound_hosts.join(", ") || "none" }),
        el("td", { class: "signer", text: p.signer || "unsigned" }),
        el("td", {}, !p.provider_app ? "—" : isOperator()
          ? el("a", { href: `#/plugins/${p.id}/app`, text: p.provider_app.configured ? "Set up: change" : "Set up the app" })
          : (p.provider_app.configured ? "set up" : "not set up"))))))),
    status, isOperator() ? upload : null);
}

// The operator's provider app of a plugin: its settings, and what to paste in the provider's
// dashboard (the one callback URL and the verify token).
async function providerAppPage(pluginId) {
  const app = await api("GET", `/plugins/${pluginId}/app`);
  const plugin = pluginById(pluginId) || { name: pluginId };
  const form = el("form", { class: "stack", id: "provider-app", novalidate: true },
    el("h1", { text: `${plugin.name} — provider app` }),
    el("p", { class: "muted", text: `One app serves every account connected with it: ${app.channels} channel(s) of this plugin now.` }),
    app.schema.map((field) => fieldRow(field, app.settings[field.key] || "")),
    el("div", { class: "error form-error" }),
    el("div", { class: "row" }, el("button", { type: "submit", text: "Save Changes" }),
      el("a", { class: "button secondary", href: "#/plugins", text: "Back" })),
    el("div", { id: "app-setup" }, app.configured ? appSetup(app) : null));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const saved = await api("PUT", `/plugins/${pluginId}/app`, { settings: formValues(form, app.schema) });
      state.plugins = await api("GET", "/plugins");
      // Show what is stored now: secrets masked again.
      for (const field of app.schema) if (form.elements[field.key]) form.elements[field.key].value = saved.settings[field.key] || "";
      form.querySelector("#app-setup").replaceChildren(notice("Successfully updated!", "ok"), appSetup(saved));
    } catch (error) {
      showErrors(form, error);
    }
  });
  show(form);
}

function appSetup(app) {
  return setupList([
    { key: "callback_url", label: "Callback URL", value: app.callback_url },
    { key: "verify_token", label: "Verify token", value: app.verify_token },
  ]);
}

// The operator's console: workspaces (create, rename, suspend, switch to one).
async function workspacesPage() {
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

// ---- routing ----------------------------------------------------------------------------------

async function route() {
  if (!location.hash.startsWith("#/inbox")) stopInbox();
  const invitation = location.hash.match(/^#\/invitation\/([^/]+)$/);
  if (invitation) return invitationPage(invitation[1]);
  if (!signedIn()) return signInPage();
  if (!state.role) {
    try { await loadSession(); } catch (error) { return signOut(error.status === 401 ? "" : error.message); }
  }
  const parts = (location.hash.replace(/^#\/?/, "") || "integrations").split("/");
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === parts[0]));
  try {
    if (parts[0] === "integrations" && parts[2] === "new") return newChannelPage(parts[1]);
    if (parts[0] === "channels" && parts[2] === "templates") return await templatesPage(parts[1]);
    if (parts[0] === "channels") return await channelPage(parts[1]);
    if (parts[0] === "inbox") return await inboxPage(parts[1]);
    if (parts[0] === "workspaces") return await workspacesPage();
    if (parts[0] === "people") return await peoplePage();
    if (parts[0] === "webhooks" && parts[1]) return await webhookDeliveriesPage(parts[1]);
    if (parts[0] === "webhooks") return await webhooksPage();
    if (parts[0] === "plugins" && parts[2] === "app") return await providerAppPage(parts[1]);
    if (parts[0] === "plugins") return await pluginsPage();
    return await integrationsPage();
  } catch (error) {
    show(notice(error.message, "bad"));
  }
}

document.getElementById("sign-out").addEventListener("click", () => signOut());
window.addEventListener("hashchange", route);
route();
