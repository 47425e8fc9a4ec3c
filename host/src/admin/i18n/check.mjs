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

/** The text of a call's first argument, from just after its "(" to its first top-level comma
 * or its closing parenthesis (strings and nested brackets skipped whole). */
function firstArgument(text, start) {
  let depth = 0;
  for (let i = start; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"' || c === "'" || c === "`") {
      for (i += 1; i < text.length && text[i] !== c; i += 1) if (text[i] === "\\") i += 1;
    } else if ("([{".includes(c)) depth += 1;
    else if (")]}".includes(c)) { if (depth === 0) return text.slice(start, i); depth -= 1; }
    else if (c === "," && depth === 0) return text.slice(start, i);
  }
  return text.slice(start);
}

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
    const at = (offset) => `${relative(admin, path)}:${text.slice(0, offset).split("\n").length}`;
    // The keys t() is given: every literal of its first argument ("a", cond ? "a" : "b",
    // TABLE[x] || "a"), but not what a condition compares with (status === "resolved") nor
    // what picks a table's entry.
    for (const m of text.matchAll(/\bt\(/g)) {
      const argument = firstArgument(text, m.index + m[0].length);
      if (/^\s*`/.test(argument)) problems.push(`${name} (c): ${at(m.index)}: t() with a template literal (keys must be plain literals)`);
      for (const literal of argument.replace(/\[[^\]]*\]/g, "[]").matchAll(/(===?|!==?)?\s*(?:"([^"\n]*)"|'([^'\n]*)')/g)) {
        if (!literal[1]) called.push([literal[2] ?? literal[3], at(m.index)]);
      }
    }
    // The fixed tables keys are built from (const LABELS = { code: "key", … }): every value.
    for (const m of text.matchAll(/const [A-Z][A-Z_]* = \{([^}]*)\}/g)) {
      for (const value of m[1].matchAll(/:\s*(?:"([^"\n]*)"|'([^'\n]*)')/g)) called.push([value[1] ?? value[2], at(m.index)]);
    }
  }
  for (const key of [...keys].sort()) if (!named(key)) problems.push(`${name} (b): "${key}" is never named in the code`);
  for (const [key, where] of called) if (!keys.has(key)) problems.push(`${name} (c): ${where}: t("${key}") is in no catalogue`);
}

const modules = filesUnder(join(admin, "js"), ".js");
check("admin pages", here, [...modules, join(admin, "index.html")]);
check("chat widget", join(webchat, "widget-i18n"), [join(webchat, "widget.js")]);

// One list of languages: the host's (`runtime::PAGE_LANGUAGES`, what it asks plugins for and
// accepts as a person's choice) is the pages' list.
const hostList = readFileSync(join(admin, "..", "runtime", "translations.rs"), "utf8").match(/PAGE_LANGUAGES: &\[&str\] = &\[([^\]]*)\]/);
const hostLanguages = hostList ? [...hostList[1].matchAll(/"(\w+)"/g)].map((m) => m[1]) : [];
const pageList = readFileSync(join(admin, "js", "i18n.js"), "utf8").match(/export const LANGUAGES = \[([^\]]*)\]/);
const pageLanguages = pageList ? [...pageList[1].matchAll(/"(\w+)"/g)].map((m) => m[1]) : [];
for (const [where, list] of [["js/i18n.js LANGUAGES", pageLanguages], ["this check's LANGUAGES", LANGUAGES]]) {
  if (hostLanguages.join(",") !== list.join(",")) problems.push(`${where} (${list}) differ from the host's PAGE_LANGUAGES (${hostLanguages})`);
}

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
