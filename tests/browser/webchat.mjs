// The website chat widget in headless Chromium, driven by playwright-core. Run by
// tests/e2e/webchat.rs with one JSON argument:
//   {scenario: "live" | "refusals" | "preview" | "files", chromium, api, agent, admin, channel, page, other_page}
// It does what a visitor and an agent do and prints one JSON object of what it saw; the
// Rust test asserts on it. Any step that times out prints {ok: false, step, error}.

import { chromium } from 'playwright-core';
import { createHash } from 'node:crypto';

const input = JSON.parse(process.argv[2]);
const WAIT = 20_000;
let step = 'start';

// An option id the business would not show a visitor (the widget gets a short id instead).
const LONG_CHOICE_ID = 'order=A-17&action=not-arrived&crm_ticket=88231';

// Visitor and agent texts carry markup: it must show as text and never become elements.
const VISITOR_TEXT = 'Halo kak, <b>bold</b> & "quotes" <img src=x onerror="window.__pwned=1">';
const AGENT_TEXT = 'Siap, kak! <script>window.__pwned=2</script><img src=x onerror="window.__pwned=3"> \u{1F60A}';
const MISSED_TEXT = 'Pesanan sudah dikirim hari ini.';

async function api(method, path, token, body) {
  const response = await fetch(input.api + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} -> ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function until(what, check, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/// The widget's messages as the visitor sees them.
async function log(page) {
  return page.locator('.sb-log .sb-msg').evaluateAll((nodes) =>
    nodes.map((n) => ({ kind: n.className.replace('sb-msg ', ''), text: n.textContent })),
  );
}

/// Elements other than the widget's own inside the message log (markup that escaped).
async function injected(page) {
  return page.evaluate(() => {
    const host = document.querySelector('[id^="switchboard-webchat-"]');
    return host ? host.shadowRoot.querySelectorAll('.sb-log *:not(.sb-msg)').length : -1;
  });
}

/// Loads the page; what became of the widget's session request: its answer, or why the
/// browser failed it (a refused CORS preflight never lets the request out).
async function sessionOutcome(page, url) {
  const isSession = (request) => request.url().endsWith('/session') && request.method() === 'POST';
  const outcome = Promise.race([
    page.waitForResponse((r) => isSession(r.request()), { timeout: WAIT }).then(async (answer) => {
      let body = null;
      try {
        body = await answer.json();
      } catch {
        /* a refused page may not read it */
      }
      return { status: answer.status(), error: body && body.error, cors: answer.headers()['access-control-allow-origin'] ?? null };
    }),
    page.waitForEvent('requestfailed', { predicate: isSession, timeout: WAIT }).then((request) => ({
      status: null,
      failure: request.failure() && request.failure().errorText,
    })),
  ]);
  await page.goto(url);
  return outcome;
}

const tokenOf = (page) => page.evaluate((key) => localStorage.getItem(key), `switchboard-webchat:${input.channel}`);

async function live(browser) {
  const out = {};
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));

  step = 'load the page on the allowed origin';
  await page.goto(input.page);
  await page.locator('.sb-bubble').waitFor({ timeout: WAIT });
  out.title = await page.locator('.sb-title').textContent();
  out.panel_open_before_click = await page.locator('.sb-panel.sb-open').count();

  step = 'open the chat and write';
  await page.locator('.sb-bubble').click();
  await page.locator('.sb-panel.sb-open').waitFor({ timeout: WAIT });
  out.greeting = await page.locator('.sb-greeting').textContent();
  await page.locator('.sb-input').fill(VISITOR_TEXT);
  await page.locator('.sb-input').press('Enter');
  await page.locator('.sb-visitor[data-id]').waitFor({ timeout: WAIT });

  step = 'find the conversation in the inbox';
  const conversation = await until('the conversation in the inbox', async () => {
    const list = await api('GET', `/api/v1/conversations?channel=${input.channel}`, input.agent);
    return list.length === 1 && list[0];
  });
  const inbox = await api('GET', `/api/v1/conversations/${conversation.id}/messages`, input.agent);
  out.inbox_texts = inbox.map((m) => m.text);
  out.visitor_id = conversation.external_id;
  out.token = await tokenOf(page);

  step = 'the agent answers through the API; the page shows it without a reload';
  const started = Date.now();
  await api('POST', `/api/v1/conversations/${conversation.id}/messages`, input.agent, { text: AGENT_TEXT });
  await page.locator('.sb-agent').waitFor({ timeout: WAIT });
  out.reply_latency_ms = Date.now() - started;
  out.log = await log(page);
  out.injected_elements = await injected(page);
  out.pwned = await page.evaluate(() => window.__pwned ?? null);

  step = 'reload: the history and the open panel stay';
  await page.reload();
  await page.locator('.sb-agent').waitFor({ timeout: WAIT });
  out.log_after_reload = await log(page);
  out.panel_open_after_reload = await page.locator('.sb-panel.sb-open').count();
  out.token_after_reload = await tokenOf(page);

  step = 'a reply sent while the page is away is there when it comes back';
  await page.goto('about:blank');
  const missed = await api('POST', `/api/v1/conversations/${conversation.id}/messages`, input.agent, { text: MISSED_TEXT });
  await until('the missed reply to be sent', async () => {
    const messages = await api('GET', `/api/v1/conversations/${conversation.id}/messages`, input.agent);
    return messages.some((m) => m.id === missed.id && m.status === 'sent');
  });
  await page.goto(input.page);
  await page.locator(`.sb-agent[data-id="${missed.id}"]`).waitFor({ state: 'attached', timeout: WAIT });
  out.log_after_return = await log(page);

  step = 'the agent offers buttons; the visitor clicks one and the inbox has the choice';
  const offer = await api('POST', `/api/v1/conversations/${conversation.id}/messages`, input.agent, { interactive: {
    body: 'Sudah sampai?', reply_buttons: [{ id: 'arrived:A-17', title: 'Sudah' }, { id: LONG_CHOICE_ID, title: 'Belum' }],
  } });
  const offered = page.locator(`.sb-agent[data-id="${offer.id}"] button.sb-option`);
  await offered.first().waitFor({ timeout: WAIT });
  out.offer_id = offer.id;
  out.option_buttons = await offered.allTextContents();
  out.offer_text = await page.locator(`.sb-agent[data-id="${offer.id}"]`).evaluate((node) => node.firstChild && node.firstChild.textContent);
  const sentChoice = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/messages'));
  await offered.filter({ hasText: 'Belum' }).click();
  out.clicked_body = JSON.parse((await sentChoice).postData());
  const picked = await until('the choice in the inbox', async () => {
    const messages = await api('GET', `/api/v1/conversations/${conversation.id}/messages`, input.agent);
    return messages.find((m) => m.content && m.content.choice);
  });
  out.choice = picked.content.choice;
  out.choice_text = picked.text;
  out.business_id_on_page = (await page.content()).includes(LONG_CHOICE_ID);

  step = 'another visitor sees only their own conversation';
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  // A leak would come as the session saying it has a conversation (whose history the widget then
  // streams in after the panel opened): what the session answered is checked, not only the log.
  const otherSession = otherPage.waitForResponse((r) => r.url().endsWith('/session') && r.request().method() === 'POST', { timeout: WAIT });
  await otherPage.goto(input.page);
  out.other_visitor_has_conversation = (await (await otherSession).json()).conversation;
  await otherPage.locator('.sb-bubble').click();
  await otherPage.locator('.sb-panel.sb-open').waitFor({ timeout: WAIT });
  out.other_visitor_log = await log(otherPage);
  out.other_visitor_token = await tokenOf(otherPage);

  out.page_errors = pageErrors;
  await other.close();
  await context.close();
  return out;
}

async function refusals(browser) {
  const out = {};
  const visit = async (url) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const session = await sessionOutcome(page, url);
    // An accepted session draws the bubble: wait for it (bounded; a missing bubble is what the
    // caller checks). A refused one must draw nothing: a short settle, which can only let a
    // late, wrongly drawn widget go unseen, never fail a right one.
    if (session.status === 200) await page.locator('.sb-bubble').waitFor({ timeout: WAIT }).catch(() => {});
    else await page.waitForTimeout(300);
    const seen = { session, bubbles: await page.locator('.sb-bubble').count(), panels: await page.locator('.sb-panel').count() };
    await context.close();
    return seen;
  };

  step = 'a page on another origin';
  out.other_origin = await visit(input.other_page);

  step = 'the allowed page while the widget is switched off';
  await api('PATCH', `/api/v1/channels/${input.channel}`, input.admin, { settings: { enabled: false } });
  out.disabled = await visit(input.page);

  step = 'switched on again, the same page has the widget';
  await api('PATCH', `/api/v1/channels/${input.channel}`, input.admin, { settings: { enabled: true } });
  out.enabled_again = await visit(input.page);
  return out;
}

async function preview(browser) {
  const out = {};
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
  page.on('pageerror', (error) => problems.push(String(error)));
  const requests = [];
  page.on('request', (request) => requests.push(new URL(request.url()).pathname));

  step = 'the preview page draws the widget, open, with unsaved values from the form';
  await page.goto(`${input.api}/webchat/${input.channel}/preview?color=%23e4572e&position=left`);
  await page.locator('.sb-panel.sb-open').waitFor({ timeout: WAIT });
  out.title = await page.locator('.sb-title').textContent();
  out.greeting = await page.locator('.sb-greeting').textContent();
  out.input_disabled = await page.locator('.sb-input').isDisabled();
  out.bubble_color = await page.locator('.sb-bubble').evaluate((b) => getComputedStyle(b).backgroundColor);
  out.bubble_left = await page.locator('.sb-bubble').evaluate((b) => b.getBoundingClientRect().left);
  out.requests = requests;
  out.problems = problems; // a CSP violation would show here
  await context.close();
  return out;
}

// A 1x1 PNG browsers decode.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

async function files(browser) {
  const out = {};
  const context = await browser.newContext();
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(String(error)));

  step = 'the visitor attaches a photo with the paperclip';
  await page.goto(input.page);
  await page.locator('.sb-bubble').click();
  await page.locator('.sb-panel.sb-open').waitFor({ timeout: WAIT });
  await page.locator('.sb-input').fill('Paketnya begini');
  const chooser = page.waitForEvent('filechooser', { timeout: WAIT });
  await page.locator('.sb-attach').click();
  await (await chooser).setFiles({ name: 'paket.png', mimeType: 'image/png', buffer: PNG });
  await page.locator('.sb-visitor[data-id] img.sb-img').waitFor({ timeout: WAIT });
  await until('the photo to be decoded', () => page.locator('.sb-visitor img.sb-img').evaluate((img) => img.complete && img.naturalWidth > 0));
  out.visitor_log = await log(page);

  step = 'the agent answers with a PDF; the page shows its link';
  const conversation = await until('the conversation in the inbox', async () => {
    const list = await api('GET', `/api/v1/conversations?channel=${input.channel}`, input.agent);
    return list.length === 1 && list[0];
  });
  const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(5000, 7)]);
  const uploaded = await fetch(`${input.api}/api/v1/media?filename=faktur.pdf`, { method: 'POST', headers: { authorization: `Bearer ${input.agent}` }, body: pdf }).then((r) => r.json());
  await api('POST', `/api/v1/conversations/${conversation.id}/messages`, input.agent, { file_id: uploaded.id, text: 'Ini fakturnya' });
  const link = page.locator('.sb-agent a.sb-file');
  await link.waitFor({ timeout: WAIT });
  out.agent_link_text = await link.textContent();
  // What the visitor downloads by that link (opening it: no session, no CORS, just the link).
  const href = await link.getAttribute('href');
  out.agent_file_sha256 = sha256Hex(Buffer.from(await fetch(href).then((r) => r.arrayBuffer())));
  out.pdf_sha256 = sha256Hex(pdf);
  out.conversation = conversation.id;
  out.page_errors = pageErrors;
  await context.close();
  return out;
}

function sha256Hex(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

const scenarios = { live, refusals, preview, files };
let browser;
try {
  browser = await chromium.launch({
    executablePath: input.chromium,
    headless: true,
    // Playwright gives every launch a fresh temporary profile (--user-data-dir).
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const result = await scenarios[input.scenario](browser);
  console.log(JSON.stringify({ ok: true, ...result }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, step, error: String(error && error.stack ? error.stack : error) }));
} finally {
  if (browser) await browser.close();
}
