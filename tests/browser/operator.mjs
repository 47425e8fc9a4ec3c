// The operator's workspace console and audit log, in Chromium: a workspace is created,
// renamed in place (an empty name is refused beside the box), suspended and resumed, then
// deleted through the dialog that wants its name typed again (a wrong name: the API's words
// beside the field, nothing deleted); the Audit log page then lists those actions, newest
// first, in English and in Bahasa Indonesia. Run by tests/e2e/admin_pages.rs.
// Env: BASE, OPERATOR_TOKEN, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, audit as auditPage, env } from "./admin-session.mjs";

await adminSession("operator", async ({ page, shot, signIn }) => {
  const audit = (name) => auditPage(page, name);
  await signIn(env.OPERATOR_TOKEN);
  await page.waitForSelector(".cards");
  await page.click("#nav >> text=Workspaces");
  await page.waitForSelector("#new-workspace");
  await page.fill("#f-workspace_name", "Warung Siti");
  await page.click("#new-workspace button[type=submit]");
  const row = (name) => page.locator(`[data-workspace="${name}"]`);
  await row("Warung Siti").waitFor();

  // Rename in place: an empty name is refused beside the box, then the new name is kept.
  await row("Warung Siti").locator("[data-action=rename]").click();
  await page.waitForSelector("form.rename #f-rename");
  assert.equal(await page.evaluate(() => document.activeElement.id), "f-rename", "the box has the focus");
  await page.fill("#f-rename", "");
  await page.keyboard.press("Enter");
  await page.waitForSelector('form.rename [data-error-for="name"]:has-text("required")');
  await page.fill("#f-rename", "Warung Siti Jaya");
  await page.keyboard.press("Enter");
  await row("Warung Siti Jaya").waitFor();
  assert.equal(await row("Warung Siti").count(), 0, "the old name is gone");

  // Suspend and resume.
  await row("Warung Siti Jaya").locator("[data-action=status]").click();
  await row("Warung Siti Jaya").locator("td:has-text('suspended')").waitFor();
  await row("Warung Siti Jaya").locator("[data-action=status]").click();
  await row("Warung Siti Jaya").locator("td:has-text('active')").waitFor();

  // Delete: the name typed wrong is refused with the API's words; typed right, it goes.
  await row("Warung Siti Jaya").locator("[data-action=delete]").click();
  const dialog = page.locator("#delete-workspace");
  await dialog.waitFor({ state: "visible" });
  assert.equal(await page.evaluate(() => document.activeElement.id), "f-confirm", "the name box has the focus");
  await audit("the delete dialog");
  await page.keyboard.type("Warung Siti");
  await page.keyboard.press("Enter");
  await page.waitForSelector('#delete-workspace [data-error-for="confirm"]:has-text("Warung Siti Jaya")');
  await shot("workspace-delete-refused");
  assert.equal(await row("Warung Siti Jaya").count(), 1, "nothing deleted on a wrong name");
  await page.fill("#f-confirm", "Warung Siti Jaya");
  await page.click("#delete-workspace-ok");
  await dialog.waitFor({ state: "detached" });
  await row("Warung Siti Jaya").waitFor({ state: "detached" });
  await page.waitForSelector("main .notice.ok:has-text('Warung Siti Jaya was deleted.')");
  await audit("the workspaces page");
  await shot("workspaces-after-delete");

  // The audit log shows it all, newest first, with a time in the page's language.
  await page.click("#nav >> text=Audit log");
  await page.waitForSelector("#audit [data-audit]");
  const actions = await page.$$eval("#audit [data-audit]", (rows) => rows.map((r) => r.dataset.action));
  const mine = actions.filter((a) => a.startsWith("workspace."));
  assert.deepEqual(mine.slice(0, 5), ["workspace.delete", "workspace.resume", "workspace.suspend", "workspace.rename", "workspace.create"], actions.join(", "));
  const deleted = page.locator('#audit [data-action="workspace.delete"]').first();
  assert.match(await deleted.textContent(), /Workspace deleted/);
  assert.match(await deleted.textContent(), /Warung Siti Jaya/, "the target");
  assert.ok((await deleted.locator("time").textContent()).trim().length > 0, "when");
  await audit("the audit log");
  await shot("audit-log");

  // The same page in Bahasa Indonesia.
  await page.selectOption("#language", "id");
  await page.waitForSelector('#audit [data-action="workspace.delete"]:has-text("Ruang kerja dihapus")');
  await audit("the audit log in Indonesian");
  await shot("audit-log-id");

  // A page size of 50 and "Older" pages back: the test made more than 50 entries before.
  await page.selectOption("#audit-limit", "50");
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/api/v1/audit?") && r.url().includes("limit=50") && !r.url().includes("before=")),
    page.click("#audit-filters button[type=submit]"),
  ]);
  await page.waitForFunction(() => document.querySelectorAll("#audit [data-audit]").length === 50, null, { timeout: 10000 });
  assert.equal(await page.isVisible("#audit-older"), true, "a full page: there may be older entries");
  await Promise.all([page.waitForResponse((r) => r.url().includes("/api/v1/audit?") && r.url().includes("before=")), page.click("#audit-older")]);
  await page.waitForFunction(() => document.querySelectorAll("#audit [data-audit]").length > 50, null, { timeout: 10000 });
  const ids = await page.$$eval("#audit [data-audit]", (rows) => rows.map((r) => Number(r.dataset.audit)));
  assert.ok(ids.every((id, i) => i === 0 || id < ids[i - 1]), `newest first, none twice: ${ids.join(", ")}`);
  if (ids.length < 100) assert.equal(await page.isVisible("#audit-older"), false, "the last page was short: nothing older");
}, {});
