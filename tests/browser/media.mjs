// Media in the inbox, in Chromium: the customer's photo shows (decoded: naturalWidth > 0), the
// voice note plays (its player knows a duration), and an agent attaches a PDF through the file
// input, which the Rust test then finds at the provider's fake with the same bytes.
// Env: BASE, ADMIN_TOKEN, CONVERSATION, PDF_B64, CHROMIUM, SCREENSHOTS.
import assert from "node:assert/strict";
import { adminSession, env, statusChangedByColleague } from "./admin-session.mjs";

await adminSession("media", async ({ page, shot, signIn }) => {
  await signIn();
  await page.waitForSelector(".cards");
  await page.goto(`${env.BASE}/#/inbox/${env.CONVERSATION}`);

  // The photo, decoded from the bytes the host downloaded.
  const photo = page.locator(".bubble.inbound img.attachment-image");
  await photo.waitFor({ timeout: 20000 });
  await page.waitForFunction(() => { const img = document.querySelector(".bubble.inbound img.attachment-image"); return img && img.complete && img.naturalWidth > 0; }, null, { timeout: 20000 });
  // The voice note: a player whose metadata loaded (read in the same look as the wait).
  const heard = await page.waitForFunction(() => { const audio = document.querySelector(".bubble.inbound audio"); return audio && Number.isFinite(audio.duration) && audio.duration > 0 && audio.duration; }, null, { timeout: 20000 });
  const duration = await heard.jsonValue();
  assert.ok(duration > 0.5 && duration < 1.5, `the voice note lasts about a second: ${duration}`);
  // A live redraw (a colleague resolves the conversation, then reopens it) keeps the same player:
  // it would keep playing. Each redraw is known by the status it shows (an earlier redraw, the
  // stream's first say, cannot show it).
  await page.waitForSelector("#live-state:has-text('Live')");
  await page.evaluate(() => {
    document.querySelector(".bubble.inbound audio").dataset.before = "1";
    document.getElementById("reply").dataset.before = "1";
  });
  for (const status of ["resolved", "open"]) {
    await statusChangedByColleague(page, status);
    assert.equal(await page.locator('.bubble.inbound audio[data-before="1"]').count(), 1, `the player survived the redraw (${status})`);
  }
  // The failed download is marked with its reason.
  await page.waitForSelector('.bubble.inbound .file.failed:has-text("download failed")');

  // The agent attaches a PDF and sends it with a caption.
  await page.setInputFiles("#reply-file", { name: "faktur-001.pdf", mimeType: "application/pdf", buffer: Buffer.from(env.PDF_B64, "base64") });
  await page.waitForSelector('#reply-file-name:has-text("faktur-001.pdf")');
  await page.fill("#reply-text", "Ini fakturnya, kak");
  await page.click("#reply button[type=submit]");
  await page.waitForSelector('.bubble.outbound .chip:has-text("faktur-001.pdf")', { timeout: 20000 });
  await page.waitForSelector('.bubble.outbound[data-status="sent"]:has-text("Ini fakturnya, kak")', { timeout: 20000 });
  await shot("inbox-media");
});
