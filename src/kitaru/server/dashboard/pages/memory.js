// The memory browser: scopes → keys of a scope → versions of a key (values, who wrote each) → delete.
//
// What is chosen lives in the hash (#/memory?scope_type=flow&scope=agent&key=notes&version=2&prefix=a),
// so a link opens the same view. Deleting writes a tombstone version, as `memory.delete()` does:
// the key stops being listed, its history stays.

import { api, apiKey, apiUrl } from "../api.js";
import { h, replace, shortId, fmtTime, fmtNumber } from "../dom.js";
import { fmtBytes, jsonTree } from "../render.js";

/** Serializers whose bytes are UTF-8 JSON, so the page can show the value itself. */
const JSON_SERIALIZERS = new Set(["json", "pydantic", "dataclass"]);
/** The largest blob the page loads to show a value. */
const MAX_BLOB_BYTES = 4 << 20;

export async function render(root, _params, ctx) {
  const q = ctx.query;
  const chosen = {
    scopeType: q.get("scope_type") || "",
    scope: q.get("scope") || "",
    key: q.get("key") || "",
    version: q.get("version") ? Number(q.get("version")) : null,
    prefix: q.get("prefix") || "",
  };
  const scopes = await api("/memory/scopes", { signal: ctx.signal });
  const keysPanel = h("section", { class: "card memory-keys", "aria-labelledby": "memory-keys-title" });
  const versionsPanel = h("section", { class: "card memory-versions", "aria-labelledby": "memory-versions-title" });
  replace(
    root,
    h("h1", {}, "Memory"),
    h("div", { class: "memory-layout" },
      scopesPanel(scopes, chosen),
      keysPanel,
      versionsPanel,
    ),
  );
  if (!chosen.scope) {
    replace(keysPanel, h("h2", { id: "memory-keys-title" }, "Keys"), h("p", { class: "muted" }, "Choose a scope."));
    versionsPanel.hidden = true;
    return;
  }
  await renderKeys(keysPanel, chosen, ctx);
  if (!chosen.key) {
    versionsPanel.hidden = true;
    return;
  }
  await renderVersions(versionsPanel, chosen, ctx, () => renderKeys(keysPanel, chosen, ctx));
}

/** The hash of the memory page for `chosen` (only the parts that are set). */
export function memoryHash({ scopeType, scope, key, version, prefix }) {
  const q = new URLSearchParams();
  if (scope) {
    q.set("scope_type", scopeType);
    q.set("scope", scope);
  }
  if (prefix) q.set("prefix", prefix);
  if (key) q.set("key", key);
  if (version) q.set("version", String(version));
  const text = q.toString();
  return text ? `#/memory?${text}` : "#/memory";
}

function scopesPanel(scopes, chosen) {
  const body = h("tbody");
  for (const s of scopes) {
    const current = s.scope_type === chosen.scopeType && s.scope === chosen.scope;
    body.append(
      h("tr", { dataset: { scope: `${s.scope_type}:${s.scope}` }, class: current ? "selected" : null },
        h("td", {},
          h("a", { href: memoryHash({ scopeType: s.scope_type, scope: s.scope }), "aria-current": current ? "true" : null },
            s.scope),
          " ", h("span", { class: "kind" }, s.scope_type)),
        h("td", { class: "num" }, fmtNumber(s.live)),
        h("td", { class: "num" }, fmtNumber(s.keys)),
        h("td", {}, fmtTime(s.updated_at)),
      ),
    );
  }
  return h("section", { class: "card memory-scopes", "aria-labelledby": "memory-scopes-title" },
    h("h2", { id: "memory-scopes-title" }, "Scopes"),
    scopes.length
      ? h("table", { class: "grid", "aria-label": "Memory scopes" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "Scope"),
          h("th", { scope: "col", class: "num" }, "Live keys"),
          h("th", { scope: "col", class: "num" }, "Keys"),
          h("th", { scope: "col" }, "Updated"))),
        body)
      : h("p", { class: "muted" }, "No memory yet. Flows write it with kitaru.memory.set()."),
  );
}

async function renderKeys(panel, chosen, ctx) {
  const list = h("tbody");
  const count = h("p", { class: "muted", role: "status" });
  const filter = h("input", {
    id: "memory-prefix", type: "search", value: chosen.prefix, placeholder: "e.g. notes/", autocomplete: "off",
  });
  const fill = async () => {
    const entries = await api("/memory/entries", {
      query: { scope_type: chosen.scopeType, scope: chosen.scope, prefix: chosen.prefix || null },
      signal: ctx.signal,
    });
    replace(list, entries.map((e) => keyRow(e, chosen)));
    count.textContent = entries.length
      ? `${entries.length} live key${entries.length === 1 ? "" : "s"}${chosen.prefix ? ` starting with “${chosen.prefix}”` : ""}.`
      : chosen.prefix ? `No live key starts with “${chosen.prefix}”.` : "No live keys in this scope.";
  };
  let pending = null;
  filter.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(async () => {
      chosen.prefix = filter.value.trim();
      // The filter goes into the link without leaving the page (no hashchange: focus stays here).
      history.replaceState(null, "", memoryHash({ ...chosen, key: chosen.key, version: chosen.version }));
      try {
        await fill();
      } catch (exc) {
        if (exc.name !== "AbortError") count.textContent = exc.message;
      }
    }, 200);
  });
  replace(panel,
    h("h2", { id: "memory-keys-title" }, "Keys of ", h("span", { class: "mono" }, `${chosen.scopeType}/${chosen.scope}`)),
    h("div", { class: "filters" },
      h("div", {}, h("label", { for: "memory-prefix" }, "Filter keys by prefix"), filter)),
    h("table", { class: "grid", "aria-label": "Memory keys" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col" }, "Key"),
        h("th", { scope: "col", class: "num" }, "Version"),
        h("th", { scope: "col" }, "Written"),
        h("th", { scope: "col" }, "By"))),
      list),
    count,
  );
  await fill();
}

function keyRow(entry, chosen) {
  const current = entry.key === chosen.key;
  return h("tr", { dataset: { key: entry.key }, class: current ? "selected" : null },
    h("td", {}, h("a", {
      href: memoryHash({ ...chosen, key: entry.key, version: null }),
      class: "mono",
      "aria-current": current ? "true" : null,
    }, entry.key)),
    h("td", { class: "num" }, String(entry.version)),
    h("td", {}, fmtTime(entry.created_at)),
    h("td", {}, writer(entry)),
  );
}

function writer(entry) {
  if (!entry.exec_id) return h("span", { class: "muted" }, "outside a flow");
  return h("a", { href: `#/executions/${encodeURIComponent(entry.exec_id)}`, class: "mono", title: entry.exec_id },
    shortId(entry.exec_id));
}

async function renderVersions(panel, chosen, ctx, refreshKeys) {
  const history = await api("/memory/history", {
    query: { scope_type: chosen.scopeType, scope: chosen.scope, key: chosen.key },
    signal: ctx.signal,
  });
  const shown = history.find((e) => e.version === chosen.version) || history.find((e) => !e.deleted) || history[0];
  const result = h("div", { role: "status", class: "memory-result" });
  const deleted = history.length > 0 && history[0].deleted;
  const deleteButton = h("button", { type: "button", class: "danger", disabled: deleted || !history.length,
    title: deleted ? "The newest version is a tombstone already." : null }, "Delete key…");
  deleteButton.addEventListener("click", () => confirmDelete(chosen, async (written) => {
    result.replaceChildren(
      h("p", {}, "Deleted ", h("span", { class: "mono" }, chosen.key), `: version ${written.version} is a tombstone; `,
        "the key is no longer listed and its history stays."),
    );
    await Promise.all([refreshKeys(), renderVersions(panel, { ...chosen, version: null }, ctx, refreshKeys)]);
    panel.querySelector(".memory-result").replaceWith(result);
  }, result));
  const rows = history.map((e) => h("tr", { dataset: { version: String(e.version) }, class: e === shown ? "selected" : null },
    h("td", { class: "num" }, h("a", {
      href: memoryHash({ ...chosen, version: e.version }), "aria-current": e === shown ? "true" : null,
    }, `v${e.version}`)),
    h("td", {}, e.deleted ? h("span", { class: "badge status-cancelled" }, "deleted") : describe(e)),
    h("td", {}, fmtTime(e.created_at)),
    h("td", {}, writer(e)),
  ));
  replace(panel,
    h("div", { class: "actions" },
      h("h2", { id: "memory-versions-title" }, "Versions of ", h("span", { class: "mono" }, chosen.key)),
      deleteButton),
    result,
    history.length
      ? h("table", { class: "grid", "aria-label": "Versions" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col", class: "num" }, "Version"),
          h("th", { scope: "col" }, "Value"),
          h("th", { scope: "col" }, "Written"),
          h("th", { scope: "col" }, "Written by"))),
        h("tbody", {}, rows))
      : h("p", { class: "muted" }, "This key has no versions."),
    shown ? valuePanel(shown, ctx) : null,
  );
}

function describe(entry) {
  const type = entry.type_path ? entry.type_path.split(":").pop() : entry.serializer;
  return h("span", { class: "muted" }, `${type} · ${fmtBytes(entry.size)}`);
}

function confirmDelete(chosen, done, result) {
  const dialog = h("dialog", { class: "card", "aria-labelledby": "memory-delete-title" });
  const cancel = h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Keep it");
  const confirm = h("button", { type: "button", class: "danger" }, "Delete");
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    try {
      const written = await api("/memory/entries", {
        method: "POST",
        body: {
          entry: {
            scope_type: chosen.scopeType, scope: chosen.scope, key: chosen.key,
            version: 0, created_at: new Date().toISOString(), deleted: true,
          },
        },
      });
      dialog.close();
      await done(written);
    } catch (exc) {
      dialog.close();
      result.replaceChildren(h("p", { class: "error", role: "alert" }, `Could not delete ${chosen.key}: ${exc.message}`));
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  dialog.append(
    h("h2", { id: "memory-delete-title" }, "Delete this key?"),
    h("p", {}, "Delete ", h("span", { class: "mono" }, chosen.key), " of ",
      h("span", { class: "mono" }, `${chosen.scopeType}/${chosen.scope}`),
      "? A tombstone version is written: the key stops being listed and reads of it give nothing; its history stays."),
    h("div", { class: "actions" }, confirm, cancel),
  );
  document.body.append(dialog);
  dialog.showModal();
  cancel.focus();
}

// -- values -------------------------------------------------------------------------------

function valuePanel(entry, ctx) {
  const box = h("div", { class: "memory-value", dataset: { version: String(entry.version) } });
  const title = h("h3", {}, `Value of version ${entry.version}`);
  const meta = h("p", { class: "muted" },
    entry.deleted ? "A tombstone: the key was deleted here." :
      `${entry.serializer || "?"} · ${entry.type_path || "unknown type"} · ${fmtBytes(entry.size)}`,
    entry.metadata && Object.keys(entry.metadata).length ? ` · metadata: ${JSON.stringify(entry.metadata)}` : "");
  box.append(title, meta);
  if (entry.deleted) return box;
  if (entry.data !== null && entry.data !== undefined) {
    box.append(renderBytes(decodeBase64(entry.data), entry));
  } else if (entry.blob_key) {
    const load = h("button", { type: "button", class: "secondary" }, `Load the value (${fmtBytes(entry.size)})`);
    const place = h("div", {}, load);
    load.disabled = entry.size > MAX_BLOB_BYTES || !JSON_SERIALIZERS.has(entry.serializer);
    if (load.disabled) place.append(h("p", { class: "muted" }, "Too large or not JSON: load it in Python with kitaru.memory.get()."));
    load.addEventListener("click", async () => {
      load.disabled = true;
      const response = await fetch(apiUrl(`/blobs/${encodeURIComponent(entry.blob_key)}`), {
        headers: { Authorization: `Bearer ${apiKey()}` }, signal: ctx.signal,
      });
      if (!response.ok) {
        replace(place, h("p", { class: "error", role: "alert" }, `Could not load the value: HTTP ${response.status}.`));
        return;
      }
      replace(place, renderBytes(new Uint8Array(await response.arrayBuffer()), entry));
    });
    box.append(place);
  }
  return box;
}

function decodeBase64(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function renderBytes(bytes, entry) {
  if (JSON_SERIALIZERS.has(entry.serializer)) {
    try {
      const value = JSON.parse(new TextDecoder().decode(bytes));
      if (typeof value === "string") return h("pre", { class: "memory-text" }, value);
      return jsonTree(value);
    } catch {
      // not JSON after all: shown as bytes below
    }
  }
  const shown = Array.from(bytes.slice(0, 64), (b) => b.toString(16).padStart(2, "0")).join(" ");
  return h("div", {},
    h("p", { class: "muted" },
      `Stored with the ${entry.serializer} serializer; the dashboard shows JSON values only. `,
      "Load it in Python with kitaru.memory.get() or KitaruClient().memories.get()."),
    h("pre", {}, shown + (bytes.length > 64 ? " …" : "")));
}
