// People in the admin pages, in Chromium: before sign-in only the Login form shows (no
// navigation); an admin invites an agent on the People page; the invitation link sets a
// password; a wrong password says so; the agent logs in with username and password and sees
// the integrations without any admin action. Run by tests/e2e/admin_pages.rs.
// Env: BASE, ADMIN_TOKEN, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env } from "./admin-session.mjs";

await adminSession("people", async ({ page, shot, signIn }) => {
  await page.goto(env.BASE);
  await page.waitForSelector("#sign-in");
  assert.equal(await page.isVisible("#nav"), false, "no navigation before sign-in");
  assert.equal(await page.textContent("#sign-in button[type=submit]"), "Login");
  await shot("login");

  await signIn();
  await page.waitForSelector(".cards");
  await page.click("#nav >> text=People");
  await page.waitForSelector("#invite");
  await page.fill("#f-username", "siti@tokobudi.co.id");
  await page.fill("#f-display_name", "Siti Rahma");
  await page.selectOption("#f-role", "agent");
  await page.click("#invite button[type=submit]");
  const link = await page.textContent('[data-setup="invitation_url"] code');
  assert.match(link, /#\/invitation\//);
  await shot("people-invited");
  await page.click("#sign-out");

  // The link, as Siti opens it (on this host: the public URL is the host's own here).
  await page.goto(`${env.BASE}/${link.slice(link.indexOf("#"))}`);
  await page.waitForSelector("#invitation");
  assert.match(await page.textContent("#invitation h1"), /Siti Rahma/);
  await page.fill("#f-password", "short");
  await page.click("#invitation button[type=submit]");
  await page.waitForSelector('[data-error-for="password"]:has-text("at least 10")');
  await page.fill("#f-password", "kopi-susu-gula-aren");
  await page.click("#invitation button[type=submit]");
  await page.waitForSelector("text=Your password is set");

  await page.fill("#username", "siti@tokobudi.co.id");
  await page.fill("#password", "not-her-password");
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#sign-in .form-error:has-text('Wrong username or password')");
  await page.fill("#password", "kopi-susu-gula-aren");
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector(".cards");
  assert.match(await page.textContent("#role"), /Siti Rahma \(agent\)/);
  assert.equal(await page.locator(".cards >> text=/^Add .* account$/").count(), 0, "an agent has no Integrations actions");
  assert.equal(await page.isVisible("#nav >> text=People"), false);
  await shot("people-agent");
}, {});
