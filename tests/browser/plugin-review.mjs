// The operator's review of an upload, in Chromium: a new plugin uploaded on the Plugins page
// does not run at once; the page shows what it asks for (signer, hosts, host capabilities)
// with Approve and Reject, and Approve makes it live.
// Run by tests/e2e/admin_pages.rs. Env: BASE, OPERATOR_TOKEN, COMPONENT (a .wasm file), CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env } from "./admin-session.mjs";

await adminSession("plugin review", async ({ page, shot, signIn }) => {
  await signIn(env.OPERATOR_TOKEN);
  // Signing in lands on Integrations: wait for it before going elsewhere.
  await page.waitForSelector(".cards [data-plugin=telegram]");
  await page.goto(`${env.BASE}/#/plugins`);
  await page.waitForSelector("#upload");
  await page.setInputFiles("#component", env.COMPONENT);
  await page.click("#upload button[type=submit]");
  const review = await page.waitForSelector("#reviews [data-review=echo]");
  const text = await review.textContent();
  assert.match(text, /a new plugin/);
  assert.match(text, /Signed by: nobody/, "an unsigned upload says so (this test host allows unsigned plugins)");
  assert.match(text, /switchboard:channel\/state/, "the host capabilities it imports are shown");
  assert.equal(await page.$("tr[data-plugin=echo]"), null, "not live before approval");
  await shot("plugin-review");
  await page.click("#reviews [data-review=echo] >> text=Approve");
  await page.waitForSelector("tr[data-plugin=echo]");
  assert.equal(await page.$("#reviews"), null, "nothing waits any more");
});
