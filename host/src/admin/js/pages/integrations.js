// The Integrations page: each plugin with the accounts connected through it.

import { api } from "../api.js";
import { el, show } from "../dom.js";
import { isAdmin, state } from "../state.js";

export async function integrationsPage() {
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

