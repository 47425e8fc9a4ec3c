// What every admin-page scenario shares: Chromium launched as this machine allows (Debian's
// build, no network beyond loopback), a page that records script errors, screenshots into
// SCREENSHOTS, sign-in, and one line `<name>: ok` for the Rust test when all steps passed.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

export const env = process.env;

// Injected through DevTools (as a console script), not as a <script>: the pages' policy runs
// only their own script files, and the audit must not weaken it.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** axe-core on the page as it is now: no serious or critical violation. */
export async function audit(page, name) {
  const devtools = await page.context().newCDPSession(page);
  await devtools.send("Runtime.evaluate", { expression: axeSource });
  await devtools.detach();
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(bad, [], `axe-core on ${name}`);
}

/** A colleague sets the open conversation's status through the API; returns once the page's
 *  thread was drawn again by it (known by the status it shows; a `#reply` marked
 *  `data-before` beforehand is gone). */
export async function statusChangedByColleague(page, status) {
  const patched = await fetch(`${env.BASE}/api/v1/conversations/${env.CONVERSATION}`, {
    method: "PATCH", headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify({ status }),
  });
  assert.equal(patched.status, 200, await patched.text());
  await page.waitForSelector(`#conversation-status[data-status="${status}"]`);
  assert.equal(await page.locator("#reply:not([data-before])").count(), 1, `the thread was drawn again (${status})`);
}

export async function adminSession(name, steps, { prepare } = {}) {
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  if (prepare) await prepare(context);
  const page = await context.newPage();
  const problems = [];
  // The message and where it was thrown (the first frame), so a failure names its line.
  page.on("pageerror", (error) => problems.push(`${error.message} ${(error.stack || "").split("\n").slice(1, 3).join(" ").trim()}`.trim()));
  const shot = (file) => page.screenshot({ path: `${env.SCREENSHOTS}/${file}.png`, fullPage: true });
  // Machines' way in (an API token); people log in with a username and password (people.mjs).
  const signIn = async (token = env.ADMIN_TOKEN) => {
    await page.goto(env.BASE);
    await page.click("#with-token summary");
    await page.fill("#token", token);
    await page.click("#sign-in button[type=submit]");
  };
  try {
    await steps({ page, context, shot, signIn });
    assert.deepEqual(problems, [], "no script errors on the pages");
    console.log(`${name}: ok`);
  } catch (error) {
    await shot(`failure-${name.replaceAll(" ", "-")}`).catch(() => {});
    console.error(error);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
}
