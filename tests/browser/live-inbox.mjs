// The live inbox in Chromium, as an agent signed in with a password uses it: what customers
// write while the page is open appears in the list and the thread live, without a
// reload; a read receipt updates the reply's bubble; after the stream was cut, what came
// meanwhile arrives once it reconnects; unread counts; search by a word of a message; the
// window's countdown moves by itself. Webhooks are posted here, signed by the Rust test.
// Env: BASE, WEBHOOK, SIGNED (JSON: {live, cut, other, read} each {body, signature}),
// CONVERSATION, REPLY, USERNAME, PASSWORD, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env } from "./admin-session.mjs";

const signed = JSON.parse(env.SIGNED);
const post = async (name) => {
  const { body, signature } = signed[name];
  const response = await fetch(env.WEBHOOK, { method: "POST", headers: { "content-type": "application/json", "x-hub-signature-256": signature }, body });
  assert.equal(response.status, 200, `${name}: ${await response.text()}`);
};
// Shown live, without a reload: the page never reloads, so arriving at all proves it. The bound
// is for a loaded machine (Chromium and the host sharing busy cores), not the promise: unloaded
// it shows well within a second of the webhook's answer.
const SOON = { timeout: 10000 };

await adminSession("live inbox", async ({ page, context, shot }) => {
  await page.clock.install();
  await page.goto(env.BASE);
  await page.fill("#username", env.USERNAME);
  await page.fill("#password", env.PASSWORD);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector(".cards");
  await page.click("#nav >> text=Inbox");
  await page.click(`[data-conversation="${env.CONVERSATION}"]`);
  await page.waitForSelector(`.bubble[data-message="${env.REPLY}"][data-status="sent"]`);
  await page.waitForSelector("#live-state:has-text('Live')");
  // Set once; a reload would lose it.
  await page.evaluate(() => { window.sameDocument = true; });

  // The customer writes into the open conversation; a new customer starts another one.
  await post("live");
  await page.waitForSelector('.bubble.inbound:has-text("Paketnya datang rusak")', SOON);
  await post("other");
  const rina = page.locator("[data-conversation]", { hasText: "Rina" });
  await rina.locator('[data-unread="1"]').waitFor(SOON);
  // The customer read the reply.
  await post("read");
  await page.waitForSelector(`.bubble[data-message="${env.REPLY}"][data-status="read"]`, SOON);
  await shot("inbox-live");

  // The network drops without closing the stream: a minute without even a keep-alive and the
  // page gives it up; a message comes meanwhile; it shows once the page reconnects.
  await context.setOffline(true);
  await page.clock.fastForward("01:00");
  await page.waitForSelector("#live-state:has-text('Reconnecting')", { timeout: 10000 });
  await post("cut");
  await context.setOffline(false);
  await page.waitForSelector('.bubble.inbound:has-text("Apakah bisa diganti?")', { timeout: 10000 });
  assert.equal(await page.evaluate(() => window.sameDocument), true, "no reload");
  assert.equal(await page.locator('.bubble.inbound:has-text("Apakah bisa diganti?")').count(), 1, "once");

  // Opening Rina's conversation reads it: the count goes.
  await rina.click();
  await page.waitForSelector('.bubble.inbound:has-text("Mau tanya ongkir")');
  // Both conversations listed (the list is drawn apart from the thread) and neither unread.
  await page.waitForFunction(() => document.querySelectorAll("[data-conversation]").length === 2 && !document.querySelector("[data-conversation] [data-unread]"));

  // Search by a word of a message, with the filters.
  await page.fill("#inbox-search", "diganti");
  await page.waitForFunction((id) => {
    const shown = [...document.querySelectorAll("[data-conversation]")].map((a) => a.dataset.conversation);
    return shown.length === 1 && shown[0] === id;
  }, env.CONVERSATION);
  await page.fill("#inbox-search", "ongkir");
  await page.waitForFunction(() => {
    const shown = [...document.querySelectorAll("[data-conversation]")];
    return shown.length === 1 && shown[0].textContent.includes("Rina");
  });
  await page.fill("#inbox-search", "tidak ada kata ini");
  await page.waitForSelector("text=No conversation matches.");
  await page.fill("#inbox-search", "");
  await page.waitForFunction(() => document.querySelectorAll("[data-conversation]").length === 2);

  // The window's countdown moves by itself (the customer's first message was 10 minutes ago).
  // Rina's thread, open until now, has a countdown too: wait for this conversation's own thread
  // (its reply drawn) before reading it, or the wait passes on the view being replaced.
  await page.click(`[data-conversation="${env.CONVERSATION}"]`);
  await page.waitForSelector(`#thread .bubble[data-message="${env.REPLY}"]`);
  await page.waitForSelector("#window-state[data-closes-at]");
  // Drawn by Intl in the page's language: "23 hours 59 minutes".
  assert.match(await page.textContent("#window-state"), /closes in 23 hours,? 5\d minutes/);
  await page.clock.fastForward("02:00:00");
  await page.waitForFunction(() => /closes in 21 hours,? \d+ minutes?/.test(document.getElementById("window-state")?.textContent));
  await shot("inbox-countdown");
});
