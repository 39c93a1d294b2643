// The replay form: a new execution of the flow from a chosen call, with edited flow inputs and
// pinned checkpoint outputs (POST /executions/{id}/replay; a kitaru worker plans and runs it).
//
// The editors start from the recorded values: the flow inputs from the execution's input
// artifacts, each override from the output its call recorded. Only flow inputs that were
// changed are sent (the others stay as recorded, with their own types), and only the
// overrides that are ticked.

import { api } from "./api.js";
import { h, shortId } from "./dom.js";
import { artifactJson, jsonEditor, uid } from "./jsoneditor.js";

const OVERRIDE_PREFIX = "checkpoint.";

/**
 * The replay form of `execution`; it loads the recorded values itself (to the end: the form
 * outlives a page that renders again, see actions.js).
 */
export function renderReplay(execution, calls) {
  const titleId = uid("replay-title");
  const body = h("div", { class: "replay-body" }, h("p", { class: "muted", role: "status" }, "Loading the recorded values…"));
  const section = h(
    "section",
    { class: "card replay", "aria-labelledby": titleId },
    h("h2", { id: titleId }, "Replay as a new execution"),
    body,
  );
  load(execution, calls)
    .then((recorded) => body.replaceChildren(form(execution, recorded)))
    .catch((exc) => {
      if (exc.name !== "AbortError") {
        body.replaceChildren(h("p", { class: "error", role: "alert" }, `Could not load the recorded values: ${exc.message}`));
      }
    });
  return section;
}

async function load(execution, calls) {
  const path = `/executions/${encodeURIComponent(execution.exec_id)}`;
  const [journal, listed] = await Promise.all([
    api(`${path}/journal`).catch(() => calls),
    api(`${path}/artifacts`, { query: { kind: "input" } }),
  ]);
  const rows = listed.filter((a) => a.call_id === null && argumentOf(a) !== undefined);
  if (execution.inputs_artifact_id) rows.push({ artifact_id: execution.inputs_artifact_id, legacy: true });
  const full = await Promise.all(rows.map((row) => api(`/artifacts/${encodeURIComponent(row.artifact_id)}`)
    .then((artifact) => ({ ...artifact, legacy: row.legacy }))));
  const inputs = {};
  const kept = [];
  for (const artifact of full) {
    const read = artifactJson(artifact);
    if (artifact.legacy) {
      if (read.ok && read.value && read.value.kwargs) Object.assign(inputs, read.value.kwargs);
      if (read.ok && read.value && read.value.args && read.value.args.length) kept.push(`${read.value.args.length} positional argument(s)`);
      continue;
    }
    if (read.ok && artifact.type_path !== "builtins:tuple") inputs[artifact.name] = read.value;
    else kept.push(`${artifact.name} (${read.ok ? "a tuple" : read.reason})`);
  }
  return { journal: journal.length ? journal : calls, inputs, kept };
}

function argumentOf(artifact) {
  const kitaru = (artifact.metadata && artifact.metadata.kitaru) || {};
  return kitaru.argument;
}

function form(execution, { journal, inputs, kept }) {
  const fromId = uid("replay-from");
  const from = h(
    "select",
    { id: fromId, name: "from" },
    journal.map((call) => h("option", { value: call.invocation_id }, `#${call.seq} ${call.name} (${call.kind}, ${call.status}) · ${call.invocation_id}`)),
  );
  const inputsEditor = jsonEditor({
    label: "Flow inputs",
    value: inputs,
    name: "flow_inputs",
    rows: Math.min(12, Math.max(3, JSON.stringify(inputs, null, 2).split("\n").length)),
    hint: "A JSON object of the flow's parameters, pre-filled with the recorded values. Only the values you change are sent; the others stay as recorded."
      + (kept.length ? ` Not shown (kept as recorded): ${kept.join(", ")}.` : ""),
  });
  const overrides = journal.filter((call) => call.kind === "checkpoint" && (call.status === "completed" || call.status === "cached"))
    .map((call) => overrideRow(call));
  const alert = h("div", { class: "replay-error", "aria-live": "assertive" });
  const status = h("div", { class: "replay-status", role: "status", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Start replay");
  const el = h(
    "form",
    { class: "replay-form", novalidate: true },
    h("label", { for: fromId }, "Replay from"),
    h("p", { class: "hint muted" }, "Calls before it are reused from this execution; it and every later call run live."),
    from,
    inputsEditor.element,
    h(
      "fieldset",
      { class: "overrides" },
      h("legend", {}, "Overrides"),
      overrides.length
        ? h("p", { class: "hint muted" }, "Tick a checkpoint to pin its output to the value below: it does not run, and the replay starts at the earliest of \"Replay from\" and the pinned calls.")
        : h("p", { class: "muted" }, "No completed checkpoint to override."),
      overrides.map((row) => row.element),
    ),
    alert,
    h("div", { class: "actions" }, submit),
    status,
  );
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    alert.replaceChildren();
    const fail = (message) => alert.replaceChildren(h("p", { class: "error", role: "alert" }, message));
    const parsed = inputsEditor.read();
    if (!parsed.ok) return fail(`Flow inputs: ${parsed.message}`);
    const edited = parsed.value === undefined ? {} : parsed.value;
    if (edited === null || typeof edited !== "object" || Array.isArray(edited)) {
      return fail("Flow inputs: give a JSON object of the flow's parameters by name, e.g. {\"topic\": \"tides\"}.");
    }
    const flowInputs = {};
    for (const [name, value] of Object.entries(edited)) {
      if (!(name in inputs) || JSON.stringify(inputs[name]) !== JSON.stringify(value)) flowInputs[name] = value;
    }
    const pinned = {};
    for (const row of overrides) {
      if (!row.box.checked) continue;
      const value = row.editor.read();
      if (!value.ok) return fail(`${row.key}: ${value.message}`);
      if (value.value === undefined) return fail(`${row.key}: give the JSON value the checkpoint should return.`);
      pinned[row.key] = value.value;
    }
    submit.disabled = true;
    status.textContent = "Starting…";
    try {
      const started = await api(`/executions/${encodeURIComponent(execution.exec_id)}/replay`, {
        method: "POST",
        body: { from: from.value, flow_inputs: flowInputs, overrides: Object.keys(pinned).length ? pinned : null },
      });
      status.replaceChildren(
        "Replay started: ",
        h("a", { href: `#/executions/${encodeURIComponent(started.exec_id)}`, dataset: { newExecId: started.exec_id } }, `execution ${shortId(started.exec_id)}`),
        ` (${started.status}; a kitaru worker serving this server runs it).`,
      );
    } catch (exc) {
      status.textContent = "";
      fail(exc.message || String(exc));
    } finally {
      submit.disabled = false;
    }
  });
  return el;
}

function overrideRow(call) {
  const key = `${OVERRIDE_PREFIX}${call.invocation_id}`;
  const id = uid("override");
  const recorded = artifactJson(call.output);
  const editor = jsonEditor({
    label: `Output of ${call.invocation_id}`,
    value: recorded.ok ? recorded.value : undefined,
    name: key,
    rows: 3,
    hint: recorded.ok ? "Pre-filled with the recorded output." : `The recorded output is ${recorded.reason}: enter a JSON value.`,
  });
  const box = h("input", { type: "checkbox", id, dataset: { override: key } });
  editor.element.hidden = true;
  box.addEventListener("change", () => {
    editor.element.hidden = !box.checked;
    if (box.checked) editor.textarea.focus();
  });
  const element = h(
    "div",
    { class: "override" },
    h("div", { class: "field check" }, box, h("label", { for: id }, "Override ", h("code", {}, key))),
    editor.element,
  );
  return { key, box, editor, element };
}
