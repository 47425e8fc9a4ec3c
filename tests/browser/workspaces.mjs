// The operator's console, in Chromium: the operator creates a workspace, switches to it, and
// works there as its admin (connect actions shown; what it connects lands in that workspace).
// Run by tests/e2e/admin_pages.rs. Env: BASE, OPERATOR_TOKEN, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env } from "./admin-session.mjs";

await adminSession("workspaces", async ({ page, shot, signIn }) => {
  await signIn(env.OPERATOR_TOKEN);
  await page.waitForSelector(".cards");
  assert.equal(await page.locator(".cards >> text=/^Add .* account$/").count(), 0, "outside a workspace the operator only looks");
  await page.click("#nav >> text=Workspaces");
  await page.waitForSelector("#new-workspace");
  await page.fill("#f-workspace_name", "Warung Siti");
  await page.click("#new-workspace button[type=submit]");
  await page.waitForSelector('[data-workspace="Warung Siti"]');
  await page.click('[data-workspace="Warung Siti"] >> text=Switch to');
  await page.waitForSelector(".cards [data-plugin=echo] >> text=Add Echo account");
  await page.click(".cards [data-plugin=echo] >> text=Add Echo account");
  await page.waitForSelector("#connect");
  await page.fill("#f-name", "Warung Echo");
  await page.click("#connect button[type=submit]");
  await page.waitForSelector("text=is connected");
  await page.click("#nav >> text=Workspaces");
  await page.waitForSelector('[data-workspace="Warung Siti"] >> text=Current');
  await shot("workspaces");
}, {});
