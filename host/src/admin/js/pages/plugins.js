// The installation's plugins: the list, uploads and their review, and the catalogue of the
// registries' plugins to install or upgrade (operator).

import { api } from "../api.js";
import { el, errorDialog, main, notice, show, tableHead, wideTable } from "../dom.js";
import { t } from "../i18n.js";
import { isOperator, state } from "../state.js";

// At most this many versions are listed in a row (newest first); all are in the Install choice.
const VERSIONS_SHOWN = 8;

const majorOf = (version) => Number.parseInt(String(version).split(".")[0], 10);

// Installs `version` of a catalogue repository (an install or an upgrade): live at once, or,
// when it is a new plugin or asks for more than the live version (new outbound hosts, host
// capabilities), waiting for consent: the page is drawn again with its review in view, Approve
// focused. A refusal opens the Error dialog, focus going back to the button.
async function installFrom(entry, version, button) {
  button.disabled = true;
  let answer;
  try {
    answer = await api("POST", "/plugins", { source: `${entry.source}:${version}` });
    state.plugins = await api("GET", "/plugins");
  } catch (error) {
    button.disabled = false;
    errorDialog(error.message, button);
    return;
  }
  try {
    await pluginsPage();
  } catch (error) {
    errorDialog(error.message);
    return;
  }
  if (answer.status === "pending_approval") {
    main.prepend(notice(t("plugins.waits_for_approval", { plugin: `${answer.review.name} ${answer.review.version}` }), "ok"));
    const review = document.querySelector(`#reviews [data-review="${CSS.escape(answer.review.id)}"]`);
    if (review) {
      review.scrollIntoView({ block: "center" });
      const approve = review.querySelector("button");
      if (approve) approve.focus();
    }
  } else {
    main.prepend(notice(t("plugins.installed", { plugin: `${answer.name} ${answer.version}` }), "ok"));
  }
}

// One repository: what is installed from it, its versions, and what can be done.
function catalogueRow(entry) {
  const actions = el("td", { class: "actions" });
  if (entry.error) {
    actions.append(el("span", { class: "error", text: t("plugins.unreadable", { error: entry.error }) }));
  } else if (!entry.plugin && !entry.versions.length) {
    actions.append(el("span", { class: "muted", text: t("plugins.no_versions") }));
  } else if (!entry.plugin) {
    const chosen = entry.newest || entry.versions[0];
    const select = el("select", { "aria-label": t("plugins.version_to_install", { source: entry.source }) },
      entry.versions.map((version) => el("option", { value: version, selected: version === chosen, text: version })));
    const button = el("button", { type: "button", "data-install": entry.source, text: t("plugins.install"), onclick: () => installFrom(entry, select.value, button) });
    actions.append(el("div", { class: "row" }, select, button));
  } else {
    const upgrades = [];
    if (entry.newest_compatible) upgrades.push([entry.newest_compatible, t("plugins.upgrade_to", { version: entry.newest_compatible })]);
    // A new major may change what the plugin's channels rely on: offered too, labelled so.
    if (entry.newest && entry.newest !== entry.newest_compatible && majorOf(entry.newest) > majorOf(entry.installed)) {
      upgrades.push([entry.newest, t("plugins.upgrade_to_major", { version: entry.newest })]);
    }
    if (!upgrades.length) actions.append(el("span", { class: "muted", text: t("plugins.up_to_date") }));
    const row = el("div", { class: "row" });
    for (const [version, label] of upgrades) {
      const major = majorOf(version) > majorOf(entry.installed);
      const button = el("button", { type: "button", class: major ? "secondary" : null, "data-upgrade": version, text: label, onclick: () => installFrom(entry, version, button) });
      row.append(button);
    }
    if (upgrades.length) actions.append(row);
  }
  const shown = entry.versions.slice(0, VERSIONS_SHOWN).join(", ") + (entry.versions.length > VERSIONS_SHOWN ? ", …" : "");
  return el("tr", { "data-source": entry.source },
    el("td", { class: "source" }, el("code", { text: entry.source })),
    el("td", entry.plugin ? { text: entry.plugin } : { class: "muted", text: t("plugins.not_installed") }),
    el("td", { class: "installed", text: entry.installed || "—" }),
    el("td", { class: "versions", text: shown || "—" }),
    actions);
}

// The catalogue (operator): drawn into `section` once the registries answered (each within
// 15 s; one that cannot be read shows its reason in its row), unless the page was left meanwhile.
async function fillCatalogue(section) {
  const heading = el("h2", { id: "catalogue-title", text: t("plugins.catalogue_title") });
  let entries;
  try {
    entries = await api("GET", "/catalogue");
  } catch (error) {
    if (section.isConnected) section.replaceChildren(heading, notice(t("plugins.catalogue_failed", { error: error.message }), "bad"));
    return;
  }
  if (!section.isConnected) return;
  if (!entries.length) {
    section.replaceChildren(heading, el("p", { class: "muted empty", id: "no-catalogue", text: t("plugins.catalogue_empty") }));
    return;
  }
  section.replaceChildren(heading, el("p", { class: "muted", text: t("plugins.catalogue_help") }),
    wideTable(el("table", {}, tableHead([t("plugins.repository"), t("plugins.plugin"), t("plugins.installed_version"), t("plugins.available"), ""]),
      el("tbody", {}, entries.map(catalogueRow)))));
}

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
      r.replaces_signer ? el("div", { class: "signer-changed", text: t("plugins.signer_changed", { signer: r.replaces_signer }) }) : null,
      el("div", { text: t("plugins.reaches", { hosts: listed(r.outbound_hosts, r.new_outbound_hosts) }) }),
      el("div", { text: t("plugins.host_capabilities", { imports: listed(r.host_imports, r.new_host_imports) }) }),
      el("div", { text: t("plugins.features", { features: r.capabilities.join(", ") || t("plugins.none") }) }),
      el("div", { class: "row" },
        el("button", { type: "button", text: t("plugins.approve"), onclick: () => decide(r, true) }),
        el("button", { type: "button", class: "secondary", text: t("plugins.reject"), onclick: () => decide(r, false) }))))) : null;
  const catalogue = isOperator()
    ? el("section", { id: "catalogue", "aria-labelledby": "catalogue-title", "aria-busy": "true" },
      el("h2", { id: "catalogue-title", text: t("plugins.catalogue_title") }), el("p", { class: "muted", text: t("plugins.catalogue_loading") }))
    : null;
  show(el("h1", { text: t("plugins.title") }), waiting,
    !state.plugins.length ? el("p", { class: "muted empty", id: "no-plugins", text: t("plugins.empty") }) : wideTable(el("table", {}, tableHead([t("plugins.plugin"), t("plugins.version"), t("plugins.contract"), t("plugins.outbound_hosts"), t("plugins.signer"), t("plugins.provider_app")]),
      el("tbody", {}, state.plugins.map((p) => el("tr", { "data-plugin": p.id },
        el("td", {}, el("strong", { text: p.name }), el("div", { class: "muted", text: p.id })), el("td", { text: p.version }),
        el("td", { text: p.api_version }), el("td", { text: p.outbound_hosts.join(", ") || t("plugins.none") }),
        el("td", { class: "signer", text: p.signer || t("plugins.unsigned") }),
        el("td", {}, !p.provider_app ? "—" : isOperator()
          ? el("a", { href: `#/plugins/${p.id}/app`, text: p.provider_app.configured ? t("plugins.app_change") : t("plugins.app_set_up") })
          : (p.provider_app.configured ? t("plugins.app_is_set_up") : t("plugins.app_not_set_up")))))))),
    catalogue, status, isOperator() ? upload : null);
  if (catalogue) fillCatalogue(catalogue).finally(() => catalogue.removeAttribute("aria-busy"));
}
