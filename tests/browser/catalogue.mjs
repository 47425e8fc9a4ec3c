// The operator's catalogue, in Chromium: the Plugins page lists the repository the host was
// started with (`--catalogue`), not installed, with its versions; Install of a chosen version
// (2.0.0) is a new plugin, so the page brings its review into view with Approve focused; once
// approved, the row offers "Upgrade to 2.1.0" (same major) and "Upgrade to 3.0.0 (new major
// version)"; the upgrade to 2.1.0 asks for a new outbound host, so it waits for consent again
// (the review names the host as new), and approved, the row is up to date in its major. A
// refusal opens the Error dialog (the registry's failure stood in for by the page's request
// answered 502), focus going back to the button. Run by tests/e2e/admin_pages.rs.
// Env: BASE, OPERATOR_TOKEN, SOURCE (oci://registry/plugins/echo), CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, audit, env } from "./admin-session.mjs";

await adminSession("catalogue", async ({ page, shot, signIn }) => {
  const row = `#catalogue tr[data-source="${env.SOURCE}"]`;
  const focused = () => page.evaluate(() => document.activeElement.outerHTML.slice(0, 120));
  // The review of `version` comes into view with its Approve button focused; approving it
  // draws the page again.
  const consent = async (version, says) => {
    const review = await page.waitForSelector(`#reviews [data-review=echo]:has-text("Echo ${version}")`);
    const text = await review.textContent();
    for (const pattern of says) assert.match(text, pattern);
    await page.waitForSelector(`main .notice.ok:has-text("Echo ${version} waits for your approval")`);
    await page.waitForFunction(() => document.activeElement && document.activeElement.closest("[data-review=echo]") && document.activeElement.textContent === "Approve");
    // The button itself: an unquoted text= would match "…until you approve" in the review first.
    await page.click('#reviews [data-review=echo] button:text-is("Approve")');
    await page.waitForSelector(`tr[data-plugin=echo] >> text=${version}`)
      .catch(async () => assert.fail(`Echo ${version} is not listed after Approve; its notices: ${JSON.stringify(await page.$$eval("main .notice", (all) => all.map((n) => n.textContent)))}`));
  };

  await signIn(env.OPERATOR_TOKEN);
  await page.waitForSelector(".cards [data-plugin=telegram]");
  await page.goto(`${env.BASE}/#/plugins`);
  await page.waitForSelector(`${row} [data-install]`);
  assert.match(await page.textContent(row), /not installed/);
  assert.equal(await page.textContent(`${row} td.versions`), "3.0.0, 2.1.0, 2.0.0", "newest first");
  assert.equal(await page.inputValue(`${row} select`), "3.0.0", "the newest is chosen by default");
  await audit(page, "the catalogue");

  // Install 2.0.0: a new plugin waits for consent.
  await page.selectOption(`${row} select`, "2.0.0");
  await page.click(`${row} [data-install]`);
  await consent("2.0.0", [/a new plugin/]);
  await page.waitForSelector(`${row} td.installed:text-is("2.0.0")`);
  assert.equal(await page.textContent(`${row} [data-upgrade="2.1.0"]`), "Upgrade to 2.1.0");
  assert.equal(await page.textContent(`${row} [data-upgrade="3.0.0"]`), "Upgrade to 3.0.0 (new major version)");
  assert.equal(await page.$(`${row} [data-install]`), null, "installed: no Install any more");
  await shot("catalogue");

  // A refusal: the Error dialog, then the focus back on the button.
  await page.route("**/api/v1/plugins", (route) => route.request().method() === "POST"
    ? route.fulfill({ status: 502, contentType: "application/json", body: JSON.stringify({ error: "registry_unreachable", message: "registry.example cannot be reached" }) })
    : route.continue());
  await page.click(`${row} [data-upgrade="3.0.0"]`);
  const dialog = page.locator("#error-dialog");
  await dialog.waitFor({ state: "visible", timeout: 20000 });
  assert.match(await page.textContent("#error-text"), /registry\.example cannot be reached/);
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  await page.waitForFunction(() => document.activeElement && document.activeElement.dataset.upgrade === "3.0.0", null, { timeout: 10000 })
    .catch(async () => assert.fail(`the focus is on ${await focused()}, not the button`));
  await page.unroute("**/api/v1/plugins");

  // The compatible upgrade asks for a new outbound host: consent again, then it is live.
  await page.click(`${row} [data-upgrade="2.1.0"]`);
  await consent("2.1.0", [/replaces 2\.0\.0/, /api\.echo\.example \(new\)/]);
  await page.waitForSelector(`${row} td.installed:text-is("2.1.0")`);
  assert.equal(await page.$(`${row} [data-upgrade="2.1.0"]`), null, "nothing newer in its major");
  assert.equal(await page.textContent(`${row} [data-upgrade="3.0.0"]`), "Upgrade to 3.0.0 (new major version)");
  assert.equal(await page.$("#reviews"), null, "nothing waits any more");
});
