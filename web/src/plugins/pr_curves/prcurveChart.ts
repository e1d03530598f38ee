// A chart of PR curves (precision against recall, drawn by uPlot), shared by
// the per-run cards (a step and the previous one, faint) and the per-tag
// cards (a curve per run, in the run's colour). It marks the thresholds with
// one coordinate known at the edge, dots the points of a sparse curve, and
// under the cursor finds the nearest threshold of the lines that are not
// faint; what the tooltip then says is the card's.

import uPlot from "uplot";
import { onThemeChange, themeColors } from "../../colors";
import { el } from "../../runs";
import { PRECISION, RECALL, type Curve, type Layout } from "./prcurveData";

export const HEIGHT = 300;
const TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];
// A little room around 0..1 so a line along an edge is not cut in half.
const RANGE: [number, number] = [-0.02, 1.02];
const MAX_DOTS = 32;

/** One curve on the chart. */
export interface ChartLine {
  curve: Curve;
  found: Layout;
  color: string;
  /** Drawn thin, behind the others, and never pointed at (the previous step). */
  faint: boolean;
  /** Who the line is (a run, or "step"/"previous step"), for the series' label. */
  label: string;
}

/** The threshold under the cursor: of which line, which threshold, and where it is (CSS pixels in the plot). */
export interface Hit {
  line: ChartLine;
  index: number;
  at: [number, number];
}

/** What a card does when its chart is drawn or pointed at. */
export interface ChartEvents {
  /** The tooltip's content for this threshold (the cursor at ``cursor``, CSS pixels in the plot). */
  describe(hit: Hit, cursor: [number, number]): HTMLElement[];
  drawn(): void;
}

export class PrChart {
  readonly tooltip: HTMLElement;
  private marker: HTMLElement;
  private u: uPlot | null = null;
  private lines: ChartLine[] = [];
  /** The series the uPlot was made with (labels and colours): others need a new one. */
  private made = "";
  private stopTheme: () => void;

  constructor(
    private plot: HTMLElement,
    private events: ChartEvents,
  ) {
    this.plot.style.height = `${HEIGHT}px`;
    this.tooltip = el("div", "tooltip prcurves-tooltip");
    this.tooltip.hidden = true;
    this.marker = el("div", "prcurves-marker");
    this.marker.hidden = true;
    this.plot.append(this.tooltip, this.marker);
    new ResizeObserver(() => this.resize()).observe(this.plot);
    // The axes take the theme's colours at each draw (see options()).
    this.stopTheme = onThemeChange(() => this.u?.redraw(false));
  }

  /** Stops following the theme and frees the plot (when the card is dropped). */
  destroy(): void {
    this.stopTheme();
    this.u?.destroy();
    this.u = null;
  }

  /** Draws these lines (faint ones first, so that they lie behind). */
  draw(lines: ChartLine[]): void {
    this.lines = [...lines.filter((l) => l.faint), ...lines.filter((l) => !l.faint)];
    this.marker.hidden = true;
    this.tooltip.hidden = true;
    const data = [null, ...this.lines.map((l) => [l.found.x, l.found.y])] as unknown as uPlot.AlignedData;
    const made = JSON.stringify(this.lines.map((l) => [l.label, l.color, l.faint]));
    if (this.u && made === this.made) {
      this.u.setData(data);
      return;
    }
    this.u?.destroy();
    this.made = made;
    this.u = new uPlot(this.options(), data, (u, init) => {
      this.plot.prepend(u.root);
      init();
    });
  }

  private options(): uPlot.Options {
    const facets = [
      { scale: "x", auto: false },
      { scale: "y", auto: false },
    ];
    const axis = (label: string): uPlot.Axis => ({
      label,
      stroke: () => themeColors().axis,
      grid: { stroke: () => themeColors().grid },
      ticks: { stroke: () => themeColors().ticks },
      splits: () => TICKS,
      values: (_u, splits) => splits.map((v) => String(v)),
      size: 40,
      labelSize: 20,
    });
    const series = this.lines.map((line) => ({
      label: line.label,
      stroke: line.color,
      width: line.faint ? 1.5 : 2,
      facets,
      points: { show: false },
    }));
    return {
      mode: 2,
      width: Math.max(200, this.plot.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { drag: { x: false, y: false, setScale: false }, points: { show: false } },
      scales: {
        x: { time: false, auto: false, range: () => RANGE },
        y: { auto: false, range: () => RANGE },
      },
      axes: [axis("Recall"), axis("Precision")],
      series: [{}, ...series] as uPlot.Series[],
      hooks: {
        setCursor: [(u) => this.hover(u)],
        draw: [(u) => this.afterDraw(u)],
      },
    } as uPlot.Options;
  }

  /** Marks the thresholds with one coordinate known at its edge, and dots the points of a sparse curve. */
  private afterDraw(u: uPlot): void {
    const ctx = u.ctx;
    const size = 5 * devicePixelRatio;
    ctx.save();
    ctx.lineWidth = 1.5 * devicePixelRatio;
    for (const line of this.lines) {
      if (line.faint) continue;
      ctx.fillStyle = line.color;
      ctx.strokeStyle = line.color;
      for (const { index, side } of line.found.edge) {
        const [x, y] = this.edgePosition(u, line.curve, index, side, true);
        // Hollow, pointing in from the edge: a value that is not known, unlike a point of the line.
        const reach = 1.6 * size;
        ctx.beginPath();
        if (side === "top") {
          ctx.moveTo(x - size, y);
          ctx.lineTo(x + size, y);
          ctx.lineTo(x, y + reach);
        } else {
          ctx.moveTo(x, y - size);
          ctx.lineTo(x, y + size);
          ctx.lineTo(x + reach, y);
        }
        ctx.closePath();
        ctx.stroke();
      }
      // A curve of few points shows them (a lone point, or one where all coincide, has no line).
      const { x, y } = line.found;
      const alone = x.every((v, k) => v === x[0] && y[k] === y[0]);
      if (x.length <= MAX_DOTS || alone) {
        for (let k = 0; k < x.length; k++) {
          ctx.beginPath();
          ctx.arc(u.valToPos(x[k], "x", true), u.valToPos(y[k], "y", true), 3 * devicePixelRatio, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    }
    ctx.restore();
    this.events.drawn();
  }

  /** Where a threshold marked at an edge sits: its edge point in canvas pixels, or its mark's middle in CSS pixels. */
  private edgePosition(u: uPlot, curve: Curve, index: number, side: "top" | "left", canvas: boolean): [number, number] {
    const inward = canvas ? 0 : 4;
    if (side === "top") {
      return [u.valToPos(curve.rows[RECALL][index], "x", canvas), (canvas ? u.bbox.top : 0) + inward];
    }
    return [(canvas ? u.bbox.left : 0) + inward, u.valToPos(curve.rows[PRECISION][index], "y", canvas)];
  }

  /** The threshold nearest the cursor (in pixels), of those drawn or marked at an edge on the lines not faint. */
  nearest(left: number, top: number, only?: ChartLine): Hit | null {
    const u = this.u;
    if (!u) return null;
    let best: Hit | null = null;
    let bestDistance = Infinity;
    for (const line of only ? [only] : this.lines) {
      if (line.faint) continue;
      const consider = (index: number, at: [number, number]): void => {
        const distance = (at[0] - left) ** 2 + (at[1] - top) ** 2;
        if (distance < bestDistance) {
          bestDistance = distance;
          best = { line, index, at };
        }
      };
      const { x, y, drawn, edge } = line.found;
      for (let k = 0; k < drawn.length; k++) consider(drawn[k], [u.valToPos(x[k], "x"), u.valToPos(y[k], "y")]);
      for (const { index, side } of edge) consider(index, this.edgePosition(u, line.curve, index, side, false));
    }
    return best;
  }

  private hover(u: uPlot): void {
    const left = u.cursor.left ?? -1;
    const top = u.cursor.top ?? -1;
    const hit = left >= 0 ? this.nearest(left, top) : null;
    if (!hit) {
      this.tooltip.hidden = true;
      this.marker.hidden = true;
      return;
    }
    this.tooltip.replaceChildren(...this.events.describe(hit, [left, top]));
    this.tooltip.dataset.index = String(hit.index);
    this.tooltip.hidden = false;
    this.place(u, hit, left, top);
  }

  private place(u: uPlot, hit: Hit, left: number, top: number): void {
    const plotLeft = u.over.offsetLeft;
    const plotTop = u.over.offsetTop;
    this.marker.style.left = `${plotLeft + hit.at[0]}px`;
    this.marker.style.top = `${plotTop + hit.at[1]}px`;
    this.marker.style.borderColor = hit.line.color;
    this.marker.hidden = false;
    const width = this.tooltip.offsetWidth;
    let x = plotLeft + left + 16;
    if (x + width > this.plot.clientWidth) x = Math.max(0, plotLeft + left - width - 16);
    this.tooltip.style.left = `${x}px`;
    this.tooltip.style.top = `${Math.max(0, plotTop + top + 16)}px`;
  }

  private resize(): void {
    if (!this.u) return;
    const width = Math.max(200, this.plot.clientWidth);
    if (width !== this.u.width) this.u.setSize({ width, height: HEIGHT });
  }
}

/** A tooltip table: these column titles, and a row per entry (a swatch of its colour first). */
export function tooltipTable(
  titles: string[],
  rows: { color: string; kind: string; run?: string; cells: string[] }[],
): HTMLElement {
  const table = document.createElement("table");
  const head = table.createTHead().insertRow();
  for (const title of ["", ...titles]) {
    const th = document.createElement("th");
    th.textContent = title;
    head.append(th);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    tr.dataset.kind = row.kind;
    if (row.run !== undefined) tr.dataset.run = row.run;
    const swatch = el("span", "swatch");
    swatch.style.background = row.color;
    tr.insertCell().append(swatch);
    for (const text of row.cells) tr.insertCell().textContent = text; // text, never HTML
  }
  return table;
}
