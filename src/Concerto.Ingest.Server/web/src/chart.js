// Loss curves as a plain SVG line chart: one line per loss column of the metrics (every value whose name is a loss).
import { h } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";
const COLOURS = ["#2f6fd6", "#c23b32", "#1f8f4e", "#b7791f", "#7b3fd1", "#0f8b8d"];
const LOSSES = ["loss", "mask", "roll", "unmask", "cross_modal"];

function svg(tag, attrs) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export function lossChart(metrics) {
  if (metrics.length === 0) return h("p", { class: "muted" }, "No steps recorded yet.");
  const names = LOSSES.filter((n) => metrics.some((m) => n in m.values));
  const [w, h0, pad] = [900, 280, 40];
  const steps = metrics.map((m) => m.step);
  const values = names.flatMap((n) => metrics.map((m) => m.values[n]).filter(Number.isFinite));
  const [x0, x1] = [Math.min(...steps), Math.max(...steps, Math.min(...steps) + 1)];
  const [y0, y1] = [Math.min(0, ...values), Math.max(...values, 1e-6)];
  const x = (s) => pad + ((s - x0) / (x1 - x0)) * (w - 2 * pad);
  const y = (v) => h0 - pad + -((v - y0) / (y1 - y0)) * (h0 - 2 * pad);
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${w} ${h0}`, id: "loss-chart" });
  chart.append(svg("line", { x1: pad, y1: h0 - pad, x2: w - pad, y2: h0 - pad, stroke: "#999" }), svg("line", { x1: pad, y1: pad, x2: pad, y2: h0 - pad, stroke: "#999" }));
  for (const [text, tx, ty] of [[`step ${x0}`, pad, h0 - pad + 16], [`step ${x1}`, w - pad - 50, h0 - pad + 16], [y1.toFixed(2), 2, pad + 4], [y0.toFixed(2), 2, h0 - pad]]) {
    const t = svg("text", { x: tx, y: ty }); t.textContent = text; chart.append(t);
  }
  names.forEach((n, i) => {
    const points = metrics.filter((m) => Number.isFinite(m.values[n])).map((m) => `${x(m.step).toFixed(1)},${y(m.values[n]).toFixed(1)}`);
    chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: COLOURS[i % COLOURS.length], "stroke-width": 1.5, "data-loss": n }));
    const label = svg("text", { x: w - pad - 90, y: pad + 14 * i, fill: COLOURS[i % COLOURS.length] });
    label.textContent = `${n} ${metrics.at(-1).values[n]?.toFixed(3) ?? ""}`;
    label.style.fill = COLOURS[i % COLOURS.length];
    chart.append(label);
  });
  return chart;
}
