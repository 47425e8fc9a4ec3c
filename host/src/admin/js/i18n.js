// The pages' words and formats. Words live in flat JSON catalogues a translator edits
// (/admin/i18n/en.json, /admin/i18n/id.json); code names them by key: t("inbox.title").
// A key built at run time must come from a fixed table written out beside its use, so that
// i18n/check.mjs finds every key as a string literal. Dates, numbers, sizes and durations are
// drawn by Intl in the person's language.

export const LANGUAGES = ["en", "id"];
const STORAGE_KEY = "switchboard.language";

const catalogues = {};
let current = "en";

/** The language shown now: "en" or "id". */
export function language() {
  return current;
}

/** The language to start with: the one saved on this browser, else the first of the
 * browser's languages we have, else English. */
export function startingLanguage() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(saved)) return saved;
  for (const wanted of navigator.languages || [navigator.language || ""]) {
    const base = String(wanted).toLowerCase().split("-")[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return "en";
}

async function load(lang) {
  if (!catalogues[lang]) {
    const response = await fetch(`/admin/i18n/${lang}.json`, { cache: "no-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    catalogues[lang] = await response.json();
  }
  return catalogues[lang];
}

/** Shows the pages in `lang` from now on (remembered on this browser); `<html lang>` follows.
 * English is loaded too: a key missing from a catalogue shows in English, never as a key. */
export async function setLanguage(lang, { remember = true } = {}) {
  if (!LANGUAGES.includes(lang)) lang = "en";
  await Promise.all([load("en"), load(lang)]);
  current = lang;
  document.documentElement.lang = lang;
  if (remember) localStorage.setItem(STORAGE_KEY, lang);
}

/** The words of `key` in the current language, `{name}` placeholders filled from `params`. */
export function t(key, params = {}) {
  const text = (catalogues[current] && catalogues[current][key]) ?? (catalogues.en && catalogues.en[key]) ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** Fills the static page (index.html): `data-i18n` sets the text, `data-i18n-<attribute>`
 * (aria-label, title, placeholder) that attribute. */
export function translateStatic(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const attribute of ["aria-label", "title", "placeholder"]) {
    for (const node of root.querySelectorAll(`[data-i18n-${attribute}]`)) node.setAttribute(attribute, t(node.getAttribute(`data-i18n-${attribute}`)));
  }
  document.title = t("app.title");
}

const locale = () => (current === "id" ? "id-ID" : "en");

/** A moment (ms since the epoch) as date and time in the person's language; "" for none. */
export function formatDate(ms) {
  if (!ms) return "";
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms));
}

/** A number with the language's separators. */
export function formatNumber(value) {
  return new Intl.NumberFormat(locale()).format(value);
}

/** A calendar day ("2026-11-25", as the API names days) in the person's language: "Nov 25" /
 * "25 Nov"; `long`: "Wednesday, November 25, 2026" / "Rabu, 25 November 2026". */
export function formatDay(day, { long = false } = {}) {
  const [year, month, date] = String(day).split("-").map(Number);
  const options = long ? { dateStyle: "full" } : { day: "numeric", month: "short" };
  return new Intl.DateTimeFormat(locale(), { ...options, timeZone: "UTC" }).format(new Date(Date.UTC(year, month - 1, date)));
}

/** A time something took, in seconds, in its two largest units: "42 seconds", "3 minutes
 * 20 seconds", "1 hour 5 minutes" / "1 jam, 5 menit"; under 10 seconds with a tenth. */
export function formatSeconds(seconds) {
  if (seconds == null) return "";
  const unit = (value, name, digits = 0) => new Intl.NumberFormat(locale(), { style: "unit", unit: name, unitDisplay: "long", maximumFractionDigits: digits }).format(value);
  if (seconds < 59.5) return unit(seconds, "second", seconds < 10 ? 1 : 0);
  const whole = Math.round(seconds);
  const [days, hours, minutes, rest] = [Math.floor(whole / 86400), Math.floor((whole % 86400) / 3600), Math.floor((whole % 3600) / 60), whole % 60];
  const parts = days ? [unit(days, "day"), hours && unit(hours, "hour")]
    : hours ? [unit(hours, "hour"), minutes && unit(minutes, "minute")]
      : [unit(minutes, "minute"), rest && unit(rest, "second")];
  return new Intl.ListFormat(locale(), { type: "unit", style: "narrow" }).format(parts.filter(Boolean));
}

/** Milliseconds, to a tenth: "0.9 ms" / "0,9 md"; "" for none. */
export function formatMilliseconds(ms) {
  if (ms == null) return "";
  return new Intl.NumberFormat(locale(), { style: "unit", unit: "millisecond", unitDisplay: "short", maximumFractionDigits: 1 }).format(ms);
}

/** A file size: "512 B", "12 kB", "1.5 MB" (Indonesian "1,5 MB"). */
export function formatSize(bytes) {
  if (bytes == null) return "";
  const unit = (value, name, digits = 0) => new Intl.NumberFormat(locale(), { style: "unit", unit: name, maximumFractionDigits: digits }).format(value);
  if (bytes < 1024) return unit(bytes, "byte");
  if (bytes < 1 << 20) return unit(Math.round(bytes / 1024), "kilobyte");
  return unit(bytes / (1 << 20), "megabyte", 1);
}

/** Time left, in whole minutes rounded down: "23 hours 59 minutes" / "23 jam 59 menit";
 * from a day on, days and hours. */
export function formatDuration(ms) {
  const minutes = Math.max(1, Math.floor(ms / 60000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const unit = (value, name) => new Intl.NumberFormat(locale(), { style: "unit", unit: name, unitDisplay: "long" }).format(value);
  const parts = days ? [unit(days, "day"), unit(hours, "hour")] : hours ? [unit(hours, "hour"), unit(rest, "minute")] : [unit(rest, "minute")];
  return new Intl.ListFormat(locale(), { type: "unit", style: "narrow" }).format(parts);
}
