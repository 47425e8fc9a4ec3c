// A provider's refusal in the admin pages, in Chromium, by keyboard alone: connecting Telegram
// with a token Telegram refuses opens the Error dialog (an alertdialog named "Error", the
// provider's reason, OK focused); Escape closes it and focus is back on the form's button;
// Enter on OK does the same; a problem with a field stays beside that field, no dialog. Run by
// tests/e2e/admin_pages.rs. Env: BASE, ADMIN_TOKEN, TELEGRAM_API, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, audit as auditPage, env } from "./admin-session.mjs";

await adminSession("error popup", async ({ page, shot, signIn }) => {
  // Focus moves back in the dialog's `close` event, a task after it is hidden: wait for it.
  const focusOn = (which) => page.waitForFunction((which) => {
    const a = document.activeElement;
    return which === "submit" ? a.matches("#connect button[type=submit]") : a.id === which;
  }, which, { timeout: 10000 }).then(() => which, async () => focused());
  const focused = () => page.evaluate(() => {
    const a = document.activeElement;
    return a.id || (a.matches("#connect button[type=submit]") ? "submit" : a.outerHTML.slice(0, 80));
  });
  await signIn();
  await page.waitForSelector(".cards [data-plugin=telegram]");
  await page.goto(`${env.BASE}/#/integrations/telegram/new`);
  await page.waitForSelector("#connect");

  // A field left empty: said beside it, no dialog.
  await page.focus("#f-name");
  await page.keyboard.type("Toko Budi bot");
  await page.keyboard.press("Enter");
  await page.waitForSelector('[data-error-for="bot_token"]:has-text("field is required")');
  assert.equal(await page.isVisible("#error-dialog"), false, "a field's problem opens no dialog");

  // Telegram refuses the token: the Error dialog.
  await page.fill("#f-bot_token", "123:wrong");
  await page.fill("#f-api_base_url", env.TELEGRAM_API);
  await page.focus("#connect button[type=submit]");
  await page.keyboard.press("Enter");
  const dialog = page.locator("#error-dialog");
  await dialog.waitFor({ state: "visible", timeout: 20000 });
  assert.equal(await dialog.getAttribute("role"), "alertdialog");
  assert.equal(await page.getByRole("alertdialog", { name: "Error" }).count(), 1, "named by its heading");
  assert.match(await page.textContent("#error-text"), /Unauthorized/, "the provider's reason");
  assert.equal(await focusOn("error-ok"), "error-ok", "OK has the focus");
  assert.equal(await page.textContent('[data-error-for="bot_token"]'), "", "no field is blamed");
  await auditPage(page, "the Error dialog");
  await shot("error-dialog");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await focusOn("submit"), "submit", "Escape gives the focus back to the button that sent the form");

  // Again, closed with OK by keyboard.
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "visible", timeout: 20000 });
  assert.equal(await focusOn("error-ok"), "error-ok");
  await page.keyboard.press("Enter");
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await focusOn("submit"), "submit", "OK gives the focus back too");
  assert.ok(await page.isVisible("#connect"), "the form stays, as typed");
  assert.equal(await page.inputValue("#f-name"), "Toko Budi bot");
});
