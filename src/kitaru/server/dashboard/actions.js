// Actions on an execution: replay, retry, resume, cancel.

import { h } from "./dom.js";

/** The actions bar of `execution` (its `calls` give the replay points). */
export function renderActions(_execution, _calls, _ctx) {
  return h("div", { class: "actions", role: "toolbar", "aria-label": "Actions" });
}
