// The Activity and Operations pages, in Chromium: Siti, a workspace admin who signs in with her
// password, takes and answers the shop's two Telegram conversations in the inbox and resolves
// one; the Activity page then draws today's figures as they happened (the bars' data-value and
// the figures table beneath each chart both: the customers' messages the Rust side sent, her two
// replies, the one reply Telegram refused, her response and resolution times), the same as the
// API answers for every day, and gives the messages table as a CSV file; its headings, dates and
// durations read in Bahasa Indonesia after the switch. An agent has no Activity page. The
// operator, outside any workspace, finds Operations (Telegram called, the workspace's messages
// today) and, inside the workspace, its Activity page. axe-core finds no serious or critical
// problem on either page in either language. Run by tests/e2e/admin_pages.rs.
// Env: BASE, USERNAME, PASSWORD (Siti's), PERSON (her id), SHOP and OTHER (channel ids),
// CONVERSATIONS (the shop's two, comma-separated), RECEIVED (customers' messages per channel id,
// JSON), OPERATOR_TOKEN, AGENT_TOKEN, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { adminSession, audit as auditPage, env } from "./admin-session.mjs";

const catalogue = async (lang) => (await fetch(`${env.BASE}/admin/i18n/${lang}.json`)).json();
const [en, id] = await Promise.all([catalogue("en"), catalogue("id")]);
const received = JSON.parse(env.RECEIVED);
const conversations = env.CONVERSATIONS.split(",");
const REPLIES = ["Halo kak, pesanan sudah dikirim.", "Stok masih ada, kak."];
// The patience of the Rust side: a condition, bounded generously.
const PATIENCE = 240_000;

await adminSession("activity", async ({ page, shot, signIn }) => {
  const audit = async (name) => {
    // The figures tables too: every <details> open.
    await page.$$eval("details.figures", (all) => all.forEach((details) => { details.open = true; }));
    await auditPage(page, name);
  };
  const choose = async (lang) => {
    await page.selectOption("#language", lang);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  };
  // A bar's figure (its data-value, a number); a cell of the figures table beneath a chart; a
  // series' figures over every day.
  const bar = (chart, selector) => page.getAttribute(`[data-chart="${chart}"] rect.bar${selector}`, "data-value").then(Number);
  const cell = (chart, row, series) => page.locator(`[data-figures="${chart}"] tr${row} td[data-series="${series}"]`);
  const sumOf = (chart, series) => page.$$eval(`[data-chart="${chart}"] rect.bar[data-series="${series}"]`, (bars) => bars.reduce((sum, b) => sum + Number(b.dataset.value), 0));
  // The API's figures, asked for as the page asks (its time zone, the caller's credentials).
  const fromApi = (path, headers = {}) => page.evaluate(async ([path, headers]) => {
    const offset = -new Date().getTimezoneOffset();
    const response = await fetch(`/api/v1${path}?days=30&utc_offset=${offset}`, { headers });
    return response.json();
  }, [path, headers]);
  const localToday = () => page.evaluate(() => {
    const now = new Date();
    return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
  });
  const headings = () => page.$$eval("main h1, main h2", (nodes) => nodes.map((n) => n.textContent));
  const downloaded = async (name) => {
    const [file] = await Promise.all([page.waitForEvent("download"), page.click(`[data-csv="${name}"]`)]);
    return readFileSync(await file.path(), "utf8").trim().split(/\r?\n/);
  };

  // Siti takes each of the shop's conversations, answers it, and resolves the first.
  await page.goto(env.BASE);
  await page.waitForSelector("#sign-in");
  await choose("en");
  await page.fill("#username", env.USERNAME);
  await page.fill("#password", env.PASSWORD);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector(".cards");
  for (const [index, conversation] of conversations.entries()) {
    // Drawn afresh (a hash change would leave the last thread on the page for a moment).
    await page.goto(`${env.BASE}/#/inbox/${conversation}`);
    await page.reload();
    await page.waitForSelector("#assignment #assignee");
    // Assigned, then the page read again (typing while it redraws would lose the words).
    await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/api/v1/conversations/${conversation}`) && r.request().method() === "PATCH" && r.ok()),
      page.selectOption("#assignment #assignee", { label: "Siti Rahma" }),
    ]);
    await page.reload();
    await page.waitForFunction(() => document.querySelector("#assignee option:checked")?.textContent === "Siti Rahma");
    await page.fill("#reply-text", REPLIES[index]);
    await page.click("#reply button[type=submit]");
    await page.waitForSelector(`.bubble.outbound[data-status="sent"]:has-text("${REPLIES[index]}")`, { timeout: PATIENCE });
    if (index === 0) {
      await page.click("#toggle-status");
      await page.waitForSelector('#conversation-status[data-status="resolved"]');
    }
  }

  // The Activity page, from the navigation: drawn again until today shows both replies (the
  // figures are read when the page is drawn).
  await page.click("#nav >> text=Activity");
  await page.waitForSelector("#activity-agents");
  const today = await localToday();
  const deadline = Date.now() + PATIENCE;
  while (await page.locator(`[data-chart="sent"] rect.bar[data-day="${today}"][data-series="${env.SHOP}"][data-value="${REPLIES.length}"]`).count() === 0) {
    assert.ok(Date.now() < deadline, "today's replies never showed on the Activity page");
    await page.waitForTimeout(500);
    await page.reload();
    await page.waitForSelector("#activity-agents");
  }
  const days = await page.$$eval('[data-chart="received"] g.day', (groups) => groups.map((g) => g.dataset.day));
  assert.equal(days.length, 30, "the last 30 days, a bar each");
  assert.equal(days[days.length - 1], today, "the last bar is today in the browser's time zone");

  // Today's figures, as sent: in the drawing and in the table beneath it.
  for (const [channel, count] of Object.entries(received)) {
    assert.equal(await bar("received", `[data-day="${today}"][data-series="${channel}"]`), count, `received today on ${channel}, drawn`);
    assert.equal(await cell("received", `[data-day="${today}"]`, channel).textContent(), String(count), `received today on ${channel}, in the table`);
    assert.equal(await sumOf("received", channel), count, `nothing on ${channel} on any other day`);
  }
  assert.equal(await bar("sent", `[data-day="${today}"][data-series="${env.SHOP}"]`), REPLIES.length, "Siti's replies today, drawn");
  assert.equal(await cell("sent", `[data-day="${today}"]`, env.SHOP).textContent(), String(REPLIES.length), "Siti's replies today, in the table");
  assert.equal(await cell("sent", `[data-day="${today}"]`, env.SHOP).getAttribute("data-value"), String(REPLIES.length));
  // The one refused reply.
  const failures = await page.$$eval('[data-chart="failures"] rect.bar', (bars) => bars.map((b) => [b.dataset.category, Number(b.dataset.value)]));
  assert.equal(failures.length, 1, `one reason: ${JSON.stringify(failures)}`);
  assert.equal(failures[0][1], 1, "one failure");
  assert.match(await page.textContent('[data-figures="failures"] tbody'), /blocked/i, "Telegram's reason");
  // Siti's medians: two conversations answered, one resolved; a time in words.
  const siti = `[data-category="${env.PERSON}"]`;
  assert.equal(await cell("first-response", siti, "conversations").getAttribute("data-value"), "2", "first replies of Siti's");
  assert.equal(await cell("resolution", siti, "conversations").getAttribute("data-value"), "1", "resolutions of Siti's");
  assert.ok(await bar("first-response", `${siti}[data-series="median"]`) > 0, "a median first reply time");
  assert.match(await cell("first-response", siti, "median").textContent(), /\d+(\.\d)? (second|minute|hour)/, "the time in words");
  assert.match(await page.textContent('[data-figures="first-response"] thead'), /Conversations/);

  // Every bar the same as the API's figures.
  const activity = await fromApi("/activity");
  for (const chart of ["received", "sent"]) {
    const drawn = await page.$$eval(`[data-chart="${chart}"] rect.bar`, (bars) => bars.map((b) => `${b.dataset.series} ${b.dataset.day} ${b.dataset.value}`));
    const answered = activity.channels.flatMap((c) => activity.days.map((day, i) => `${c.id} ${day} ${c[chart][i]}`));
    assert.deepEqual(drawn.sort(), answered.sort(), `the ${chart} chart is the API's figures`);
  }
  const drawnFailures = await page.$$eval('[data-figures="failures"] tbody tr', (rows) => rows.map((r) => [r.dataset.category, Number(r.querySelector("td").dataset.value)]));
  assert.deepEqual(drawnFailures, activity.failures.map((f) => [f.reason, f.count]), "the failures table is the API's");

  // The messages table as a file: a header, and today's row of the shop.
  const rows = await downloaded("messages");
  assert.equal(rows[0], "day,channel_id,channel_name,plugin,received,sent");
  const todays = rows.find((row) => row.startsWith(`${today},${env.SHOP},`));
  assert.ok(todays && todays.endsWith(`,${received[env.SHOP]},${REPLIES.length}`), `today's row: ${todays}`);
  assert.equal((await downloaded("agents"))[0], "person_id,name,first_responses,median_first_response_seconds,resolutions,median_resolution_seconds");
  assert.equal((await downloaded("failures"))[0], "reason,count");
  await audit("the Activity page");
  await shot("activity");

  // In Bahasa Indonesia: its headings, dates and durations.
  await choose("id");
  await page.waitForSelector(`main h1:text-is("${id["activity.title"]}")`);
  assert.deepEqual(await headings(), [id["activity.title"], id["activity.messages"], id["activity.failures"], id["activity.response_times"]]);
  assert.equal(await page.textContent('[data-figures="received"] summary'), id["charts.show_figures"]);
  const longDay = await page.evaluate((day) => new Intl.DateTimeFormat("id-ID", { dateStyle: "full", timeZone: "UTC" }).format(new Date(`${day}T00:00:00Z`)), today);
  assert.equal(await page.textContent(`[data-figures="received"] tr[data-day="${today}"] th`), longDay, "today, in Indonesian");
  assert.match(await cell("first-response", siti, "median").textContent(), /\d+(,\d)? (detik|menit|jam)/, "the time in Indonesian");
  await audit("the Activity page in Indonesian");
  await shot("activity-id");
  // The language switched, then "Sign out" clicked at once: the Activity page the switch draws
  // again is held until the sign-in page is drawn, then answers; it must not be left over the
  // sign-in page (which is drawn again, so the form marked before is replaced).
  // The server answers while Siti is signed in (its answer kept), the page gets it late; her
  // language is saved first (no request of hers answers after she signed out).
  const isActivity = (url) => new URL(url).pathname === "/api/v1/activity";
  let answer, fetched;
  const activityHeld = new Promise((resolve) => { answer = resolve; });
  const activityFetched = new Promise((resolve) => { fetched = resolve; });
  await page.route(isActivity, async (routed) => {
    const response = await routed.fetch();
    fetched();
    await activityHeld;
    await routed.fulfill({ response });
  });
  const languageSaved = page.waitForResponse((response) => new URL(response.url()).pathname === "/api/v1/me/language");
  await choose("en");
  await Promise.all([activityFetched, languageSaved]);
  await page.click("#sign-out");
  await page.waitForSelector("#sign-in");
  await page.$eval("#sign-in", (form) => { form.dataset.drawnBefore = "the late page's answer"; });
  answer();
  await page.waitForSelector("#sign-in:not([data-drawn-before])")
    .catch(() => assert.fail("the Activity page answered after signing out and stayed over the sign-in page"));
  await page.unroute(isActivity);
  assert.equal(await page.isVisible("#activity-agents"), false, "no Activity page after signing out");

  // An agent has no Activity page.
  await signIn(env.AGENT_TOKEN);
  await page.waitForSelector(".cards");
  assert.equal(await page.isVisible("[data-nav=activity]"), false, "no Activity link for an agent");
  assert.equal(await page.isVisible("[data-nav=operations]"), false, "no Operations link for an agent");

  // The operator, outside any workspace: Operations, not Activity.
  await page.click("#sign-out");
  await page.waitForSelector("#sign-in");
  await signIn(env.OPERATOR_TOKEN);
  await page.waitForSelector(".cards");
  assert.equal(await page.isVisible("[data-nav=activity]"), false, "no Activity link outside a workspace");
  await page.click("#nav >> text=Operations");
  await page.waitForSelector("#operations-workspaces");
  assert.ok(await bar("plugin-calls", '[data-category="telegram"][data-series="calls"]') > 0, "Telegram was called");
  assert.ok(Number(await cell("plugin-calls", '[data-category="telegram"]', "calls").getAttribute("data-value")) > 0, "Telegram's calls in the table");
  assert.ok(await bar("plugin-latency", '[data-category="telegram"][data-series="p95_ms"]') >= 0, "Telegram's 95th percentile");
  assert.match(await page.textContent("#operations-since"), /since/);
  const everyone = Object.values(received).reduce((a, b) => a + b, 0);
  assert.equal(await bar("workspace-received", `[data-day="${today}"][data-series="1"]`), everyone, "the workspace's messages in today");
  assert.equal(await cell("workspace-received", `[data-day="${today}"]`, "1").getAttribute("data-value"), String(everyone));
  const operations = await fromApi("/operations", { authorization: `Bearer ${env.OPERATOR_TOKEN}` });
  const workspace = operations.workspaces.find((w) => w.id === 1);
  const sentToday = workspace.sent[operations.days.indexOf(today)];
  assert.ok(sentToday >= REPLIES.length, `Siti's replies among the workspace's sent today: ${sentToday}`);
  assert.equal(await bar("workspace-sent", `[data-day="${today}"][data-series="1"]`), sentToday, "the workspace's messages out today, as the API says");
  const telegram = operations.plugins.find((p) => p.plugin === "telegram");
  assert.equal(await bar("plugin-calls", '[data-category="telegram"][data-series="calls"]'), telegram.calls, "as the API says");
  assert.equal((await downloaded("plugins"))[0], "plugin,calls,errors,median_ms,p95_ms");
  assert.equal((await downloaded("workspaces"))[0], "day,workspace_id,workspace_name,received,sent");
  await audit("the Operations page");
  await shot("operations");
  await choose("id");
  await page.waitForSelector(`main h1:text-is("${id["operations.title"]}")`);
  assert.deepEqual(await headings(), [id["operations.title"], id["operations.plugins"], id["operations.workspaces"]]);
  await audit("the Operations page in Indonesian");
  await shot("operations-id");
  // The language switched, then a link clicked at once: the Operations page the switch draws
  // again is held until the Workspaces page is drawn, then answers; it must not leave its page
  // over the newer one (the newest page is drawn again).
  const isOperations = (url) => new URL(url).pathname === "/api/v1/operations";
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route(isOperations, async (routed) => { await held; await routed.continue(); });
  const redrawing = page.waitForRequest((request) => isOperations(request.url()));
  await choose("en");
  await redrawing;
  await page.click("#nav >> text=Workspaces");
  await page.waitForSelector(`main h1:text-is("${en["workspaces.title"]}")`);
  const drawnAgain = page.waitForRequest((request) => new URL(request.url()).pathname === "/api/v1/workspaces")
    .catch(() => assert.fail("the Operations page answered late and stayed over the Workspaces page"));
  release();
  await drawnAgain;
  await page.unroute(isOperations);
  await page.waitForSelector(`main h1:text-is("${en["workspaces.title"]}")`);

  // Inside the workspace, the operator reads its Activity (X-Workspace), file included.
  await page.click('[data-workspace-id="1"] >> text=Switch to');
  await page.waitForSelector(".cards");
  assert.equal(await page.isVisible("[data-nav=operations]"), false, "no Operations link inside a workspace");
  await page.click("#nav >> text=Activity");
  await page.waitForSelector("#activity-agents");
  assert.equal(await bar("received", `[data-day="${today}"][data-series="${env.SHOP}"]`), received[env.SHOP]);
  const theirs = await downloaded("messages");
  assert.ok(theirs.some((row) => row.startsWith(`${today},${env.SHOP},`)), theirs.join("\n"));
  assert.equal(en["activity.title"], await page.textContent("main h1"));
}, {});
