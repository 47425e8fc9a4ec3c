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
  // Picking her selects her in the page at once: what counts is the saved assignment, so wait
  // for the server's answer and read it back from a fresh page.
  const isAssignment = (response) => new URL(response.url()).pathname === `/api/v1/conversations/${env.CONVERSATION}` && response.request().method() === "PATCH";
  const [assigned] = await Promise.all([page.waitForResponse(isAssignment), page.selectOption("#assignment #assignee", { label: "Siti Rahma" })]);
  assert.equal(assigned.status(), 200, `assigning: ${await assigned.text()}`);
  await page.reload();
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
  // Each filter draws the inbox again (the button pressed, the list empty until its answer): wait
  // for the list of the filter chosen, not the one it replaces.
  const listed = (id) => page.waitForFunction((id) => {
    const list = document.getElementById("conversation-list");
    return list && list.children.length > 0 && Boolean(list.querySelector(`[data-conversation="${id}"]`));
  }, id);
  const notListed = (id) => page.waitForFunction((id) => {
    const list = document.getElementById("conversation-list");
    return list && list.children.length > 0 && !list.querySelector(`[data-conversation="${id}"]`);
  }, id);
  await page.click("#inbox-filters [data-filter=mine]");
  await page.waitForSelector('#inbox-filters [data-filter=mine][aria-pressed="true"]');
  await listed(env.CONVERSATION);
  await page.click("#inbox-filters [data-filter=unassigned]");
  await page.waitForSelector('#inbox-filters [data-filter=unassigned][aria-pressed="true"]');
  await notListed(env.CONVERSATION);
  await page.goto(`${env.BASE}/#/inbox/${env.CONVERSATION}`);
  await page.waitForSelector("#assignment >> text=Assigned to you");
  assert.ok(await page.isVisible("#assignment >> text=Give back"));
  await shot("inbox-mine");
}, {});
