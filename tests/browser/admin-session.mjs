// What every admin-page scenario shares: Chromium launched as this machine allows (Debian's
// build, no network beyond loopback), a page that records script errors, screenshots into
// SCREENSHOTS, sign-in, and one line `<name>: ok` for the Rust test when all steps passed.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";

export const env = process.env;

export async function adminSession(name, steps, { prepare } = {}) {
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  if (prepare) await prepare(context);
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (error) => problems.push(error.message));
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
