// The executions list.
//
// Filters (status, flow, created since) and the page live in the hash's query, so a link or the
// back button brings them back. Executions waiting for input come first, in a group of their own.
// Pages are bounded by a cursor (the created_at and exec_id of the row next to them), which the
// server reads from an index: the 200th page costs what the first does. While the tab is visible
// the page asks again every 2 s and updates the rows in place (scroll and focus stay).

import { api } from "../api.js";
import { h, replace, fmtTime, fmtDuration, fmtCost, fmtNumber, statusBadge, shortId } from "../dom.js";

const PAGE = 50;
const WAITING_SHOWN = 10;
const POLL_MS = 2000;
const STATUSES = ["waiting", "running", "pending", "failed", "completed", "cancelled"];
const SINCE = [
  ["", "Any time"], ["1h", "Last hour"], ["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"],
];
const SINCE_MS = { "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3, "30d": 30 * 86400e3 };
const COLUMNS = [
  ["Execution"], ["Flow"], ["Status"], ["Started"], ["Duration", "num"], ["Calls", "num"],
  ["Tokens", "num"], ["Cost", "num"],
];
const KEYS = ["status", "flow", "since", "before", "after"];

export async function render(root, _params, ctx) {
  const view = new ExecutionsView(root, stateOf(ctx.query), ctx);
  await view.refresh({ first: true });
  if (ctx.signal.aborted) return null;
  view.start();
  return () => view.stop();
}

function stateOf(query) {
  const state = {};
  for (const key of KEYS) state[key] = query.get(key) || "";
  if (!SINCE_MS[state.since]) state.since = "";
  if (state.before && state.after) state.after = "";
  return state;
}

function hashOf(state) {
  const query = new URLSearchParams();
  for (const key of KEYS) if (state[key]) query.set(key, state[key]);
  const text = query.toString();
  return text ? `#/executions?${text}` : "#/executions";
}

function cursorOf(record) {
  return `${record.created_at},${record.exec_id}`;
}

class ExecutionsView {
  constructor(root, state, ctx) {
    this.root = root;
    this.state = state;
    this.ctx = ctx;
    this.timer = null;
    this.inflight = null;
    this.stopped = false;
    this.flowsShown = null;
    this.marked = false;
    this.build();
  }

  build() {
    const s = this.state;
    this.chips = new Map();
    this.statusGroup = h("div", { role: "group", "aria-labelledby": "status-title", class: "chips" });
    for (const status of ["", ...STATUSES]) {
      const chip = h("button", {
        type: "button", class: `chip${status ? ` chip-${status}` : ""}`, dataset: { status },
        onclick: () => this.set({ status }),
      });
      this.chips.set(status, chip);
      this.statusGroup.append(chip);
    }
    this.flowSelect = h("select", { id: "filter-flow", onchange: () => this.set({ flow: this.flowSelect.value }) });
    this.sinceSelect = h(
      "select",
      { id: "filter-since", onchange: () => this.set({ since: this.sinceSelect.value }) },
      SINCE.map(([value, label]) => h("option", { value, selected: value === s.since }, label)),
    );
    this.alert = h("div", { class: "error", role: "alert", hidden: true });
    this.live = h("p", { class: "muted live-note", role: "status" });
    this.waitingTitle = h("h2", { id: "waiting-title" });
    this.waitingBody = h("tbody");
    this.waitingMore = h("p", { hidden: true });
    this.waiting = h(
      "section",
      { class: "waiting-group", "aria-labelledby": "waiting-title", hidden: true },
      this.waitingTitle,
      table("Waiting for you", this.waitingBody),
      this.waitingMore,
    );
    this.body = h("tbody");
    this.empty = h("div", { class: "empty", hidden: true });
    this.newest = h("button", { type: "button", class: "secondary", onclick: () => this.set({}) }, "Newest");
    this.newer = h("button", { type: "button", class: "secondary", onclick: () => this.page("after") }, "← Newer");
    this.older = h("button", { type: "button", class: "secondary", onclick: () => this.page("before") }, "Older →");
    this.matching = h("span", { class: "muted", "aria-live": "polite" });
    replace(
      this.root,
      h("h1", {}, "Executions"),
      h("form", { class: "filters", role: "search", "aria-label": "Filter executions", onsubmit: (e) => e.preventDefault() },
        h("div", {}, h("span", { class: "filter-title", id: "status-title" }, "Status"), this.statusGroup),
        h("div", {}, h("label", { for: "filter-flow" }, "Flow"), this.flowSelect),
        h("div", {}, h("label", { for: "filter-since" }, "Created"), this.sinceSelect),
      ),
      this.alert,
      this.waiting,
      h("h2", { class: "all-title" }, "All executions"),
      table("Executions", this.body),
      this.empty,
      h("nav", { class: "pager", "aria-label": "Pages" }, this.newest, this.newer, this.older, this.matching),
      this.live,
    );
  }

  start() {
    this.onVisible = () => {
      if (document.visibilityState === "visible") this.refresh();
      else this.cancel();
    };
    document.addEventListener("visibilitychange", this.onVisible);
    this.ticker = setInterval(() => this.tick(), 1000);
    this.ctx.signal.addEventListener("abort", () => this.stop());
    this.schedule();
  }

  stop() {
    this.stopped = true;
    this.cancel();
    clearInterval(this.ticker);
    if (this.onVisible) document.removeEventListener("visibilitychange", this.onVisible);
  }

  cancel() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.inflight) this.inflight.abort();
    this.inflight = null;
  }

  schedule() {
    clearTimeout(this.timer);
    if (!this.stopped && document.visibilityState === "visible") {
      this.timer = setTimeout(() => this.refresh(), POLL_MS);
    }
  }

  /** Change the filters (back to the newest page unless a cursor is given), remembered in history. */
  set(changes) {
    this.state = { ...this.state, before: "", after: "", ...changes };
    history.pushState(null, "", hashOf(this.state));
    this.refresh();
  }

  page(direction) {
    const rows = this.shown;
    if (!rows || !rows.length) return;
    const edge = direction === "before" ? rows[rows.length - 1] : rows[0];
    this.set({ [direction]: cursorOf(edge.record) });
  }

  async refresh({ first = false } = {}) {
    this.cancel();
    const controller = new AbortController();
    this.inflight = controller;
    const stop = () => controller.abort();
    this.ctx.signal.addEventListener("abort", stop);
    try {
      const data = await this.fetch(controller.signal);
      if (data.reset) {
        // Fewer than a page newer than the cursor: that is the newest page.
        this.state = { ...this.state, after: "" };
        history.replaceState(null, "", hashOf(this.state));
        this.inflight = null;
        return this.refresh({ first });
      }
      this.show(data);
      this.alert.hidden = true;
      this.live.textContent = "Updates live.";
    } catch (exc) {
      if (exc.name === "AbortError") return undefined;
      if (exc.status && exc.status < 500) {
        this.alert.hidden = false;
        this.alert.textContent = `${exc.message} Change the filters, or show all executions.`;
        this.alert.append(" ", h("button", { type: "button", class: "link", onclick: () => this.set({ status: "", flow: "", since: "" }) }, "Show all executions"));
      } else {
        this.live.textContent = `Live updates paused: ${exc.message} Trying again in a moment.`;
      }
    } finally {
      this.ctx.signal.removeEventListener("abort", stop);
      if (this.inflight === controller) {
        this.inflight = null;
        this.schedule();
      }
    }
    return undefined;
  }

  async fetch(signal) {
    const s = this.state;
    const since = s.since ? new Date(Date.now() - SINCE_MS[s.since]).toISOString() : null;
    const query = {
      flow: s.flow, since, status: s.status, limit: PAGE + 1, before: s.before, after: s.after,
    };
    const top = !s.before && !s.after && !s.status;
    const [rows, counts, waiting] = await Promise.all([
      api("/executions/summaries", { query, signal }),
      api("/executions/counts", { query: { since }, signal }),
      top ? api("/executions/summaries", { query: { flow: s.flow, since, status: "waiting", limit: WAITING_SHOWN }, signal }) : null,
    ]);
    if (s.after && rows.length <= PAGE) return { reset: true };
    let shown = rows;
    let older = rows.length > PAGE;
    if (s.after) {
      shown = rows.slice(1);
      older = true;
    } else {
      shown = rows.slice(0, PAGE);
    }
    return { shown, older, newer: Boolean(s.before || s.after), counts, waiting };
  }

  show({ shown, older, newer, counts, waiting }) {
    const s = this.state;
    this.shown = shown;
    this.showFilters(counts);
    fillRows(this.body, shown);
    if (!this.marked && shown.length) {
      this.marked = true;
      performance.mark("kitaru:executions-rows");
    }
    const waitingCount = statusCount(counts, s.flow, "waiting");
    this.waiting.hidden = !(waiting && waiting.length);
    if (waiting && waiting.length) {
      this.waitingTitle.textContent = `Waiting for you (${fmtNumber(waitingCount)})`;
      fillRows(this.waitingBody, waiting);
      this.waitingMore.hidden = waitingCount <= waiting.length;
      replace(this.waitingMore, h("button", { type: "button", class: "link", onclick: () => this.set({ status: "waiting" }) },
        `Show all ${fmtNumber(waitingCount)} waiting`));
    }
    const total = statusCount(counts, s.flow, s.status);
    const any = Object.keys(counts).length > 0;
    this.empty.hidden = shown.length > 0;
    if (!shown.length) {
      replace(this.empty, any
        ? h("p", { class: "muted" }, "No executions match these filters. ",
          h("button", { type: "button", class: "link", onclick: () => this.set({ status: "", flow: "", since: "" }) }, "Show all executions"))
        : h("p", { class: "muted" }, "No executions yet. Run a flow, then come back."));
    }
    this.newest.hidden = !newer;
    this.newer.disabled = !newer;
    this.older.disabled = !older;
    this.matching.textContent = `${fmtNumber(total)} execution${total === 1 ? "" : "s"} match`;
  }

  showFilters(counts) {
    const s = this.state;
    for (const [status, chip] of this.chips) {
      const n = statusCount(counts, s.flow, status);
      const text = `${status || "all"} ${fmtNumber(n)}`;
      if (chip.textContent !== text) {
        replace(chip, status ? status : "all", " ", h("span", { class: "count" }, fmtNumber(n)));
      }
      chip.hidden = Boolean(status) && n === 0 && s.status !== status;
      chip.setAttribute("aria-pressed", String(s.status === status));
    }
    const flows = Object.keys(counts).sort();
    if (s.flow && !flows.includes(s.flow)) flows.push(s.flow);
    const options = [["", "All flows", statusCount(counts, "", s.status)], ...flows.map((f) => [f, f, statusCount(counts, f, s.status)])];
    const signature = JSON.stringify(options);
    if (signature !== this.flowsShown) {
      this.flowsShown = signature;
      replace(this.flowSelect, options.map(([value, label, n]) => h("option", { value }, `${label} (${fmtNumber(n)})`)));
    }
    this.flowSelect.value = s.flow;
    this.sinceSelect.value = s.since;
  }

  tick() {
    for (const cell of this.root.querySelectorAll("td[data-live-start]")) {
      cell.textContent = fmtDuration(cell.dataset.liveStart);
    }
  }
}

function statusCount(counts, flow, status) {
  let n = 0;
  for (const [name, byStatus] of Object.entries(counts)) {
    if (flow && name !== flow) continue;
    for (const [st, count] of Object.entries(byStatus)) if (!status || st === status) n += count;
  }
  return n;
}

function table(label, body) {
  return h("table", { class: "grid executions", "aria-label": label },
    h("thead", {}, h("tr", {}, COLUMNS.map(([name, cls]) => h("th", { scope: "col", class: cls }, name)))),
    body,
  );
}

/** Put `summaries` in `body` in order, keeping the rows that stay (and the focus in them). */
function fillRows(body, summaries) {
  const wanted = new Set(summaries.map((s) => s.record.exec_id));
  const existing = new Map();
  for (const tr of [...body.rows]) {
    if (wanted.has(tr.dataset.execId)) existing.set(tr.dataset.execId, tr);
    else tr.remove();
  }
  let at = body.firstElementChild;
  for (const summary of summaries) {
    const id = summary.record.exec_id;
    const tr = existing.get(id) || h("tr", { dataset: { execId: id } }, COLUMNS.map(([, cls]) => h("td", { class: cls })));
    updateRow(tr, summary);
    if (tr === at) at = at.nextElementSibling;
    else body.insertBefore(tr, at);
  }
}

function updateRow(tr, summary) {
  const e = summary.record;
  const usage = summary.llm_usage || {};
  tr.dataset.status = e.status;
  const live = e.started_at && !e.ended_at && (e.status === "running" || e.status === "waiting");
  const cells = [
    ["id", () => h("a", { href: `#/executions/${encodeURIComponent(e.exec_id)}`, class: "mono", title: e.exec_id }, shortId(e.exec_id))],
    [e.flow_name, () => e.flow_name],
    [e.status, () => statusBadge(e.status)],
    [e.started_at || e.created_at, () => fmtTime(e.started_at || e.created_at)],
    [`${e.started_at}|${e.ended_at}|${live}`, () => (e.started_at ? fmtDuration(e.started_at, e.ended_at) : "")],
    [summary.checkpoint_count, () => fmtNumber(summary.checkpoint_count)],
    [usage.calls ? (usage.input_tokens || 0) + (usage.output_tokens || 0) : "", (n) => fmtNumber(n === "" ? null : n)],
    [usage.cost_usd ?? "", () => fmtCost(usage.cost_usd)],
  ];
  cells.forEach(([key, make], i) => {
    const td = tr.cells[i];
    const sig = String(key);
    if (td.dataset.sig !== sig) {
      td.dataset.sig = sig;
      replace(td, make(key));
    }
  });
  const duration = tr.cells[4];
  if (live) duration.dataset.liveStart = e.started_at;
  else delete duration.dataset.liveStart;
  if (usage.calls) tr.cells[6].title = `${fmtNumber(usage.input_tokens)} in, ${fmtNumber(usage.output_tokens)} out, ${usage.calls} model calls`;
}
