// The installation's plugins: the list, uploads and their review (operator).

import { api } from "../api.js";
import { el, main, notice, show, tableHead, wideTable } from "../dom.js";
import { t } from "../i18n.js";
import { isOperator, state } from "../state.js";

export async function pluginsPage() {
  const status = el("div");
  const upload = el("form", { class: "stack", id: "upload" },
    el("h2", { text: t("plugins.install_title") }),
    el("div", { class: "field" }, el("label", { for: "component", text: t("plugins.component") }), el("input", { id: "component", type: "file", accept: ".wasm,application/wasm", required: true })),
    el("button", { type: "submit", text: t("plugins.install") }));
  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = upload.querySelector("#component").files[0];
    if (!file) return;
    try {
      const answer = await api("POST", "/plugins", await file.arrayBuffer(), "application/wasm");
      state.plugins = await api("GET", "/plugins");
      const said = answer.status === "pending_approval"
        ? t("plugins.waits_for_approval", { plugin: `${answer.review.name} ${answer.review.version}` })
        : t("plugins.installed", { plugin: `${answer.name} ${answer.version}` });
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
      const plugin = `${review.name} ${review.version}`;
      pluginsPage().then(() => main.prepend(notice(approve ? t("plugins.installed", { plugin }) : t("plugins.rejected", { plugin }), "ok")));
    } catch (error) {
      status.replaceChildren(notice(error.message, "bad"));
    }
  };
  const listed = (items, added) => items.length ? items.map((item) => (added.includes(item) ? t("plugins.new_item", { item }) : item)).join(", ") : t("plugins.none");
  const waiting = reviews.length ? el("section", { id: "reviews" }, el("h2", { text: t("plugins.waiting") }),
    reviews.map((r) => el("div", { class: "card stack", "data-review": r.id },
      el("div", {}, el("strong", { text: `${r.name} ${r.version}` }), " — ",
        el("span", { class: "muted", text: r.replaces ? t("plugins.replaces", { version: r.replaces }) : t("plugins.a_new_plugin") })),
      el("div", { text: t("plugins.signed_by", { signer: r.signer || t("plugins.unsigned_allowed") }) }),
      el("div", { text: t("plugins.reaches", { hosts: listed(r.outbound_hosts, r.new_outbound_hosts) }) }),
      el("div", { text: t("plugins.host_capabilities", { imports: listed(r.host_imports, r.new_host_imports) }) }),
      el("div", { text: t("plugins.features", { features: r.capabilities.join(", ") || t("plugins.none") }) }),
      el("div", { class: "row" },
        el("button", { type: "button", text: t("plugins.approve"), onclick: () => decide(r, true) }),
        el("button", { type: "button", class: "secondary", text: t("plugins.reject"), onclick: () => decide(r, false) }))))) : null;
  show(el("h1", { text: t("plugins.title") }), waiting,
    !state.plugins.length ? el("p", { class: "muted empty", id: "no-plugins", text: t("plugins.empty") }) : wideTable(el("table", {}, tableHead([t("plugins.plugin"), t("plugins.version"), t("plugins.contract"), t("plugins.outbound_hosts"), t("plugins.signer"), t("plugins.provider_app")]),
      el("tbody", {}, state.plugins.map((p) => el("tr", { "data-plugin": p.id },
        el("td", {}, el("strong", { text: p.name }), el("div", { class: "muted", text: p.id })), el("td", { text: p.version }),
        el("td", { text: p.api_version }), el("td", { text: p.outbound_hosts.join(", ") || t("plugins.none") }),
        el("td", { class: "signer", text: p.signer || t("plugins.unsigned") }),
        el("td", {}, !p.provider_app ? "—" : isOperator()
          ? el("a", { href: `#/plugins/${p.id}/app`, text: p.provider_app.configured ? t("plugins.app_change") : t("plugins.app_set_up") })
          : (p.provider_app.configured ? t("plugins.app_is_set_up") : t("plugins.app_not_set_up")))))))),
    status, isOperator() ? upload : null);
}
