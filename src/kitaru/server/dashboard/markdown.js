// A small, safe markdown renderer: it builds DOM nodes with text children and never parses
// HTML, so markdown cannot run a script or inject markup. Raw HTML in the text shows as text;
// links keep only http(s) and mailto addresses; images are never fetched (their alt text shows).
//
// Blocks: headings, paragraphs, fenced and indented code, block quotes, lists (nested by
// indentation), tables (GitHub style), rules. Inline: code, bold, italic, strikethrough, links.

import { h } from "./dom.js";

const SAFE_URL = /^(https?:|mailto:)/i;

/** Render markdown text as a <div class="markdown">. */
export function renderMarkdown(text) {
  const lines = String(text).replace(/\r\n?/g, "\n").split("\n");
  return h("div", { class: "markdown" }, blocks(lines));
}

function blocks(lines) {
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i += 1; continue; }
    const fence = /^\s*(```|~~~)\s*([\w+-]*)/.exec(line);
    if (fence) {
      const body = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence[1])) body.push(lines[i++]);
      i += 1;
      out.push(h("pre", {}, h("code", { dataset: fence[2] ? { lang: fence[2] } : null }, body.join("\n"))));
      continue;
    }
    const heading = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      out.push(h(`h${Math.min(6, heading[1].length + 2)}`, { class: "md-heading" }, inline(heading[2])));
      i += 1;
      continue;
    }
    if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) { out.push(h("hr")); i += 1; continue; }
    if (/^ {4,}|^\t/.test(line)) {
      const body = [];
      while (i < lines.length && (/^ {4,}|^\t/.test(lines[i]) || !lines[i].trim())) body.push(lines[i++].replace(/^( {4}|\t)/, ""));
      out.push(h("pre", {}, h("code", {}, body.join("\n").replace(/\n+$/, ""))));
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ""));
      out.push(h("blockquote", {}, blocks(body)));
      continue;
    }
    if (isTableStart(lines, i)) {
      const [table, next] = parseTable(lines, i);
      out.push(table);
      i = next;
      continue;
    }
    if (listItem(line)) {
      const [list, next] = parseList(lines, i);
      out.push(list);
      i = next;
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !startsBlock(lines, i)) para.push(lines[i++].trim());
    if (!para.length) para.push(lines[i++].trim());
    out.push(h("p", {}, inline(para.join(" "))));
  }
  return out;
}

function startsBlock(lines, i) {
  const line = lines[i];
  return /^\s*(```|~~~|#{1,6}\s|>)/.test(line) || listItem(line) || isTableStart(lines, i);
}

function listItem(line) {
  const m = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/.exec(line);
  return m ? { indent: m[1].length, ordered: /\d/.test(m[2]), text: m[3] } : null;
}

function parseList(lines, start) {
  const first = listItem(lines[start]);
  const items = [];
  let i = start;
  while (i < lines.length) {
    const item = listItem(lines[i]);
    if (!item || item.indent < first.indent || item.ordered !== first.ordered && item.indent === first.indent) break;
    if (item.indent > first.indent) {
      const [nested, next] = parseList(lines, i);
      if (items.length) items[items.length - 1].push(nested);
      else items.push([nested]);
      i = next;
      continue;
    }
    const content = [inline(item.text)];
    i += 1;
    while (i < lines.length && lines[i].trim() && !listItem(lines[i]) && /^\s+/.test(lines[i])) content.push(" ", inline(lines[i++].trim()));
    items.push(content);
    if (i < lines.length && !lines[i].trim() && listItem(lines[i + 1] || "")) i += 1;
  }
  return [h(first.ordered ? "ol" : "ul", {}, items.map((content) => h("li", {}, content))), i];
}

function cells(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((cell) => cell.trim());
}

function isTableStart(lines, i) {
  return i + 1 < lines.length && lines[i].includes("|") && /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/.test(lines[i + 1]);
}

function parseTable(lines, start) {
  const head = cells(lines[start]);
  const rows = [];
  let i = start + 2;
  while (i < lines.length && lines[i].includes("|") && lines[i].trim()) rows.push(cells(lines[i++]));
  const table = h("table", { class: "grid md-table" },
    h("thead", {}, h("tr", {}, head.map((cell) => h("th", { scope: "col" }, inline(cell))))),
    h("tbody", {}, rows.map((row) => h("tr", {}, head.map((_, n) => h("td", {}, inline(row[n] || "")))))),
  );
  return [table, i];
}

// Inline spans, earliest match first: code, images, links, bold, strikethrough, italic.
const INLINE = [
  [/`([^`]+)`/, (m) => h("code", {}, m[1])],
  [/!\[([^\]]*)\]\(([^)\s]*)[^)]*\)/, (m) => h("span", { class: "md-image", title: "Images in markdown are not loaded" }, `[image: ${m[1] || m[2]}]`)],
  [/\[([^\]]+)\]\(([^)\s]*)[^)]*\)/, (m) => SAFE_URL.test(m[2])
    ? h("a", { href: m[2], rel: "noopener noreferrer nofollow", target: "_blank" }, inline(m[1]))
    : h("span", {}, inline(m[1]))],
  [/\*\*([^*]+)\*\*|__([^_]+)__/, (m) => h("strong", {}, inline(m[1] || m[2]))],
  [/~~([^~]+)~~/, (m) => h("del", {}, inline(m[1]))],
  [/\*([^*\s][^*]*)\*|\b_([^_\s][^_]*)_\b/, (m) => h("em", {}, inline(m[1] || m[2]))],
];

function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    let best = null;
    for (const [pattern, build] of INLINE) {
      const m = pattern.exec(rest);
      if (m && (!best || m.index < best.m.index)) best = { m, build };
    }
    if (!best) { out.push(rest); break; }
    if (best.m.index) out.push(rest.slice(0, best.m.index));
    out.push(best.build(best.m));
    rest = rest.slice(best.m.index + best.m[0].length);
  }
  return out;
}
