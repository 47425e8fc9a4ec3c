// Event webhooks in the admin pages, in Chromium: an admin adds an endpoint (an internal URL is
// refused beside its field), copies the secret shown once, sends a test and reads the answer,
// finds the customer's message delivered on the endpoint's page and sends it again, then turns
// the endpoint off. Run by tests/e2e/admin_pages.rs.
// Env: BASE, ADMIN_TOKEN, RECEIVER (the receiver's URL), CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, audit as auditPage, env } from "./admin-session.mjs";

await adminSession("webhooks", async ({ page, shot, signIn }) => {
  const audit = (name) => auditPage(page, name);
  await signIn();
  await page.waitForSelector(".cards");
  await page.click("#nav >> text=Webhooks");
  await page.waitForSelector("#add-endpoint");
  assert.match(await page.textContent("main"), /No endpoints yet/);

  await page.fill("#f-url", "https://10.0.0.1/hook");
  await page.check("#f-all-events");
  await page.click("#add-endpoint button[type=submit]");
  await page.waitForSelector('[data-error-for="url"]:has-text("public addresses only")');
  await page.fill("#f-url", env.RECEIVER);
  await page.fill("#f-description", "CRM");
  await page.click("#add-endpoint button[type=submit]");
  const secret = await page.textContent('[data-setup="webhook_secret"] code');
  assert.match(secret, /^whsec_/);
  assert.match(await page.textContent("#endpoints"), /all events/);
  await shot("webhooks-added");
  await audit("the webhooks page");

  await page.click("#endpoints >> text=Send test");
  await page.waitForSelector("#webhook-result >> text=/answered 200/");

  // The customer writes once the endpoint exists (the Rust side): open the endpoint's page
  // until its delivery is listed (the page is drawn when opened).
  const deadline = Date.now() + 240_000; // the Rust side's patience: a condition, bounded generously
  for (;;) {
    assert.ok(Date.now() < deadline, "the customer's message was never listed as a delivery");
    await page.click("#endpoints a");
    await page.waitForSelector("#deliveries, #no-deliveries");
    if (await page.locator('#deliveries [data-delivery]:has-text("message.received")').count()) break;
    await page.click("text=Back");
    await page.waitForSelector("#endpoints");
    await page.waitForTimeout(200);
  }
  await page.waitForSelector('#deliveries [data-delivery]:has-text("webhook.ping")');
  assert.match(await page.textContent("#deliveries"), /delivered/);
  await page.click('#deliveries [data-delivery]:has-text("message.received") >> text=Send again');
  await page.waitForSelector("#delivery-result >> text=Queued again.");
  await shot("webhooks-deliveries");
  await audit("an endpoint's deliveries");

  await page.click("text=Back");
  await page.click("#endpoints >> text=Turn off");
  await page.waitForSelector('#endpoints .badge.bad:has-text("off")');
}, {});
