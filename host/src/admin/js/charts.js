// Charts drawn as SVG from figures, no library: bars by day (one bar a day, a segment per series
// stacked on it) and bars by category (a row each, a bar per series). Each chart is a <figure>:
// its caption, a legend when there are several series, the drawing (role="img", named by its
// caption and a summary; each bar with a <title> for the pointer) and beneath it the same figures
// as a table in a <details>, which screen readers (and tests) read. Every bar carries its figure:
// data-day or data-category, data-series, data-value (the API's number, unformatted).
// Colours are set as SVG attributes (the pages' policy allows no inline style), the rest by
// app.css (`.chart …`).

import { download } from "./api.js";
import { el } from "./dom.js";
import { formatDay, formatNumber, t } from "./i18n.js";

const SVG = "http://www.w3.org/2000/svg";
// Told apart with the commoner colour blindnesses (after Okabe and Ito), each at least 3.8:1
// on white; a series keeps its colour in every chart of a page (its index).
export const COLOURS = ["#0b6bcb", "#d55e00", "#007d5a", "#8e44ad", "#a66f00", "#c2377c", "#00829b", "#5a6b7b"];
export const colour = (index) => COLOURS[index % COLOURS.length];

// The drawing's size in its own units (it scales to the page); a character's width, about.
const WIDTH = 760;
const CHAR = 7;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null && value !== false) node.setAttribute(key, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const textWidth = (text) => String(text).length * CHAR;
const round = (value) => Math.round(value * 10) / 10;

/** Gridlines for values up to `max`: a step from `steps` (or 1, 2, 5 × 10ⁿ) giving about four
 * lines, and the top of the scale. Counts step by whole numbers. */
function scale(max, { steps, whole = true } = {}) {
  if (!(max > 0)) return { step: 1, top: whole ? 4 : 1 };
  const rough = max / 4;
  let step;
  if (steps) step = steps.find((s) => s >= rough) || Math.ceil(rough / steps[steps.length - 1]) * steps[steps.length - 1];
  else {
    const power = 10 ** Math.floor(Math.log10(rough));
    step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  }
  if (whole) step = Math.max(1, Math.round(step));
  return { step, top: Math.ceil(max / step - 1e-9) * step };
}

/** Steps for durations in seconds: whole seconds, minutes, hours, days. */
export const DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800];

function legend(series) {
  if (series.length < 2) return null;
  return el("ul", { class: "legend" }, series.map((s, index) => el("li", { "data-series": s.key },
    svg("svg", { width: 12, height: 12, viewBox: "0 0 12 12", "aria-hidden": "true", focusable: "false" },
      svg("rect", { width: 12, height: 12, rx: 2, fill: s.colour || colour(index) })),
    s.name, s.note ? el("span", { class: "muted", text: ` (${s.note})` }) : null)));
}

function figure(name, label, summary, series, drawing, table) {
  const id = `chart-${name}`;
  drawing.setAttribute("role", "img");
  drawing.setAttribute("aria-label", `${label}: ${summary}`);
  drawing.setAttribute("class", "chart-drawing");
  drawing.setAttribute("data-chart-drawing", name);
  return el("figure", { class: "chart", id, "data-chart": name },
    el("figcaption", { text: label }),
    legend(series),
    el("div", { class: "chart-wrap", tabindex: "0" }, drawing),
    el("details", { class: "figures", "data-figures": name },
      el("summary", { text: t("charts.show_figures") }),
      el("div", { class: "table-wrap" }, table)));
}

/**
 * One bar a day, its series stacked (bottom up in their order).
 * - name: the chart's id on the page (data-chart), label: its caption;
 * - days: ["2026-10-27", …] oldest first; series: [{ key, name, note?, values: [per day] }];
 * - valueLabel: the value axis' title ("Messages"); format: a value in words (formatNumber).
 */
export function dayChart({ name, label, days, series, valueLabel, format = formatNumber }) {
  const totals = days.map((_, day) => series.reduce((sum, s) => sum + (Number(s.values[day]) || 0), 0));
  const total = totals.reduce((a, b) => a + b, 0);
  const { step, top } = scale(Math.max(0, ...totals));
  const ticks = [];
  for (let value = 0; value <= top + 1e-9; value += step) ticks.push(value);
  const tickWidth = Math.max(...ticks.map((v) => textWidth(format(v))));
  const height = 250;
  const left = 22 + tickWidth + 8;
  // Room on the right for half of today's label, centred under the last bar.
  const right = Math.max(8, textWidth(formatDay(days[days.length - 1] || "2000-12-30")) / 2 - 6);
  const topGap = 10;
  const bottom = 40;
  const plotWidth = WIDTH - left - right;
  const plotHeight = height - topGap - bottom;
  const y = (value) => topGap + plotHeight - (value / top) * plotHeight;
  const band = plotWidth / Math.max(1, days.length);
  const barWidth = Math.max(2, band * 0.72);
  // A day's label every few days, the last (today) always, counted back from it.
  const every = Math.max(1, Math.ceil((textWidth(formatDay(days[0] || "2000-12-30")) + 10) / band));

  const drawing = svg("svg", { xmlns: SVG, viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height, preserveAspectRatio: "xMinYMin meet" },
    // Gridlines and the value axis' numbers.
    ticks.map((value) => svg("g", { class: "tick" },
      svg("line", { class: value ? "grid" : "axis", x1: left, x2: WIDTH - right, y1: round(y(value)), y2: round(y(value)) }),
      svg("text", { x: left - 6, y: round(y(value)) + 4, "text-anchor": "end" }, format(value)))),
    svg("text", { class: "axis-title", transform: `translate(12 ${round(topGap + plotHeight / 2)}) rotate(-90)`, "text-anchor": "middle" }, valueLabel),
    // The bars: every day's every series, a zero one with no height (its figure is still there).
    days.map((day, index) => {
      let base = 0;
      const x = round(left + index * band + (band - barWidth) / 2);
      return svg("g", { class: "day", "data-day": day },
        series.map((s, which) => {
          const value = Number(s.values[index]) || 0;
          const rect = svg("rect", {
            class: "bar", x, y: round(y(base + value)), width: round(barWidth), height: round(y(base) - y(base + value)), fill: s.colour || colour(which),
            "data-day": day, "data-series": s.key, "data-value": value,
          }, svg("title", {}, t("charts.bar_title", { series: s.name, name: formatDay(day, { long: true }), value: format(value) })));
          base += value;
          return rect;
        }),
        (days.length - 1 - index) % every === 0
          ? svg("text", { class: "day-label", x: round(left + index * band + band / 2), y: height - bottom + 16, "text-anchor": "middle" }, formatDay(day))
          : null);
    }),
    svg("text", { class: "axis-title", x: round(left + plotWidth / 2), y: height - 6, "text-anchor": "middle" }, t("charts.day")));

  const table = el("table", { class: "figures-table" },
    el("caption", { text: label }),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: t("charts.day") }),
      series.map((s) => el("th", { scope: "col", class: "number", "data-series": s.key, text: s.name })),
      series.length > 1 ? el("th", { scope: "col", class: "number", text: t("charts.total") }) : null)),
    el("tbody", {}, days.map((day, index) => el("tr", { "data-day": day },
      el("th", { scope: "row" }, el("time", { datetime: day, text: formatDay(day, { long: true }) })),
      series.map((s) => {
        const value = Number(s.values[index]) || 0;
        return el("td", { class: "number", "data-series": s.key, "data-value": value, text: format(value) });
      }),
      series.length > 1 ? el("td", { class: "number", "data-series": "total", "data-value": totals[index], text: format(totals[index]) }) : null))));

  const summary = t("charts.days_summary", { total: format(total), first: formatDay(days[0], { long: true }), last: formatDay(days[days.length - 1], { long: true }) });
  return figure(name, label, summary, series, drawing, table);
}

/**
 * A row a category, a bar per series in it (side by side, top down).
 * - categories: [{ key, name }]; series: [{ key, name, values: [per category, null for none] }];
 * - columns: figures shown in the table only, [{ key, name, values, format? }];
 * - categoryLabel: the table's first column; valueLabel: the value axis' title;
 * - format: a value in words; steps: the gridlines' candidate steps (see `scale`); whole: counts.
 */
export function barChart({ name, label, categories, series, columns = [], categoryLabel, valueLabel, format = formatNumber, steps, whole = true }) {
  const values = series.flatMap((s) => s.values.filter((v) => v != null).map(Number));
  const { step, top } = scale(Math.max(0, ...values), { steps, whole });
  const ticks = [];
  for (let value = 0; value <= top + 1e-9; value += step) ticks.push(value);
  const barHeight = 18;
  const gap = 3;
  const groupGap = 14;
  const groupHeight = series.length * barHeight + (series.length - 1) * gap;
  const topGap = 8;
  const bottom = 44;
  const height = topGap + categories.length * (groupHeight + groupGap) + bottom;
  // The labels' column: as wide as the longest (a long one shortened, whole in its title).
  const labelChars = Math.min(40, Math.max(...categories.map((c) => String(c.name).length), 4));
  const left = Math.ceil(labelChars * CHAR * 1.1) + 16;
  const valueWidth = Math.max(...series.flatMap((s) => s.values.map((v) => textWidth(v == null ? "—" : format(v)))), textWidth(format(top)) / 2) + 10;
  const plotWidth = WIDTH - left - valueWidth;
  const x = (value) => left + (value / top) * plotWidth;
  const plotBottom = height - bottom;
  const short = (text) => (String(text).length > labelChars ? `${String(text).slice(0, labelChars - 1)}…` : String(text));

  const drawing = svg("svg", { xmlns: SVG, viewBox: `0 0 ${WIDTH} ${height}`, width: WIDTH, height, preserveAspectRatio: "xMinYMin meet" },
    ticks.map((value) => svg("g", { class: "tick" },
      svg("line", { class: value ? "grid" : "axis", x1: round(x(value)), x2: round(x(value)), y1: topGap / 2, y2: plotBottom }),
      svg("text", { x: round(x(value)), y: plotBottom + 16, "text-anchor": "middle" }, format(value)))),
    svg("text", { class: "axis-title", x: round(left + plotWidth / 2), y: height - 6, "text-anchor": "middle" }, valueLabel),
    categories.map((category, row) => {
      const groupTop = topGap + row * (groupHeight + groupGap) + groupGap / 2;
      return svg("g", { class: "category", "data-category": category.key },
        svg("text", { class: "category-label", x: left - 8, y: round(groupTop + groupHeight / 2 + 4), "text-anchor": "end" },
          svg("title", {}, category.name), short(category.name)),
        series.map((s, which) => {
          const value = s.values[row];
          const barTop = groupTop + which * (barHeight + gap);
          if (value == null) {
            return svg("text", { class: "value-label", x: left + 4, y: round(barTop + barHeight / 2 + 4), "data-category": category.key, "data-series": s.key }, "—");
          }
          const end = x(Number(value));
          return svg("g", {},
            svg("rect", {
              class: "bar", x: left, y: round(barTop), width: round(Math.max(end - left, Number(value) > 0 ? 1 : 0)), height: barHeight, fill: s.colour || colour(which),
              "data-category": category.key, "data-series": s.key, "data-value": Number(value),
            }, svg("title", {}, t("charts.bar_title", { series: s.name, name: category.name, value: format(value) }))),
            svg("text", { class: "value-label", x: round(end + 4), y: round(barTop + barHeight / 2 + 4) }, format(value)));
        }));
    }));

  const table = el("table", { class: "figures-table" },
    el("caption", { text: label }),
    el("thead", {}, el("tr", {},
      el("th", { scope: "col", text: categoryLabel }),
      [...series, ...columns].map((s) => el("th", { scope: "col", class: "number", "data-series": s.key, text: s.name })))),
    el("tbody", {}, categories.map((category, row) => el("tr", { "data-category": category.key },
      el("th", { scope: "row", text: category.name }),
      [...series.map((s) => ({ ...s, format })), ...columns].map((s) => {
        const value = s.values[row];
        return el("td", { class: "number", "data-series": s.key, "data-value": value == null ? "" : Number(value), text: value == null ? "—" : (s.format || formatNumber)(value) });
      })))));

  // The largest bar, named (the rest are in the table).
  let largest = null;
  series.forEach((s) => s.values.forEach((value, row) => {
    if (value != null && (!largest || Number(value) > largest.value)) largest = { value: Number(value), category: categories[row].name, series: s.name };
  }));
  const summary = largest
    ? t(series.length > 1 ? "charts.bars_summary_series" : "charts.bars_summary", { name: largest.category, series: largest.series, value: format(largest.value) })
    : t("charts.no_figures");
  return figure(name, label, summary, series, drawing, table);
}

/** "Download CSV" (what: the table's name, for screen readers): the API's table as a file,
 * fetched with the caller's credentials (see api.js `download`). */
export function csvLink(name, path, filename, what, options) {
  const problem = el("span", { class: "error", role: "status" });
  const link = el("a", {
    class: "button secondary small", href: `/api/v1${path}`, download: filename, "data-csv": name,
    onclick: async (event) => {
      event.preventDefault();
      problem.textContent = "";
      try { await download(path, filename, options); } catch (error) { problem.textContent = error.message; }
    },
  }, t("charts.download_csv"), el("span", { class: "visually-hidden", text: ` (${what})` }));
  return el("p", { class: "downloads" }, link, " ", problem);
}

/** The query of a period's figures: the last `days` days, cut at the browser's midnights
 * (`utc_offset`: minutes east of UTC). */
export function periodQuery(days) {
  return new URLSearchParams({ days: String(days), utc_offset: String(-new Date().getTimezoneOffset()) }).toString();
}

/** A UTC offset in minutes as "UTC+07:00". */
export function offsetName(minutes) {
  const sign = minutes < 0 ? "−" : "+";
  const whole = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(whole / 60)).padStart(2, "0")}:${String(whole % 60).padStart(2, "0")}`;
}
