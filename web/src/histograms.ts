// The histograms and distributions views: a card per run and histogram tag,
// holding every step the tag has (TensorBoard keeps 500).
//
// Histograms are drawn on a canvas, every step redrawn on the same equal
// bins: "offset" stacks the steps as a ridgeline (older further back),
// "overlay" draws their outlines on one set of axes. Distributions are the
// bands between percentiles of each step, drawn by uPlot.

import uPlot from "uplot";
import { tensorPoints } from "./api";
import { messageLine, runLabel, LazyCard, TagCardsView, type View } from "./cards";
import { faint, runColor } from "./colors";
import { formatStep, formatValue } from "./format";
import {
  BASIS_POINTS,
  bucketPercentiles,
  computeLayout,
  niceTicks,
  outlineNearest,
  readingNote,
  ridgeAt,
  readHistogram,
  rebin,
  valueRange,
  widened,
  type Histogram,
  type Layout,
  type Mode,
  type ReadProblems,
  type ReadingFacts,
  type Rebinned,
} from "./histomath";
import { button, cardHead, el } from "./runs";
import type { Store } from "./state";
import "./histograms.css";

/** TensorBoard's bin count: the steps are redrawn on this many equal bins. */
const BINS = 30;
const HEIGHT = 280;
/** Tick spacings of the steps axis: whole numbers only. */
const STEP_INCREMENTS = [1, 2, 5]
  .flatMap((m) => Array.from({ length: 16 }, (_, e) => m * 10 ** e))
  .sort((a, b) => a - b);
const MODE_KEY = "stepscope.histogramMode";
/** The percentiles' names in the tooltip, in BASIS_POINTS' order. */
const PERCENTILE_NAMES = ["min", "−2σ", "−1σ", "−½σ", "median", "+½σ", "+1σ", "+2σ", "max"];


interface Loaded extends ReadingFacts {
  /** performance.now() when the data had arrived and been parsed. */
  arrived: number;
}

async function loadHistograms(run: string, tag: string, signal: AbortSignal): Promise<Loaded> {
  const points = await tensorPoints(run, tag, signal);
  const arrived = performance.now();
  const problems: ReadProblems = { clampedEdges: 0, skippedBuckets: 0 };
  let tooBig = 0;
  let mended = 0;
  const histograms: Histogram[] = [];
  for (const point of points) {
    if (point.truncated) {
      tooBig++;
      continue;
    }
    const before = problems.clampedEdges + problems.skippedBuckets;
    histograms.push(readHistogram(point.step, point.wall_time, point.values, problems));
    if (problems.clampedEdges + problems.skippedBuckets > before) mended++;
  }
  return { histograms, problems, tooBig, mended, arrived };
}

/** A card that fetches a histogram tag's every step when first in view, and again when the data change. */
abstract class HistogramTagCard extends LazyCard {
  readonly card: HTMLElement;
  protected plot: HTMLElement;
  protected tooltip: HTMLElement;
  private note: HTMLElement;
  protected readonly message = messageLine();
  private controller: AbortController | null = null;

  constructor(
    readonly run: string,
    readonly tag: string,
    private kind: string,
  ) {
    super();
    this.card = el("div", `card ${kind}-card`);
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    head.append(runLabel(run));
    this.plot = el("div", "histo-plot");
    this.plot.style.height = `${HEIGHT}px`;
    this.tooltip = el("div", "tooltip");
    this.tooltip.hidden = true;
    this.plot.append(this.message.root, this.tooltip);
    this.note = el("div", "histo-note");
    this.note.hidden = true;
    this.card.append(head, this.plot, this.note);
  }

  protected async load(stale: () => boolean): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const data = await loadHistograms(this.run, this.tag, controller.signal);
    if (stale()) return;
    this.note.textContent = readingNote(data); // text, never HTML
    this.note.hidden = this.note.textContent === "";
    this.message.show(data.histograms.length === 0 ? "No histograms yet." : "");
    this.show(data);
  }

  /** Draws the data (the card says "drawn" once it is on screen, with finished()). */
  protected abstract show(data: Loaded): void;

  /** Marks the card drawn and records how long the data took to draw. */
  protected finished(data: Loaded): void {
    const end = performance.now();
    performance.measure(`stepscope ${this.kind} card`, { start: data.arrived, end, detail: [this.run, this.tag] });
    this.card.dataset.renderMs = (end - data.arrived).toFixed(1);
    this.card.dataset.steps = String(data.histograms.length);
    this.card.dataset.state = "drawn";
  }

  /** Shows the tooltip's rows (label, value) next to the cursor, inside the plot. */
  protected placeTooltip(rows: [string, string][], x: number, y: number): void {
    const table = document.createElement("table");
    const body = table.createTBody();
    for (const [label, value] of rows) {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.textContent = label;
      tr.append(th);
      tr.insertCell().textContent = value;
    }
    this.tooltip.replaceChildren(table);
    this.tooltip.hidden = false;
    const width = this.tooltip.offsetWidth;
    const at = x + 16 + width > this.plot.clientWidth ? Math.max(0, x - width - 16) : x + 16;
    this.tooltip.style.left = `${at}px`;
    this.tooltip.style.top = `${Math.max(0, Math.min(y - 10, HEIGHT - this.tooltip.offsetHeight))}px`;
  }
}

// -- histograms ------------------------------------------------------------------

class HistogramCard extends HistogramTagCard {
  private canvas: HTMLCanvasElement;
  private overlay: HTMLCanvasElement;
  private data: Loaded | null = null;
  private binned: Rebinned | null = null;
  private layout: Layout | null = null;
  private width = 0;

  constructor(
    run: string,
    tag: string,
    private mode: () => Mode,
  ) {
    super(run, tag, "histogram");
    this.card.dataset.mode = mode();
    this.canvas = document.createElement("canvas");
    this.canvas.className = "histo-canvas";
    this.overlay = document.createElement("canvas");
    this.overlay.className = "histo-highlight";
    this.overlay.setAttribute("aria-label", `Histograms of ${tag} in ${run} over steps`);
    this.plot.prepend(this.canvas, this.overlay);
    this.overlay.addEventListener("mousemove", (event) => this.hover(event.offsetX, event.offsetY));
    this.overlay.addEventListener("mouseleave", () => this.unhover());
    new ResizeObserver(() => {
      if (this.data && this.plot.clientWidth !== this.width) this.redraw();
    }).observe(this.plot);
  }

  protected show(data: Loaded): void {
    this.data = data;
    const [low, high] = widened(valueRange(data.histograms));
    this.binned = rebin(data.histograms, low, high, BINS);
    this.redraw();
    this.finished(data);
  }

  /** Draws the data at hand again (a new mode or width). */
  redraw(): void {
    this.card.dataset.mode = this.mode();
    if (!this.data || !this.binned) return;
    this.width = this.plot.clientWidth;
    const ctx = sized(this.canvas, this.width, HEIGHT);
    sized(this.overlay, this.width, HEIGHT);
    this.unhover();
    const steps = this.data.histograms.map((h) => h.step);
    this.layout = computeLayout(this.mode(), this.width, HEIGHT, steps);
    drawHistograms(ctx, this.layout, this.binned, steps, runColor(this.run));
  }

  private hover(x: number, y: number): void {
    const layout = this.layout;
    const binned = this.binned;
    const histograms = this.data?.histograms ?? [];
    if (!layout || !binned || histograms.length === 0 || x < layout.left || x > layout.right) {
      this.unhover();
      return;
    }
    const share = (x - layout.left) / (layout.right - layout.left);
    const bin = Math.min(binned.bins - 1, Math.floor(share * binned.bins));
    const index = layout.mode === "offset" ? ridgeAt(layout, binned, bin, y) : outlineNearest(layout, binned, bin, y);
    const ctx = this.overlay.getContext("2d")!;
    ctx.clearRect(0, 0, this.width, HEIGHT);
    tracePath(ctx, layout, binned, index);
    ctx.strokeStyle = "#111";
    ctx.lineWidth = 1.5;
    ctx.stroke();
    const h = histograms[index];
    const width = (binned.high - binned.low) / binned.bins;
    const from = binned.low + bin * width;
    this.card.dataset.highlightStep = String(h.step);
    this.placeTooltip(
      [
        ["Step", formatStep(h.step)],
        ["Bucket", `${formatValue(from)} to ${formatValue(from + width)}`],
        ["Count", formatValue(binned.counts[index * binned.bins + bin])],
      ],
      x,
      y,
    );
  }

  private unhover(): void {
    this.tooltip.hidden = true;
    delete this.card.dataset.highlightStep;
    this.overlay.getContext("2d")?.clearRect(0, 0, this.overlay.width, this.overlay.height);
  }
}

/** The canvas at this CSS size, sharp on any screen: its context draws in CSS pixels. */
function sized(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

/** The path of one step's histogram: through the bins' centres, from and back to its zero line. */
function tracePath(ctx: CanvasRenderingContext2D, layout: Layout, binned: Rebinned, index: number): void {
  const { left, right, peakHeight } = layout;
  const base = layout.baselines[index];
  const scale = binned.peak > 0 ? peakHeight / binned.peak : 0;
  const binWidth = (right - left) / binned.bins;
  const row = index * binned.bins;
  ctx.beginPath();
  ctx.moveTo(left, base);
  for (let b = 0; b < binned.bins; b++) ctx.lineTo(left + (b + 0.5) * binWidth, base - binned.counts[row + b] * scale);
  ctx.lineTo(right, base);
}

function drawHistograms(
  ctx: CanvasRenderingContext2D,
  layout: Layout,
  binned: Rebinned,
  steps: number[],
  color: string,
): void {
  const n = steps.length;
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  drawValueAxis(ctx, layout, binned);
  if (layout.mode === "offset") drawStepAxis(ctx, layout, steps);
  else drawCountAxis(ctx, layout, binned.peak);
  // Older steps are fainter; opaque shades, which a canvas draws faster than translucent ones.
  const shades = Array.from({ length: 33 }, (_, k) => faint(color, 0.15 + (0.85 * k) / 32));
  const shadeOf = (i: number) => (i === n - 1 ? color : shades[n > 1 ? Math.round((32 * i) / (n - 1)) : 32]);
  const spacing = n > 1 ? (layout.baselines[n - 1] - layout.baselines[0]) / (n - 1) : Infinity;
  ctx.lineJoin = "round";
  for (let i = 0; i < n; i++) {
    tracePath(ctx, layout, binned, i);
    if (layout.mode === "offset") {
      ctx.fillStyle = shadeOf(i);
      ctx.fill();
      // An outline between ridges only where they lie far enough apart to tell.
      if (spacing >= 3) {
        ctx.strokeStyle = "#fff";
        ctx.lineWidth = 1;
        ctx.stroke();
      }
    } else {
      ctx.strokeStyle = shadeOf(i);
      ctx.lineWidth = i === n - 1 ? 2 : 1;
      ctx.stroke();
    }
  }
}

const AXIS_FONT = "11px system-ui, sans-serif";

function drawValueAxis(ctx: CanvasRenderingContext2D, layout: Layout, binned: Rebinned): void {
  const { left, right, bottom } = layout;
  const span = binned.high - binned.low;
  ctx.fillStyle = "#555";
  ctx.strokeStyle = "#ccc";
  ctx.lineWidth = 1;
  ctx.font = AXIS_FONT;
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  ctx.beginPath();
  ctx.moveTo(left, bottom + 0.5);
  ctx.lineTo(right, bottom + 0.5);
  for (const v of niceTicks(binned.low, binned.high, Math.max(2, Math.floor((right - left) / 60)))) {
    const x = Math.round(left + ((v - binned.low) / span) * (right - left)) + 0.5;
    ctx.moveTo(x, bottom);
    ctx.lineTo(x, bottom + 4);
    ctx.fillText(formatValue(v), x, bottom + 6);
  }
  ctx.stroke();
}

function drawStepAxis(ctx: CanvasRenderingContext2D, layout: Layout, steps: number[]): void {
  const first = steps[0] ?? 0;
  const last = steps[steps.length - 1] ?? 0;
  const { baselines, right } = layout;
  const lowest = baselines[baselines.length - 1];
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  ctx.beginPath();
  const ticks = last > first ? niceTicks(first, last, 5).filter(Number.isInteger) : [first];
  for (const step of ticks) {
    const y = last > first ? baselines[0] + (lowest - baselines[0]) * ((step - first) / (last - first)) : baselines[0];
    ctx.moveTo(right + 2, Math.round(y) + 0.5);
    ctx.lineTo(right + 6, Math.round(y) + 0.5);
    ctx.fillText(formatStep(step), right + 9, y);
  }
  ctx.stroke();
}

function drawCountAxis(ctx: CanvasRenderingContext2D, layout: Layout, peak: number): void {
  const { left, right, bottom, peakHeight } = layout;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  ctx.beginPath();
  for (const v of peak > 0 ? niceTicks(0, peak, 4) : [0]) {
    const y = Math.round(bottom - (peak > 0 ? (v / peak) * peakHeight : 0)) + 0.5;
    ctx.moveTo(left - 4, y);
    ctx.lineTo(right, y);
    ctx.fillText(formatValue(v), left - 6, y);
  }
  ctx.strokeStyle = "#eee";
  ctx.stroke();
}

// -- distributions ---------------------------------------------------------------

/** The colour as rgba with this opacity (for the translucent bands, which stack). */
function withAlpha(color: string, alpha: number): string {
  const n = parseInt(color.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

class DistributionCard extends HistogramTagCard {
  private u: uPlot | null = null;
  private steps: number[] = [];
  private percentiles: Float64Array[] = [];
  private pending: Loaded | null = null;
  /** Whether there is one step only, which is drawn as points (a band needs two). */
  private lone = false;

  constructor(run: string, tag: string) {
    super(run, tag, "distribution");
    new ResizeObserver(() => {
      const width = Math.max(200, this.plot.clientWidth);
      if (this.u && width !== this.u.width) this.u.setSize({ width, height: HEIGHT });
    }).observe(this.plot);
  }

  protected show(data: Loaded): void {
    this.steps = data.histograms.map((h) => h.step);
    this.percentiles = data.histograms.map((h) => bucketPercentiles(h));
    const columns: (number | null)[][] = BASIS_POINTS.map((_, j) =>
      this.percentiles.map((p) => (Number.isFinite(p[j]) ? p[j] : null)),
    );
    const aligned = [this.steps, ...columns] as uPlot.AlignedData;
    this.pending = data;
    const lone = this.steps.length === 1;
    if (this.u && lone === this.lone) {
      this.u.setData(aligned);
      return;
    }
    this.lone = lone;
    this.u?.destroy();
    this.u = new uPlot(this.options(), aligned, (u, init) => {
      this.plot.prepend(u.root);
      init();
    });
  }

  private options(): uPlot.Options {
    const color = runColor(this.run);
    const lone = this.lone;
    const series: uPlot.Series[] = [{}];
    BASIS_POINTS.forEach((_, j) => {
      const median = j === 4;
      series.push({
        label: PERCENTILE_NAMES[j],
        stroke: median ? color : "transparent",
        width: median ? 1.5 : 0,
        points: { show: lone && median, stroke: color, fill: color },
      });
    });
    // Series 1..9 are min..max: the bands pair them from the outside in, each darkening the middle.
    const bands: uPlot.Band[] = [0, 1, 2, 3].map((j) => ({ series: [9 - j, 1 + j], fill: withAlpha(color, 0.16) }));
    return {
      width: Math.max(200, this.plot.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: false } },
      axes: [
        {
          stroke: "#555",
          grid: { stroke: "#eee" },
          ticks: { stroke: "#ddd" },
          values: (_u, splits) => splits.map((v) => formatStep(v)),
          incrs: STEP_INCREMENTS,
        },
        {
          stroke: "#555",
          size: 56,
          grid: { stroke: "#eee" },
          ticks: { stroke: "#ddd" },
          values: (_u, splits) => splits.map((v) => (v == null ? "" : formatValue(v))),
        },
      ],
      series,
      bands,
      hooks: {
        setCursor: [(u) => this.hover(u)],
        draw: [
          () => {
            if (this.pending) this.finished(this.pending);
            this.pending = null;
          },
        ],
      },
    };
  }

  private hover(u: uPlot): void {
    const index = u.cursor.idx;
    const left = u.cursor.left ?? -1;
    if (index == null || left < 0 || !this.percentiles[index]) {
      this.tooltip.hidden = true;
      return;
    }
    const values = this.percentiles[index];
    const rows: [string, string][] = [["Step", formatStep(this.steps[index])]];
    for (let j = BASIS_POINTS.length - 1; j >= 0; j--) {
      const share = `${(BASIS_POINTS[j] / 100).toFixed(BASIS_POINTS[j] % 100 ? 2 : 0)}%`;
      rows.push([`${PERCENTILE_NAMES[j]} (${share})`, Number.isNaN(values[j]) ? "—" : formatValue(values[j])]);
    }
    this.placeTooltip(rows, u.over.offsetLeft + left, u.over.offsetTop + (u.cursor.top ?? 0));
  }
}

// -- the views ---------------------------------------------------------------------

function savedMode(): Mode {
  try {
    return localStorage.getItem(MODE_KEY) === "overlay" ? "overlay" : "offset";
  } catch {
    return "offset"; // storage may be off
  }
}

/** The histograms view: a canvas card per run and histogram tag, offset or overlaid (one setting for all). */
export function histogramsView(store: Store, shownRuns: () => Set<string>): View {
  let mode = savedMode();
  let view: TagCardsView<HistogramCard> | null = null;
  const modes = el("span", "histo-modes");
  modes.setAttribute("role", "group");
  modes.setAttribute("aria-label", "Histogram mode");
  const choices = (["offset", "overlay"] as Mode[]).map((choice) => {
    const label = choice === "offset" ? "Offset" : "Overlay";
    const title =
      choice === "offset"
        ? "Each step's histogram offset by its step, older ones further back"
        : "Every step's outline on one set of axes";
    const found = button(label, title, () => setMode(choice));
    found.dataset.mode = choice;
    return found;
  });
  modes.append(...choices);
  const setMode = (chosen: Mode): void => {
    mode = chosen;
    try {
      localStorage.setItem(MODE_KEY, mode);
    } catch {
      // storage may be off: the choice lasts until the page is left
    }
    for (const choice of choices) choice.setAttribute("aria-pressed", String(choice.dataset.mode === mode));
    if (view) {
      view.root.dataset.mode = mode;
      for (const card of view.cards.values()) card.redraw();
    }
  };
  view = new TagCardsView(store, shownRuns, {
    className: "histograms",
    accepts: (meta) => meta.plugin === "histograms",
    makeCard: (run, tag) => new HistogramCard(run, tag, () => mode),
    emptyText: "No histograms for the runs and tags shown.",
    tools: [modes],
  });
  setMode(mode);
  return view;
}

/** The distributions view: per run and histogram tag, the bands between percentiles of every step. */
export function distributionsView(store: Store, shownRuns: () => Set<string>): View {
  return new TagCardsView(store, shownRuns, {
    className: "distributions",
    accepts: (meta) => meta.plugin === "histograms",
    makeCard: (run, tag) => new DistributionCard(run, tag),
    emptyText: "No histograms (whose distributions this tab shows) for the runs and tags shown.",
  });
}
