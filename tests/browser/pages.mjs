// Every admin page as the seeds show them, in Chromium: no navigation before sign-in; each
// first-party Add form with the plugin's guide on its right; the website chat's settings with a
// live preview of unsaved changes (colour picker included); axe-core finds no serious or
// critical problem on the sign-in, Integrations, a form, the inbox and the settings page; at
// 390 px wide no page scrolls sideways (the Activity page's charts scroll in their own box) and the inbox's actions are there; the inbox is usable
// by keyboard alone. Screenshots of each page (wide and phone) go to SCREENSHOTS.
// Env: BASE, ADMIN_TOKEN, WEBCHAT, CONVERSATION, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, audit as auditPage, env } from "./admin-session.mjs";


// What each first-party guide must tell (the seeds' instructions).
const GUIDES = {
  telegram: ["@BotFather", "/newbot"],
  line: ["Messaging API", "Response"],
  "whatsapp-cloud": ["24", "WhatsApp Business"],
  whatsapp: ["24", "WhatsApp Business"],
  messenger: ["Page"],
  instagram: ["Instagram"],
  twitter: ["direct messages", "mention"],
  email: ["forward"],
  webchat: ["</body>"],
};

await adminSession("pages", async ({ page, shot, signIn }) => {
  const audit = (name) => auditPage(page, name);
  const noSidewaysScroll = async (name) => {
    const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(scroll <= width, `${name} scrolls sideways at ${width} px: ${scroll} px wide`);
  };
  // What the page shows before is marked first: a wait for a selector it also has (each connect
  // form has a #guide) must be met by the new page, not by the one it replaces. Every `hash`
  // differs from the one shown before it (the same hash would draw nothing new).
  const open = async (hash, selector) => {
    await page.evaluate(() => { for (const node of document.querySelectorAll("main *")) node.setAttribute("data-stale", ""); });
    await page.goto(`${env.BASE}/${hash}`);
    await page.waitForSelector(`${selector}:not([data-stale])`);
  };

  // Before sign-in: the Login form only.
  await page.goto(env.BASE);
  await page.waitForSelector("#sign-in");
  for (const link of ["Integrations", "Inbox", "Plugins", "Sign out"]) {
    assert.equal(await page.getByText(link, { exact: true }).isVisible(), false, `${link} is hidden before sign-in`);
  }
  await audit("sign-in");

  await signIn();
  await page.waitForSelector(".cards [data-plugin=telegram]");
  await audit("integrations");
  await shot("integrations");

  // Each Add form with its guide on the right: who may use it, then the plugin's own steps.
  for (const [plugin, words] of Object.entries(GUIDES)) {
    await open(`#/integrations/${plugin}/new`, "#guide");
    const guide = await page.textContent("#guide");
    assert.match(guide, /Only Admin can integrate .+; Admin, Supervisor and Agent use it in the Inbox\./, plugin);
    for (const word of words) assert.ok(guide.includes(word), `${plugin}'s guide tells "${word}": ${guide}`);
    assert.ok(await page.locator("#guide ol li").count() >= 2, `${plugin}'s guide has steps`);
    const links = await page.$$eval("#guide a", (as) => as.map((a) => [a.href, a.rel, a.target]));
    for (const [href, rel] of links) assert.ok(href.startsWith("https://") && rel.includes("noopener"), `${plugin}: ${href} ${rel}`);
    const [form, aside] = await Promise.all([page.locator("#connect").boundingBox(), page.locator("#guide").boundingBox()]);
    assert.ok(aside.x > form.x + form.width - 1, `${plugin}: the guide is on the right of the form`);
    await shot(`connect-${plugin}`);
  }
  await open("#/integrations/telegram/new", "#guide");
  await audit("the Telegram form");
  await shot("connect-form");

  // The website chat's settings: the preview follows the form before anything is saved.
  await open(`#/channels/${env.WEBCHAT}`, "#widget-preview");
  const preview = page.frameLocator("#widget-preview");
  const widgetColor = () => preview.locator(`#switchboard-webchat-${env.WEBCHAT}`).evaluate((host) => host.style.getPropertyValue("--sb-color"));
  await preview.locator(`#switchboard-webchat-${env.WEBCHAT}`).waitFor({ state: "attached" });
  assert.equal(await widgetColor(), "#1f6feb", "the saved colour first");
  await page.fill("#f-color", "#d14900");
  await assertSoon(async () => (await widgetColor()) === "#d14900", "the typed colour is previewed");
  assert.equal(await page.inputValue("#f-color-picker"), "#d14900", "the picker follows the text");
  await page.fill("#f-color-picker", "#118833");
  assert.equal(await page.inputValue("#f-color"), "#118833", "the text follows the picker");
  await assertSoon(async () => (await widgetColor()) === "#118833", "the picked colour is previewed");
  await page.fill("#f-greeting", "Selamat datang di Toko Budi!");
  await preview.locator(`#switchboard-webchat-${env.WEBCHAT} >> .sb-bubble`).click();
  await preview.locator("text=Selamat datang di Toko Budi!").waitFor({ timeout: 20000 });
  await page.selectOption("#f-enabled", "false");
  await preview.locator("text=This widget is switched off").waitFor({ timeout: 20000 });
  await audit("the website chat settings");
  await shot("settings-webchat-preview");

  // The inbox, with a conversation open.
  await open(`#/inbox/${env.CONVERSATION}`, "#reply-text");
  assert.ok(!(await page.textContent("#thread")).includes("null"), "nothing missing is drawn as text");
  await audit("the inbox");
  await shot("inbox");

  // Keyboard only: from the search box, Tab reaches the conversation, the reply box and Send.
  await page.focus("#inbox-search");
  const reached = new Set();
  for (let i = 0; i < 40; i += 1) {
    await page.keyboard.press("Tab");
    reached.add(await page.evaluate(() => {
      const a = document.activeElement;
      return a.id || a.dataset.conversation && `conversation ${a.dataset.conversation}` || (a.textContent || "").trim().slice(0, 20);
    }));
  }
  for (const wanted of [`conversation ${env.CONVERSATION}`, "reply-text", "Send"]) assert.ok(reached.has(wanted), `Tab reaches ${wanted}: ${[...reached].join(" | ")}`);
  await page.focus("#reply-text");
  await page.keyboard.type("Dari keyboard saja");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.waitForSelector('.bubble.outbound:has-text("Dari keyboard saja")');

  // A phone: nothing scrolls sideways, and the inbox's actions are on the screen's width.
  await page.setViewportSize({ width: 390, height: 844 });
  const phonePages = [
    ["integrations", "#/integrations", ".cards"],
    ["connect", "#/integrations/telegram/new", "#guide"],
    ["settings", `#/channels/${env.WEBCHAT}`, "#widget-preview"],
    ["inbox", `#/inbox/${env.CONVERSATION}`, "#reply-text"],
    ["plugins", "#/plugins", "table"],
    ["people", "#/people", "#invite"],
    ["activity", "#/activity", "#activity-agents"],
  ];
  for (const [name, hash, selector] of phonePages) {
    await open(hash, selector);
    await noSidewaysScroll(name);
    await shot(`phone-${name}`);
  }
  await open(`#/inbox/${env.CONVERSATION}`, "#reply-text");
  for (const control of ["#inbox-search", "#reply-text", "#reply button[type=submit]", "#toggle-status", "#nav >> text=Integrations", "#sign-out"]) {
    const box = await page.locator(control).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${control} is on the phone's screen: ${JSON.stringify(box)}`);
  }
});

// A check that throws is not yet true: the preview frame reloads as the form changes, and a
// read during its navigation fails ("Execution context was destroyed"); the last error is shown.
async function assertSoon(check, what, timeout = 20000) {
  const deadline = Date.now() + timeout;
  let last = null;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(last ? `${what} (last read failed: ${last.message})` : what);
}
