// Small inline SVG charts built with DOM APIs (no library, nothing parsed from markup):
// grouped bars for a day by the hour, and a sparkline for a number sampled over minutes.
// Each carries a text summary for screen readers; colours come from CSS classes.
import { svg } from "./dom.js";

/** Grouped bars: `series` [{name, className, values}], one group per label. */
export function barChart({ labels, series, title, height = 160, width = 960 }) {
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const top = 20, bottom = 20, plot = height - top - bottom;
  const group = width / labels.length;
  const bar = Math.max(1, (group - 2) / series.length);
  const bars = [];
  labels.forEach((label, i) => {
    series.forEach((s, j) => {
      const value = s.values[i] ?? 0;
      const barHeight = (value / max) * plot;
      bars.push(svg("rect", {
        class: `bar ${s.className}`, x: (i * group + 1 + j * bar).toFixed(1), y: (top + plot - barHeight).toFixed(1),
        width: Math.max(0.5, bar - 0.5).toFixed(1), height: barHeight.toFixed(1),
      }, svg("title", {}, `${label}: ${value} ${s.name}`)));
    });
    if (i % 6 === 0) bars.push(svg("text", { class: "axis", x: (i * group + 1).toFixed(1), y: height - 4 }, label));
  });
  const total = series.map((s) => `${s.values.reduce((a, b) => a + b, 0)} ${s.name}`).join(", ");
  return svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}: ${total}; at most ${max} in an hour` },
    svg("line", { class: "baseline", x1: 0, x2: width, y1: top + plot, y2: top + plot }),
    svg("text", { class: "axis", x: 0, y: 13 }, `max ${max} an hour`),
    bars);
}

/** A line over the samples (oldest first), with the last value marked. */
export function sparkline(values, { title, width = 240, height = 40 } = {}) {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const y = (v) => (height - 3 - (v / max) * (height - 6)).toFixed(1);
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${y(v)}`).join(" ");
  const last = values[values.length - 1] ?? 0;
  return svg("svg", { class: "chart sparkline", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `${title}: now ${last}, at most ${max} over ${values.length} samples` },
    svg("polyline", { class: "line", points }),
    values.length ? svg("circle", { class: "dot-now", cx: ((values.length - 1) * step).toFixed(1), cy: y(last), r: 2.5 }) : null);
}
