// Asks for the API key once; kept in this browser's local storage.

import { api, ApiError, setApiKey, forgetApiKey } from "../api.js";
import { h, replace } from "../dom.js";

/** The key kept when the server asks for none (it accepts any bearer token then). */
const NO_KEY = "no-key-needed";

export async function render(root, _params, ctx) {
  forgetApiKey();
  try {
    await api("/executions", { query: { limit: 1 }, signal: ctx.signal });
    setApiKey(NO_KEY); // this server runs without authentication
    ctx.navigate(next(ctx));
    return;
  } catch (exc) {
    if (!(exc instanceof ApiError) || exc.status !== 401) throw exc;
  }
  const message = h("p", { id: "key-error", class: "error", role: "alert", hidden: true });
  const input = h("input", {
    id: "api-key", name: "api-key", type: "password", autocomplete: "current-password",
    required: true, "aria-describedby": "key-help key-error", size: 48,
  });
  const form = h(
    "form",
    { class: "card narrow", onsubmit: (event) => submit(event, input, message, ctx) },
    h("h1", {}, "Sign in"),
    h("label", { for: "api-key" }, "API key"),
    input,
    h("p", { id: "key-help", class: "muted" },
      "This server asks for an API key. Create one with: kitaru server api-key create NAME"),
    message,
    h("button", { type: "submit" }, "Open the dashboard"),
  );
  replace(root, form);
  input.focus();
}

async function submit(event, input, message, ctx) {
  event.preventDefault();
  const key = input.value.trim();
  setApiKey(key);
  try {
    await api("/executions", { query: { limit: 1 } });
  } catch (exc) {
    forgetApiKey();
    message.hidden = false;
    message.textContent = exc instanceof ApiError && exc.status === 401
      ? "The server refused this key (unknown or revoked). List the keys with: kitaru server api-key list"
      : exc.message;
    input.focus();
    return;
  }
  ctx.navigate(next(ctx));
}

/** Where to go once signed in: the page asked for before, else the executions. */
function next(ctx) {
  const wanted = ctx.query.get("next") || "";
  return wanted.startsWith("#/") && !wanted.startsWith("#/login") ? wanted : "#/executions";
}
