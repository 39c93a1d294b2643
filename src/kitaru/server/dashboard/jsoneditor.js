// A JSON editor: a labelled textarea that checks its syntax as you type and says where it breaks.

import { h } from "./dom.js";

let counter = 0;

/** A unique id for an element (labels and descriptions point at it). */
export function uid(prefix = "k") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Text of a JSON value, indented; `undefined` gives an empty text. */
export function toJsonText(value) {
  return value === undefined ? "" : JSON.stringify(value, null, 2);
}

/**
 * Parse JSON text. Returns `{ ok: true, value }` or `{ ok: false, message }` where the message
 * says where the text breaks (line and column), whichever browser's wording `JSON.parse` uses.
 * An empty text is `{ ok: true, value: undefined }`.
 */
export function parseJson(text) {
  if (text.trim() === "") return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (exc) {
    return { ok: false, message: syntaxMessage(text, exc.message || String(exc)) };
  }
}

function syntaxMessage(text, message) {
  const at = errorOffset(text);
  const before = text.slice(0, at).split("\n");
  const line = before.length;
  const column = before[before.length - 1].length + 1;
  const detail = message
    .replace(/^JSON\.parse: /, "")
    .replace(/ at line \d+ column \d+ of the JSON data$/, "")
    .replace(/ in JSON at position \d+( \(line \d+ column \d+\))?$/, "")
    .replace(/, "[\s\S]*" is not valid JSON$/, "");
  return `Not valid JSON at line ${line}, column ${column}: ${detail}`;
}

/**
 * Where JSON text first breaks (an offset), found by a small strict scanner: browsers word
 * their `JSON.parse` errors differently and some give no position at all.
 */
export function errorOffset(text) {
  let i = 0;
  const fail = () => {
    throw i;
  };
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i += 1;
  };
  const literal = (word) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i += 1;
    }
  };
  const string = () => {
    i += 1;
    while (i < text.length && text[i] !== '"') {
      if (text[i] < " ") fail();
      if (text[i] === "\\") {
        i += 1;
        if (text[i] === "u") {
          for (let k = 1; k <= 4; k += 1) if (!/[0-9a-fA-F]/.test(text[i + k] || "")) { i += k; fail(); }
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] || "x")) fail();
      }
      i += 1;
    }
    if (text[i] !== '"') fail();
    i += 1;
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === "-") fail();
    i += m[0].length;
  };
  const value = () => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i += 1;
      ws();
      if (text[i] === "}") { i += 1; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ":") fail();
        i += 1;
        value();
        ws();
        if (text[i] === ",") { i += 1; continue; }
        if (text[i] === "}") { i += 1; return; }
        fail();
      }
    } else if (ch === "[") {
      i += 1;
      ws();
      if (text[i] === "]") { i += 1; return; }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") { i += 1; continue; }
        if (text[i] === "]") { i += 1; return; }
        fail();
      }
    } else if (ch === '"') string();
    else if (ch === "t") literal("true");
    else if (ch === "f") literal("false");
    else if (ch === "n") literal("null");
    else number();
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (offset) {
    if (typeof offset === "number") return Math.min(offset, text.length);
    throw offset;
  }
  return text.length;
}

/**
 * A JSON editor: `{ element, textarea, read(), setValue(value) }`.
 * `read()` returns `{ ok, value, message }` (see parseJson) and shows the syntax error under the
 * textarea. Options: `label`, `value` (pre-filled), `hint` (text under the label), `rows`,
 * `name` (data-json-editor value, for tests and styles).
 */
export function jsonEditor({ label, value = undefined, hint = null, rows = 6, name = "" } = {}) {
  const id = uid("json");
  const errorId = `${id}-error`;
  const hintId = hint ? `${id}-hint` : null;
  const textarea = h("textarea", {
    id,
    rows: String(rows),
    spellcheck: "false",
    autocomplete: "off",
    class: "json-editor",
    "aria-describedby": [hintId, errorId].filter(Boolean).join(" "),
    dataset: { jsonEditor: name },
  });
  textarea.value = toJsonText(value);
  const error = h("p", { id: errorId, class: "field-error", "aria-live": "polite" });
  const check = () => {
    const parsed = parseJson(textarea.value);
    error.textContent = parsed.ok ? "" : parsed.message;
    textarea.setAttribute("aria-invalid", parsed.ok ? "false" : "true");
    return parsed;
  };
  textarea.addEventListener("input", check);
  const element = h(
    "div",
    { class: "json-field" },
    label ? h("label", { for: id }, label) : null,
    hint ? h("p", { id: hintId, class: "hint muted" }, hint) : null,
    textarea,
    error,
  );
  return {
    element,
    textarea,
    read: check,
    setValue(next) {
      textarea.value = toJsonText(next);
      check();
    },
  };
}

/**
 * The JSON value an artifact row holds (its inline `data`, base64 in the API), or
 * `{ ok: false, reason }` when it is no JSON value (another serializer, or kept as a blob).
 */
export function artifactJson(artifact) {
  if (!artifact) return { ok: false, reason: "nothing was recorded" };
  if (artifact.serializer !== "json") {
    return { ok: false, reason: `stored by the ${artifact.serializer} serializer (${artifact.type_path}), not as JSON` };
  }
  if (artifact.data === null || artifact.data === undefined) {
    return { ok: false, reason: `stored as a blob (${artifact.size} bytes)` };
  }
  try {
    const bytes = Uint8Array.from(atob(artifact.data), (c) => c.charCodeAt(0));
    return { ok: true, value: JSON.parse(new TextDecoder().decode(bytes)) };
  } catch (exc) {
    return { ok: false, reason: `its data is not readable JSON (${exc.message})` };
  }
}
