// The operator's Meta app in the admin pages, in Chromium: set it up on the Plugins page (the
// callback URL and verify token to paste at Meta appear), then "Connect with … login" asks for
// nothing, the login opens in a new tab, and two Pages ticked become two channels.
// Run by tests/e2e/admin_pages.rs. Env: BASE, PUBLIC_URL, OPERATOR_TOKEN, ADMIN_TOKEN, APP_ID, APP_SECRET, GRAPH, PAGE_IDS (to tick), CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env } from "./admin-session.mjs";

const prepare = async (context) => {
  // As in oauth.mjs: the provider's redirect to the public URL is pointed at the host itself.
  await context.route(`${env.GRAPH}/**/dialog/oauth**`, async (route) => {
    const answer = await fetch(route.request().url(), { headers: { accept: "text/html" }, redirect: "manual" });
    const location = (answer.headers.get("location") || "").replace(env.PUBLIC_URL, env.BASE);
    await route.fulfill({ status: answer.status, headers: { location }, body: "" });
  });
};

await adminSession("provider app", async ({ page, context, shot, signIn }) => {
  // The operator sets the app up …
  await signIn(env.OPERATOR_TOKEN);
  await page.waitForSelector(".cards [data-plugin=messenger]");
  await page.goto(`${env.BASE}/#/plugins`);
  await page.click("[data-plugin=messenger] >> text=Set up the app");
  await page.waitForSelector("#provider-app");
  await page.fill("#f-app_id", env.APP_ID);
  await page.fill("#f-app_secret", env.APP_SECRET);
  await page.fill("#f-api_base_url", env.GRAPH);
  await page.click("#provider-app button[type=submit]");
  await page.waitForSelector('[data-setup="callback_url"]');
  assert.equal(await page.textContent('[data-setup="callback_url"] code'), `${env.PUBLIC_URL}/webhooks/apps/messenger`);
  assert.ok((await page.textContent('[data-setup="verify_token"] code')).length >= 24, "a verify token to paste at Meta");
  assert.equal(await page.inputValue("#f-app_secret"), "********", "the secret is not shown again");
  await shot("provider-app");
  await page.click("#sign-out");

  // … and a workspace's admin connects with it.
  await signIn();
  await page.waitForSelector(".cards [data-plugin=messenger]");
  await page.click("[data-plugin=messenger] >> text=Add Facebook Messenger account");
  await page.waitForSelector("#one-click");
  assert.equal((await page.textContent("#oauth-one-click")).trim(), "Connect with Facebook", "the seeds' words for the primary button");
  const [login] = await Promise.all([context.waitForEvent("page"), page.click("#oauth-one-click")]);
  await login.waitForLoadState();
  await login.close();
  await page.waitForSelector("#accounts input[name=account]", { timeout: 15000 });
  for (const id of env.PAGE_IDS.split(",")) await page.check(`#accounts input[value="${id}"]`);
  await shot("provider-app-accounts");
  await page.click("#accounts button[type=submit]");
  await page.waitForSelector("#connected li");
  assert.equal(await page.locator("#connected li").count(), 2, "both Pages connected");
  await shot("provider-app-connected");
}, { prepare });
