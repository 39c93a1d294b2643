// Actions on an execution: replay, retry, resume, cancel.
//
// Whether each is possible comes from the server (GET /executions/{id}/operations), which
// applies the state rules every surface applies, with their messages: a button the state
// refuses is disabled and says why. Retry, resume and cancel ask for a confirmation first.

import { api } from "./api.js";
import { confirmAction } from "./dialog.js";
import { h } from "./dom.js";
import { renderReplay } from "./replay.js";
import { changed } from "./waitform.js";

const OPERATIONS = {
  retry: {
    label: "Retry",
    title: "Retry this execution?",
    body: "It runs again in place (same execution id), reusing its completed checkpoints. A kitaru worker serving this server runs it.",
    done: "Retry queued: a kitaru worker serving this server runs it.",
    confirm: "Retry",
    keep: "Not now",
  },
  resume: {
    label: "Resume",
    title: "Resume this execution?",
    body: "It continues from where it stopped (same execution id), reusing its completed checkpoints. A kitaru worker serving this server runs it.",
    done: "Resume queued: a kitaru worker serving this server continues it.",
    confirm: "Resume",
    keep: "Not now",
  },
  cancel: {
    label: "Cancel",
    title: "Cancel this execution?",
    body: "Its runner stops at the next durable boundary (before a call starts, or while it waits) and the execution ends cancelled. This cannot be undone.",
    done: "Cancellation requested.",
    confirm: "Cancel execution",
    keep: "Keep it running",
    danger: true,
  },
};

// The replay panel of the execution shown: a page that renders again (live updates) gets the
// same panel back, open or closed, with what was typed in it.
let kept = null;

/** The actions bar of `execution` (its `calls` give the replay points). */
export function renderActions(execution, calls, ctx) {
  const path = `/executions/${encodeURIComponent(execution.exec_id)}`;
  const status = h("p", { class: "action-status", role: "status", "aria-live": "polite" });
  const alert = h("div", { class: "action-error", "aria-live": "assertive" });
  const reasons = h("ul", { class: "reasons muted", "aria-label": "Why some actions are not available", hidden: true });
  if (!kept || kept.execId !== execution.exec_id) {
    kept = { execId: execution.exec_id, panel: h("div", { class: "replay-panel", hidden: true }), form: null };
  }
  const state = kept;
  const panel = state.panel;
  const replayButton = h("button", {
    type: "button",
    class: "secondary",
    "aria-expanded": String(!panel.hidden),
    dataset: { action: "replay" },
  }, "Replay…");
  const buttons = { replay: replayButton };
  for (const [name, op] of Object.entries(OPERATIONS)) {
    buttons[name] = h("button", { type: "button", class: op.danger ? "danger" : "secondary", dataset: { action: name } }, op.label);
  }
  for (const button of Object.values(buttons)) button.disabled = true; // until the server says
  const toolbar = h("div", { class: "actions", role: "toolbar", "aria-label": "Actions" }, Object.values(buttons));
  const fail = (message) => alert.replaceChildren(h("p", { class: "error", role: "alert" }, message));

  for (const [name, op] of Object.entries(OPERATIONS)) {
    buttons[name].addEventListener("click", async () => {
      const ok = await confirmAction({
        title: op.title,
        body: h("p", {}, op.body),
        confirmLabel: op.confirm,
        cancelLabel: op.keep,
        danger: Boolean(op.danger),
      });
      if (!ok) return;
      alert.replaceChildren();
      buttons[name].disabled = true;
      status.textContent = "Sending…";
      try {
        await api(`${path}/${name}`, { method: "POST", body: name === "cancel" ? undefined : {} });
        status.textContent = op.done;
        changed();
      } catch (exc) {
        status.textContent = "";
        buttons[name].disabled = false;
        fail(exc.message || String(exc));
      }
    });
  }

  replayButton.addEventListener("click", () => {
    const open = panel.hidden;
    panel.hidden = !open;
    replayButton.setAttribute("aria-expanded", String(open));
    if (open && !state.form) {
      state.form = renderReplay(execution, calls);
      panel.append(state.form);
    }
    if (open) {
      const first = panel.querySelector("select, textarea, input");
      if (first) first.focus();
    }
  });

  api(`${path}/operations`, { signal: ctx && ctx.signal })
    .then((ops) => {
      const items = [];
      for (const [name, button] of Object.entries(buttons)) {
        const check = ops[name];
        if (!check) continue;
        button.disabled = !check.allowed;
        if (!check.allowed) {
          const id = `reason-${name}-${execution.exec_id}`;
          button.title = check.reason;
          button.setAttribute("aria-describedby", id);
          const label = name === "replay" ? "Replay" : OPERATIONS[name].label;
          items.push(h("li", { id, dataset: { reason: name } }, h("strong", {}, `${label}: `), check.reason));
        }
      }
      reasons.replaceChildren(...items);
      reasons.hidden = items.length === 0;
    })
    .catch((exc) => {
      if (exc.name !== "AbortError") fail(`Could not tell which actions are possible: ${exc.message}`);
    });

  return h("section", { class: "execution-actions", "aria-label": "Execution actions" }, toolbar, reasons, alert, status, panel);
}
