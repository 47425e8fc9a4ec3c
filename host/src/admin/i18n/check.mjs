// Checks the pages' language catalogues against the code that uses them; run with node (the
// Rust tests call it). Exits non-zero listing each problem:
//  (a) a key in one catalogue but not the other;
//  (b) a key no module (nor index.html) names as a string literal: nothing can show it;
//  (c) a string literal passed to t() that no catalogue has;
//  (d) a key whose {placeholders} differ between the languages;
// and, so a new file cannot be forgotten, a module or catalogue that admin/mod.rs does not serve.
// The website chat widget's own catalogues (api/webchat/widget-i18n) are checked the same way
// against widget.js.
import { readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const admin = join(here, "..");
const webchat = join(admin, "..", "api", "webchat");
const LANGUAGES = ["en", "id"];
const problems = [];

const filesUnder = (dir, ending) => readdirSync(dir).flatMap((name) => {
  const path = join(dir, name);
  return statSync(path).isDirectory() ? filesUnder(path, ending) : name.endsWith(ending) ? [path] : [];
});

function readCatalogue(path) {
  let data;
  try { data = JSON.parse(readFileSync(path, "utf8")); } catch (error) { problems.push(`${path}: not JSON: ${error.message}`); return {}; }
  if (!data || typeof data !== "object" || Array.isArray(data)) { problems.push(`${path}: not a flat object of strings`); return {}; }
  for (const [key, value] of Object.entries(data)) if (typeof value !== "string") problems.push(`${path}: ${key} is not a string`);
  return data;
}

const placeholders = (text) => [...new Set([...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]))].sort().join(",");

/** One set of catalogues (one file per language in `dir`) against the sources that use them. */
function check(name, dir, sources) {
  const catalogues = Object.fromEntries(LANGUAGES.map((lang) => [lang, readCatalogue(join(dir, `${lang}.json`))]));
  const keys = new Set(LANGUAGES.flatMap((lang) => Object.keys(catalogues[lang])));
  for (const key of [...keys].sort()) {
    const missing = LANGUAGES.filter((lang) => !(key in catalogues[lang]));
    if (missing.length) problems.push(`${name} (a): "${key}" is missing from ${missing.map((l) => `${l}.json`).join(", ")}`);
    else {
      const [first, ...rest] = LANGUAGES;
      for (const lang of rest) {
        if (placeholders(catalogues[first][key]) !== placeholders(catalogues[lang][key])) {
          problems.push(`${name} (d): "${key}" has placeholders {${placeholders(catalogues[first][key])}} in ${first}.json but {${placeholders(catalogues[lang][key])}} in ${lang}.json`);
        }
      }
    }
  }
  // A key counts as named where it stands whole in quotes: "key", 'key' or `key`.
  const texts = sources.map((path) => readFileSync(path, "utf8"));
  const named = (key) => texts.some((text) => ["\"", "'", "`"].some((quote) => text.includes(`${quote}${key}${quote}`)));
  const called = [];
  for (const [index, path] of sources.entries()) {
    const text = texts[index];
    for (const m of text.matchAll(/\bt\(\s*(?:"([^"\n]*)"|'([^'\n]*)'|(`))/g)) {
      const line = text.slice(0, m.index).split("\n").length;
      if (m[3]) problems.push(`${name} (c): ${relative(admin, path)}:${line}: t() with a template literal (keys must be plain literals)`);
      else called.push([m[1] ?? m[2], `${relative(admin, path)}:${line}`]);
    }
  }
  for (const key of [...keys].sort()) if (!named(key)) problems.push(`${name} (b): "${key}" is never named in the code`);
  for (const [key, where] of called) if (!keys.has(key)) problems.push(`${name} (c): ${where}: t("${key}") is in no catalogue`);
}

const modules = filesUnder(join(admin, "js"), ".js");
check("admin pages", here, [...modules, join(admin, "index.html")]);
check("chat widget", join(webchat, "widget-i18n"), [join(webchat, "widget.js")]);

// What admin/mod.rs embeds and serves.
const served = readFileSync(join(admin, "mod.rs"), "utf8");
for (const path of [...modules, ...LANGUAGES.map((lang) => join(here, `${lang}.json`))]) {
  const file = relative(admin, path).split("\\").join("/");
  if (!served.includes(`include_str!("${file}")`)) problems.push(`admin/mod.rs does not serve ${file}`);
}

if (problems.length) {
  console.error(problems.join("\n"));
  console.error(`${problems.length} problem(s) in the language catalogues`);
  process.exit(1);
}
console.log("language catalogues: ok");
