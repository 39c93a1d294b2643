// Form fields generated from a JSON schema (as pydantic writes them): each field is
// `{ element, read() }`, where `read()` returns the JSON value entered, or `undefined` when
// nothing was entered (an object leaves such a property out). The browser checks only JSON
// syntax: every other rule (required, minimum, pattern...) is checked by the server, whose
// message is shown, so an answer refused here would be refused the same way everywhere.

import { h } from "./dom.js";
import { jsonEditor, uid } from "./jsoneditor.js";

/** Thrown by `read()` when a field holds text that is not JSON (nothing can be sent). */
export class FieldError extends Error {}

const RADIO_LIMIT = 4; // more choices than this: a select
const LONG_TEXT = 120; // strings allowed to be longer than this get a textarea
const TEXTAREA_FORMATS = new Set(["textarea", "multiline", "markdown"]);

/** The field for `schema` (the root of a wait's answer), labelled `label`. */
export function schemaField(schema, label) {
  return field(schema, { defs: schema.$defs || schema.definitions || {}, label, required: true, path: "value", depth: 0 });
}

function resolve(schema, defs, seen = 0) {
  if (!schema || typeof schema !== "object" || seen > 20) return schema;
  if (typeof schema.$ref === "string") {
    const name = schema.$ref.split("/").pop();
    const target = defs[name];
    if (!target) return { ...schema, $ref: undefined, unresolved: schema.$ref };
    const { $ref, ...rest } = schema;
    return resolve({ ...target, ...rest }, defs, seen + 1);
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length === 1) {
    const { allOf, ...rest } = schema;
    return resolve({ ...resolve(allOf[0], defs, seen + 1), ...rest }, defs, seen + 1);
  }
  return schema;
}

function optionalOf(schema, defs) {
  const union = schema.anyOf || schema.oneOf;
  if (!Array.isArray(union) || union.length !== 2) return null;
  const others = union.filter((s) => !(s && s.type === "null"));
  if (others.length !== 1) return null;
  const { anyOf, oneOf, ...rest } = schema;
  return resolve({ ...resolve(others[0], defs), ...rest }, defs);
}

function field(rawSchema, opts) {
  const schema = resolve(rawSchema, opts.defs) || {};
  const inner = optionalOf(schema, opts.defs);
  if (inner) return field(inner, { ...opts, nullable: true });
  const label = opts.label || schema.title || opts.path;
  const o = { ...opts, label, schema };
  if (Array.isArray(schema.enum)) return enumField(o, schema.enum);
  if ("const" in schema) return constField(o);
  switch (schema.type) {
    case "boolean":
      return booleanField(o);
    case "integer":
    case "number":
      return numberField(o);
    case "string":
      return stringField(o);
    case "object":
      if (schema.properties && !schema.additionalProperties) return objectField(o);
      break;
    case "array":
      if (schema.items && !schema.prefixItems && opts.depth < 6) return arrayField(o);
      break;
    default:
      break;
  }
  return jsonField(o);
}

function describe(schema, id) {
  const bits = [];
  if (schema.description) bits.push(schema.description);
  const range = [];
  if (schema.minimum !== undefined) range.push(`≥ ${schema.minimum}`);
  if (schema.exclusiveMinimum !== undefined) range.push(`> ${schema.exclusiveMinimum}`);
  if (schema.maximum !== undefined) range.push(`≤ ${schema.maximum}`);
  if (schema.exclusiveMaximum !== undefined) range.push(`< ${schema.exclusiveMaximum}`);
  if (range.length) bits.push(range.join(", "));
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    bits.push(`${schema.minLength ?? 0} to ${schema.maxLength ?? "any number of"} characters`);
  }
  if (schema.format) bits.push(`format: ${schema.format}`);
  if (schema.pattern) bits.push(`pattern: ${schema.pattern}`);
  return bits.length ? h("p", { id, class: "hint muted" }, bits.join(" · ")) : null;
}

function labelText(o) {
  return [o.label, o.required || o.depth === 0 ? null : h("span", { class: "muted" }, " (optional)")];
}

function scalarWrap(o, control, id) {
  const hintId = `${id}-hint`;
  const hint = describe(o.schema, hintId);
  if (hint) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field", dataset: { field: o.path } }, h("label", { for: id }, labelText(o)), hint, control);
}

function booleanField(o) {
  const id = uid("f");
  if (o.nullable) {
    return choiceSelect(o, [true, false], id);
  }
  const box = h("input", { type: "checkbox", id, checked: o.schema.default === true });
  const element = h(
    "div",
    { class: "field check", dataset: { field: o.path } },
    box,
    h("label", { for: id }, o.label),
    describe(o.schema, `${id}-hint`),
  );
  return { element, read: () => box.checked };
}

function numberField(o) {
  const id = uid("f");
  const s = o.schema;
  const input = h("input", {
    type: "number",
    id,
    inputmode: s.type === "integer" ? "numeric" : "decimal",
    step: s.type === "integer" ? String(s.multipleOf || 1) : String(s.multipleOf || "any"),
    min: s.minimum ?? s.exclusiveMinimum,
    max: s.maximum ?? s.exclusiveMaximum,
    value: typeof s.default === "number" ? String(s.default) : null,
  });
  const read = () => {
    if (input.value === "") return o.nullable ? null : undefined;
    return Number(input.value);
  };
  return { element: scalarWrap(o, input, id), read };
}

function stringField(o) {
  const id = uid("f");
  const s = o.schema;
  const long = TEXTAREA_FORMATS.has(s.format) || (s.maxLength !== undefined && s.maxLength > LONG_TEXT)
    || (typeof s.contentMediaType === "string" && s.contentMediaType.startsWith("text/"));
  const attrs = {
    id,
    minlength: s.minLength,
    maxlength: s.maxLength,
    placeholder: FORMAT_HINTS[s.format] || null,
    autocomplete: "off",
  };
  const input = long ? h("textarea", { ...attrs, rows: "4", class: "text" }) : h("input", { type: "text", ...attrs });
  if (typeof s.default === "string") input.value = s.default;
  const read = () => {
    if (input.value === "") {
      if (o.nullable) return null;
      return o.required || o.depth === 0 ? "" : undefined;
    }
    return input.value;
  };
  return { element: scalarWrap(o, input, id), read };
}

const FORMAT_HINTS = {
  "date-time": "2025-01-31T14:30:00Z",
  date: "2025-01-31",
  time: "14:30:00",
  email: "name@example.com",
  uri: "https://…",
  uuid: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
  duration: "PT1H30M",
};

function constField(o) {
  const element = h(
    "div",
    { class: "field", dataset: { field: o.path } },
    h("span", { class: "label" }, o.label),
    " ",
    h("code", {}, JSON.stringify(o.schema.const)),
  );
  return { element, read: () => o.schema.const };
}

function enumField(o, values) {
  const id = uid("f");
  if (values.length > RADIO_LIMIT || o.nullable) return choiceSelect(o, values, id);
  const name = uid("radio");
  const radios = values.map((value, i) => {
    const rid = `${id}-${i}`;
    const radio = h("input", { type: "radio", id: rid, name, value: String(i), checked: o.schema.default === value });
    return h("span", { class: "choice" }, radio, h("label", { for: rid }, display(value)));
  });
  const element = h(
    "fieldset",
    { class: "field radios", dataset: { field: o.path } },
    h("legend", {}, labelText(o)),
    describe(o.schema, `${id}-hint`),
    radios,
  );
  const read = () => {
    const checked = element.querySelector("input[type=radio]:checked");
    return checked ? values[Number(checked.value)] : undefined;
  };
  return { element, read };
}

function choiceSelect(o, values, id) {
  const blank = o.nullable ? "(none: null)" : "Choose…";
  const select = h(
    "select",
    { id },
    h("option", { value: "" }, blank),
    values.map((value, i) => h("option", { value: String(i), selected: o.schema.default === value }, display(value))),
  );
  const read = () => {
    if (select.value === "") return o.nullable ? null : undefined;
    return values[Number(select.value)];
  };
  return { element: scalarWrap(o, select, id), read };
}

function display(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function objectField(o) {
  const s = o.schema;
  const required = new Set(s.required || []);
  const children = Object.entries(s.properties).map(([name, sub]) => [
    name,
    field(sub, {
      defs: o.defs,
      label: (resolve(sub, o.defs) || {}).title || name,
      required: required.has(name),
      path: `${o.path}.${name}`,
      depth: o.depth + 1,
    }),
  ]);
  const body = h("div", { class: "fields" }, children.map(([, child]) => child.element));
  const legend = h("legend", {}, labelText(o));
  const element = h("fieldset", { class: "field object", dataset: { field: o.path } }, legend, describe(s, uid("d")), body);
  let include = null;
  if (o.nullable) {
    const id = uid("f");
    include = h("input", { type: "checkbox", id, checked: s.default !== null && s.default !== undefined });
    legend.replaceChildren(include, h("label", { for: id, class: "inline" }, o.label, h("span", { class: "muted" }, " (optional)")));
    const sync = () => { body.hidden = !include.checked; };
    include.addEventListener("change", sync);
    sync();
  }
  const read = () => {
    if (include && !include.checked) return null;
    const value = {};
    for (const [name, child] of children) {
      const v = child.read();
      if (v !== undefined) value[name] = v;
    }
    return value;
  };
  return { element, read };
}

function arrayField(o) {
  const s = o.schema;
  const list = h("ol", { class: "rows" });
  const rows = [];
  const addButton = h("button", { type: "button", class: "secondary" }, `Add to ${o.label}`);
  const renumber = () => rows.forEach((row, i) => {
    row.remove.setAttribute("aria-label", `Remove item ${i + 1} of ${o.label}`);
  });
  const add = (initial) => {
    const index = rows.length + 1;
    const child = field(s.items, {
      defs: o.defs,
      label: `${o.label} item ${index}`,
      required: true,
      path: `${o.path}[${index - 1}]`,
      depth: o.depth + 1,
    });
    const remove = h("button", { type: "button", class: "link" }, "Remove");
    const li = h("li", {}, child.element, remove);
    const row = { child, li, remove };
    remove.addEventListener("click", () => {
      rows.splice(rows.indexOf(row), 1);
      li.remove();
      renumber();
      addButton.focus();
    });
    rows.push(row);
    list.append(li);
    renumber();
    if (initial !== undefined) prefill(child, initial);
    return child;
  };
  addButton.addEventListener("click", () => {
    const child = add();
    const first = child.element.querySelector("input, select, textarea, button");
    if (first) first.focus();
  });
  for (const item of Array.isArray(s.default) ? s.default : []) add(item);
  const element = h(
    "fieldset",
    { class: "field array", dataset: { field: o.path } },
    h("legend", {}, labelText(o)),
    describe(s, uid("d")),
    list,
    addButton,
  );
  const read = () => {
    if (o.nullable && rows.length === 0) return null;
    if (!o.required && o.depth > 0 && rows.length === 0 && s.default === undefined) return undefined;
    return rows.map(({ child }) => {
      const v = child.read();
      return v === undefined ? null : v;
    });
  };
  return { element, read };
}

function prefill(child, value) {
  const control = child.element.querySelector("input:not([type=checkbox]):not([type=radio]), textarea");
  if (control && (typeof value === "string" || typeof value === "number")) control.value = String(value);
}

function jsonField(o) {
  const editor = jsonEditor({
    label: o.label,
    value: o.schema.default,
    hint: o.schema.description || "Any JSON value that matches the schema below.",
    rows: 5,
    name: o.path,
  });
  editor.element.dataset.field = o.path;
  if (o.depth === 0 || o.schema.unresolved || !o.schema.type) {
    editor.element.append(
      h("details", { class: "schema" }, h("summary", {}, "Schema"), h("pre", {}, JSON.stringify(o.schema, null, 2))),
    );
  }
  const read = () => {
    const parsed = editor.read();
    if (!parsed.ok) {
      editor.textarea.focus();
      throw new FieldError(`${o.label}: ${parsed.message}`);
    }
    if (parsed.value === undefined) return o.nullable ? null : undefined;
    return parsed.value;
  };
  return { element: editor.element, read };
}
