// The form that answers a pending wait, generated from its JSON schema.

import { h } from "./dom.js";

/** The form answering `wait` (a pending wait call) of `execution`. */
export function renderWaitForm(wait, _execution, _ctx) {
  return h("section", { class: "card wait", "aria-label": `Wait ${wait.name}` }, h("h2", {}, `Waiting: ${wait.name}`));
}
