// The operator's workspace console and audit log, in Chromium: a workspace is created,
// renamed in place (an empty name is refused beside the box), suspended and resumed, then
// deleted through the dialog that wants its name typed again (a wrong name: the API's words
// beside the field, nothing deleted); the Audit log page then lists those actions, newest
// first, in English and in Bahasa Indonesia, pages back, and filters: by action (kept while
// "Older" pages back), by who and day, none matching (the empty state), dates the wrong way
// round, and "Clear filters". Run by tests/e2e/admin_pages.rs, which made 61 renames and one
// failed sign-in before.
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

  // Filtered by action (still in Indonesian, 50 a page): only renames, and "Older" keeps the
  // filter. The Rust test renamed 61 times, the browser once.
  const submit = (wanted) => Promise.all([
    page.waitForResponse((r) => r.url().includes("/api/v1/audit?") && wanted(new URL(r.url()).searchParams)),
    page.click("#audit-filters button[type=submit]"),
  ]);
  const rows = () => page.$$eval("#audit [data-audit]", (found) => found.map((r) => ({ id: Number(r.dataset.audit), action: r.dataset.action })));
  await page.selectOption("#audit-action", "workspace.rename");
  await submit((q) => q.get("action") === "workspace.rename" && !q.has("before"));
  await page.waitForFunction(() => {
    const found = [...document.querySelectorAll("#audit [data-audit]")];
    return found.length === 50 && found.every((r) => r.dataset.action === "workspace.rename");
  }, null, { timeout: 10000 });
  assert.equal(await page.isVisible("#audit-older"), true, "a full page of renames: there may be older ones");
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/api/v1/audit?") && new URL(r.url()).searchParams.get("action") === "workspace.rename" && new URL(r.url()).searchParams.has("before")),
    page.click("#audit-older"),
  ]);
  await page.waitForFunction(() => document.querySelectorAll("#audit [data-audit]").length > 50, null, { timeout: 10000 });
  const renames = await rows();
  assert.ok(renames.every((r) => r.action === "workspace.rename"), `only renames on the older page too: ${renames.map((r) => r.action).join(", ")}`);
  assert.ok(renames.every((r, i) => i === 0 || r.id < renames[i - 1].id), "newest first, none twice");
  assert.equal(renames.length, 62, "every rename: 61 by the API, 1 in the browser");
  assert.equal(await page.isVisible("#audit-older"), false, "the older page was short: nothing older");

  // By who (a part, in any case) and day (today, from and to): the one failed sign-in.
  const today = await page.evaluate(() => {
    const now = new Date();
    return [now.getFullYear(), String(now.getMonth() + 1).padStart(2, "0"), String(now.getDate()).padStart(2, "0")].join("-");
  });
  await page.selectOption("#audit-action", "");
  await page.fill("#audit-actor", "ANONYM");
  await page.fill("#audit-from", today);
  await page.fill("#audit-to", today);
  await submit((q) => q.get("actor") === "ANONYM" && !q.has("action") && q.has("since") && q.has("until"));
  await page.waitForFunction(() => {
    const found = [...document.querySelectorAll("#audit [data-audit]")];
    return found.length === 1 && found[0].dataset.action === "session.sign_in_failed";
  }, null, { timeout: 10000 });
  assert.equal((await page.locator("#audit [data-audit] td").nth(1).textContent()).trim(), "anonymous");
  await audit("the audit log filtered by who and day");
  await shot("audit-log-filtered");

  // With an action nobody anonymous did: nothing matches, said so, no empty table.
  await page.selectOption("#audit-action", "workspace.delete");
  await submit((q) => q.get("action") === "workspace.delete" && q.get("actor") === "ANONYM");
  await page.waitForSelector("#no-audit:not([hidden]):has-text('Tidak ada entri yang cocok dengan saringan ini.')");
  assert.equal(await page.isVisible("#audit"), false, "no table when nothing matches");
  await audit("the audit log with nothing matching");
  await shot("audit-log-no-match");

  // Days the wrong way round are refused beside the end date, before asking the API.
  let asked = false;
  const watch = (request) => { if (request.url().includes("/api/v1/audit?")) asked = true; };
  page.on("request", watch);
  await page.fill("#audit-to", "2000-01-01");
  await page.click("#audit-filters button[type=submit]");
  await page.waitForSelector('#audit-filters [data-error-for="until"]:has-text("Tanggal akhir lebih awal dari tanggal mulai.")');
  page.off("request", watch);
  assert.equal(asked, false, "nothing asked with the days reversed");

  // "Clear filters": every filter gone (the page size stays), every action back.
  await Promise.all([
    page.waitForResponse((r) => r.url().includes("/api/v1/audit?") && [...new URL(r.url()).searchParams.keys()].join() === "limit"),
    page.click("#audit-clear"),
  ]);
  await page.waitForFunction(() => document.querySelectorAll("#audit [data-audit]").length === 50, null, { timeout: 10000 });
  for (const id of ["#audit-action", "#audit-actor", "#audit-from", "#audit-to", "#audit-workspace"]) {
    assert.equal(await page.inputValue(id), "", `${id} cleared`);
  }
  assert.equal(await page.inputValue("#audit-limit"), "50", "the page size stays");
  assert.equal(await page.isVisible("#no-audit"), false);
  assert.equal(await page.textContent('#audit-filters [data-error-for="until"]'), "", "the refusal is gone");
  assert.ok(new Set((await rows()).map((r) => r.action)).size > 1, "every action again");
  await audit("the audit log after clearing its filters");
}, {});
