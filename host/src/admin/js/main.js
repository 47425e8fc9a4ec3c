// Switchboard admin pages: plain JavaScript modules on the public API (/api/v1), no build step.
// People sign in with a username and password (an HttpOnly session cookie; writes carry the
// session's CSRF token); machines and scripts may use an API token instead, kept in
// localStorage. Every text from the server is set with textContent.
// This module is the entry: it routes the URL's hash to a page.

import { api, onSessionEnded } from "./api.js";
import { notice, show } from "./dom.js";
import { setLanguage, startingLanguage, translateStatic } from "./i18n.js";
import { stopInbox } from "./live.js";
import { activityPage } from "./pages/activity.js";
import { auditPage } from "./pages/audit.js";
import { channelPage } from "./pages/channel.js";
import { newChannelPage } from "./pages/connect.js";
import { inboxPage } from "./pages/inbox.js";
import { integrationsPage } from "./pages/integrations.js";
import { invitationPage } from "./pages/invitation.js";
import { operationsPage } from "./pages/operations.js";
import { peoplePage } from "./pages/people.js";
import { pluginsPage } from "./pages/plugins.js";
import { providerAppPage } from "./pages/provider-app.js";
import { afterSignIn, drawNav, loadSession, signInPage, signOut } from "./pages/sign-in.js";
import { templatesPage } from "./pages/templates.js";
import { webhookDeliveriesPage, webhooksPage } from "./pages/webhooks.js";
import { workspacesPage } from "./pages/workspaces.js";
import { signedIn, state } from "./state.js";

// Draws the page the URL names. A page whose session was still loading when another navigation
// began draws nothing (the newer one draws). A page waits for the API before it draws, so an
// older page (the language switched, then a link or "Sign out" clicked at once) can finish
// after a newer one was drawn and draw over it: the newest page is then drawn again.
export async function route() {
  const mine = ++state.navigation;
  let outcome;
  try {
    outcome = await drawPage(mine);
    return outcome;
  } finally {
    if (mine === state.navigation) state.drawn = mine;
    else if (outcome !== OVERTAKEN && state.drawn === state.navigation) route();
  }
}

// What `drawPage` answers when a newer navigation began before it drew anything (or it gave
// way to the sign-in page).
const OVERTAKEN = Symbol("overtaken");

async function drawPage(mine) {
  if (!location.hash.startsWith("#/inbox")) stopInbox();
  const invitation = location.hash.match(/^#\/invitation\/([^/]+)$/);
  if (invitation) return invitationPage(invitation[1]);
  if (!signedIn()) return signInPage();
  if (!state.role) {
    try {
      await loadSession();
    } catch (error) {
      // The sign-in page, with why, is this navigation's page now (not one to draw again).
      signOut(error.status === 401 ? "" : error.message);
      return OVERTAKEN;
    }
  }
  if (mine !== state.navigation) return OVERTAKEN;
  // The links follow the operator's workspace too (switched to or left since the last page).
  drawNav();
  const parts = (location.hash.replace(/^#\/?/, "") || "integrations").split("/");
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === parts[0]));
  try {
    if (parts[0] === "integrations" && parts[2] === "new") return newChannelPage(parts[1]);
    if (parts[0] === "channels" && parts[2] === "templates") return await templatesPage(parts[1]);
    if (parts[0] === "channels") return await channelPage(parts[1]);
    if (parts[0] === "inbox") return await inboxPage(parts[1]);
    if (parts[0] === "workspaces") return await workspacesPage();
    if (parts[0] === "people") return await peoplePage();
    if (parts[0] === "webhooks" && parts[1]) return await webhookDeliveriesPage(parts[1]);
    if (parts[0] === "webhooks") return await webhooksPage();
    if (parts[0] === "plugins" && parts[2] === "app") return await providerAppPage(parts[1]);
    if (parts[0] === "plugins") return await pluginsPage();
    if (parts[0] === "audit") return await auditPage();
    if (parts[0] === "activity") return await activityPage();
    if (parts[0] === "operations") return await operationsPage();
    return await integrationsPage();
  } catch (error) {
    show(notice(error.message, "bad"));
  }
}

// Shows every page in `lang` from now on: the catalogue, the static page, the switch, the
// navigation (the caller draws the current page again).
export async function showLanguage(lang, options) {
  await setLanguage(lang, options);
  translateStatic();
  document.getElementById("language").value = lang;
  drawNav();
}

// The header's language switch: at once, remembered on this browser and, for a person signed
// in, on their account (any browser they use next).
const languageSwitch = document.getElementById("language");
languageSwitch.addEventListener("change", async () => {
  const lang = languageSwitch.value;
  await showLanguage(lang);
  if (state.person) api("PUT", "/me/language", { language: lang }).catch(() => {});
  // The plugins' own texts (forms, guides) come from the host in the language asked for.
  if (signedIn()) state.plugins = await api("GET", "/plugins").catch(() => state.plugins);
  route();
});

document.getElementById("sign-out").addEventListener("click", () => signOut());
onSessionEnded(signOut);
afterSignIn(route, showLanguage);
window.addEventListener("hashchange", route);
// The browser's languages choose until someone picks one (then it is saved).
await showLanguage(startingLanguage(), { remember: false }).catch(() => {});
route();
