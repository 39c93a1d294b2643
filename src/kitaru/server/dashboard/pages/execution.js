// One execution: header, timeline of durable calls, actions, pending waits.

import { api } from "../api.js";
import { h, replace, fmtTime, fmtDuration, statusBadge } from "../dom.js";
import { renderActions } from "../actions.js";
import { renderWaitForm } from "../waitform.js";

export async function render(root, params, ctx) {
  const execId = params.execId;
  const [execution, calls, waits] = await Promise.all([
    api(`/executions/${encodeURIComponent(execId)}`, { signal: ctx.signal }),
    api(`/executions/${encodeURIComponent(execId)}/calls`, { signal: ctx.signal }),
    api(`/executions/${encodeURIComponent(execId)}/pending-waits`, { signal: ctx.signal }),
  ]);
  const timeline = h("ol", { class: "timeline", "aria-label": "Durable calls" },
    calls.map((call) => h("li", { dataset: { callId: call.call_id, invocationId: call.invocation_id } },
      h("span", { class: "kind" }, call.kind), " ",
      h("strong", {}, call.name), " ",
      statusBadge(call.status), " ",
      h("span", { class: "muted" }, fmtDuration(call.started_at, call.ended_at)),
    )),
  );
  replace(
    root,
    h("h1", {}, execution.flow_name, " ", statusBadge(execution.status)),
    h("p", { class: "mono" }, execution.exec_id),
    h("p", { class: "muted" }, "Started ", fmtTime(execution.started_at || execution.created_at)),
    renderActions(execution, calls, ctx),
    waits.map((wait) => renderWaitForm(wait, execution, ctx)),
    h("h2", {}, "Timeline"),
    timeline,
  );
}
