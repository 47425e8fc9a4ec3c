// People of the workspace (admin): invite, change roles, deactivate, reset passwords.

import { api } from "../api.js";
import { copyButton, el, notice, show, tableHead, wideTable } from "../dom.js";
import { fieldRow, showErrors } from "../forms.js";
import { t } from "../i18n.js";
import { roleLabel } from "../state.js";

const ROLES = ["agent", "supervisor", "admin"];
const PERSON_STATUS = { active: "people.status_active", invited: "people.status_invited", deactivated: "people.status_deactivated" };

export async function peoplePage() {
  const people = await api("GET", "/people");
  const result = el("div", { id: "invite-result" });
  const invite = el("form", { class: "stack", id: "invite", novalidate: true },
    el("h2", { text: t("people.invite_title") }),
    fieldRow({ key: "username", label: t("people.username"), kind: "email", required: true }, ""),
    fieldRow({ key: "display_name", label: t("people.name"), kind: "text", required: true }, ""),
    fieldRow({ key: "role", label: t("people.role"), kind: "select", required: true, options: ROLES.map((r) => ({ value: r, label: roleLabel(r) })) }, "agent"),
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: t("people.invite") }));
  invite.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await api("POST", "/people", { username: invite.elements.username.value.trim(), display_name: invite.elements.display_name.value.trim(), role: invite.elements.role.value });
      await peoplePage();
      document.getElementById("invite-result").replaceChildren(notice(t("people.invited", { name: made.person.display_name }), "ok"),
        el("p", { "data-setup": "invitation_url" }, el("code", { text: made.invitation_url }), " ", copyButton(made.invitation_url)));
    } catch (error) {
      showErrors(invite, error);
    }
  });
  const row = (person) => el("tr", { "data-person": person.username },
    el("td", {}, el("strong", { text: person.display_name }), el("div", { class: "muted", text: person.username })),
    el("td", {}, el("select", { "aria-label": t("people.role_of", { name: person.display_name }), onchange: async (event) => {
      try { await api("PATCH", `/people/${person.id}`, { role: event.target.value }); } catch (error) { result.replaceChildren(notice(error.message, "bad")); }
    } }, ROLES.map((r) => el("option", { value: r, text: roleLabel(r), selected: r === person.role })))),
    el("td", { text: t(PERSON_STATUS[person.active ? (person.has_password ? "active" : "invited") : "deactivated"]) }),
    el("td", {},
      el("button", { type: "button", class: "secondary", text: person.active ? t("people.deactivate") : t("people.activate"), onclick: async () => {
        try { await api("PATCH", `/people/${person.id}`, { active: !person.active }); await peoplePage(); } catch (error) { result.replaceChildren(notice(error.message, "bad")); }
      } }), " ",
      el("button", { type: "button", class: "secondary", text: t("people.reset_password"), onclick: async () => {
        try {
          const reset = await api("POST", `/people/${person.id}/invitation`, {});
          result.replaceChildren(notice(t("people.new_link", { name: person.display_name }), "ok"), el("p", {}, el("code", { text: reset.invitation_url }), " ", copyButton(reset.invitation_url)));
        } catch (error) { result.replaceChildren(notice(error.message, "bad")); }
      } })));
  show(el("h1", { text: t("people.title") }),
    people.length
      ? wideTable(el("table", { id: "people" }, tableHead([t("people.person"), t("people.role"), t("people.status"), ""]),
        el("tbody", {}, people.map(row))))
      : el("p", { class: "muted empty", id: "no-people", text: t("people.empty") }),
    result, invite);
}
