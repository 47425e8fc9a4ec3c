import { authHeaders } from "./api.js";
import { el } from "./dom.js";
import { size, when } from "./i18n.js";

// A message as the inbox draws it: text, files, interactive options, the choice picked.
export function messageBubble(message) {
  const all = (message.content && message.content.attachments) || [];
  // Files are drawn (pictures, players, chips); the rest stays a line of text.
  const described = all.filter((a) => !a.file)
    .map((a) => `[${a.kind}${a.filename ? `: ${a.filename}` : a.description ? `: ${a.description}` : ""}]`);
  const template = message.content && message.content.template ? `[template ${message.content.template.name}]` : "";
  const interactive = message.content && message.content.interactive;
  // Interactive content shows as sent (header, body, footer) with its options beneath, not as
  // the numbered text a channel without buttons got.
  const shown = interactive ? [interactive.header, interactive.body, interactive.footer].filter(Boolean).join("\n\n") : message.text;
  const text = [shown, template, ...described].filter(Boolean).join("\n");
  const meta = message.direction === "outbound" ? `${message.status}${message.error ? `: ${message.error}` : ""} · ${when(message.created_at)}` : when(message.provider_timestamp || message.created_at);
  const choice = message.content && message.content.choice;
  return el("div", { class: `bubble ${message.direction}`, "data-status": message.status, "data-message": message.id },
    all.filter((a) => a.file).map((a) => fileView(a.file, a.kind)), text,
    interactive ? optionsOffered(interactive) : null,
    choice ? el("span", { class: "choice", "data-choice": choice.id, text: `Picked: ${choice.title || choice.id}${choice.by === "reply" ? " (typed)" : ""}` }) : null,
    el("span", { class: "meta", text: meta }));
}

// The options an interactive message offered, as chips (an agent reads them; only the
// customer taps).
export function optionsOffered(interactive) {
  const labels = interactive.reply_buttons ? interactive.reply_buttons.map((o) => o.title)
    : interactive.quick_replies ? interactive.quick_replies.map((o) => o.title)
    : interactive.list ? interactive.list.sections.flatMap((s) => s.rows.map((r) => r.title))
    : interactive.url_buttons ? interactive.url_buttons.map((b) => `${b.title} ↗`)
    : (interactive.cards || []).map((c) => `${c.title}: ${c.buttons.map((b) => b.url ? `${b.title} ↗` : b.title).join(", ")}`);
  const kind = interactive.list ? `List "${interactive.list.button}"` : interactive.url_buttons ? "Links" : interactive.cards ? "Cards" : interactive.quick_replies ? "Quick replies" : "Buttons";
  return el("div", { class: "options", role: "group", "aria-label": `${kind} offered` },
    el("span", { class: "options-kind", text: kind }), labels.map((label) => el("span", { class: "chip", text: label })));
}

// Files are fetched with the API's credentials (a token cannot ride on an <img src>) and
// shown from a blob URL; each is read once per page (an object URL per file id).
export const fileUrls = new Map();
export function fileBlobUrl(file) {
  if (!fileUrls.has(file.id)) {
    fileUrls.set(file.id, fetch(file.url, { headers: authHeaders("GET", "/media") }).then((response) => {
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return response.blob();
    }).then((blob) => URL.createObjectURL(blob)).catch((error) => { fileUrls.delete(file.id); throw error; }));
  }
  return fileUrls.get(file.id);
}


// A picture in place (capped; a click opens it whole), a player for sound and video, a chip
// with name and size for any other file; a clear mark while downloading or when it failed.
export function fileView(file, kind) {
  const name = file.filename || (kind === "image" ? "Photo" : kind === "audio" ? "Voice note" : kind === "video" ? "Video" : "File");
  if (file.state === "failed") return el("div", { class: "file failed", "data-file": file.id, role: "note", text: `${name}: download failed (${file.error || "unknown reason"})` });
  if (file.state !== "stored") return el("div", { class: "file pending", "data-file": file.id, text: `${name}: downloading…` });
  const mime = file.mime_type || "";
  const box = el("div", { class: "file", "data-file": file.id, "data-mime": mime });
  const fill = (node, attribute) => fileBlobUrl(file).then((url) => { node[attribute] = url; }).catch((error) => box.replaceChildren(`${name}: cannot be shown (${error.message})`));
  if (mime.startsWith("image/") && mime !== "image/svg+xml") {
    const image = el("img", { alt: name, class: "attachment-image" });
    const open = el("a", { href: "#", title: "Open the picture", onclick: (event) => { event.preventDefault(); fileBlobUrl(file).then((url) => window.open(url, "_blank", "noopener")); } }, image);
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
    const chip = el("a", { href: "#", class: "chip", download: name, text: `${name} · ${size(file.size)}`,
      onclick: (event) => {
        event.preventDefault();
        fileBlobUrl(file).then((url) => { const a = el("a", { href: url, download: name }); document.body.append(a); a.click(); a.remove(); });
      } });
    box.append(chip);
  }
  return box;
}
