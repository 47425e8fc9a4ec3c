// The admin pages in Chromium, as an admin would use them. Run by tests/e2e/admin_pages.rs,
// which starts the host and fake providers and checks the effects on their side.
// Env: BASE, ADMIN_TOKEN, TELEGRAM_TOKEN, TELEGRAM_API, LINE_CHANNEL, CONVERSATION, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env } from "./admin-session.mjs";

await adminSession("admin pages", async ({ page, shot, signIn }) => {
  const text = (selector) => page.locator(selector).innerText();
  // Sign in with a token.
  await signIn("not-a-token");
  await page.waitForSelector("text=That token is not valid.");
  await signIn();
  await page.waitForSelector(".cards [data-plugin=telegram]");
  await shot("integrations");

  // Connect Telegram through the form: an empty required field is named, then it connects.
  await page.click("[data-plugin=telegram] >> text=Add Telegram account");
  await page.waitForSelector("#connect");
  await page.fill("#f-name", "Toko Budi bot");
  await page.click("#connect button[type=submit]");
  await page.waitForSelector('[data-error-for="bot_token"]:has-text("field is required")');
  await shot("connect-errors");
  await page.fill("#f-bot_token", env.TELEGRAM_TOKEN);
  await page.fill("#f-api_base_url", env.TELEGRAM_API);
  await page.click("#connect button[type=submit]");
  await page.waitForSelector("text=Toko Budi bot is connected");
  assert.match(await text('[data-setup="webhook_url"]'), /\/webhooks\/ch_/);
  await shot("connected");

  // A read-only field: the LINE channel's secret (and name) are shown but cannot be changed.
  await page.goto(`${env.BASE}/#/channels/${env.LINE_CHANNEL}`);
  await page.waitForSelector("#settings");
  assert.equal(await page.isDisabled("#f-channel_secret"), true, "channel secret is read-only");
  assert.equal(await page.isDisabled("#f-name"), true, "a LINE channel keeps its name");
  assert.equal(await page.isDisabled("#f-channel_access_token"), false, "the token can be replaced");
  await shot("settings-read-only");

  // Disconnect through the confirm dialog: Cancel keeps the channel, Disconnect removes it.
  await page.goto(`${env.BASE}/#/integrations`);
  await page.click("[data-plugin=telegram] >> text=Toko Budi bot");
  await page.waitForSelector("#settings");
  await page.click("#disconnect");
  await page.waitForSelector("#confirm[open]");
  assert.equal(await text("#confirm-text"), "Are you sure? Disconnecting this channel will also delete this channel");
  await shot("disconnect-confirm");
  await page.click("#confirm-cancel");
  await page.waitForSelector("#confirm", { state: "hidden" });
  assert.ok(await page.isVisible("#settings"), "Cancel keeps the channel");
  await page.click("#disconnect");
  await page.click("#confirm-ok");
  await page.waitForSelector(".cards");
  await page.waitForFunction(() => !document.querySelector("[data-plugin=telegram]").innerText.includes("Toko Budi bot"));

  // Reply from the inbox.
  await page.click("text=Inbox");
  await page.click(`[data-conversation="${env.CONVERSATION}"]`);
  await page.waitForSelector("#reply-text");
  await page.fill("#reply-text", "Halo kak, pesanan sudah dikirim.");
  await page.click("#reply button[type=submit]");
  await page.waitForSelector('.bubble.outbound:has-text("Halo kak, pesanan sudah dikirim.")');
  await page.waitForSelector('.bubble.outbound[data-status="sent"]', { timeout: 15000 });
  await shot("inbox");
});
