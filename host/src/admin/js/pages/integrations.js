// The Integrations page: each plugin with the accounts connected through it.

import { api } from "../api.js";
import { el, notice, setupList, show } from "../dom.js";
import { t } from "../i18n.js";
import { isAdmin, state } from "../state.js";

// A channel that is not active, in words.
const CHANNEL_STATUS = { plugin_unavailable: "integrations.plugin_unavailable", needs_reconnect: "integrations.needs_reconnect" };

export async function integrationsPage() {
  const channels = await api("GET", "/channels");
  // Channels just added from a form that comes back here (WhatsApp): their setup on their cards, once.
  const fresh = new Map((state.justConnected || []).map((channel) => [channel.id, channel]));
  state.justConnected = null;
  const cards = state.plugins.map((plugin) => {
    const accounts = channels.filter((c) => c.plugin === plugin.id);
    return el("section", { class: "card", "data-plugin": plugin.id },
      el("h3", { text: plugin.name }),
      el("div", { class: "muted", text: t("integrations.version", { version: plugin.version }) }),
      el("ul", { class: "plain" }, accounts.map((c) => el("li", { "data-channel": c.id },
        el("div", { class: "row between" },
          el("span", {}, el("a", { href: `#/channels/${c.id}`, text: c.name }), " ",
            c.status === "active" ? null : el("span", { class: "badge bad", text: t(CHANNEL_STATUS[c.status === "plugin_unavailable" ? "plugin_unavailable" : "needs_reconnect"]) })),
          el("a", { class: "button secondary small", href: `#/channels/${c.id}`, "data-settings": c.id, "aria-label": t("integrations.settings_of", { name: c.name }), text: t("integrations.settings") })),
        fresh.has(c.id) ? el("div", { class: "just-connected", "data-just-connected": c.id },
          notice(t("connect.connected_title", { name: c.name }), "ok"), setupList(fresh.get(c.id).setup, { heading: "h4" })) : null))),
      accounts.length ? null : el("p", { class: "muted", text: t("integrations.no_account") }),
      isAdmin() ? el("a", { class: "button", href: `#/integrations/${plugin.id}/new`, text: t("integrations.add_account", { plugin: plugin.name }) }) : null);
  });
  show(el("h1", { text: t("integrations.title") }),
    !state.plugins.length ? el("p", { class: "muted empty", id: "no-plugins", text: t("integrations.no_plugins") })
      : !channels.length ? el("p", { class: "muted empty", id: "no-channels", text: isAdmin() ? t("integrations.empty_admin") : t("integrations.empty") }) : null,
    el("div", { class: "cards" }, cards));
}
