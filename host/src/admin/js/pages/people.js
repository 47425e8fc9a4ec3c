// People of the workspace (admin): invite, change roles, deactivate, reset passwords.

import { api } from "../api.js";
import { copyButton, el, notice, show, wideTable } from "../dom.js";
import { fieldRow, showErrors } from "../forms.js";

export async function peoplePage() {
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
