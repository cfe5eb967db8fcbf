// A campaign's funnel as a bar chart (uPlot, vendored by `make charts`) and as numbers:
// audience → sent → delivered → read → replied, then failed, skipped and unknown.

import uPlot from "../vendor/uplot.esm.js";
import { h } from "./dom.js";

export const STAGES = ["audience", "sent", "delivered", "read", "replied"];
const APART = ["failed", "skipped", "unknown", "queued"];
const LABELS = { audience: "Audience", sent: "Sent", delivered: "Delivered", read: "Read", replied: "Replied", failed: "Failed", skipped: "Skipped", unknown: "Unknown fate", queued: "Queued in all" };

export class Funnel {
  constructor(chart, numbers) {
    this.chart = chart;
    this.numbers = numbers;
    this.plot = null;
  }

  show(counts) {
    const values = STAGES.map((stage) => Number(counts[stage] || 0));
    const data = [STAGES.map((_, i) => i), values];
    if (!this.plot) {
      // The page's text colour (light or dark theme) for the axes drawn on the canvas.
      const ink = getComputedStyle(this.chart).color || "#334155";
      const grid = { stroke: "rgba(148, 163, 184, 0.25)" };
      this.plot = new uPlot({
        width: Math.max(280, this.chart.clientWidth || 600), height: 200,
        legend: { show: false }, cursor: { show: false }, select: { show: false },
        scales: { x: { time: false, range: [-0.5, STAGES.length - 0.5] }, y: { range: (u, min, max) => [0, Math.max(1, max)] } },
        axes: [
          { stroke: ink, grid, ticks: grid, splits: () => STAGES.map((_, i) => i), values: (u, splits) => splits.map((i) => LABELS[STAGES[i]] || "") },
          { stroke: ink, grid, ticks: grid, size: 50 },
        ],
        series: [{}, { label: "Recipients", fill: "rgba(4, 120, 87, 0.75)", stroke: "#047857", paths: uPlot.paths.bars({ size: [0.6, 90] }), points: { show: false } }],
      }, data, this.chart);
    } else {
      this.plot.setData(data);
    }
    this.numbers.replaceChildren(...[...STAGES, ...APART].map((stage) => h("div", { class: "rounded bg-slate-50 px-2 py-1" },
      h("dt", { class: "text-xs text-slate-500", text: LABELS[stage] }),
      h("dd", { id: `funnel-${stage}`, class: "text-base font-semibold tabular-nums", text: String(counts[stage] || 0) }))));
  }
}

// "1,000 → 990 → 950 → 600 → 12" for the list.
export function funnelText(counts) {
  return STAGES.map((stage) => Number(counts[stage] || 0).toLocaleString()).join(" → ");
}
