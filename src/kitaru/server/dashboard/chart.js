// A bar chart drawn as inline SVG (no library): one bar per point, the highest bar full height.
//
// The SVG is an image with a label (role="img" + aria-label); its page shows the same numbers
// in a table, which is what a screen reader reads.

const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

/**
 * Draw bars: `points` is a list of `{ label, short, value, text }` (`text`: the value as shown;
 * `short`, else `label`: the bucket, shown under every few bars). `label` names the chart for
 * assistive technology; `maxText` is written beside the top of the axis. Returns an <svg>
 * element that scales to the width of its box.
 */
export function barChart(points, { label, maxText = "", width = 960, height = 220 } = {}) {
  const left = 64;
  const bottom = 28;
  const top = 12;
  const plotW = width - left - 8;
  const plotH = height - top - bottom;
  const max = Math.max(0, ...points.map((p) => p.value || 0));
  const svg = el("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "bar-chart",
  });
  svg.append(
    el("line", { x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH, class: "axis" }),
    el("line", { x1: left, y1: top, x2: left, y2: top + plotH, class: "axis" }),
    el("text", { x: left - 6, y: top + 10, "text-anchor": "end", class: "tick" }, maxText),
    el("text", { x: left - 6, y: top + plotH, "text-anchor": "end", class: "tick" }, "0"),
  );
  if (!points.length) return svg;
  const step = plotW / points.length;
  const gap = Math.min(4, step * 0.2);
  const every = Math.max(1, Math.ceil(points.length / 8)); // at most 8 labels under the bars
  points.forEach((p, i) => {
    const barH = max > 0 ? (plotH * (p.value || 0)) / max : 0;
    const x = left + i * step + gap / 2;
    const bar = el("rect", {
      x: x.toFixed(2), y: (top + plotH - barH).toFixed(2), width: Math.max(1, step - gap).toFixed(2),
      height: barH.toFixed(2), class: p.value ? "bar" : "bar empty", "data-label": p.label,
    }, el("title", {}, `${p.label}: ${p.text}`));
    svg.append(bar);
    if (i % every === 0) {
      svg.append(el("text", { x: (x + step / 2).toFixed(2), y: height - 8, "text-anchor": "middle", class: "tick" }, p.short || p.label));
    }
  });
  return svg;
}
