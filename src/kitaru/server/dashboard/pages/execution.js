// One execution: its header (status, flow, inputs, result, failure, replay origin, frozen
// spec), the actions and pending waits, the timeline of its durable calls (each opens to its
// details, loaded when opened) and its log. While it runs, the page polls the execution and
// follows its log, keeping open what the user opened; it stops when the execution ends or the
// page is left. The window event "kitaru:changed" (an action or an answer) refreshes it.

import { api } from "../api.js";
import { h, replace, fmtTime, fmtDuration, fmtCost, fmtNumber, statusBadge } from "../dom.js";
import { renderActions } from "../actions.js";
import { renderWaitForm } from "../waitform.js";
import { jsonTree, renderArtifact } from "../render.js";
import { loadCallDetails, loadUsageDetails, logLine, renderFailure } from "../calldetail.js";

const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const POLL_MS = 1000;
const LOG_LINES = 5000; // lines kept in the execution's log pane
const enc = encodeURIComponent;

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

export async function render(root, params, ctx) {
  const page = new ExecutionPage(root, params.execId, ctx);
  await page.refresh();
  page.live();
  const changed = () => { page.refresh().then(() => page.live(), (exc) => page.problem(exc)); };
  window.addEventListener("kitaru:changed", changed);
  return () => {
    page.stopped = true;
    window.removeEventListener("kitaru:changed", changed);
  };
}

class ExecutionPage {
  constructor(root, execId, ctx) {
    this.root = root;
    this.execId = execId;
    this.ctx = ctx;
    this.signal = ctx.signal;
    this.stopped = false;
    this.items = new Map(); // call_id or usage_id -> {li, details, body, key, loaded}
    this.logPanes = new Map(); // call_id -> the log pane of an opened call
    this.lastSeq = null;
    this.polling = this.following = false;
    this.controlsKey = this.resultId = null;
    this.built = false;
  }

  get ended() {
    return TERMINAL.has(this.execution.status);
  }

  problem(exc) {
    if (exc && exc.name === "AbortError") return;
    replace(this.liveNote, h("span", { class: "error", role: "alert" }, `Not refreshed: ${exc.message || exc}`));
  }

  async refresh() {
    const base = `/executions/${enc(this.execId)}`;
    const signal = this.signal;
    const [execution, calls, waits, usage] = await Promise.all([
      api(base, { signal }),
      api(`${base}/calls`, { signal }),
      api(`${base}/pending-waits`, { signal }),
      api(`${base}/llm-usage`, { signal }),
    ]);
    if (this.stopped) return;
    this.execution = execution;
    if (!this.built) this.build();
    this.renderFacts(execution, usage);
    this.renderControls(execution, calls, waits);
    this.renderTimeline(calls, usage);
    replace(this.liveNote, this.ended ? "" : h("span", { class: "live" }, "Live: refreshing while the execution runs"));
  }

  build() {
    const e = this.execution;
    this.title = h("h1", {});
    this.facts = h("dl", { class: "facts exec-facts" });
    this.failure = h("div", {});
    this.liveNote = h("p", { class: "muted", "aria-live": "polite" });
    this.controls = h("div", { class: "controls" });
    this.result = h("div", {});
    this.timeline = h("ol", { class: "timeline", "aria-label": "Durable calls" });
    this.log = h("div", { class: "log-pane exec-log", role: "log", "aria-label": "Execution log" }, h("p", { class: "muted empty" }, "No log lines yet."));
    const inputs = h("div", { class: "inputs" }, h("span", { class: "muted" }, "Loading…"));
    replace(this.root,
      h("header", { class: "exec-header" }, this.title, this.facts, this.liveNote, this.failure),
      this.controls,
      h("section", { "aria-label": "Inputs and result", class: "card io" },
        h("h2", {}, "Inputs"), inputs,
        h("h2", {}, "Result"), this.result,
        h("details", { class: "spec" }, h("summary", {}, "Frozen execution spec"), jsonTree(e.spec || {}, { open: 1 }))),
      h("h2", { id: "timeline-title" }, "Timeline"),
      this.timeline,
      h("h2", {}, "Log"),
      this.log,
    );
    this.built = true;
    this.loadInputs(inputs).catch((exc) => {
      if (exc.name !== "AbortError") replace(inputs, h("p", { class: "error", role: "alert" }, exc.message));
    });
  }

  async loadInputs(box) {
    const e = this.execution;
    const signal = this.signal;
    let args;
    if (e.inputs_artifact_id) args = [await api(`/artifacts/${enc(e.inputs_artifact_id)}`, { signal })];
    else args = (await api(`/executions/${enc(e.exec_id)}/artifacts`, { query: { kind: "input" }, signal })).filter((a) => !a.call_id);
    replace(box, args.length ? args.map((a) => renderArtifact(a, { signal })) : h("p", { class: "muted" }, "No arguments."));
  }

  renderFacts(e, usage) {
    replace(this.title, e.flow_name, " ", statusBadge(e.status));
    const tokens = usage.reduce((n, u) => n + (u.input_tokens || 0) + (u.output_tokens || 0), 0);
    const priced = usage.filter((u) => u.cost_usd !== null);
    const cost = priced.reduce((n, u) => n + u.cost_usd, 0);
    const source = e.source || {};
    const fact = (label, ...value) => [h("dt", {}, label), h("dd", {}, value)];
    replace(this.facts,
      fact("Execution", h("span", { class: "mono", dataset: { execId: e.exec_id } }, e.exec_id)),
      fact("Flow", e.flow_name, source.module ? h("span", { class: "muted mono" }, ` (${source.module}:${source.qualname || ""})`) : null),
      fact("Status", statusBadge(e.status), e.cancel_requested && !this.ended ? " cancellation requested" : null),
      e.original_exec_id ? fact("Replay of", h("a", { href: `#/executions/${enc(e.original_exec_id)}` }, e.original_exec_id)) : null,
      fact("Runs", String(e.run_count)),
      fact("Created", fmtTime(e.created_at)),
      e.started_at ? fact("Started", fmtTime(e.started_at)) : null,
      e.ended_at ? fact("Ended", fmtTime(e.ended_at)) : null,
      e.started_at ? fact("Duration", fmtDuration(e.started_at, e.ended_at)) : null,
      usage.length ? fact("Model calls", `${usage.length} · ${fmtNumber(tokens)} tokens`, priced.length ? ` · ${fmtCost(cost)}` : "") : null,
    );
    replace(this.failure, e.failure ? h("section", { class: "card", "aria-label": "Failure of the execution" }, h("h2", {}, "Failure"), renderFailure(e.failure, { open: true })) : null);
    if (e.result_artifact_id !== this.resultId) {
      this.resultId = e.result_artifact_id;
      if (!e.result_artifact_id) {
        replace(this.result, h("p", { class: "muted" }, this.ended ? "No result." : "Not yet: the execution has not completed."));
      } else {
        api(`/artifacts/${enc(e.result_artifact_id)}`, { signal: this.signal })
          .then((a) => replace(this.result, renderArtifact(a, { signal: this.signal })))
          .catch((exc) => this.problem(exc));
      }
    }
  }

  renderControls(e, calls, waits) {
    // Rebuilt only when what they depend on changed: a half-filled form is never lost.
    const key = [e.status, e.cancel_requested, e.run_count, calls.length, ...waits.map((w) => w.call_id)].join("|");
    if (key === this.controlsKey) return;
    this.controlsKey = key;
    replace(this.controls, renderActions(e, calls, this.ctx), waits.map((w) => renderWaitForm(w, e, this.ctx)));
  }

  renderTimeline(calls, usage) {
    const ids = new Set(calls.map((c) => c.call_id));
    const byParent = new Map();
    const kinds = new Map(calls.map((c) => [c.call_id, c.kind]));
    const add = (parent, child) => byParent.set(parent, [...(byParent.get(parent) || []), child]);
    for (const call of calls) if (call.parent_call_id && ids.has(call.parent_call_id)) add(call.parent_call_id, { call });
    // A model call made inside a checkpoint is a child event of that checkpoint call.
    for (const u of usage) if (kinds.has(u.call_id) && kinds.get(u.call_id) !== "llm") add(u.call_id, { usage: u });
    const top = calls.filter((c) => !(c.parent_call_id && ids.has(c.parent_call_id)));
    const seen = new Set();
    const build = (entry) => {
      const li = entry.call ? this.callItem(entry.call, byParent) : this.usageItem(entry.usage);
      seen.add(entry.call ? entry.call.call_id : entry.usage.usage_id);
      const children = entry.call ? byParent.get(entry.call.call_id) || [] : [];
      const list = li.querySelector(":scope > ol.children");
      if (children.length) {
        const ol = list || li.appendChild(h("ol", { class: "children", "aria-label": `Inside ${entry.call.invocation_id}` }));
        ol.replaceChildren(...children.map(build));
      } else if (list) list.remove();
      return li;
    };
    this.timeline.replaceChildren(...top.map((call) => build({ call })));
    if (!top.length) this.timeline.append(h("li", { class: "muted empty" }, "No durable calls yet."));
    for (const id of [...this.items.keys()]) if (!seen.has(id)) { this.items.delete(id); this.logPanes.delete(id); }
  }

  item(id, key, summary, load, data) {
    let it = this.items.get(id);
    if (!it) {
      const body = h("div", { class: "call-body" });
      const details = h("details", { class: "call" }, h("summary", {}), body);
      it = { details, body, key: null, loaded: false, li: h("li", {}, details) };
      details.addEventListener("toggle", () => {
        if (details.open && !it.loaded) this.loadItem(it);
      });
      this.items.set(id, it);
    }
    it.load = load;
    Object.assign(it.li.dataset, data);
    if (it.key !== key) {
      it.key = key;
      replace(it.details.querySelector(":scope > summary"), summary);
      it.loaded = false;
      if (it.details.open) this.loadItem(it); // changed while open: fresh details, still open
    }
    return it.li;
  }

  loadItem(it) {
    it.loaded = true;
    // What the user unfolded inside (a traceback, a schema) is unfolded again in the fresh details.
    const unfolded = new Set([...it.body.querySelectorAll("details[open] > summary")].map((s) => s.textContent));
    replace(it.body, h("p", { class: "muted", "aria-busy": "true" }, "Loading…"));
    it.load(it.body).then(() => {
      for (const s of it.body.querySelectorAll("details > summary")) if (unfolded.has(s.textContent)) s.parentElement.open = true;
    }, (exc) => {
      if (exc.name === "AbortError") return;
      it.loaded = false;
      replace(it.body, h("p", { class: "error", role: "alert" }, exc.message || String(exc)));
    });
  }

  callItem(call, byParent) {
    const usage = (byParent.get(call.call_id) || []).filter((c) => c.usage).map((c) => c.usage);
    const key = [call.status, call.attempt_count, call.ended_at, call.output_artifact_id, usage.length, JSON.stringify(call.metadata)].join("|");
    const reused = call.call_id.startsWith(`${call.exec_id}:`);
    const attempts = call.attempt_count || (call.attempts || []).length;
    const failed = (call.attempts || []).filter((a) => a.failure).length;
    const summary = [
      h("span", { class: "seq muted" }, `#${call.seq}`), " ",
      h("span", { class: `kind kind-${call.kind}` }, call.kind), " ",
      h("strong", { class: "call-name" }, call.name),
      call.invocation_id !== call.name ? h("span", { class: "muted mono" }, ` ${call.invocation_id}`) : null, " ",
      call.type && call.type !== call.kind ? h("span", { class: "call-type muted" }, call.type) : null, " ",
      statusBadge(call.status), " ",
      h("span", { class: "attempts", title: failed ? `${failed} failed attempt(s)` : null }, `${attempts} attempt${attempts === 1 ? "" : "s"}`), " ",
      h("span", { class: "muted duration" }, call.ended_at ? fmtDuration(call.started_at, call.ended_at) : call.status === "running" ? "running" : ""), " ",
      call.status === "cached" ? h("span", { class: "marker", dataset: { marker: "cached" }, title: "Reused from a completed call of an earlier execution (cache)" }, "cached") : null,
      reused ? h("span", { class: "marker", dataset: { marker: "reused" }, title: "Reused from the execution this one replays" }, "reused") : null,
      call.failure ? h("span", { class: "error" }, ` ${call.failure.exception_type || "failed"}`) : null,
    ];
    const load = (body) => loadCallDetails(body, call, this.execution, { signal: this.signal, usage, logPanes: this.logPanes });
    return this.item(call.call_id, key, summary, load, {
      callId: call.call_id, invocationId: call.invocation_id, kind: call.kind, status: call.status,
    });
  }

  usageItem(u) {
    const summary = [
      h("span", { class: "kind kind-llm" }, "llm"), " ",
      h("strong", { class: "call-name" }, u.name), " ",
      h("span", { class: "muted mono" }, u.model), " ",
      h("span", { class: "muted" }, `${fmtNumber((u.input_tokens || 0) + (u.output_tokens || 0))} tokens`),
      u.cost_usd !== null ? h("span", { class: "muted" }, ` · ${fmtCost(u.cost_usd)}`) : null, " ",
      h("span", { class: "muted duration" }, `${Math.round(u.latency_ms)} ms`),
    ];
    const load = (body) => loadUsageDetails(body, u, this.execution, { signal: this.signal });
    return this.item(u.usage_id, u.usage_id, summary, load, { usageId: u.usage_id, kind: "llm", childOf: u.call_id });
  }

  live() {
    if (!this.following) this.followLog().catch((exc) => this.problem(exc)).finally(() => { this.following = false; });
    if (!this.polling && !this.ended) this.poll().catch((exc) => this.problem(exc)).finally(() => { this.polling = false; });
  }

  async poll() {
    this.polling = true;
    while (!this.stopped && !this.signal.aborted && !this.ended) {
      await sleep(POLL_MS + Math.min(9000, 2 * this.items.size), this.signal); // slower for long timelines
      if (this.stopped || this.signal.aborted) return;
      try {
        await this.refresh();
      } catch (exc) {
        if (exc.name === "AbortError") return;
        this.problem(exc);
        await sleep(POLL_MS * 3, this.signal);
      }
    }
  }

  async followLog() {
    this.following = true;
    // Catch up page by page (a long log never comes in one answer), then follow.
    for (;;) {
      const page = await api(`/executions/${enc(this.execId)}/logs`, {
        query: { after_seq: this.lastSeq, limit: LOG_LINES }, signal: this.signal,
      });
      if (this.stopped) return;
      this.appendLogs(page);
      if (page.length < LOG_LINES) break;
    }
    while (!this.stopped && !this.signal.aborted) {
      let got;
      try {
        got = await api(`/executions/${enc(this.execId)}/logs/stream`, {
          query: { after_seq: this.lastSeq, wait: 10 }, signal: this.signal,
        });
      } catch (exc) {
        if (exc.name === "AbortError") return;
        this.problem(exc);
        await sleep(POLL_MS * 3, this.signal);
        continue;
      }
      if (this.stopped) return;
      this.appendLogs(got.logs);
      if (got.ended) return;
    }
  }

  appendLogs(lines) {
    if (!lines.length) return;
    this.log.querySelector(":scope > .empty")?.remove();
    this.log.append(...lines.map(logLine));
    while (this.log.childElementCount > LOG_LINES) this.log.firstElementChild.remove();
    for (const line of lines) {
      this.lastSeq = Math.max(this.lastSeq ?? 0, line.seq);
      const pane = line.call_id ? this.logPanes.get(line.call_id) : null;
      if (!pane || !pane.isConnected) continue;
      const last = pane.lastElementChild;
      if (last && last.dataset.seq && Number(last.dataset.seq) >= line.seq) continue; // loaded with the details
      pane.querySelector(":scope > .empty")?.remove();
      pane.append(logLine(line));
    }
  }
}
