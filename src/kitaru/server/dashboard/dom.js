// Small DOM helpers: build elements, format values. No framework.

/**
 * Create an element. `attrs`: attributes and properties; `on<event>` keys add listeners,
 * `class` sets className, `dataset` an object of data-* values; false/null values are skipped.
 * Children: nodes, strings (as text, never HTML), arrays, null/false (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "class") {
      el.className = value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value" || key === "checked" || key === "disabled" || key === "selected") {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace the element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** The short form of an id, as the CLI shows it: its last 12 characters (ids begin with their
 * creation time, so executions made close together share their first characters). */
export function shortId(id) {
  return id ? String(id).slice(-12) : "";
}

export function parseTime(value) {
  return value ? new Date(value) : null;
}

export function fmtTime(value) {
  const t = parseTime(value);
  if (!t) return "";
  const pad = (n) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())} ${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}`;
}

/** A duration between two timestamps (the second defaults to now), e.g. "1.2 s", "3 min 4 s". */
export function fmtDuration(start, end) {
  const a = parseTime(start);
  if (!a) return "";
  const b = parseTime(end) || new Date();
  return fmtSeconds((b - a) / 1000);
}

export function fmtSeconds(seconds) {
  if (seconds < 1) return `${Math.max(0, Math.round(seconds * 1000))} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** USD as the CLI prints it: cents, or up to 6 decimals below a cent (model calls cost
 * fractions of a cent); "" when unknown (never a guessed 0). */
export function fmtCost(usd) {
  if (usd === null || usd === undefined) return "";
  if (usd === 0) return "$0";
  if (usd > 0 && usd < 0.01) {
    const text = usd.toFixed(6).replace(/0+$/, "");
    return text.endsWith(".") ? "< $0.000001" : `$${text}`;
  }
  return `$${usd.toFixed(2)}`;
}

export function fmtNumber(n) {
  return n === null || n === undefined ? "" : Number(n).toLocaleString("en-US");
}

/** A status badge; the text says the status, the colour only repeats it. */
export function statusBadge(status) {
  return h("span", { class: `badge status-${status}` }, status);
}

// --- Executions page ---
