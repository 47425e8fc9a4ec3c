// The installation's plugins: the list, uploads and their review (operator).

import { api } from "../api.js";
import { el, main, notice, show, wideTable } from "../dom.js";
import { isOperator, state } from "../state.js";

export async function pluginsPage() {
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

