// A scalar chart's tooltip: at the cursor's x, each line's nearest point
// (smoothed and raw value, step, time, relative time) as a table, sorted by
// value or by name, placed beside the cursor inside the plot.

import type uPlot from "uplot";
import { groupRow, isGroupEdge } from "./chartGroups";
import { nearest, type Plotted } from "./chartSeries";
import { formatDuration, formatStep, formatValue, formatWall } from "./format";
import { el } from "./runs";
import type { TooltipSort } from "./state";

/** More rows than this make the tooltip taller than the chart; the rest are counted. */
const ROW_LIMIT = 25;

/** NaN sorts as the greatest value: a line gone NaN heads the tooltip sorted by value. */
function order(v: number): number {
  return Number.isNaN(v) ? Infinity : v;
}

/** The table of each line's point nearest to ``x`` (in axis units). */
export function tooltipTable(plotted: Plotted[], x: number, sort: TooltipSort): HTMLTableElement {
  // A run group is one row (its mean, with its band), not three.
  const rows = plotted
    .filter((p) => !isGroupEdge(p))
    .map((p) => ({ p, i: nearest(p.x, x) }))
    .filter(({ i }) => i >= 0);
  if (sort === "value") {
    rows.sort((a, b) => order(b.p.smoothed[b.i]) - order(a.p.smoothed[a.i]));
  } else {
    rows.sort((a, b) => (a.p.label < b.p.label ? -1 : a.p.label > b.p.label ? 1 : 0));
  }
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const label of ["", "Run", "Smoothed", "Value", "Step", "Time", "Relative"]) {
    const th = document.createElement("th");
    th.textContent = label;
    head.append(th);
  }
  const body = table.createTBody();
  for (const { p, i } of rows.slice(0, ROW_LIMIT)) {
    const tr = body.insertRow();
    const swatch = el("span", "swatch");
    swatch.style.background = p.color;
    tr.insertCell().append(swatch);
    const group = p.group ? groupRow(p, i, plotted) : null;
    if (group) tr.className = "group-row";
    const cells = [
      group ? group.name : p.role ? `${p.label} (${p.role})` : p.label,
      formatValue(p.smoothed[i]),
      group ? group.value : formatValue(p.raw[i]),
      formatStep(p.step[i]),
      formatWall(p.wall[i]),
      formatDuration(p.wall[i] - p.wall[0]),
    ];
    for (const text of cells) tr.insertCell().textContent = text; // text, never HTML
  }
  if (rows.length > ROW_LIMIT) {
    const td = body.insertRow().insertCell();
    td.colSpan = 7;
    td.textContent = `and ${rows.length - ROW_LIMIT} more runs`;
  }
  return table;
}

/** Puts the shown tooltip right of the cursor (``left``, ``top`` in the plot area), or left if no room. */
export function placeTooltip(tooltip: HTMLElement, u: uPlot, room: number, left: number, top: number): void {
  const plotLeft = u.over.offsetLeft;
  const width = tooltip.offsetWidth;
  let at = plotLeft + left + 16;
  if (at + width > room) at = Math.max(0, plotLeft + left - width - 16);
  tooltip.style.left = `${at}px`;
  tooltip.style.top = `${Math.max(0, u.over.offsetTop + top - 10)}px`;
}
