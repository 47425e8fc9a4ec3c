// WhatsApp templates and a closed window in the admin pages, in Chromium. Run by
// tests/e2e/admin_pages.rs. Env: BASE, ADMIN_TOKEN, CHANNEL, CONVERSATION, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env, statusChangedByColleague } from "./admin-session.mjs";

await adminSession("templates pages", async ({ page, shot, signIn }) => {
  await signIn();
  await page.waitForSelector(".cards");

  // The channel's templates: switch one off and on again.
  await page.goto(`${env.BASE}/#/channels/${env.CHANNEL}`);
  await page.click("text=24 Hours HSM Template");
  const toggle = page.locator('[data-template="order_update"] input[type=checkbox]');
  await toggle.waitFor();
  assert.equal(await toggle.isChecked(), true);
  await toggle.uncheck();
  await page.waitForSelector('#template-status:has-text("Successfully updated!")');
  await shot("templates");
  await page.reload();
  await page.locator('[data-template="order_update"] input[type=checkbox]').waitFor();
  assert.equal(await page.locator('[data-template="order_update"] input[type=checkbox]').isChecked(), false, "the switch is kept");
  await page.locator('[data-template="order_update"] input[type=checkbox]').check();
  await page.waitForSelector('#template-status:has-text("Successfully updated!")');

  // The add form names a missing field.
  await page.click('#add-template button[type=submit]');
  await page.waitForSelector('#add-template [data-error-for="name"]:has-text("required")');

  // A closed window: the reply box explains it and offers the templates instead.
  await page.goto(`${env.BASE}/#/inbox/${env.CONVERSATION}`);
  await page.waitForSelector("#reply");
  assert.match(await page.locator("#reply").innerText(), /window of this conversation has closed/);
  assert.equal(await page.locator("#reply-text").count(), 0, "no free text box outside the window");
  await page.waitForSelector("#live-state:has-text('Live')");
  await page.selectOption("#reply-template", "order_update|id");
  await page.fill('#reply input[name="params"]', "Siti | INV-2025-001");
  // A colleague resolves the conversation meanwhile, then reopens it: the thread is redrawn
  // live each time (known by the status it shows), and the template picked and the parameters
  // typed stay.
  await page.evaluate(() => { document.getElementById("reply").dataset.before = "1"; });
  for (const status of ["resolved", "open"]) {
    await statusChangedByColleague(page, status);
    assert.equal(await page.inputValue("#reply-template"), "order_update|id", `the picked template stays (${status})`);
    assert.equal(await page.inputValue('#reply input[name="params"]'), "Siti | INV-2025-001", `the parameters stay (${status})`);
  }
  await page.click("#reply button[type=submit]");
  await page.waitForSelector('.bubble.outbound:has-text("[template order_update]")');
  await shot("inbox-closed-window");
});
