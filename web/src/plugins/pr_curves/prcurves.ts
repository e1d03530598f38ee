// The PR curves view: a card per run and tag with precision against recall at
// one step (a slider over every step), the previous step faint behind it, and
// under the cursor the nearest threshold with its counts.
//
// A pr_curves tensor is [6, N]: rows TP, FP, TN, FN, precision, recall at
// thresholds i / (N - 1). Points whose precision or recall is not finite are
// left out of the line (marked at the edge when one of the two is known); the
// thresholds above every prediction (TP + FP = 0, so precision is undefined)
// are left out as TensorBoard does. The card says how many were not drawn.

import uPlot from "uplot";
import { ApiError, tensorPoints, type TensorPoint } from "../../api";
import { messageLine, runLabel, StepSlider, LazyCard, TagCardsView, type View } from "../../cards";
import { faint, runColor } from "../../colors";
import { formatStep, formatValue } from "../../format";
import { cardHead, el } from "../../runs";
import type { Store } from "../../state";
import "./prcurves.css";

const HEIGHT = 300;
const TICKS = [0, 0.2, 0.4, 0.6, 0.8, 1];
// A little room around 0..1 so a line along an edge is not cut in half.
const RANGE: [number, number] = [-0.02, 1.02];
const MAX_DOTS = 32;
const [TP, FP, TN, FN, PRECISION, RECALL] = [0, 1, 2, 3, 4, 5];


/** One step's curve: the six rows, each of one value per threshold. */
interface Curve {
  step: number;
  rows: Float64Array[];
  thresholds: number;
}

/** Where the thresholds of a curve go on the chart. */
interface Layout {
  /** The drawn points by increasing recall (decreasing threshold), and their threshold indices. */
  x: number[];
  y: number[];
  drawn: number[];
  /** Thresholds with precision or recall not finite; those with exactly one known are marked at an edge. */
  nonFinite: number;
  edge: { index: number; side: "top" | "left" }[];
  /** Thresholds at the tail with no prediction at or above them. */
  unpredicted: number;
}

/** The [6, N] curves of a tag by step (the last logged at a step wins), or why there are none. */
function parseCurves(points: TensorPoint[]): Curve[] | string {
  const byStep = new Map<number, Curve>();
  for (const point of points) {
    const [rows, thresholds] = point.shape;
    if (point.truncated || point.shape.length !== 2 || rows !== 6 || thresholds < 1) {
      const shape = point.shape.join(", ");
      return `This is not PR curve data: step ${point.step} holds a tensor of shape [${shape}], not [6, N].`;
    }
    const values = point.values as unknown[][];
    byStep.set(point.step, {
      step: point.step,
      rows: values.map((row) => Float64Array.from(row, (v) => Number(v))),
      thresholds,
    });
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

function layout(curve: Curve): Layout {
  const precision = curve.rows[PRECISION];
  const recall = curve.rows[RECALL];
  const found: Layout = { x: [], y: [], drawn: [], nonFinite: 0, edge: [], unpredicted: 0 };
  // TensorBoard trims the tail where nothing is predicted positive: precision there is 0/0.
  let end = curve.thresholds;
  while (end > 1 && curve.rows[TP][end - 1] + curve.rows[FP][end - 1] === 0) end--;
  for (let i = curve.thresholds - 1; i >= 0; i--) {
    const p = precision[i];
    const r = recall[i];
    const finiteP = Number.isFinite(p);
    const finiteR = Number.isFinite(r);
    if (!finiteP || !finiteR) {
      found.nonFinite++;
      if (finiteP !== finiteR) found.edge.push({ index: i, side: finiteR ? "top" : "left" });
    } else if (i >= end) {
      found.unpredicted++;
    } else {
      found.x.push(r);
      found.y.push(p);
      found.drawn.push(i);
    }
  }
  return found;
}

function thresholdOf(curve: Curve, index: number): number {
  return curve.thresholds === 1 ? 0 : index / (curve.thresholds - 1);
}

function formatCount(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString("en-US") : formatValue(v);
}

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/** What the card says about thresholds of NaN or infinite precision or recall ("" if none). */
function nonFiniteNote(found: Layout): string {
  if (!found.nonFinite) return "";
  const marked = found.edge.length ? " (marked at the edge where the other one is known)" : "";
  const count = plural(found.nonFinite, "threshold", "thresholds");
  return `Not drawn: ${count} whose precision or recall is NaN or infinite${marked}.`;
}

/** The slider's detail: how many thresholds, and how many lie above every prediction. */
function thresholdsDetail(curve: Curve, found: Layout): string {
  const detail = plural(curve.thresholds, "threshold", "thresholds");
  return found.unpredicted ? `${detail} (${found.unpredicted} above every prediction, not drawn)` : detail;
}

class PrCurveCard extends LazyCard {
  readonly card: HTMLElement;
  private plot: HTMLElement;
  private tooltip: HTMLElement;
  private marker: HTMLElement;
  private note: HTMLElement;
  protected readonly message = messageLine();
  private slider: StepSlider;
  private u: uPlot | null = null;
  private curves: Curve[] = [];
  private current: { curve: Curve; found: Layout } | null = null;
  private previous: Curve | null = null;
  private color: string;

  constructor(
    readonly run: string,
    readonly tag: string,
    private showPrevious: () => boolean,
  ) {
    super();
    this.color = runColor(run);
    this.card = el("div", "card prcurves-card");
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    head.append(runLabel(run));
    this.plot = el("div", "plot prcurves-plot");
    this.plot.style.height = `${HEIGHT}px`;
    this.tooltip = el("div", "tooltip prcurves-tooltip");
    this.tooltip.hidden = true;
    this.marker = el("div", "prcurves-marker");
    this.marker.hidden = true;
    this.plot.append(this.tooltip, this.marker);
    this.note = el("div", "prcurves-note");
    this.note.hidden = true;
    this.slider = new StepSlider(`${tag} in ${run}`, () => this.show());
    this.card.append(head, this.plot, this.note, this.message.root, this.slider.root);
    new ResizeObserver(() => this.resize()).observe(this.plot);
  }

  /** The previous-step option changed: draw again. */
  restyle(): void {
    if (this.current) this.show();
  }

  protected async load(stale: () => boolean): Promise<void> {
    const points = await tensorPoints(this.run, this.tag);
    if (stale()) return;
    const curves = parseCurves(points);
    if (typeof curves === "string") throw new ApiError(0, curves);
    this.curves = curves;
    this.slider.setSteps(curves.map((c) => c.step));
    this.show();
  }

  private show(): void {
    const position = this.slider.position;
    const curve = this.curves[position];
    if (!curve) {
      this.message.show("No PR curve logged yet.");
      this.card.dataset.state = "empty";
      return;
    }
    this.message.show("");
    const found = layout(curve);
    this.current = { curve, found };
    this.previous = this.showPrevious() ? (this.curves[position - 1] ?? null) : null;
    const before = this.previous ? layout(this.previous) : { x: [], y: [] };
    const text = nonFiniteNote(found);
    this.note.textContent = text; // text, never HTML
    this.note.hidden = text === "";
    this.slider.describe(thresholdsDetail(curve, found));
    this.marker.hidden = true;
    this.tooltip.hidden = true;
    const data = [null, [before.x, before.y], [found.x, found.y]] as unknown as uPlot.AlignedData;
    if (!this.u) {
      this.u = new uPlot(this.options(), data, (u, init) => {
        this.plot.prepend(u.root);
        init();
      });
    } else {
      this.u.setData(data);
    }
  }

  private options(): uPlot.Options {
    const facets = [
      { scale: "x", auto: false },
      { scale: "y", auto: false },
    ];
    const axis = (label: string): uPlot.Axis => ({
      label,
      stroke: "#555",
      grid: { stroke: "#eee" },
      ticks: { stroke: "#ddd" },
      splits: () => TICKS,
      values: (_u, splits) => splits.map((v) => String(v)),
      size: 40,
      labelSize: 20,
    });
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
      series: [
        {},
        { label: "previous step", stroke: faint(this.color, 0.3), width: 1.5, facets, points: { show: false } },
        { label: "step", stroke: this.color, width: 2, facets, points: { show: false } },
      ] as uPlot.Series[],
      hooks: {
        setCursor: [(u) => this.hover(u)],
        draw: [(u) => this.afterDraw(u)],
      },
    } as uPlot.Options;
  }

  /** Marks the thresholds with one coordinate known at its edge, and dots the points of a sparse curve. */
  private afterDraw(u: uPlot): void {
    const shown = this.current;
    if (!shown) return;
    const ctx = u.ctx;
    const size = 5 * devicePixelRatio;
    ctx.save();
    ctx.fillStyle = this.color;
    ctx.strokeStyle = this.color;
    ctx.lineWidth = 1.5 * devicePixelRatio;
    for (const { index, side } of shown.found.edge) {
      const [x, y] = this.edgePosition(u, shown.curve, index, side, true);
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
    const { x, y } = shown.found;
    const alone = x.every((v, k) => v === x[0] && y[k] === y[0]);
    if (x.length <= MAX_DOTS || alone) {
      for (let k = 0; k < x.length; k++) {
        ctx.beginPath();
        ctx.arc(u.valToPos(x[k], "x", true), u.valToPos(y[k], "y", true), 3 * devicePixelRatio, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    ctx.restore();
    this.card.dataset.state = "drawn";
    this.card.dataset.step = String(shown.curve.step);
    this.card.dataset.thresholds = String(shown.curve.thresholds);
    this.card.dataset.drawn = String(shown.found.drawn.length);
  }

  /** Where a threshold marked at an edge sits: its edge point in canvas pixels, or its mark's middle in CSS pixels. */
  private edgePosition(u: uPlot, curve: Curve, index: number, side: "top" | "left", canvas: boolean): [number, number] {
    const inward = canvas ? 0 : 4;
    if (side === "top") {
      return [u.valToPos(curve.rows[RECALL][index], "x", canvas), (canvas ? u.bbox.top : 0) + inward];
    }
    return [(canvas ? u.bbox.left : 0) + inward, u.valToPos(curve.rows[PRECISION][index], "y", canvas)];
  }

  /** The threshold nearest the cursor (in pixels), of those drawn or marked at an edge. */
  private nearest(u: uPlot, left: number, top: number): { index: number; at: [number, number] } | null {
    const shown = this.current;
    if (!shown) return null;
    let best: { index: number; at: [number, number] } | null = null;
    let bestDistance = Infinity;
    const consider = (index: number, at: [number, number]): void => {
      const distance = (at[0] - left) ** 2 + (at[1] - top) ** 2;
      if (distance < bestDistance) {
        bestDistance = distance;
        best = { index, at };
      }
    };
    const { x, y, drawn, edge } = shown.found;
    for (let k = 0; k < drawn.length; k++) consider(drawn[k], [u.valToPos(x[k], "x"), u.valToPos(y[k], "y")]);
    for (const { index, side } of edge) consider(index, this.edgePosition(u, shown.curve, index, side, false));
    return best;
  }

  private hover(u: uPlot): void {
    const left = u.cursor.left ?? -1;
    const top = u.cursor.top ?? -1;
    const shown = this.current;
    const found = left >= 0 && shown ? this.nearest(u, left, top) : null;
    if (!found || !shown) {
      this.tooltip.hidden = true;
      this.marker.hidden = true;
      return;
    }
    const { curve } = shown;
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const label of ["", "Step", "Threshold", "Precision", "Recall", "TP", "FP", "TN", "FN"]) {
      const th = document.createElement("th");
      th.textContent = label;
      head.append(th);
    }
    const body = table.createTBody();
    const addRow = (of: Curve, color: string, kind: string): void => {
      if (found.index >= of.thresholds) return;
      const tr = body.insertRow();
      tr.dataset.kind = kind;
      const swatch = el("span", "swatch");
      swatch.style.background = color;
      tr.insertCell().append(swatch);
      const cells = [
        formatStep(of.step),
        formatValue(thresholdOf(of, found.index)),
        formatValue(of.rows[PRECISION][found.index]),
        formatValue(of.rows[RECALL][found.index]),
        ...[TP, FP, TN, FN].map((row) => formatCount(of.rows[row][found.index])),
      ];
      for (const text of cells) tr.insertCell().textContent = text;
    };
    addRow(curve, this.color, "current");
    if (this.previous && this.previous.thresholds === curve.thresholds) {
      addRow(this.previous, faint(this.color, 0.3), "previous");
    }
    const [same, low, high] = this.samePoint(curve, found.index);
    this.tooltip.replaceChildren(table);
    if (same > 1) {
      const more = el("div", "prcurves-same");
      const range = `${formatValue(thresholdOf(curve, low))} to ${formatValue(thresholdOf(curve, high))}`;
      more.textContent = `${same} thresholds share this point (${range}).`;
      this.tooltip.append(more);
    }
    this.tooltip.dataset.index = String(found.index);
    this.tooltip.hidden = false;
    this.place(u, found.at, left, top);
  }

  /** The thresholds with exactly this threshold's precision and recall (a flat stretch): how many, lowest, highest. */
  private samePoint(curve: Curve, index: number): [number, number, number] {
    const p = curve.rows[PRECISION][index];
    const r = curve.rows[RECALL][index];
    let count = 0;
    let low = index;
    let high = index;
    for (let i = 0; i < curve.thresholds; i++) {
      if (!Object.is(curve.rows[PRECISION][i], p) || !Object.is(curve.rows[RECALL][i], r)) continue;
      count++;
      low = Math.min(low, i);
      high = Math.max(high, i);
    }
    return [count, low, high];
  }

  private place(u: uPlot, at: [number, number], left: number, top: number): void {
    const plotLeft = u.over.offsetLeft;
    const plotTop = u.over.offsetTop;
    this.marker.style.left = `${plotLeft + at[0]}px`;
    this.marker.style.top = `${plotTop + at[1]}px`;
    this.marker.style.borderColor = this.color;
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

/** The PR curves view: a card per run and tag, with the previous step optionally drawn faint. */
export function prCurvesView(store: Store, shownRuns: () => Set<string>, plugin: string): View {
  let previous = true;
  let view: TagCardsView<PrCurveCard> | null = null;
  const option = el("label", "setting prcurves-previous");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.checked = previous;
  box.addEventListener("change", () => {
    previous = box.checked;
    for (const card of view?.cards.values() ?? []) card.restyle();
  });
  const text = el("span", "");
  text.textContent = "Previous step, faint";
  option.title = "Draw the curve of the step before the chosen one, faint, for comparison";
  option.append(box, text);
  view = new TagCardsView(store, shownRuns, {
    className: "prcurves",
    accepts: (meta) => meta.plugin === plugin,
    makeCard: (run, tag) => new PrCurveCard(run, tag, () => previous),
    emptyText: "No PR curves for the runs and tags shown.",
    tools: [option],
  });
  return view;
}
