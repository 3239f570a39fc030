// Hand-written SVG charts: lines over days, bars per plugin, a 24-hour status strip.
// Every chart has a title and a text description, and its numbers are also in a table.

const SVG = "http://www.w3.org/2000/svg";
export const COLORS = ["#0b5cad", "#b35900", "#116329", "#8250df", "#a40e26", "#1b7c83", "#6e5400"];

function el(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  for (const child of children) node.append(typeof child === "string" ? document.createTextNode(child) : child);
  return node;
}

function frame(title, description, width, height) {
  const id = `chart-${Math.random().toString(36).slice(2)}`;
  return el("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-labelledby": `${id}-t ${id}-d`, width, height },
    el("title", { id: `${id}-t` }, title), el("desc", { id: `${id}-d` }, description));
}

// series: [{name, points: [{x: label, y: number}]}] over the same x labels
export function lineChart(title, description, labels, series, unit = "") {
  const width = 640, height = 260, left = 48, bottom = 40, top = 12, right = 12;
  const svg = frame(title, description, width, height);
  const max = Math.max(1, ...series.flatMap((s) => s.points.map((p) => p.y ?? 0)));
  const x = (i) => left + (labels.length > 1 ? (i * (width - left - right)) / (labels.length - 1) : (width - left - right) / 2);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  for (const tick of [0, 0.5, 1]) {
    svg.append(el("line", { x1: left, x2: width - right, y1: y(max * tick), y2: y(max * tick), stroke: "#d0d7de" }),
      el("text", { x: left - 6, y: y(max * tick) + 4, "text-anchor": "end", "font-size": 11, fill: "#4a5560" },
        `${Math.round(max * tick * 100) / 100}${unit}`));
  }
  labels.forEach((label, i) => {
    if (labels.length > 10 && i % Math.ceil(labels.length / 8)) return;
    svg.append(el("text", { x: x(i), y: height - bottom + 16, "text-anchor": "middle", "font-size": 11, fill: "#4a5560" }, label));
  });
  series.forEach((s, index) => {
    const color = COLORS[index % COLORS.length];
    const points = s.points.map((p, i) => (p.y === null || p.y === undefined ? null : `${x(i)},${y(p.y)}`)).filter(Boolean);
    if (points.length > 1) svg.append(el("polyline", { points: points.join(" "), fill: "none", stroke: color, "stroke-width": 2 }));
    s.points.forEach((p, i) => {
      if (p.y !== null && p.y !== undefined) svg.append(el("circle", { cx: x(i), cy: y(p.y), r: 3, fill: color }));
    });
  });
  return svg;
}

// bars: [{label, values: [{name, value}]}]: grouped bars
export function barChart(title, description, groups, names, unit = "") {
  const width = 640, height = 260, left = 48, bottom = 40, top = 12;
  const svg = frame(title, description, width, height);
  const max = Math.max(1, ...groups.flatMap((g) => g.values.map((v) => v.value ?? 0)));
  const slot = (width - left) / Math.max(1, groups.length);
  const bar = Math.max(4, (slot * 0.7) / Math.max(1, names.length));
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  svg.append(el("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end", "font-size": 11, fill: "#4a5560" }, `${Math.round(max * 100) / 100}${unit}`));
  svg.append(el("line", { x1: left, x2: width, y1: y(0), y2: y(0), stroke: "#57606a" }));
  groups.forEach((group, g) => {
    const start = left + g * slot + slot * 0.15;
    group.values.forEach((v, i) => {
      if (v.value === null || v.value === undefined) return;
      svg.append(el("rect", { x: start + i * bar, y: y(v.value), width: bar - 2, height: Math.max(0, y(0) - y(v.value)),
        fill: COLORS[i % COLORS.length] }, el("title", {}, `${group.label} ${v.name}: ${v.value}${unit}`)));
    });
    svg.append(el("text", { x: start + (bar * group.values.length) / 2, y: height - bottom + 16, "text-anchor": "middle",
      "font-size": 11, fill: "#4a5560" }, group.label));
  });
  return svg;
}

const STATE_COLORS = { ok: "#2da44e", degraded: "#bf8700", down: "#cf222e", idle: "#d0d7de" };

// rows: [{label, hours: [{hour, state}]}]
export function statusStrip(title, description, rows) {
  const width = 640, rowHeight = 26, left = 120, top = 6;
  const height = top + rows.length * rowHeight + 24;
  const svg = frame(title, description, width, height);
  const cell = (width - left - 8) / 24;
  rows.forEach((row, r) => {
    const y = top + r * rowHeight;
    svg.append(el("text", { x: left - 8, y: y + 16, "text-anchor": "end", "font-size": 12, fill: "#1b1f23" }, row.label));
    row.hours.forEach((hour, i) => {
      svg.append(el("rect", { x: left + i * cell, y, width: cell - 2, height: rowHeight - 6, fill: STATE_COLORS[hour.state] || "#d0d7de" },
        el("title", {}, `${row.label} ${new Date(hour.hour).toLocaleString()}: ${hour.state}`)));
    });
  });
  svg.append(el("text", { x: left, y: height - 6, "font-size": 11, fill: "#4a5560" }, "24 hours ago"),
    el("text", { x: width - 8, y: height - 6, "text-anchor": "end", "font-size": 11, fill: "#4a5560" }, "now"));
  return svg;
}

export { STATE_COLORS };
