// The inbox's live stream: GET /api/v1/events (server-sent events read with fetch).

import { authHeaders, endSession } from "./api.js";
import { t } from "./i18n.js";
import { inbox } from "./state.js";

// Runs `fn` once after `ms`, however often it is asked for meanwhile (bursts of events).
export function later(key, fn, ms) {
  clearTimeout(inbox.timers[key]);
  inbox.timers[key] = setTimeout(() => { fn(); }, ms);
}

// The stream's state in words ("live.live", "live.reconnecting"), kept for a redraw.
export function liveShown(key) {
  inbox.liveState = key;
  const node = document.getElementById("live-state");
  if (node) node.textContent = t(key);
}

export function stopInbox() {
  if (inbox.live) inbox.live.abort();
  inbox.live = null;
  inbox.liveState = null;
  clearInterval(inbox.tick);
}

// The server writes at least every 15 s (a keep-alive comment); a stream silent for longer
// than this is dead (a proxy or network dropped it without closing): reconnect.
export const SILENT_STREAM_MS = 45000;

// One stream while the inbox is open; it reconnects (resuming) until the page leaves the inbox.
export function followInbox() {
  if (inbox.live) return;
  const controller = new AbortController();
  inbox.live = controller;
  let connection = null;
  let heard = Date.now();
  const watchdog = setInterval(() => { if (connection && Date.now() - heard > SILENT_STREAM_MS) connection.abort(); }, 5000);
  controller.signal.addEventListener("abort", () => { clearInterval(watchdog); if (connection) connection.abort(); });
  (async () => {
    while (!controller.signal.aborted) {
      connection = new AbortController();
      heard = Date.now();
      try {
        const headers = authHeaders("GET", "/events");
        if (inbox.lastEventId) headers["Last-Event-ID"] = inbox.lastEventId;
        const response = await fetch("/api/v1/events", { headers, signal: connection.signal, cache: "no-store" });
        if (response.status === 401) return endSession(t("session.ended"));
        if (!response.ok || !response.body) throw new Error(t("errors.http", { status: response.status }));
        liveShown("live.live");
        await readEvents(response.body, onLiveEvent, () => { heard = Date.now(); });
      } catch {
        if (controller.signal.aborted) return;
      }
      liveShown("live.reconnecting");
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
}

// Reads a text/event-stream body: `event:`, `id:` and `data:` lines, a blank line ends one.
export async function readEvents(body, handle, alive) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let event = { type: "message", data: "", id: null };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    alive();
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).replace(/\r$/, "");
      buffer = buffer.slice(newline + 1);
      if (line === "") {
        if (event.id !== null) inbox.lastEventId = event.id;
        if (event.data) handle(event.type, JSON.parse(event.data));
        event = { type: "message", data: "", id: null };
      } else if (line.startsWith("event:")) event.type = line.slice(6).trim();
      else if (line.startsWith("data:")) event.data += line.slice(5).trim();
      else if (line.startsWith("id:")) event.id = line.slice(3).trim();
    }
  }
}

export function onLiveEvent(type, data) {
  if (!inbox.refreshList) return;
  if (type === "ready" || type === "reset") {
    later("list", inbox.refreshList, 0);
    later("thread", inbox.refreshThread, 0);
    return;
  }
  later("list", inbox.refreshList, 50);
  if (String(data.conversation_id) === inbox.selected) later("thread", inbox.refreshThread, 50);
}

