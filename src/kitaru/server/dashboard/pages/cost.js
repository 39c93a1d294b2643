// The cost page: tokens and USD of model calls per flow, model, execution and over time.
//
// One request (GET /llm-usage/summary) answers the whole page. Calls whose model has no known
// price are counted and shown as unpriced: a cost with any of them is a lower bound, never a
// guessed 0. The range and the charted measure live in the hash (#/cost?range=7d&metric=tokens).

import { api } from "../api.js";
import { barChart } from "../chart.js";
import { h, replace, shortId, fmtCost, fmtNumber } from "../dom.js";

const HOUR = 3600;
const DAY = 86400;
/** The ranges offered: how far back, and the width of a bar. */
const RANGES = [
  ["1h", "Last hour", HOUR, 300],
  ["24h", "Last 24 hours", DAY, HOUR],
  ["7d", "Last 7 days", 7 * DAY, 6 * HOUR],
  ["30d", "Last 30 days", 30 * DAY, DAY],
  ["all", "All time", null, DAY],
];
const METRICS = [
  ["cost", "Cost (USD)"],
  ["tokens", "Tokens"],
];
/** The most bars drawn; a longer range shows its buckets that have calls only. */
const MAX_BARS = 400;

export async function render(root, _params, ctx) {
  const rangeId = RANGES.some((r) => r[0] === ctx.query.get("range")) ? ctx.query.get("range") : "7d";
  const metric = METRICS.some((m) => m[0] === ctx.query.get("metric")) ? ctx.query.get("metric") : "cost";
  const [, rangeLabel, span, bucket] = RANGES.find((r) => r[0] === rangeId);
  const now = Date.now();
  const since = span === null ? null : new Date(now - span * 1000);
  const summary = await api("/llm-usage/summary", {
    query: { since: since && since.toISOString(), bucket_seconds: bucket, executions: 20 },
    signal: ctx.signal,
  });
  const go = (changes) => ctx.navigate(`#/cost?${new URLSearchParams({ range: rangeId, metric, ...changes })}`);
  replace(
    root,
    h("h1", {}, "Cost"),
    h("div", { class: "filters" },
      selectField("cost-range", "Time range", RANGES.map((r) => [r[0], r[1]]), rangeId, (v) => go({ range: v })),
      selectField("cost-metric", "Chart", METRICS, metric, (v) => go({ metric: v })),
    ),
    totalsCard(summary.totals, rangeLabel),
    h("section", { "aria-labelledby": "cost-time-title", class: "card cost-card" },
      h("h2", { id: "cost-time-title" }, `Over time (${bucketName(bucket)}, ${rangeLabel.toLowerCase()})`),
      timeSection(summary, { since, until: new Date(now), bucket, metric, rangeLabel })),
    h("div", { class: "cost-columns" },
      groupSection("cost-flows", "Per flow", "Flow", summary.by_flow, (g) => g.key),
      groupSection("cost-models", "Per model", "Model", summary.by_model, (g) => h("span", { class: "mono" }, g.key)),
    ),
    executionsSection(summary.by_execution),
  );
}

function selectField(id, label, options, value, onChange) {
  const select = h("select", { id, onchange: (e) => onChange(e.target.value) },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
  return h("div", {}, h("label", { for: id }, label), select);
}

/** A cost as the page shows it: the priced sum, and the unpriced calls said in words. */
export function costText(totals) {
  const unpriced = totals.unpriced_calls || 0;
  if (totals.cost_usd === null || totals.cost_usd === undefined) {
    return unpriced ? `unpriced (${unpriced} call${unpriced === 1 ? "" : "s"})` : "";
  }
  const cost = fmtCost(totals.cost_usd);
  return unpriced ? `${cost} + ${unpriced} unpriced` : cost;
}

function tokens(totals) {
  return (totals.input_tokens || 0) + (totals.output_tokens || 0);
}

function totalsCard(totals, rangeLabel) {
  const stat = (name, value, key) => h("div", { class: "stat", dataset: { stat: key } },
    h("div", { class: "stat-value" }, value), h("div", { class: "muted" }, name));
  return h("section", { class: "card cost-totals", "aria-label": `Totals, ${rangeLabel.toLowerCase()}` },
    stat("Model calls", fmtNumber(totals.calls), "calls"),
    stat("Input tokens", fmtNumber(totals.input_tokens), "input"),
    stat("Output tokens", fmtNumber(totals.output_tokens), "output"),
    stat("Cost (priced calls)", totals.cost_usd === null ? "—" : fmtCost(totals.cost_usd), "cost"),
    stat("Unpriced calls", fmtNumber(totals.unpriced_calls), "unpriced"),
    totals.unpriced_calls
      ? h("p", { class: "muted cost-note" },
        "Unpriced calls used a model whose price is unknown: the cost is a lower bound.")
      : null,
  );
}

const HEADS = ["Calls", "Input tokens", "Output tokens", "Cost"];

function numberCells(totals) {
  return [
    h("td", { class: "num" }, fmtNumber(totals.calls)),
    h("td", { class: "num" }, fmtNumber(totals.input_tokens)),
    h("td", { class: "num" }, fmtNumber(totals.output_tokens)),
    h("td", { class: "num", dataset: { cost: totals.cost_usd === null ? "" : String(totals.cost_usd) } }, costText(totals)),
  ];
}

function table(label, firstHeads, rows) {
  return h("table", { class: "grid", "aria-label": label },
    h("thead", {}, h("tr", {},
      firstHeads.map((c) => h("th", { scope: "col" }, c)),
      HEADS.map((c) => h("th", { scope: "col", class: "num" }, c)))),
    h("tbody", {}, rows));
}

function groupSection(id, title, head, groups, name) {
  const rows = groups.map((g) => h("tr", { dataset: { key: g.key } },
    h("th", { scope: "row" }, name(g)), numberCells(g.totals)));
  return h("section", { class: "card cost-card", "aria-labelledby": id },
    h("h2", { id }, title),
    groups.length ? table(`Cost ${title.toLowerCase()}`, [head], rows) : h("p", { class: "muted" }, "No model calls in this range."));
}

function executionsSection(groups) {
  const rows = groups.map((g) => h("tr", { dataset: { execId: g.key } },
    h("th", { scope: "row" }, h("a", { href: `#/executions/${encodeURIComponent(g.key)}`, class: "mono", title: g.key }, shortId(g.key))),
    h("td", {}, g.flow_name || ""),
    numberCells(g.totals)));
  return h("section", { class: "card cost-card", "aria-labelledby": "cost-executions" },
    h("h2", { id: "cost-executions" }, "Costliest executions"),
    groups.length ? table("Cost per execution", ["Execution", "Flow"], rows) : h("p", { class: "muted" }, "No model calls in this range."));
}

function bucketName(seconds) {
  if (seconds === DAY) return "per day, UTC";
  if (seconds % HOUR === 0) return seconds === HOUR ? "per hour" : `per ${seconds / HOUR} hours`;
  return `per ${seconds / 60} minutes`;
}

/** The buckets of the range, those without calls included (as zeros), oldest first. */
function buckets(summary, { since, until, bucket }) {
  const byStart = new Map(summary.by_time.map((g) => [Date.parse(g.key), g]));
  const known = [...byStart.keys()].sort((a, b) => a - b);
  const ms = bucket * 1000;
  const first = since ? Math.floor(since.getTime() / ms) * ms : known[0];
  const last = since ? Math.floor(until.getTime() / ms) * ms : known[known.length - 1];
  if (first === undefined || (last - first) / ms + 1 > MAX_BARS) {
    return known.map((t) => [t, byStart.get(t).totals]);
  }
  const out = [];
  for (let t = first; t <= last; t += ms) {
    const g = byStart.get(t);
    out.push([t, g ? g.totals : { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: null, unpriced_calls: 0 }]);
  }
  return out;
}

function bucketLabel(t, bucket) {
  const d = new Date(t);
  const pad = (n) => String(n).padStart(2, "0");
  if (bucket >= DAY) return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function timeSection(summary, { since, until, bucket, metric, rangeLabel }) {
  const rows = buckets(summary, { since, until, bucket });
  if (!summary.by_time.length) return h("p", { class: "muted" }, "No model calls in this range.");
  const value = metric === "cost" ? (t) => t.cost_usd || 0 : tokens;
  const text = metric === "cost" ? costText : (t) => `${fmtNumber(tokens(t))} tokens`;
  const max = Math.max(...rows.map(([, t]) => value(t)));
  const points = rows.map(([t, totals]) => {
    const label = bucketLabel(t, bucket);
    return { label, short: bucket >= DAY ? label.slice(5) : label.slice(11), value: value(totals), text: text(totals) || "none" };
  });
  const total = metric === "cost" ? costText(summary.totals) || "$0" : `${fmtNumber(tokens(summary.totals))} tokens`;
  const chart = barChart(points, {
    label: `${metric === "cost" ? "Cost" : "Tokens"} ${bucketName(bucket)}, ${rangeLabel.toLowerCase()}: ` +
      `${total} in total over ${points.length} bars; the table below lists each one.`,
    maxText: metric === "cost" ? fmtCost(max) : fmtNumber(max),
  });
  const body = rows.filter(([, t]) => t.calls).map(([t, totals]) => h("tr", { dataset: { bucket: new Date(t).toISOString() } },
    h("th", { scope: "row" }, bucketLabel(t, bucket)), numberCells(totals)));
  return [
    h("figure", { class: "cost-chart" }, chart),
    h("details", { class: "cost-time-table", open: true },
      h("summary", {}, "The numbers of the chart (buckets with calls)"),
      table("Cost over time", [bucket >= DAY ? "Day (UTC)" : "From"], body)),
  ];
}

