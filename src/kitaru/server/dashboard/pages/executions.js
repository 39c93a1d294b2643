// The executions list.

import { api } from "../api.js";
import { h, replace, shortId, fmtTime, fmtDuration, fmtCost, fmtNumber, statusBadge } from "../dom.js";

export async function render(root, _params, ctx) {
  const rows = await api("/executions/summaries", { query: { limit: 50 }, signal: ctx.signal });
  const body = h("tbody");
  for (const row of rows) {
    const e = row.record;
    const usage = row.llm_usage || {};
    body.append(
      h("tr", { dataset: { execId: e.exec_id } },
        h("td", {}, h("a", { href: `#/executions/${encodeURIComponent(e.exec_id)}`, class: "mono" }, shortId(e.exec_id))),
        h("td", {}, e.flow_name),
        h("td", {}, statusBadge(e.status)),
        h("td", {}, fmtTime(e.started_at || e.created_at)),
        h("td", {}, e.started_at ? fmtDuration(e.started_at, e.ended_at) : ""),
        h("td", { class: "num" }, fmtNumber(row.checkpoint_count)),
        h("td", { class: "num" }, fmtNumber(sumTokens(usage))),
        h("td", { class: "num" }, fmtCost(usage.cost_usd)),
      ),
    );
  }
  replace(
    root,
    h("h1", {}, "Executions"),
    h("table", { class: "grid", "aria-label": "Executions" },
      h("thead", {}, h("tr", {}, ["Execution", "Flow", "Status", "Started", "Duration", "Calls", "Tokens", "Cost"].map((c) => h("th", { scope: "col" }, c)))),
      body,
    ),
    rows.length ? null : h("p", { class: "muted" }, "No executions yet. Run a flow, then come back."),
  );
}

function sumTokens(usage) {
  return usage.calls ? (usage.input_tokens || 0) + (usage.output_tokens || 0) : null;
}
