// The inbox: conversations, the open thread, replying, assigning.

import { api } from "../api.js";
import { el, notice, show } from "../dom.js";
import { formatDate, formatDuration, formatSize, t } from "../i18n.js";
import { followInbox, later } from "../live.js";
import { messageBubble } from "../messages.js";
import { inbox, pluginById, state } from "../state.js";

// Mine / unassigned / all ("mine" only for a signed-in person: a token is nobody).
const inboxFilters = () => (state.person ? ["mine", "unassigned", "all"] : ["unassigned", "all"]);
const FILTER_LABELS = { mine: "inbox.filter_mine", unassigned: "inbox.filter_unassigned", all: "inbox.filter_all" };

// A conversation's status, by the API's word.
const CONVERSATION_STATUS = { open: "conversation.status_open", resolved: "conversation.status_resolved", bot: "conversation.status_bot" };
const conversationStatus = (status) => (CONVERSATION_STATUS[status] ? t(CONVERSATION_STATUS[status]) : status);
// Who handles a conversation in status `bot`: its channel's bot by name (a bot token's label,
// an endpoint's description) when it has one.
const withBot = (c) => (c.bot && c.bot.name ? t("inbox.with_named_bot", { name: c.bot.name }) : t("inbox.with_bot"));

export async function inboxPage(selected) {
  if (!inboxFilters().includes(state.inboxFilter)) state.inboxFilter = "all";
  inbox.selected = selected || null;
  const channels = await api("GET", "/channels");
  const channelName = (id) => (channels.find((c) => c.id === id) || { name: id }).name;
  const list = el("nav", { class: "conversations", id: "conversation-list", "aria-label": t("inbox.conversations") });
  const thread = el("section", { class: "thread", id: "thread", "aria-label": t("inbox.conversation") });
  const search = el("input", { type: "search", id: "inbox-search", name: "q", value: inbox.search, placeholder: t("inbox.search_placeholder"), autocomplete: "off" });
  search.addEventListener("input", () => { inbox.search = search.value; later("list", refreshList, 250); });
  const filters = el("div", { class: "row", id: "inbox-filters", role: "group", "aria-label": t("inbox.show") }, inboxFilters().map((filter) =>
    el("button", { type: "button", class: filter === state.inboxFilter ? "" : "secondary", "aria-pressed": String(filter === state.inboxFilter), "data-filter": filter, text: t(FILTER_LABELS[filter]),
      onclick: () => { state.inboxFilter = filter; inboxPage(inbox.selected); } })));
  // "Live" only once the stream has answered (a redraw while it connects still says connecting).
  const liveState = el("span", { id: "live-state", class: "muted", role: "status", text: t(inbox.live && inbox.liveState ? inbox.liveState : "live.connecting") });

  async function refreshList() {
    const query = new URLSearchParams({ assigned: state.inboxFilter });
    if (inbox.search.trim()) query.set("q", inbox.search.trim());
    const conversations = await api("GET", `/conversations?${query}`).catch((error) => { list.replaceChildren(notice(error.message, "bad")); return null; });
    if (!conversations) return;
    list.replaceChildren(...(conversations.length ? conversations.map((c) => {
      const who = (c.contact && (c.contact.name || c.contact.handle)) || c.name || c.external_id;
      const unread = String(c.id) === inbox.selected ? 0 : c.unread || 0;
      return el("a", { href: `#/inbox/${c.id}`, class: String(c.id) === inbox.selected ? "active" : "", "data-conversation": c.id, "aria-current": String(c.id) === inbox.selected ? "page" : null },
        el("span", { class: "row between" }, el("strong", { text: who }),
          unread ? el("span", { class: "badge unread", "data-unread": unread, "aria-label": t("inbox.unread", { count: unread }), text: String(unread) }) : null),
        el("div", { class: "muted", text: `${channelName(c.channel_id)} · ${formatDate(c.last_activity_at)}${c.status === "bot" ? ` · ${withBot(c)}` : ""}` }));
    }) : [el("p", { class: "muted empty", id: "no-conversations", text: inbox.search.trim() ? t("inbox.no_match") : t("inbox.empty") })]));
  }

  async function refreshThread() {
    // A live event may arrive after the person left the inbox: nothing to redraw then.
    if (!thread.isConnected) return;
    if (!inbox.selected) return thread.replaceChildren(el("p", { class: "muted", text: t("inbox.pick") }));
    // A live redraw keeps what the person typed or picked in the reply box (text, template,
    // parameters) and where the cursor was: a customer writing must not wipe a half-done reply.
    // Read once the new view is ready: typing goes on while it loads.
    const view = await threadView(inbox.selected).catch((error) => [notice(error.message, "bad")]);
    const kept = typedIn(thread.querySelector("#reply"));
    // Files already shown stay the same nodes: a voice note keeps playing, a picture is not reloaded.
    const shownFiles = new Map([...thread.querySelectorAll(".file[data-file][data-mime]")].map((node) => [node.dataset.file, node]));
    // The file picker too: its dialog may be open, and the file chosen must land in the form shown.
    const picker = thread.querySelector("#reply-file");
    thread.replaceChildren(...view.filter(Boolean));
    for (const fresh of thread.querySelectorAll(".file[data-file][data-mime]")) {
      const old = shownFiles.get(fresh.dataset.file);
      if (old) fresh.replaceWith(old);
    }
    const freshPicker = thread.querySelector("#reply-file");
    if (picker && freshPicker) {
      freshPicker.replaceWith(picker);
      picker.dispatchEvent(new Event("change"));
    }
    putBack(thread.querySelector("#reply"), kept);
  }

  inbox.refreshList = refreshList;
  inbox.refreshThread = refreshThread;
  show(el("div", { class: "row between" }, el("h1", { text: t("inbox.title") }), liveState),
    el("div", { class: "row inbox-tools" }, el("label", { for: "inbox-search", class: "visually-hidden", text: t("inbox.search") }), search, filters),
    el("div", { class: "inbox" }, list, thread));
  await Promise.all([refreshList(), refreshThread()]);
  followInbox();
  clearInterval(inbox.tick);
  // The window's countdown moves by itself; at its end the thread turns template-only.
  inbox.tick = setInterval(() => { if (location.hash.startsWith("#/inbox")) windowCountdown(); }, 15000);
}

// The values of a form's named fields and which had the focus (file pickers are moved over
// whole by the caller, not copied).
function typedIn(form) {
  if (!form) return null;
  const values = {};
  for (const field of form.elements) if (field.name && field.type !== "file") values[field.name] = field.value;
  return { values, focused: form.contains(document.activeElement) ? document.activeElement.name : null };
}

// Puts `typedIn`'s values back into the redrawn form (a template no longer offered stays unpicked).
function putBack(form, kept) {
  if (!form || !kept) return;
  for (const field of form.elements) {
    if (!field.name || !(field.name in kept.values)) continue;
    field.value = kept.values[field.name];
    if (field.name === kept.focused) field.focus();
  }
}

// "closes in 3 hours 12 minutes" from the conversation's window; re-reads the thread once it closed.
function windowCountdown() {
  const node = document.getElementById("window-state");
  if (!node) return;
  const closesAt = Number(node.dataset.closesAt || 0);
  if (!closesAt) return;
  const left = closesAt - Date.now();
  if (left <= 0) { node.removeAttribute("data-closes-at"); if (inbox.refreshThread) inbox.refreshThread(); return; }
  node.textContent = t(node.dataset.label, { duration: formatDuration(left) });
}

// Who has the conversation, and its status: supervisors and admins assign anyone; an agent
// takes an unassigned one or gives back their own; anyone resolves or reopens.
async function assignmentBar(conversation, status) {
  const change = async (body) => {
    try { await api("PATCH", `/conversations/${conversation.id}`, body); inboxPage(String(conversation.id)); }
    catch (error) { status.replaceChildren(notice(error.message, "bad")); }
  };
  const bar = el("div", { class: "row", id: "assignment" });
  const me = state.person;
  // A conversation in status `bot` is the channel's bot's until it hands it over or someone
  // takes it (assigning takes it over).
  if (conversation.status === "bot") {
    const handling = conversation.bot && conversation.bot.name ? t("inbox.bot_named_handling", { name: conversation.bot.name }) : t("inbox.bot_handling");
    bar.append(el("span", { class: "muted", id: "handled-by", "data-bot-kind": conversation.bot ? conversation.bot.kind : null, text: handling }),
      el("button", { type: "button", class: "secondary", text: t("inbox.take_over"), onclick: () => change({ status: "open" }) }));
  }
  if (state.role === "agent") {
    const holder = conversation.assignee_id == null ? t("inbox.unassigned") : (me && conversation.assignee_id === me.id ? t("inbox.assigned_to_you") : t("inbox.assigned_to_colleague"));
    bar.append(el("span", { class: "muted", text: holder }));
    if (me && conversation.assignee_id == null) bar.append(el("button", { type: "button", text: t("inbox.take"), onclick: () => change({ assignee_id: me.id }) }));
    if (me && conversation.assignee_id === me.id) bar.append(el("button", { type: "button", class: "secondary", text: t("inbox.give_back"), onclick: () => change({ assignee_id: null }) }));
  } else {
    const people = await api("GET", "/people").catch(() => []);
    bar.append(el("label", { for: "assignee", text: t("inbox.assigned_to") }), " ",
      el("select", { id: "assignee", onchange: (event) => change({ assignee_id: event.target.value ? Number(event.target.value) : null }) },
        el("option", { value: "", text: t("inbox.nobody") }),
        people.filter((p) => p.active).map((p) => el("option", { value: p.id, text: p.display_name, selected: p.id === conversation.assignee_id }))));
  }
  bar.append(el("button", { type: "button", class: "secondary", id: "toggle-status",
    text: conversation.status === "resolved" ? t("inbox.reopen") : t("inbox.resolve"),
    onclick: () => change({ status: conversation.status === "resolved" ? "open" : "resolved" }) }),
    el("span", { class: "badge", id: "conversation-status", "data-status": conversation.status, text: conversationStatus(conversation.status) }));
  return bar;
}

async function threadView(id) {
  const [conversation, messages] = await Promise.all([api("GET", `/conversations/${id}`), api("GET", `/conversations/${id}/messages`)]);
  const plugin = pluginById(conversation.plugin) || { capabilities: [], name: "" };
  const win = conversation.window || { state: "unrestricted" };
  const closed = win.state === "closed";
  const status = el("div", { class: "send-status" });
  const assignment = await assignmentBar(conversation, status);
  const form = el("form", { class: "reply", id: "reply" });
  if (closed) {
    form.append(notice(win.templates_allowed ? t("inbox.window_closed_templates") : t("inbox.window_closed_wait"), "bad"));
  } else {
    if (win.state === "human_agent") form.append(notice(t("inbox.human_agent_notice"), ""));
    const canAttach = plugin.capabilities.includes("send_media");
    form.append(el("div", { class: "field" }, el("label", { for: "reply-text", text: t("inbox.reply") }), el("textarea", { id: "reply-text", name: "text", rows: 3 })),
      el("div", { class: "row" },
        canAttach ? el("label", { for: "reply-file", class: "button secondary", text: t("inbox.attach") }) : null,
        canAttach ? el("input", { type: "file", id: "reply-file", name: "file", class: "visually-hidden",
          onchange: (event) => {
            // Beside the picker wherever it is (a redraw moves it into the new form).
            const named = event.target.closest("form")?.querySelector("#reply-file-name");
            const chosen = event.target.files[0];
            if (named) named.textContent = chosen ? `${chosen.name} · ${formatSize(chosen.size)}` : "";
          } }) : null,
        el("span", { id: "reply-file-name", class: "muted" }),
        el("button", { type: "submit", text: t("inbox.send") })));
  }
  if (plugin.capabilities.includes("send_templates") && win.templates_allowed) {
    const templates = await api("GET", `/channels/${conversation.channel_id}/templates`).catch(() => []);
    const usable = templates.filter((template) => template.enabled);
    if (usable.length) {
      form.append(el("div", { class: "field" },
        el("label", { for: "reply-template", text: t("inbox.template") }),
        el("select", { id: "reply-template", name: "template" }, el("option", { value: "", text: "—" }), usable.map((template) => el("option", { value: `${template.name}|${template.language}`, text: `${template.name} (${template.language})` }))),
        el("input", { type: "text", name: "params", placeholder: t("inbox.params"), "aria-label": t("inbox.params") })),
      closed ? el("button", { type: "submit", text: t("inbox.send_template") }) : null);
    }
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosen = form.elements.template && form.elements.template.value;
    const attached = form.elements.file && form.elements.file.files[0];
    let body;
    if (attached) {
      // Upload first (its progress shown), then send it with the text as its caption.
      status.replaceChildren(notice(t("inbox.uploading", { name: attached.name }), ""));
      try {
        const file = await api("POST", `/media?filename=${encodeURIComponent(attached.name)}`, attached, attached.type || "application/octet-stream");
        body = { file_id: file.id, text: form.elements.text ? form.elements.text.value : "" };
        status.replaceChildren();
      } catch (error) {
        return status.replaceChildren(notice(error.message, "bad"));
      }
    } else if (chosen) {
      const [name, language] = chosen.split("|");
      const params = (form.elements.params.value || "").split("|").map((p) => p.trim()).filter(Boolean);
      body = { template: { name, language, params } };
    } else {
      body = { text: form.elements.text ? form.elements.text.value : "" };
    }
    try {
      await api("POST", `/conversations/${id}/messages`, body);
      form.reset();
      const named = document.getElementById("reply-file-name");
      if (named) named.textContent = "";
      if (inbox.refreshThread) await inbox.refreshThread();
    } catch (error) {
      status.replaceChildren(notice(error.message, "bad"));
    }
  });
  // Read up to the newest message: the conversation's unread count drops for this person.
  if (state.person && messages.length) api("POST", `/conversations/${id}/read`, { message_id: messages[messages.length - 1].id }).catch(() => {});
  return [assignment, windowLine(win), el("div", { id: "messages", role: "log", "aria-label": t("inbox.messages") }, messages.map(messageBubble)), status, form];
}

// The messaging window's state in words, with a countdown that moves by itself.
// `data-label` keeps the key: the countdown redraws the words with the time left.
function windowLine(win) {
  const line = (key, until) => {
    const node = el("p", { id: "window-state", class: "muted", "data-label": key, "data-state": win.state });
    if (until) node.dataset.closesAt = String(until);
    node.textContent = t(key, { duration: until ? formatDuration(until - Date.now()) : "" });
    return node;
  };
  if (win.state === "open" && win.closes_at) return line("inbox.window_open", win.closes_at);
  if (win.state === "human_agent") return line("inbox.window_human_agent", win.changes_at);
  if (win.state === "closed") return line(win.templates_allowed ? "inbox.window_closed_templates_only" : "inbox.window_closed_customer_first");
  return null;
}
