// The dashboard's shell: the hash router, the API key, the navigation.
//
// A page is a module in pages/ exporting `render(root, params, ctx)`; it fills `root` and may
// return a function that stops what it started (polling, timers) when the page is left.
// `ctx.signal` is aborted when the page is left; `ctx.navigate(hash)` moves to another page.

import { apiKey, forgetApiKey } from "./api.js";
import { h, replace } from "./dom.js";

const ROUTES = [
  [/^#\/executions\/([^/]+)$/, "execution", (m) => ({ execId: decodeURIComponent(m[1]) })],
  [/^#\/executions\/?$/, "executions", () => ({})],
  [/^#\/memory\/?$/, "memory", () => ({})],
  [/^#\/cost\/?$/, "cost", () => ({})],
  [/^#\/login$/, "login", () => ({})],
];

let leave = null;
let controller = null;

function match(hash) {
  for (const [pattern, page, params] of ROUTES) {
    const m = pattern.exec(hash);
    if (m) return { page, params: params(m) };
  }
  return null;
}

function queryOf(hash) {
  const at = hash.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
}

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  const full = location.hash || "#/executions";
  const hash = full.split("?")[0];
  if (typeof leave === "function") leave();
  if (controller) controller.abort();
  leave = null;
  controller = new AbortController();
  const main = document.getElementById("main");
  if (!apiKey() && hash !== "#/login") {
    location.replace(`#/login?next=${encodeURIComponent(full)}`);
    return;
  }
  const found = match(hash);
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.toggleAttribute("aria-current", found && hash.startsWith(`#/${link.dataset.nav}`));
  }
  document.getElementById("sign-out").hidden = !apiKey();
  if (!found) {
    replace(main, h("h1", {}, "Not found"), h("p", {}, "No page here. ", h("a", { href: "#/executions" }, "Executions")));
    return;
  }
  const mine = controller;
  const ctx = { signal: mine.signal, navigate, query: queryOf(full) };
  try {
    const module = await import(`./pages/${found.page}.js`);
    if (mine.signal.aborted) return; // left while the page's module loaded
    replace(main);
    const stop = await module.render(main, found.params, ctx);
    if (mine.signal.aborted) {
      if (typeof stop === "function") stop(); // left while the page rendered
    } else {
      leave = stop;
    }
  } catch (exc) {
    if (exc.name === "AbortError" || mine.signal.aborted) return;
    replace(main, h("div", { class: "error", role: "alert" }, exc.message || String(exc)));
  }
}

window.addEventListener("hashchange", route);
window.addEventListener("kitaru:unauthorized", () => {
  forgetApiKey();
  if (!location.hash.startsWith("#/login")) route(); // asks for the key, then comes back
});
document.getElementById("sign-out").addEventListener("click", () => {
  forgetApiKey();
  navigate("#/login");
});
route();
