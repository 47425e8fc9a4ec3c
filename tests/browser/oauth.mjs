// "Connect with Facebook" in the admin pages, in Chromium: the provider's login opens in a new
// tab, returns to the host's callback, and the first tab offers the pages to connect. Run by
// tests/e2e/admin_pages.rs. Env: BASE, PUBLIC_URL, ADMIN_TOKEN, APP_ID, APP_SECRET, GRAPH, PAGE_NAME, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env } from "./admin-session.mjs";

const prepare = async (context) => {
  // The provider sends the admin back to the public URL (the host behind its TLS proxy in
  // production); this browser has no such proxy, so the redirect is pointed at the host itself.
  await context.route(`${env.GRAPH}/**/dialog/oauth**`, async (route) => {
    const answer = await fetch(route.request().url(), { headers: { accept: "text/html" }, redirect: "manual" });
    const location = (answer.headers.get("location") || "").replace(env.PUBLIC_URL, env.BASE);
    await route.fulfill({ status: answer.status, headers: { location }, body: "" });
  });
};

await adminSession("oauth pages", async ({ page, context, shot, signIn }) => {
  await signIn();
  await page.waitForSelector(".cards [data-plugin=messenger]");
  await page.click("[data-plugin=messenger] >> text=Add Facebook Messenger account");
  await page.waitForSelector("#connect");
  await page.fill("#f-name", "Toko Budi Messenger");
  await page.fill("#f-app_id", env.APP_ID);
  await page.fill("#f-app_secret", env.APP_SECRET);
  await page.fill("#f-api_base_url", env.GRAPH);
  const [login] = await Promise.all([context.waitForEvent("page"), page.click("#oauth-connect")]);
  await login.waitForLoadState();
  assert.match(await login.content(), /Login complete|login complete|You can close/i, "the callback tab says the login is done");
  await login.close();
  const account = page.locator(`#oauth-status button:has-text("${env.PAGE_NAME}")`);
  await account.waitFor({ timeout: 15000 });
  await shot("oauth-accounts");
  await account.click();
  await page.waitForSelector("text=is connected");
  await page.waitForSelector('[data-setup="verify_token"]');
  await shot("oauth-connected");
}, { prepare });
