// Rendering stored values: JSON trees, text, markdown, images, tables, a serializer's
// visualize() output, and a description (with how to load it in Python) of what a browser
// cannot read. The page never runs user code: values come as stored, through the API.

import { API, ApiError, apiKey } from "./api.js";
import { h, replace, fmtNumber } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

/** The most bytes of a value fetched to show it; a larger value is cut (and says so). */
export const PREVIEW_BYTES = 256 * 1024;
const JSON_SERIALIZERS = new Set(["json", "pydantic", "dataclass"]);
const TREE_ITEMS = 200; // items shown per object or array before "… N more"
const TABLE_ROWS = 500;
// Shown in the sandboxed frame before a visualization's HTML: nothing is fetched, nothing runs.
const FRAME_POLICY = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:\">";

export function fmtBytes(n) {
  if (n === null || n === undefined) return "";
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Fetch the stored bytes of an artifact (at most `maxBytes`), with what the server says of them. */
export async function fetchValue(artifactId, { maxBytes = PREVIEW_BYTES, download = false, signal } = {}) {
  const url = new URL(`${API}/artifacts/${encodeURIComponent(artifactId)}/value`, document.baseURI);
  if (maxBytes !== null) url.searchParams.set("max_bytes", String(maxBytes));
  if (download) url.searchParams.set("download", "true");
  const headers = { Authorization: `Bearer ${apiKey()}` };
  const response = await fetch(url, { headers, signal });
  if (!response.ok) {
    let message = `Reading artifact ${artifactId} failed with HTTP ${response.status}.`;
    try { message = (await response.json()).error.message || message; } catch { /* not JSON */ }
    if (response.status === 401) window.dispatchEvent(new CustomEvent("kitaru:unauthorized"));
    throw new ApiError(response.status, "HTTPError", message);
  }
  const blob = await response.blob();
  return {
    blob,
    size: Number(response.headers.get("x-kitaru-size")),
    truncated: response.headers.get("x-kitaru-truncated") === "true",
    contentType: response.headers.get("content-type") || "application/octet-stream",
    disposition: response.headers.get("content-disposition") || "",
  };
}

/** A button that downloads an artifact's whole stored value (the key goes in a header, not a URL). */
export function downloadButton(artifact, label = "Download") {
  const button = h("button", {
    type: "button", class: "secondary small", "aria-label": `${label} ${artifact.name}`,
    dataset: { download: artifact.artifact_id },
    onclick: async () => {
      button.disabled = true;
      try {
        const got = await fetchValue(artifact.artifact_id, { maxBytes: null, download: true });
        const name = /filename="([^"]+)"/.exec(got.disposition);
        const link = h("a", { href: URL.createObjectURL(got.blob), download: name ? name[1] : artifact.name });
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      } catch (exc) {
        button.after(h("span", { class: "error", role: "alert" }, ` ${exc.message}`));
      } finally {
        button.disabled = false;
      }
    },
  }, label);
  return button;
}

/** How to load an artifact's value in Python (and from the shell). */
export function howToLoad(artifact) {
  return h("div", { class: "how-to-load" },
    h("p", { class: "muted" }, "Load it in Python:"),
    h("pre", { class: "mono" }, `import kitaru\nvalue = kitaru.load(${JSON.stringify(artifact.exec_id)}, ${JSON.stringify(artifact.name)})`),
    h("p", { class: "muted" }, "or from the shell:"),
    h("pre", { class: "mono" }, `kitaru artifacts load ${artifact.artifact_id}`),
  );
}

/**
 * An artifact with its value rendered: a header (name, kind, type, serializer, size, download)
 * and the value, fetched now. `label` replaces the name in the header.
 */
export function renderArtifact(artifact, { signal, label = null } = {}) {
  const body = h("div", { class: "value", "aria-busy": "true" }, h("span", { class: "muted" }, "Loading…"));
  const section = h("section", {
    class: "artifact", "aria-label": `Artifact ${artifact.name}`,
    dataset: { artifactName: artifact.name, artifactId: artifact.artifact_id, serializer: artifact.serializer },
  },
  h("div", { class: "artifact-head" },
    h("strong", {}, label || artifact.name), " ",
    h("span", { class: "kind" }, artifact.kind), " ",
    h("span", { class: "muted mono", title: "Type" }, artifact.type_path), " ",
    h("span", { class: "muted", title: "Serializer" }, artifact.serializer), " ",
    h("span", { class: "muted", title: "Stored size" }, fmtBytes(artifact.size)), " ",
    downloadButton(artifact),
  ),
  body);
  fillValue(body, artifact, signal).catch((exc) => {
    if (exc.name === "AbortError") return;
    replace(body, h("p", { class: "error", role: "alert" }, exc.message || String(exc)));
  }).finally(() => body.removeAttribute("aria-busy"));
  return section;
}

async function fillValue(body, artifact, signal) {
  const shown = ((artifact.metadata || {}).kitaru || {}).visualization;
  if (shown) {
    replace(body, renderVisualization(shown, artifact), h("details", { class: "stored" },
      h("summary", {}, "Stored value"), opaque(artifact)));
    return;
  }
  if (JSON_SERIALIZERS.has(artifact.serializer)) {
    const got = await fetchValue(artifact.artifact_id, { signal });
    const text = await got.blob.text();
    if (got.truncated) {
      replace(body, cutNotice(artifact, got), h("pre", { class: "text-value" }, text));
      return;
    }
    let value;
    try {
      value = JSON.parse(text);
    } catch {
      replace(body, h("pre", { class: "text-value" }, text)); // NaN/Infinity: shown as stored
      return;
    }
    replace(body, renderJsonValue(value, artifact));
    return;
  }
  if (artifact.serializer === "bytes") {
    const got = await fetchValue(artifact.artifact_id, { signal });
    if (got.contentType.startsWith("image/") && !got.truncated) {
      const url = URL.createObjectURL(got.blob.slice(0, got.blob.size, got.contentType));
      const img = h("img", { class: "image-value", src: url, alt: `Image ${artifact.name}` });
      signal?.addEventListener("abort", () => URL.revokeObjectURL(url), { once: true });
      replace(body, img);
      return;
    }
    const what = got.contentType.startsWith("image/") ? `an image (${got.contentType}) too large to show here` : "bytes that are not an image the page shows (PNG, JPEG, GIF, WebP)";
    replace(body, h("p", {}, `${fmtBytes(artifact.size)} of ${what}.`), got.truncated ? cutNotice(artifact, got) : null);
    return;
  }
  replace(body, opaque(artifact));
}

function cutNotice(artifact, got) {
  return h("p", { class: "cut", role: "note" },
    `Cut: showing the first ${fmtBytes(got.blob.size)} of ${fmtBytes(got.size)}. `, downloadButton(artifact, "Download the whole value"));
}

/** What a value the browser cannot read is, and how to load it. */
function opaque(artifact) {
  const why = artifact.serializer === "pickle"
    ? "A pickled Python object: only Python can load it (the dashboard never unpickles)."
    : artifact.serializer === "numpy"
      ? "A numpy array in .npy format."
      : `Written by the serializer "${artifact.serializer}", which only Python code can read.`;
  return h("div", { class: "opaque" },
    h("p", {}, why),
    h("dl", { class: "facts" },
      h("dt", {}, "Type"), h("dd", { class: "mono" }, artifact.type_path),
      h("dt", {}, "Size"), h("dd", {}, `${fmtBytes(artifact.size)} (${fmtNumber(artifact.size)} bytes)`),
      h("dt", {}, "Serializer"), h("dd", { class: "mono" }, artifact.serializer),
    ),
    howToLoad(artifact),
  );
}

/** A serializer's visualize() output as the runner stored it: markdown, HTML or an image. */
export function renderVisualization(shown, artifact) {
  const box = h("div", { class: "visualization", dataset: { mediaType: shown.media_type || "" } });
  if (shown.error) {
    box.append(h("p", { class: "error" }, shown.error));
  } else if (shown.media_type === "text/markdown") {
    box.append(renderMarkdown(shown.text));
  } else if (shown.media_type === "text/html") {
    // No script runs (sandbox without allow-scripts), nothing is fetched (the policy first).
    box.append(h("iframe", { sandbox: "", srcdoc: FRAME_POLICY + shown.text, title: `Visualization of ${artifact.name}`, class: "html-frame" }));
  } else if (String(shown.media_type).startsWith("image/") && shown.base64) {
    box.append(h("img", { class: "image-value", src: `data:${shown.media_type};base64,${shown.base64}`, alt: `Visualization of ${artifact.name}` }));
  }
  return box;
}

function looksLikeMarkdown(text, artifact) {
  if (/\.(md|markdown)$/i.test(artifact.name) || (artifact.tags || []).includes("markdown")) return true;
  return /^\s{0,3}#{1,6}\s|\n\s*[-*]\s|\*\*[^*]+\*\*|```/.test(text);
}

/** A decoded JSON value: text (or markdown), a table, or a tree, with a switch where they differ. */
export function renderJsonValue(value, artifact) {
  if (typeof value === "string") {
    return switchable(
      [["Markdown", () => renderMarkdown(value)], ["Text", () => h("pre", { class: "text-value" }, value)]],
      looksLikeMarkdown(value, artifact) ? 0 : 1, artifact.name);
  }
  const table = asTable(value);
  if (table) return switchable([["Table", () => renderTable(table, artifact.name)], ["JSON", () => jsonTree(value)]], 0, artifact.name);
  return jsonTree(value);
}

function switchable(views, initial, name) {
  const area = h("div", { class: "view" });
  const buttons = views.map(([label, build], n) => h("button", {
    type: "button", class: "secondary small", "aria-pressed": String(n === initial),
    "aria-label": `Show ${name} as ${label.toLowerCase()}`,
    onclick: () => {
      buttons.forEach((b, m) => b.setAttribute("aria-pressed", String(m === n)));
      area.replaceChildren(build());
    },
  }, label));
  area.append(views[initial][1]());
  return h("div", { class: "switchable" }, h("div", { class: "view-switch", role: "group", "aria-label": `View of ${name}` }, buttons), area);
}

const isRecord = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

/** Columns and rows when `value` is a list of records or a dict of equally long columns. */
export function asTable(value) {
  if (Array.isArray(value) && value.length && value.every(isRecord)) {
    const columns = [...new Set(value.flatMap((row) => Object.keys(row)))];
    if (columns.length && columns.length <= 40) return { columns, rows: value.map((row) => columns.map((c) => row[c])) };
  }
  if (isRecord(value)) {
    const columns = Object.keys(value);
    const lengths = new Set(columns.map((c) => (Array.isArray(value[c]) ? value[c].length : -1)));
    if (columns.length && columns.length <= 40 && lengths.size === 1 && !lengths.has(-1) && !lengths.has(0)) {
      const n = value[columns[0]].length;
      return { columns, rows: Array.from({ length: n }, (_, i) => columns.map((c) => value[c][i])) };
    }
  }
  return null;
}

function cellText(v) {
  if (v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function renderTable({ columns, rows }, name) {
  const shown = rows.slice(0, TABLE_ROWS);
  return h("div", { class: "table-value" },
    h("table", { class: "grid", "aria-label": `Table ${name}` },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, shown.map((row) => h("tr", {}, row.map((v) => h("td", { class: typeof v === "number" ? "num" : null }, cellText(v))))))),
    rows.length > shown.length ? h("p", { class: "muted" }, `… ${rows.length - shown.length} more rows (download the value to see them all)`) : null,
  );
}

/** A collapsible tree of a JSON value; the first levels open. */
export function jsonTree(value, { open = 2 } = {}) {
  return h("div", { class: "json-tree" }, node(null, value, 0, open));
}

function leaf(value) {
  if (value === null) return h("span", { class: "j-null" }, "null");
  if (typeof value === "string") return h("span", { class: "j-str" }, JSON.stringify(value));
  if (typeof value === "number") return h("span", { class: "j-num" }, String(value));
  if (typeof value === "boolean") return h("span", { class: "j-bool" }, String(value));
  return h("span", {}, String(value));
}

function node(key, value, depth, open) {
  const label = key === null ? null : h("span", { class: "j-key" }, `${key}: `);
  if (value === null || typeof value !== "object") return h("div", { class: "j-leaf" }, label, leaf(value));
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  const summary = Array.isArray(value) ? `[${entries.length} item${entries.length === 1 ? "" : "s"}]` : `{${entries.length} key${entries.length === 1 ? "" : "s"}}`;
  if (!entries.length) return h("div", { class: "j-leaf" }, label, h("span", { class: "muted" }, Array.isArray(value) ? "[]" : "{}"));
  const details = h("details", { class: "j-node", open: depth < open },
    h("summary", {}, label, h("span", { class: "muted" }, summary)));
  const children = h("div", { class: "j-children" });
  const fill = () => {
    if (children.childElementCount) return;
    for (const [k, v] of entries.slice(0, TREE_ITEMS)) children.append(node(k, v, depth + 1, open));
    if (entries.length > TREE_ITEMS) children.append(h("div", { class: "muted" }, `… ${entries.length - TREE_ITEMS} more`));
  };
  if (depth < open) fill();
  else details.addEventListener("toggle", fill);
  details.append(children);
  return details;
}
