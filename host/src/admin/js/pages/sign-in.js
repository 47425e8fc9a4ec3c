// Signing in (username and password, or an API token), the session, signing out.

import { api } from "../api.js";
import { el, notice, show } from "../dom.js";
import { LANGUAGES, language, t } from "../i18n.js";
import { stopInbox } from "../live.js";
import { isAdmin, isOperator, roleLabel, seesActivity, seesOperations, state } from "../state.js";

// What follows a sign-in, given by main.js, which imports this page (importing main here would
// close a loop of modules).
const next = { route: () => {}, showLanguage: async () => {} };
export function afterSignIn(route, showLanguage) {
  next.route = route;
  next.showLanguage = showLanguage;
}

export function signInPage(message) {
  const form = el("form", { class: "stack", id: "sign-in", novalidate: true },
    el("h1", { text: t("sign_in.title") }),
    message ? notice(message, "bad") : null,
    el("div", { class: "field" },
      el("label", { for: "username", text: t("sign_in.username") }),
      el("input", { id: "username", name: "username", type: "email", autocomplete: "username", required: true })),
    el("div", { class: "field" },
      el("label", { for: "password", text: t("sign_in.password") }),
      el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true })),
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: t("sign_in.submit") }),
    el("details", { id: "with-token" }, el("summary", { text: t("sign_in.with_token") }),
      el("div", { class: "field" },
        el("label", { for: "token", text: t("sign_in.token") }),
        el("input", { id: "token", name: "token", type: "password", autocomplete: "off" }),
        el("div", { class: "help", text: t("sign_in.token_help") }))));
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
      // One navigation: a changed hash routes by itself (routing here too would draw the page
      // twice, the slower draw landing over whatever the person opened meanwhile).
      if (location.hash === "#/integrations") next.route();
      else location.hash = "#/integrations";
    } catch (error) {
      state.token = "";
      problem.textContent = error.status === 401 ? (token ? t("sign_in.bad_token") : t("sign_in.bad_password")) : error.message;
    }
  });
  document.getElementById("nav").hidden = true;
  show(form);
}

export async function loadSession() {
  const me = await api("GET", "/me");
  state.role = me.role;
  state.person = me.person;
  // A person's language, chosen on any browser, wins over this browser's; then the plugins'
  // texts are asked for in it.
  const chosen = me.language ?? (me.person && me.person.language);
  if (LANGUAGES.includes(chosen) && chosen !== language()) await next.showLanguage(chosen);
  state.plugins = await api("GET", "/plugins");
  document.getElementById("nav").hidden = false;
  drawNav();
}

// Who is signed in, and the links their role may follow (drawn again in another language).
export function drawNav() {
  if (!state.role) return;
  document.getElementById("role").textContent = state.person
    ? t("nav.signed_in_as", { name: state.person.display_name, role: roleLabel(state.role) })
    : t("nav.signed_in_role", { role: roleLabel(state.role) });
  document.querySelectorAll("[data-admin]").forEach((node) => { node.hidden = !(isAdmin() || isOperator()); });
  document.querySelectorAll("[data-operator]").forEach((node) => { node.hidden = !isOperator(); });
  document.querySelectorAll("[data-activity]").forEach((node) => { node.hidden = !seesActivity(); });
  document.querySelectorAll("[data-operations]").forEach((node) => { node.hidden = !seesOperations(); });
}

export function signOut(message) {
  stopInbox();
  if (!state.token && state.csrf) api("DELETE", "/session").catch(() => {});
  state.token = "";
  state.csrf = "";
  state.role = "";
  state.person = null;
  localStorage.removeItem("switchboard.token");
  localStorage.removeItem("switchboard.csrf");
  state.workspace = "";
  localStorage.removeItem("switchboard.workspace");
  signInPage(message);
  // A newer page, drawn: one still waiting for the API (`route`) draws this one again.
  state.drawn = ++state.navigation;
}
