// A message as the inbox draws it: text, files, interactive options, the choice picked.

import { authHeaders } from "./api.js";
import { el } from "./dom.js";
import { formatDate, formatSize, t } from "./i18n.js";

// A message's delivery status, by the API's word.
const MESSAGE_STATUS = {
  received: "message.status_received", queued: "message.status_queued", sent: "message.status_sent", delivered: "message.status_delivered",
  read: "message.status_read", failed: "message.status_failed", deleted: "message.status_deleted",
};
export const messageStatus = (status) => (MESSAGE_STATUS[status] ? t(MESSAGE_STATUS[status]) : status);

// What an attachment without a file is, by the API's kind.
const ATTACHMENT_KINDS = {
  image: "attachment.image", video: "attachment.video", audio: "attachment.audio", document: "attachment.document",
  sticker: "attachment.sticker", location: "attachment.location", contact: "attachment.contact", unsupported: "attachment.unsupported",
};
const attachmentKind = (kind) => (ATTACHMENT_KINDS[kind] ? t(ATTACHMENT_KINDS[kind]) : kind);

// A file's name when it has none, by its kind.
const UNNAMED_FILES = { image: "file.photo", audio: "file.voice_note", video: "file.video" };

export function messageBubble(message) {
  const all = (message.content && message.content.attachments) || [];
  // Files are drawn (pictures, players, chips); the rest stays a line of text.
  const described = all.filter((a) => !a.file)
    .map((a) => `[${attachmentKind(a.kind)}${a.filename ? `: ${a.filename}` : a.description ? `: ${a.description}` : ""}]`);
  const template = message.content && message.content.template ? t("message.template", { name: message.content.template.name }) : "";
  const interactive = message.content && message.content.interactive;
  // Interactive content shows as sent (header, body, footer) with its options beneath, not as
  // the numbered text a channel without buttons got.
  const shown = interactive ? [interactive.header, interactive.body, interactive.footer].filter(Boolean).join("\n\n") : message.text;
  const text = [shown, template, ...described].filter(Boolean).join("\n");
  const meta = message.direction === "outbound"
    ? `${messageStatus(message.status)}${message.error ? `: ${message.error}` : ""} · ${formatDate(message.created_at)}`
    : formatDate(message.provider_timestamp || message.created_at);
  const choice = message.content && message.content.choice;
  return el("div", { class: `bubble ${message.direction}`, "data-status": message.status, "data-message": message.id },
    all.filter((a) => a.file).map((a) => fileView(a.file, a.kind)), text,
    interactive ? optionsOffered(interactive) : null,
    template && message.content.template.buttons ? templateButtons(message.content.template.buttons) : null,
    choice ? el("span", { class: "choice", "data-choice": choice.id,
      text: choice.by === "reply" ? t("message.picked_typed", { option: choice.title || choice.id }) : t("message.picked", { option: choice.title || choice.id }) }) : null,
    el("span", { class: "meta", text: meta }));
}

// The options an interactive message offered, as chips (an agent reads them; only the
// customer taps).
function optionsOffered(interactive) {
  const labels = interactive.reply_buttons ? interactive.reply_buttons.map((o) => o.title)
    : interactive.quick_replies ? interactive.quick_replies.map((o) => o.title)
    : interactive.list ? interactive.list.sections.flatMap((s) => s.rows.map((r) => r.title))
    : interactive.url_buttons ? interactive.url_buttons.map((b) => `${b.title} ↗`)
    : (interactive.cards || []).map((c) => `${c.title}: ${c.buttons.map((b) => b.url ? `${b.title} ↗` : b.title).join(", ")}`);
  const kind = interactive.list ? t("options.list", { button: interactive.list.button }) : interactive.url_buttons ? t("options.links")
    : interactive.cards ? t("options.cards") : interactive.quick_replies ? t("options.quick_replies") : t("options.buttons");
  return el("div", { class: "options", role: "group", "aria-label": t("options.offered", { kind }) },
    el("span", { class: "options-kind", text: kind }), labels.map((label) => el("span", { class: "chip", text: label })));
}

// A template's buttons sent with values: each button's label (the value when the label is not
// known), a URL button marked as a link.
function templateButtons(buttons) {
  const kind = t("options.template_buttons");
  return el("div", { class: "options", role: "group", "aria-label": t("options.offered", { kind }) },
    el("span", { class: "options-kind", text: kind }),
    buttons.map((b) => el("span", { class: "chip", "data-payload": b.payload || "", text: b.url_suffix ? `${b.text || b.url_suffix} ↗` : b.text || b.payload })));
}

// Files are fetched with the API's credentials (a token cannot ride on an <img src>) and
// shown from a blob URL; each is read once per page (an object URL per file id).
const fileUrls = new Map();
function fileBlobUrl(file) {
  if (!fileUrls.has(file.id)) {
    fileUrls.set(file.id, fetch(file.url, { headers: authHeaders("GET", "/media") }).then((response) => {
      if (!response.ok) throw new Error(t("errors.http", { status: response.status }));
      return response.blob();
    }).then((blob) => URL.createObjectURL(blob)).catch((error) => { fileUrls.delete(file.id); throw error; }));
  }
  return fileUrls.get(file.id);
}

// A picture in place (capped; a click opens it whole), a player for sound and video, a chip
// with name and size for any other file; a clear mark while downloading or when it failed.
function fileView(file, kind) {
  const name = file.filename || t(UNNAMED_FILES[kind] || "file.file");
  if (file.state === "failed") return el("div", { class: "file failed", "data-file": file.id, role: "note", text: t("file.failed", { name, reason: file.error || t("file.unknown_reason") }) });
  if (file.state !== "stored") return el("div", { class: "file pending", "data-file": file.id, text: t("file.downloading", { name }) });
  const mime = file.mime_type || "";
  const box = el("div", { class: "file", "data-file": file.id, "data-mime": mime });
  const fill = (node, attribute) => fileBlobUrl(file).then((url) => { node[attribute] = url; }).catch((error) => box.replaceChildren(t("file.cannot_show", { name, reason: error.message })));
  if (mime.startsWith("image/") && mime !== "image/svg+xml") {
    const image = el("img", { alt: name, class: "attachment-image" });
    const open = el("a", { href: "#", title: t("file.open_picture"), onclick: (event) => { event.preventDefault(); fileBlobUrl(file).then((url) => window.open(url, "_blank", "noopener")); } }, image);
    fill(image, "src");
    box.append(open);
  } else if (mime.startsWith("audio/")) {
    const player = el("audio", { controls: true, preload: "metadata", "aria-label": name });
    fill(player, "src");
    box.append(player);
  } else if (mime.startsWith("video/")) {
    const player = el("video", { controls: true, preload: "metadata", class: "attachment-video", "aria-label": name });
    fill(player, "src");
    box.append(player);
  } else {
    const chip = el("a", { href: "#", class: "chip", download: name, text: `${name} · ${formatSize(file.size)}`,
      onclick: (event) => {
        event.preventDefault();
        fileBlobUrl(file).then((url) => { const a = el("a", { href: url, download: name }); document.body.append(a); a.click(); a.remove(); });
      } });
    box.append(chip);
  }
  return box;
}
