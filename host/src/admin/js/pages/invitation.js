// The page an invitation (or reset) link opens: set a password, then sign in.

import { api } from "../api.js";
import { el, main, notice, show } from "../dom.js";
import { showErrors } from "../forms.js";
import { t } from "../i18n.js";
import { signInPage } from "./sign-in.js";

export async function invitationPage(token) {
  document.getElementById("nav").hidden = true;
  let who;
  try { who = await api("GET", `/invitations/${token}`); } catch (error) { return show(el("h1", { text: t("invitation.title") }), notice(error.message, "bad")); }
  const form = el("form", { class: "stack", id: "invitation" },
    el("h1", { text: t("invitation.welcome", { name: who.display_name }) }),
    el("p", { text: t("invitation.set_password_for", { username: who.username }) }),
    el("div", { class: "field", "data-field": "password" },
      el("label", { for: "f-password", text: t("sign_in.password") }),
      el("input", { id: "f-password", name: "password", type: "password", autocomplete: "new-password", required: true }),
      el("div", { class: "error", "data-error-for": "password" })),
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: t("invitation.submit") }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api("POST", `/invitations/${token}`, { password: form.elements.password.value });
      // Leave the one-time link without a hashchange (which would draw the page again).
      history.replaceState(null, "", location.pathname);
      signInPage();
      main.prepend(notice(t("invitation.done"), "ok"));
    } catch (error) {
      showErrors(form, error);
    }
  });
  show(form);
}
