// Assignment in the inbox, in Chromium: an admin assigns a conversation to an agent and
// resolves it; the agent logs in with username and password and finds it under "Mine".
// Run by tests/e2e/admin_pages.rs. Env: BASE, ADMIN_TOKEN, CONVERSATION, USERNAME, PASSWORD, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env } from "./admin-session.mjs";

await adminSession("assign", async ({ page, shot, signIn }) => {
  await signIn();
  await page.waitForSelector(".cards");
  await page.goto(`${env.BASE}/#/inbox/${env.CONVERSATION}`);
  await page.waitForSelector("#assignment #assignee");
  await page.selectOption("#assignment #assignee", { label: "Siti Rahma" });
  await page.waitForFunction(() => document.querySelector("#assignee option:checked")?.textContent === "Siti Rahma");
  await page.click("#toggle-status");
  await page.waitForSelector("#conversation-status:has-text('resolved')");
  await shot("inbox-assigned");
  await page.click("#sign-out");

  await page.fill("#username", env.USERNAME);
  await page.fill("#password", env.PASSWORD);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector(".cards");
  await page.click("#nav >> text=Inbox");
  await page.click("#inbox-filters [data-filter=mine]");
  await page.waitForSelector(`[data-conversation="${env.CONVERSATION}"]`);
  await page.click("#inbox-filters [data-filter=unassigned]");
  await page.waitForSelector(`[data-conversation="${env.CONVERSATION}"]`, { state: "detached" });
  await page.goto(`${env.BASE}/#/inbox/${env.CONVERSATION}`);
  await page.waitForSelector("#assignment >> text=Assigned to you");
  assert.ok(await page.isVisible("#assignment >> text=Give back"));
  await shot("inbox-mine");
}, {});
