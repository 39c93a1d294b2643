// The memory page.

import { h, replace } from "../dom.js";

export async function render(root, _params, _ctx) {
  replace(root, h("h1", {}, "Memory"), h("p", { class: "muted" }, "This page is not built yet."));
}
