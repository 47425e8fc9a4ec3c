// The admin pages in Bahasa Indonesia, in Chromium: the header's switch turns every page
// Indonesian at once; walking each page's visible text, placeholders, aria-labels and titles
// finds no English words the catalogues translate (what the server sends, such as channel or
// plugin names, is not a catalogue value and may stay as it is); the choice is remembered
// after a reload; axe-core finds no serious or critical problem in either language.
// Screenshots: Integrations and a connect form in each language. Run by tests/e2e/admin_pages.rs.
// A person (invited, so the invitation page is walked too) who picks a language has it on
// their account: with this browser's choice forgotten, signing in brings it back.
// Env: BASE, ADMIN_TOKEN, OPERATOR_TOKEN, WEBCHAT, CONVERSATION, INVITATION (a link's token),
// USERNAME, PASSWORD (to set), CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, audit as auditPage, env } from "./admin-session.mjs";

// The words of the catalogues as served. An English value that is the same in Indonesian
// ("Webhook", "Status", "OK") is no sign of a missed translation; the others are, also with
// their placeholders filled ("Add Telegram account").
const catalogue = async (lang) => (await fetch(`${env.BASE}/admin/i18n/${lang}.json`)).json();
const [en, id] = await Promise.all([catalogue("en"), catalogue("id")]);
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const english = Object.entries(en).filter(([key, value]) => id[key] !== value && value.trim() !== "")
  .map(([key, value]) => [key, new RegExp(`^${value.trim().split(/\{\w+\}/).map(escape).join(".+?")}$`, "s")]);

// What the server sends (plugins' names, form labels and guides, channels' names …) is data,
// not the pages' words: a label a plugin spells like a catalogue value ("API token") is fine.
const fromServer = new Set();
const collect = (value) => {
  if (typeof value === "string") fromServer.add(value.trim());
  else if (value && typeof value === "object") Object.values(value).forEach(collect);
};
for (const token of [env.ADMIN_TOKEN, env.OPERATOR_TOKEN]) {
  for (const path of ["/plugins", "/channels", "/people", "/conversations", "/workspaces"]) {
    const answer = await fetch(`${env.BASE}/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    if (answer.ok) collect(await answer.json());
  }
}

// The pages an admin sees, and what shows once each is drawn whole (lists filled in).
const ADMIN_PAGES = [
  ["integrations", "#/integrations", ".cards"],
  ["connect", "#/integrations/telegram/new", "#guide"],
  ["connect-whatsapp", "#/integrations/whatsapp-cloud/new", "#several-accounts"],
  ["settings", `#/channels/${env.WEBCHAT}`, "#widget-preview"],
  ["inbox", `#/inbox/${env.CONVERSATION}`, "#reply-text", "#messages .bubble", "[data-conversation]"],
  ["people", "#/people", "#invite"],
  ["webhooks", "#/webhooks", "#add-endpoint"],
  ["plugins", "#/plugins", "table"],
  ["audit", "#/audit", "#audit [data-audit], #no-audit:not([hidden])"],
  ["activity", "#/activity", "#activity-agents", "[data-chart=received], #no-messages"],
];
// And the operator's.
const OPERATOR_PAGES = [
  ["workspaces", "#/workspaces", "#new-workspace"],
  ["audit-operator", "#/audit", "#audit [data-audit]"],
  ["plugins-operator", "#/plugins", "#upload"],
  ["operations", "#/operations", "#operations-workspaces"],
];

await adminSession("language", async ({ page, shot, signIn }) => {
  const audit = (name) => auditPage(page, name);
  const open = async (hash, ...selectors) => {
    await page.goto(`${env.BASE}/${hash}`);
    for (const selector of selectors) await page.waitForSelector(selector);
  };
  // Telegram's connect form: the plugin's own texts too (contract 0.1.4 translations, asked for
  // in the page's language), axe, and the README's screenshot.
  const connectForm = async (lang, name, label) => {
    await open("#/integrations/telegram/new", "#guide");
    assert.match(await page.textContent('label[for="f-bot_token"]'), label, `Telegram's field label in ${name}`);
    await audit(`a connect form in ${name}`);
    await shot(`language-connect-${lang}`);
  };
  const choose = async (lang) => {
    await page.selectOption("#language", lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  };
  // Every string a person reads or hears on the page as it is now.
  const shown = () => page.evaluate(() => {
    const seen = [];
    const visible = (node) => node.checkVisibility({ visibilityProperty: true });
    const where = (node) => `${node.tagName.toLowerCase()}${node.id ? `#${node.id}` : ""}${node.className && typeof node.className === "string" ? `.${node.className.trim().split(/\s+/).join(".")}` : ""}`;
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      const text = node.textContent.trim();
      if (!text || !parent || parent.closest("script, style, template")) continue;
      const shownBy = parent.tagName === "OPTION" ? parent.closest("select") : parent;
      if (shownBy && visible(shownBy)) seen.push([where(parent), text]);
    }
    for (const node of document.body.querySelectorAll("[placeholder], [aria-label], [title]")) {
      if (!visible(node)) continue;
      for (const attribute of ["placeholder", "aria-label", "title"]) {
        if (node.getAttribute(attribute)) seen.push([`${where(node)}[${attribute}]`, node.getAttribute(attribute).trim()]);
      }
    }
    seen.push(["title", document.title]);
    return seen;
  });
  const noEnglish = async (name) => {
    const found = [];
    for (const [place, text] of await shown()) {
      if (fromServer.has(text)) continue;
      const match = english.find(([, pattern]) => pattern.test(text));
      if (match) found.push(`${place}: "${text}" (${match[0]})`);
    }
    assert.deepEqual(found, [], `English words on the ${name} page in Indonesian`);
  };

  // Before sign-in: the switch is there, and the Login form follows it.
  await page.goto(env.BASE);
  await page.waitForSelector("#sign-in");
  assert.equal(await page.textContent("#sign-in h1"), en["sign_in.title"]);
  await choose("id");
  await page.waitForSelector(`#sign-in h1:text-is("${id["sign_in.title"]}")`);
  await noEnglish("sign-in");
  await audit("sign-in in Indonesian");

  // Signed in (the choice stays), every admin page in Indonesian.
  await page.click("#with-token summary");
  await page.fill("#token", env.ADMIN_TOKEN);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector(".cards");
  assert.equal(await page.evaluate(() => document.documentElement.lang), "id", "still Indonesian after signing in");
  for (const [name, hash, ...selectors] of ADMIN_PAGES) {
    await open(hash, ...selectors);
    await noEnglish(name);
  }

  // Remembered: a reload draws Indonesian again, the switch shows it.
  await open("#/integrations", ".cards");
  await page.reload();
  await page.waitForSelector(".cards");
  assert.equal(await page.evaluate(() => document.documentElement.lang), "id", "<html lang> after a reload");
  assert.equal(await page.inputValue("#language"), "id", "the switch after a reload");
  assert.equal(await page.textContent("main h1"), id["integrations.title"]);
  await audit("Integrations in Indonesian");
  await shot("language-integrations-id");
  await connectForm("id", "Indonesian", /^Token bot/);
  await open(`#/inbox/${env.CONVERSATION}`, "#reply-text");
  await audit("the inbox in Indonesian");

  // Back to English at once, without a reload: the page shown is drawn again.
  await page.evaluate(() => { window.sameDocument = true; });
  await choose("en");
  await page.waitForSelector(`main h1:text-is("${en["inbox.title"]}")`);
  assert.equal(await page.evaluate(() => window.sameDocument), true, "switched without a reload");
  await open("#/integrations", ".cards");
  await audit("Integrations in English");
  await shot("language-integrations-en");
  await connectForm("en", "English", /^Bot token/);

  // The operator's pages in Indonesian.
  await choose("id");
  await page.click("#sign-out");
  await page.waitForSelector("#sign-in");
  await signIn(env.OPERATOR_TOKEN);
  await page.waitForSelector(".cards");
  for (const [name, hash, ...selectors] of OPERATOR_PAGES) {
    await open(hash, ...selectors);
    await noEnglish(name);
  }
  await open("#/workspaces", "#new-workspace");
  await audit("Workspaces in Indonesian");
  await open("#/audit", "#audit [data-audit]");
  await audit("the audit log in Indonesian");
  await page.click("#sign-out");

  // The invited person sets a password on a page in Indonesian, signs in, and picks English
  // then Indonesian: the account keeps it (PUT /api/v1/me/language).
  await open(`#/invitation/${env.INVITATION}`, "#invitation");
  await noEnglish("invitation");
  await page.fill("#f-password", env.PASSWORD);
  await page.click("#invitation button[type=submit]");
  await page.waitForSelector("#sign-in");
  await page.fill("#username", env.USERNAME);
  await page.fill("#password", env.PASSWORD);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector(".cards");
  const saved = (lang) => page.waitForResponse((r) => r.url().endsWith("/api/v1/me/language") && r.request().method() === "PUT"
    && JSON.parse(r.request().postData()).language === lang);
  await Promise.all([saved("en"), choose("en")]);
  const [answer] = await Promise.all([saved("id"), choose("id")]);
  assert.equal(answer.status(), 204, "the account keeps the choice");
  await page.evaluate(() => localStorage.removeItem("switchboard.language"));
  await page.reload();
  await page.waitForSelector(`main h1:text-is("${id["integrations.title"]}")`);
  assert.equal(await page.evaluate(() => document.documentElement.lang), "id", "the account's language, not the browser's English");
}, {});
