// Connecting a new account: the plugin's form, its guide, and provider logins.

import { api } from "../api.js";
import { el, notice, setupList, show } from "../dom.js";
import { fieldRow, formValues, guidePanel, showErrors, showRefusal } from "../forms.js";
import { t } from "../i18n.js";
import { pluginById, state } from "../state.js";

// What the provider calls its login, for the first-party plugins (the contract has no label
// for it yet); any other plugin gets "Connect with <name> login".
const LOGIN_LABELS = { messenger: "connect.login_facebook", instagram: "connect.login_facebook", "whatsapp-cloud": "connect.login_facebook", twitter: "connect.login_twitter" };
const loginLabel = (plugin) => (LOGIN_LABELS[plugin.id] ? t(LOGIN_LABELS[plugin.id]) : t("connect.login_other", { plugin: plugin.name }));

// The connect button in the words each provider's users know; any other plugin: "Connect".
const SUBMIT_LABELS = { line: "connect.submit_install", twitter: "connect.submit_add", email: "connect.submit_submit" };
// The heading over the credentials form when a one-click login comes first.
const OWN_APP_HEADINGS = { twitter: "connect.own_app_twitter" };
// WhatsApp: a business often has several numbers. After one is added the Integrations list
// shows again (its setup items on its card), ready for the next.
const SEVERAL_ACCOUNTS = { "whatsapp-cloud": "connect.several_whatsapp", whatsapp: "connect.several_whatsapp" };

export function newChannelPage(pluginId) {
  const plugin = pluginById(pluginId);
  if (!plugin) return show(notice(t("connect.no_plugin", { plugin: pluginId }), "bad"));
  const nameField = { key: "name", label: t("connect.name"), kind: "text", required: true, help: t("connect.name_help") };
  // With the operator's provider app set up, the login needs nothing typed: it comes first.
  const oneClick = plugin.capabilities.includes("oauth_connect") && plugin.provider_app && plugin.provider_app.configured;
  const quick = oneClick ? el("section", { class: "stack", id: "one-click" },
    el("p", { text: t("connect.one_click_intro", { plugin: plugin.name }) }),
    el("div", { class: "row" }, el("button", { type: "button", id: "oauth-one-click", text: loginLabel(plugin),
      onclick: () => providerLogin(plugin, quick, { oneClick: true }) })),
    el("div", { id: "oauth-status" })) : null;
  const form = el("form", { class: "stack", id: "connect", novalidate: true },
    oneClick ? el("h2", { text: t(OWN_APP_HEADINGS[plugin.id] || "connect.own_app") }) : el("h1", { text: t("integrations.add_account", { plugin: plugin.name }) }),
    SEVERAL_ACCOUNTS[plugin.id] ? el("p", { class: "notice", id: "several-accounts", text: t(SEVERAL_ACCOUNTS[plugin.id]) }) : null,
    fieldRow(nameField, ""),
    plugin.settings_schema.map((field) => fieldRow(field, field.kind === "boolean" ? field.default : "")),
    el("div", { class: "error form-error" }),
    el("div", { class: "row" }, el("button", { type: "submit", text: t(SUBMIT_LABELS[plugin.id] || "connect.connect") }),
      plugin.capabilities.includes("oauth_connect")
        ? el("button", { type: "button", class: "secondary", id: "oauth-connect", text: loginLabel(plugin), onclick: () => providerLogin(plugin, form) })
        : null,
      el("a", { class: "button secondary", href: "#/integrations", text: t("common.cancel") })),
    oneClick ? null : el("div", { id: "oauth-status" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const channel = await api("POST", "/channels", { plugin: plugin.id, name: form.elements.name.value.trim(), settings: formValues(form, plugin.settings_schema) });
      showConnected(channel);
    } catch (error) {
      showRefusal(form, error, button);
    } finally {
      button.disabled = false;
    }
  });
  const forms = oneClick ? [el("h1", { text: t("integrations.add_account", { plugin: plugin.name }) }), quick, form] : [form];
  show(el("div", { class: "with-aside" }, el("div", {}, forms), guidePanel(plugin)));
}

function showConnected(channel) {
  if (SEVERAL_ACCOUNTS[channel.plugin]) {
    // Back to the list; the Integrations page shows this channel's setup on its card.
    state.justConnected = [channel];
    location.hash = "#/integrations";
    return;
  }
  show(el("h1", { text: t("connect.connected_title", { name: channel.name }) }),
    notice(t("connect.connected_as", { account: channel.display_name || channel.external_account_id || channel.name }), "ok"),
    setupList(channel.setup),
    el("p", {}, el("a", { class: "button", href: `#/channels/${channel.id}`, text: t("connect.open_settings") })));
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
  status.replaceChildren(notice(t("connect.login_tab", { plugin: plugin.name })));
  for (let tries = 0; tries < 600; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const flow = await api("GET", `/oauth/flows/${started.state}`).catch((error) => ({ status: "failed", error: error.message }));
    if (flow.status === "failed") return status.replaceChildren(notice(flow.error || t("connect.login_failed"), "bad"));
    if (flow.status !== "ready") continue;
    if (oneClick) return status.replaceChildren(accountPicker(started.state, flow.accounts));
    return status.replaceChildren(el("h2", { text: t("connect.choose_account") }),
      el("ul", { class: "plain" }, flow.accounts.map((account) => el("li", {},
        el("button", { type: "button", "data-account": account.id, text: account.name, onclick: async () => {
          try { showConnected(await api("POST", `/oauth/flows/${started.state}/connect`, { account_id: account.id })); }
          catch (error) { status.append(notice(error.message, "bad")); }
        } })))));
  }
  status.replaceChildren(notice(t("connect.login_too_long"), "bad"));
}

// The accounts a login granted, to tick and connect at once (a channel each).
function accountPicker(flowState, accounts) {
  const picker = el("form", { class: "stack", id: "accounts" },
    el("h2", { text: t("connect.choose_accounts") }),
    el("ul", { class: "plain" }, accounts.map((account) => el("li", {},
      el("label", {}, el("input", { type: "checkbox", name: "account", value: account.id }), ` ${account.name}`)))),
    el("div", { class: "error form-error" }),
    el("div", { class: "row" }, el("button", { type: "submit", text: t("connect.connect_selected") })));
  picker.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = [...picker.querySelectorAll("input[name=account]:checked")].map((box) => box.value);
    const problem = picker.querySelector(".form-error");
    if (!ids.length) return problem.replaceChildren(t("connect.tick_one"));
    try {
      const made = await api("POST", `/oauth/flows/${flowState}/connect`, { account_ids: ids });
      if (made.channels.length && made.channels.every((c) => SEVERAL_ACCOUNTS[c.plugin]) && !Object.keys(made.failed).length) {
        state.justConnected = made.channels;
        location.hash = "#/integrations";
        return;
      }
      show(el("h1", { text: t("connect.connected_count", { count: made.channels.length }) }),
        el("ul", { class: "plain", id: "connected" }, made.channels.map((channel) => el("li", {},
          el("a", { href: `#/channels/${channel.id}`, text: channel.name })))),
        ...Object.entries(made.failed).map(([id, why]) => notice(`${id}: ${why}`, "bad")));
    } catch (error) {
      problem.replaceChildren(error.message);
    }
  });
  return picker;
}
