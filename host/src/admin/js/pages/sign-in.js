// Signing in (username and password, or an API token), the session, signing out.

import { route } from "../main.js";
import { api } from "../api.js";
import { el, notice, show } from "../dom.js";
import { stopInbox } from "../live.js";
import { isAdmin, isOperator, state } from "../state.js";

export function signInPage(message) {
  const form = el("form", { class: "stack", id: "sign-in", novalidate: true },
    el("h1", { text: "Login" }),
    message ? notice(message, "bad") : null,
    el("div", { class: "field" },
      el("label", { for: "username", text: "Username" }),
      el("input", { id: "username", name: "username", type: "email", autocomplete: "username", required: true })),
    el("div", { class: "field" },
      el("label", { for: "password", text: "Password" }),
      el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true })),
    el("div", { class: "error form-error" }),
    el("button", { type: "submit", text: "Login" }),
    el("details", { id: "with-token" }, el("summary", { text: "Use an API token instead" }),
      el("div", { class: "field" },
        el("label", { for: "token", text: "API token" }),
        el("input", { id: "token", name: "token", type: "password", autocomplete: "off" }),
        el("div", { class: "help", text: "For scripts and operators: switchboard token create --role ROLE." }))));
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
      location.hash = "#/integrations";
      route();
    } catch (error) {
      state.token = "";
      problem.textContent = error.status === 401 ? (token ? "That token is not valid." : "Wrong username or password.") : error.message;
    }
  });
  document.getElementById("nav").hidden = true;
  show(form);
}

export async function loadSession() {
  const me = await api("GET", "/me");
  state.role = me.role;
  state.person = me.person;
  state.plugins = await api("GET", "/plugins");
  document.getElementById("nav").hidden = false;
  document.getElementById("role").textContent = `${me.person ? me.person.display_name + " " : ""}(${state.role})`;
  document.querySelectorAll("[data-admin]").forEach((node) => { node.hidden = !(isAdmin() || isOperator()); });
  document.querySelectorAll("[data-operator]").forEach((node) => { node.hidden = !isOperator(); });
}

export function signOut(message) {
  stopInbox();
  if (!state.token && state.csrf) api("DELETE", "/session").catch(() => {});
  state.token = "";
  state.csrf = "";
  state.role = "";
  localStorage.removeItem("switchboard.token");
  localStorage.removeItem("switchboard.csrf");
  state.workspace = "";
  localStorage.removeItem("switchboard.workspace");
  signInPage(message);
}

