// The form that answers a pending wait, generated from its JSON schema.
//
// The server checks the answer against the wait's schema before it records anything
// (POST /executions/{id}/input) and its message is shown here as is: the browser only refuses
// text that is not JSON. Abort asks for a confirmation first (POST /executions/{id}/abort-wait).

import { api } from "./api.js";
import { confirmAction } from "./dialog.js";
import { h, fmtTime, fmtSeconds } from "./dom.js";
import { uid } from "./jsoneditor.js";
import { FieldError, schemaField } from "./schemaform.js";

/** Tell the page that the execution changed (it reloads its data). */
export function changed() {
  window.dispatchEvent(new CustomEvent("kitaru:changed"));
}

/** What a wait call asks (its `metadata.wait`), with defaults. */
function requestOf(wait) {
  const info = (wait.metadata && wait.metadata.wait) || {};
  return {
    name: info.name || wait.invocation_id,
    question: info.question || null,
    schema: info.schema === undefined ? null : info.schema,
    metadata: info.metadata || {},
    timeout: info.timeout,
    rejected: info.rejected || null,
  };
}

// The forms shown, by wait call id: a page that renders again (live updates) gets the same
// form back, with what was typed in it, while its wait is pending and unanswered here.
const shown = new Map();

/** The form answering `wait` (a pending wait call) of `execution`. */
export function renderWaitForm(wait, execution, ctx) {
  const kept = shown.get(wait.call_id);
  if (kept && kept.execId === execution.exec_id && !kept.section.querySelector("form[data-answered]")) return kept.section;
  for (const [id, entry] of shown) if (entry.execId !== execution.exec_id) shown.delete(id);
  const section = buildWaitForm(wait, execution, ctx);
  shown.set(wait.call_id, { execId: execution.exec_id, section });
  return section;
}

function buildWaitForm(wait, execution, _ctx) {
  const request = requestOf(wait);
  const titleId = uid("wait-title");
  const status = h("div", { class: "wait-status", role: "status", "aria-live": "polite" });
  const alert = h("div", { class: "wait-error", "aria-live": "assertive" });
  const gate = request.schema === null;
  const answer = gate ? null : schemaField(request.schema, request.schema.title || "Answer");
  const submit = h("button", { type: "submit" }, gate ? "Continue" : "Send answer");
  const abort = h("button", { type: "button", class: "danger" }, "Abort wait");
  const form = h(
    "form",
    { class: "wait-form", novalidate: true, "aria-labelledby": titleId },
    gate
      ? h("p", { class: "muted" }, "This wait takes no value: continue the execution or abort it.")
      : answer.element,
    alert,
    h("div", { class: "actions" }, submit, abort),
    status,
  );
  const section = h(
    "section",
    { class: "card wait", "aria-label": `Wait ${request.name}`, dataset: { waitId: wait.call_id, waitName: request.name } },
    h("h2", { id: titleId }, "Waiting for input: ", h("code", {}, request.name)),
    request.question ? h("p", { class: "question" }, request.question) : null,
    details(wait, request),
    request.rejected ? h("p", { class: "error" }, `An earlier answer was refused: ${request.rejected}`) : null,
    form,
  );
  const busy = (on) => {
    for (const el of form.querySelectorAll("button, input, select, textarea")) el.disabled = on;
  };
  const fail = (message) => alert.replaceChildren(errorMessage(message));
  const send = async (path, body, done) => {
    alert.replaceChildren();
    busy(true);
    status.textContent = "Sending…";
    try {
      const after = await api(`/executions/${encodeURIComponent(execution.exec_id)}/${path}`, { method: "POST", body });
      status.textContent = done(after);
      form.dataset.answered = "true";
      changed();
    } catch (exc) {
      status.textContent = "";
      busy(false);
      fail(exc.message || String(exc));
    }
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let value = null;
    if (!gate) {
      try {
        value = answer.read();
      } catch (exc) {
        if (exc instanceof FieldError) return fail(exc.message);
        throw exc;
      }
    }
    await send("input", { wait: wait.call_id, value: value === undefined ? null : value }, (after) =>
      `Answer recorded. ${continuation(after)}`);
  });
  abort.addEventListener("click", async () => {
    const ok = await confirmAction({
      title: `Abort wait ${request.name}?`,
      body: h("p", {}, "wait() raises KitaruWaitAbortedError in the flow; unless the flow catches it, the execution ends cancelled."),
      confirmLabel: "Abort wait",
      cancelLabel: "Keep waiting",
      danger: true,
    });
    if (ok) await send("abort-wait", { wait: wait.call_id }, (after) => `Wait aborted. ${continuation(after)}`);
  });
  return section;
}

/**
 * The server's message as it is, with the schema it quotes ("Expected: {...}.") folded away
 * under a disclosure so that the problem itself stays readable.
 */
function errorMessage(message) {
  const m = /^([\s\S]*?)\s*Expected: (\{[\s\S]*\})\.\s+(Nothing was recorded[\s\S]*)$/.exec(message);
  let schema = null;
  if (m) {
    try {
      schema = JSON.stringify(JSON.parse(m[2]), null, 2);
    } catch {
      schema = null;
    }
  }
  if (schema === null) return h("div", { class: "error", role: "alert" }, h("p", {}, message));
  return h(
    "div",
    { class: "error", role: "alert" },
    h("p", {}, `${m[1]} ${m[3]}`),
    h("details", { class: "schema" }, h("summary", {}, "Expected schema"), h("pre", {}, schema)),
  );
}

function continuation(execution) {
  if (execution.queued_at) return "The execution is queued: a kitaru worker serving this server continues it.";
  if (execution.status === "waiting" || execution.status === "running") return "The execution continues in its runner.";
  return `The execution is ${execution.status}.`;
}

function details(wait, request) {
  const rows = [["Waiting since", fmtTime(wait.started_at)]];
  if (request.timeout !== undefined && request.timeout !== null) {
    rows.push(["Runner polls for", fmtSeconds(request.timeout)]);
  }
  for (const [key, value] of Object.entries(request.metadata)) {
    rows.push([key, typeof value === "string" ? value : JSON.stringify(value)]);
  }
  return h("dl", { class: "wait-meta" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}
