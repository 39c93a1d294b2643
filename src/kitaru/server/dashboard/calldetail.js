// What one durable call of the execution page shows when it is opened: its inputs, output,
// saved artifacts, metadata (kitaru.log), logs and attempts (with each failure's traceback).
// Loaded when the call is opened, not before.

import { api } from "./api.js";
import { h, replace, fmtTime, fmtDuration, statusBadge } from "./dom.js";
import { jsonTree, renderArtifact } from "./render.js";

const enc = encodeURIComponent;

/** A log line as shown (the execution's log and a call's). */
export function logLine(line) {
  return h("div", { class: `log-line level-${String(line.level).toLowerCase()}`, dataset: { seq: String(line.seq) } },
    h("span", { class: "muted" }, fmtTime(line.timestamp)), " ",
    h("span", { class: "log-level" }, line.level), " ",
    line.invocation_id ? h("span", { class: "muted" }, `[${line.invocation_id}] `) : null,
    h("span", { class: "log-message" }, line.message));
}

/** A failure record: exception type and message, origin, the traceback folded away. */
export function renderFailure(failure, { open = false, label = "Traceback" } = {}) {
  if (!failure) return null;
  return h("div", { class: "failure", role: "group", "aria-label": "Failure" },
    h("p", { class: "error" },
      h("strong", {}, failure.exception_type || "Error"), ": ", failure.message || "",
      failure.origin ? h("span", { class: "muted" }, ` (origin: ${failure.origin})`) : null),
    failure.traceback ? h("details", { class: "traceback", open }, h("summary", {}, label), h("pre", {}, failure.traceback)) : null);
}

function section(title, ...children) {
  const body = children.flat().filter(Boolean);
  if (!body.length) return null;
  return h("section", { class: "call-part", "aria-label": title }, h("h4", {}, title), body);
}

function attemptsTable(call) {
  const attempts = call.attempts || [];
  if (!attempts.length) return null;
  return h("table", { class: "grid attempts", "aria-label": `Attempts of ${call.invocation_id}` },
    h("thead", {}, h("tr", {}, ["#", "Status", "Started", "Duration", "Failure"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, attempts.map((a) => h("tr", { dataset: { attempt: String(a.number) } },
      h("td", { class: "num" }, String(a.number)),
      h("td", {}, statusBadge(a.status)),
      h("td", {}, fmtTime(a.started_at)),
      h("td", {}, a.ended_at ? fmtDuration(a.started_at, a.ended_at) : "running"),
      h("td", { class: "wrap" }, renderFailure(a.failure, { label: `Traceback of attempt ${a.number}` }),
        a.metadata && Object.keys(a.metadata).length ? h("details", {}, h("summary", {}, "Metadata of this attempt"), jsonTree(a.metadata)) : null),
    ))));
}

function waitInputs(call) {
  const info = (call.metadata || {}).wait || {};
  return [
    info.question ? h("p", { class: "question" }, info.question) : null,
    info.schema ? h("details", {}, h("summary", {}, "Schema of the answer"), jsonTree(info.schema)) : null,
    info.metadata && Object.keys(info.metadata).length ? h("details", { open: true }, h("summary", {}, "Metadata of the wait"), jsonTree(info.metadata)) : null,
  ];
}

/**
 * Fill `body` with the details of `call` of `execution`. `usage`: the model calls made inside
 * it (shown as its children elsewhere; their prompt/response artifacts are left to them).
 * `logPanes` receives this call's log pane (call_id → element) so live lines can join it.
 */
export async function loadCallDetails(body, call, execution, { signal, usage = [], logPanes }) {
  const execId = execution.exec_id;
  const [artifacts, logs, output] = await Promise.all([
    api(`/executions/${enc(execId)}/artifacts`, { query: { call_id: call.call_id }, signal }),
    api(`/executions/${enc(execId)}/logs`, { query: { call_id: call.call_id }, signal }),
    call.output_artifact_id ? api(`/artifacts/${enc(call.output_artifact_id)}`, { signal }) : null,
  ]);
  const childNames = new Set(usage.flatMap((u) => [`${u.name}_prompt`, `${u.name}_response`]));
  const own = artifacts.filter((a) => a.artifact_id !== call.output_artifact_id);
  const inputs = own.filter((a) => a.kind === "input" || (call.kind === "llm" && a.kind === "prompt"));
  const saved = own.filter((a) => !inputs.includes(a) && !(call.kind !== "llm" && childNames.has(a.name)));
  const outputs = output ? [output] : [];
  if (call.kind === "llm") outputs.push(...own.filter((a) => a.kind === "response"));
  const savedRest = saved.filter((a) => !(call.kind === "llm" && a.kind === "response"));
  const reusedFrom = output && output.exec_id !== execId ? output.exec_id : null;

  const logPane = h("div", { class: "log-pane", role: "log", "aria-label": `Logs of ${call.invocation_id}` },
    logs.length ? logs.map(logLine) : h("p", { class: "muted empty" }, "No log lines."));
  logPanes.set(call.call_id, logPane);
  const metadata = { ...(call.metadata || {}) };
  if (call.kind === "wait") delete metadata.wait;

  replace(body, 
    h("dl", { class: "facts" },
      h("dt", {}, "Invocation id"), h("dd", { class: "mono" }, call.invocation_id),
      h("dt", {}, "Call id"), h("dd", { class: "mono" }, call.call_id),
      call.type ? [h("dt", {}, "Type"), h("dd", {}, call.type)] : null,
      h("dt", {}, "Started"), h("dd", {}, fmtTime(call.started_at)),
      call.ended_at ? [h("dt", {}, "Ended"), h("dd", {}, fmtTime(call.ended_at))] : null,
      call.after && call.after.length ? [h("dt", {}, "After"), h("dd", { class: "mono" }, call.after.join(", "))] : null,
      reusedFrom ? [h("dt", {}, "Output from"), h("dd", {}, h("a", { href: `#/executions/${enc(reusedFrom)}` }, `execution ${reusedFrom}`))] : null,
    ),
    renderFailure(call.failure, { open: true }),
    section("Inputs",
      call.kind === "wait" ? waitInputs(call) : null,
      inputs.map((a) => renderArtifact(a, { signal })),
      call.kind === "checkpoint" ? h("p", { class: "muted" },
        "A checkpoint's arguments are not stored, only their fingerprint (to know whether a recorded call did the same work)",
        call.input_fingerprint ? [": ", h("code", {}, call.input_fingerprint)] : null, ".") : null),
    section(call.kind === "wait" ? "Answer" : "Output", outputs.map((a) => renderArtifact(a, { signal, label: a === output ? `${a.name} (output)` : null }))),
    section("Saved artifacts", savedRest.map((a) => renderArtifact(a, { signal }))),
    section("Metadata", Object.keys(metadata).length ? jsonTree(metadata) : null),
    section("Attempts", attemptsTable(call)),
    section("Logs", logPane),
  );
}

/** The details of a model call made inside a checkpoint: its usage, prompt and response. */
export async function loadUsageDetails(body, usage, execution, { signal }) {
  const artifacts = await api(`/executions/${enc(execution.exec_id)}/artifacts`, { query: { call_id: usage.call_id }, signal });
  const mine = artifacts.filter((a) => a.name === `${usage.name}_prompt` || a.name === `${usage.name}_response`);
  replace(body, 
    h("dl", { class: "facts" },
      h("dt", {}, "Model"), h("dd", { class: "mono" }, usage.model),
      h("dt", {}, "Tokens"), h("dd", {}, `${usage.input_tokens ?? "?"} in, ${usage.output_tokens ?? "?"} out`),
      h("dt", {}, "Cost"), h("dd", {}, usage.cost_usd === null ? "unknown price" : `$${usage.cost_usd.toFixed(6)}`),
      h("dt", {}, "Latency"), h("dd", {}, `${Math.round(usage.latency_ms)} ms`),
    ),
    section("Prompt and response", mine.map((a) => renderArtifact(a, { signal }))),
  );
}
