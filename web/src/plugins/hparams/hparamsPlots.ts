// The hparams view's plots, on canvas: parallel coordinates (an axis per
// shown column, a line per shown session) and a scatter-plot matrix
// (hyperparameters × metrics). Each has a base canvas redrawn when the data
// or the columns change and an overlay for the session pointed at, so that
// hovering costs one line or one ring, not a redraw of a thousand. The
// parallel coordinates' labels are text over the canvas: each fits the room
// between its neighbours (names on two rows when the axes are close), cut
// with an ellipsis and whole on hover; the matrix's cells shrink to fit its
// width.

import { type Column, type Model, type Scale, scaleOf } from "./hparamsData";
import { onThemeChange, themeColors } from "../../colors";
import { el } from "../../runs";

/** What the plots draw. */
export interface PlotInput {
  model: Model;
  /** The shown hyperparameter and metric columns, in table order. */
  columns: Column[];
  /** The sessions shown, in table order. */
  sessions: number[];
  color: (session: number) => string;
}

export interface PlotEvents {
  hover(session: number | null): void;
  open(session: number): void;
}

/** The axes' grey: as readable on the dark theme's panel as on white. */
const AXIS = "#8a94a3";
const PICK = 6; // px: how near the pointer a line or point must be

function sizeCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(width * ratio));
  canvas.height = Math.max(1, Math.round(height * ratio));
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext("2d")!;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

function clear(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext("2d")!;
  ctx.save();
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.restore();
  return ctx;
}

/** The panel's colour (``#rrggbb``), nearly opaque: the halo that lifts a pointed-at line off the others. */
function halo(panel: string): string {
  const n = parseInt(panel.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},0.9)`;
}

/** ``text`` cut with an ellipsis to fit ``width`` px. */
function fit(ctx: CanvasRenderingContext2D, text: string, width: number): string {
  if (ctx.measureText(text).width <= width) return text;
  let n = text.length;
  while (n > 1 && ctx.measureText(text.slice(0, n) + "…").width > width) n--;
  return text.slice(0, n) + "…";
}

/** A session's values in a tooltip (all text), placed near the pointer inside ``box``. */
function showTooltip(
  tip: HTMLElement,
  box: HTMLElement,
  input: PlotInput,
  session: number,
  x: number,
  y: number,
): void {
  const table = document.createElement("table");
  const add = (name: string, value: string): void => {
    const row = table.insertRow();
    const th = document.createElement("th");
    th.textContent = name;
    row.append(th);
    row.insertCell().textContent = value;
  };
  add("run", input.model.runs[session]);
  for (const column of input.columns) add(column.name, column.text[session] || "–");
  tip.replaceChildren(table);
  tip.hidden = false;
  const left = x + 14 + tip.offsetWidth > box.clientWidth ? Math.max(0, x - 14 - tip.offsetWidth) : x + 14;
  tip.style.left = `${left}px`;
  tip.style.top = `${Math.max(0, Math.min(y - tip.offsetHeight / 2, box.clientHeight - tip.offsetHeight))}px`;
}

/** The index of each shown session among the shown (-1 for the others). */
function rowsOf(input: PlotInput): Int32Array<ArrayBuffer> {
  const rows = new Int32Array(input.model.runs.length).fill(-1);
  input.sessions.forEach((session, row) => (rows[session] = row));
  return rows;
}

/** A label of ``width`` px at most, cut with an ellipsis when longer, its whole text on hover. */
function textLabel(className: string, text: string, width: number): HTMLElement {
  const label = el("div", className);
  label.textContent = text; // text, never HTML
  label.title = text;
  label.style.maxWidth = `${Math.floor(width)}px`;
  return label;
}

const PC_HEIGHT = 340;
const PC_TOP = 44;
const PC_BOTTOM = 16;
const PC_SIDE = 60;
/** Closer axes than this put their names on two rows, each name with twice the room. */
const PC_ONE_ROW = 110;
const PC_NAME_ROW = 16; // px, a row of names

/** Parallel coordinates: an axis per column, a polyline per session. */
export class ParallelCoordinates {
  readonly root: HTMLElement;
  private base: HTMLCanvasElement;
  private overlay: HTMLCanvasElement;
  private labels: HTMLElement;
  private tip: HTMLElement;
  private input: PlotInput | null = null;
  private xs: number[] = [];
  /** Pixel y of each shown session on each axis (row-major), NaN where not logged. */
  private ys = new Float64Array(0);
  private rows: Int32Array<ArrayBuffer> = new Int32Array(0);
  private highlighted: number | null = null;
  private width = 0;

  constructor(private events: PlotEvents) {
    // The plots live as long as the page: drawn again in the new theme's colours.
    onThemeChange(() => {
      if (this.input) this.draw(this.input, this.width);
    });
    this.root = el("div", "hparams-parcoords");
    this.base = document.createElement("canvas");
    this.base.className = "hparams-pc-base";
    this.base.setAttribute("role", "img");
    this.base.setAttribute("aria-label", "Parallel coordinates of the sessions shown");
    this.overlay = document.createElement("canvas");
    this.overlay.className = "hparams-pc-overlay";
    this.labels = el("div", "hparams-pc-labels");
    this.tip = el("div", "tooltip hparams-tooltip");
    this.tip.hidden = true;
    this.root.append(this.base, this.overlay, this.labels, this.tip);
    this.overlay.addEventListener("mousemove", (event) => {
      const session = this.pick(event.offsetX, event.offsetY);
      this.events.hover(session);
      if (session === null || !this.input) this.tip.hidden = true;
      else showTooltip(this.tip, this.root, this.input, session, event.offsetX, event.offsetY);
    });
    this.overlay.addEventListener("mouseleave", () => {
      this.tip.hidden = true;
      this.events.hover(null);
    });
    this.overlay.addEventListener("click", (event) => {
      const session = this.pick(event.offsetX, event.offsetY);
      if (session !== null) this.events.open(session);
    });
  }

  draw(input: PlotInput, width: number): void {
    this.input = input;
    this.width = width;
    const n = input.columns.length;
    const ctx = sizeCanvas(this.base, width, PC_HEIGHT);
    sizeCanvas(this.overlay, width, PC_HEIGHT);
    const inner = Math.max(1, width - 2 * PC_SIDE);
    this.xs = input.columns.map((_, k) => (n === 1 ? width / 2 : PC_SIDE + (k * inner) / (n - 1)));
    const scales = input.columns.map((column) => scaleOf(column, input.sessions));
    const y = (t: number): number => PC_TOP + (1 - t) * (PC_HEIGHT - PC_TOP - PC_BOTTOM);
    this.ys = new Float64Array(input.sessions.length * n);
    input.sessions.forEach((session, row) => {
      scales.forEach((scale, k) => {
        const t = scale.at(session);
        this.ys[row * n + k] = t === null ? NaN : y(t);
      });
    });
    this.rows = rowsOf(input);
    ctx.globalAlpha = input.sessions.length > 200 ? 0.35 : 0.8;
    ctx.lineWidth = 1.2;
    input.sessions.forEach((session, row) => this.line(ctx, row, input.color(session)));
    ctx.globalAlpha = 1;
    this.axes(ctx, y);
    this.label(input.columns, scales, y, width);
    this.root.dataset.lines = String(input.sessions.length);
    this.root.dataset.axes = String(n);
    this.highlight(this.highlighted);
  }

  highlight(session: number | null): void {
    this.highlighted = session;
    const ctx = clear(this.overlay);
    const row = session === null ? -1 : (this.rows[session] ?? -1);
    if (row < 0 || !this.input) return;
    ctx.lineWidth = 5;
    this.line(ctx, row, halo(themeColors().panel));
    ctx.lineWidth = 2.5;
    this.line(ctx, row, this.input.color(session!));
  }

  /** One session's polyline through the axes where it has a value (it skips the others). */
  private line(ctx: CanvasRenderingContext2D, row: number, color: string): void {
    const n = this.xs.length;
    ctx.strokeStyle = color;
    ctx.beginPath();
    let points = 0;
    for (let k = 0; k < n; k++) {
      const y = this.ys[row * n + k];
      if (Number.isNaN(y)) continue;
      if (points++ === 0) ctx.moveTo(this.xs[k], y);
      else ctx.lineTo(this.xs[k], y);
    }
    ctx.stroke();
    if (points === 1) {
      // A session with one value shows as a tick on its axis.
      const k = this.ys.subarray(row * n, row * n + n).findIndex((y) => !Number.isNaN(y));
      ctx.beginPath();
      ctx.moveTo(this.xs[k] - 4, this.ys[row * n + k]);
      ctx.lineTo(this.xs[k] + 4, this.ys[row * n + k]);
      ctx.stroke();
    }
  }

  private axes(ctx: CanvasRenderingContext2D, y: (t: number) => number): void {
    ctx.strokeStyle = AXIS;
    ctx.lineWidth = 1;
    for (const x of this.xs) {
      ctx.beginPath();
      ctx.moveTo(x, y(1));
      ctx.lineTo(x, y(0));
      ctx.stroke();
    }
  }

  /**
   * The axes' names above them and their ticks beside them, as text over the
   * canvas: each within the room it has (never beyond the plot's edges), cut
   * with an ellipsis, the whole text its tooltip.
   */
  private label(columns: Column[], scales: Scale[], y: (t: number) => number, width: number): void {
    const spacing = columns.length > 1 ? this.xs[1] - this.xs[0] : width;
    const rows = spacing < PC_ONE_ROW ? 2 : 1;
    const room = Math.max(24, Math.min(width, rows * spacing - 8));
    const parts: HTMLElement[] = [];
    columns.forEach((column, k) => {
      const x = this.xs[k];
      const name = column.name + (scales[k].log ? " (log)" : "");
      // Centred over its axis, as wide as its room but never past the plot's edges.
      const half = Math.max(12, Math.min(room / 2, x, width - x));
      const label = textLabel("hparams-pc-name", name, 2 * half);
      label.style.width = `${Math.floor(2 * half)}px`;
      label.style.left = `${x - half}px`;
      label.style.top = `${4 + (rows === 2 ? (k % 2) * PC_NAME_ROW : PC_NAME_ROW / 2)}px`;
      label.dataset.column = column.id;
      parts.push(label);
      const ticks = scales[k].ticks;
      const tickRoom = (PC_HEIGHT - PC_TOP - PC_BOTTOM) / Math.max(1, ticks.length - 1);
      const shown = tickRoom >= 13 ? ticks : [ticks[0], ticks[ticks.length - 1]].filter(Boolean);
      // A tick has the gap to the next axis (whose own ticks are on its other side), the last the margin.
      const gap = k < columns.length - 1 ? this.xs[k + 1] - x : width - x;
      const tickWidth = Math.max(16, Math.min(gap - 8, 160));
      for (const [t, text] of shown) {
        const tick = textLabel("hparams-pc-tick", text, tickWidth);
        tick.style.left = `${x + 4}px`;
        tick.style.top = `${y(t)}px`;
        parts.push(tick);
      }
    });
    this.labels.replaceChildren(...parts);
  }

  /** The shown session whose line passes nearest the point, if near enough. */
  private pick(px: number, py: number): number | null {
    const input = this.input;
    if (!input) return null;
    let best: number | null = null;
    let nearest = PICK;
    input.sessions.forEach((session, row) => {
      const distance = Math.abs(this.yAt(row, px) - py);
      if (distance < nearest) {
        nearest = distance;
        best = session;
      }
    });
    return best;
  }

  /** Where a session's line is at ``px`` (NaN where it has none). */
  private yAt(row: number, px: number): number {
    const n = this.xs.length;
    const ys = this.ys.subarray(row * n, row * n + n);
    let before = -1;
    let after = -1;
    for (let k = 0; k < n; k++) {
      if (Number.isNaN(ys[k])) continue;
      if (this.xs[k] <= px) before = k;
      else {
        after = k;
        break;
      }
    }
    if (before < 0) return after >= 0 && px > this.xs[after] - PICK ? ys[after] : NaN;
    if (after < 0) return px < this.xs[before] + PICK ? ys[before] : NaN;
    const t = (px - this.xs[before]) / (this.xs[after] - this.xs[before]);
    return ys[before] + (ys[after] - ys[before]) * t;
  }
}

/** The matrix shows at most this many hyperparameters and metrics. */
const MATRIX_MAX = 10;
const MATRIX_LABEL = 140;
/** The smallest a scatter plot gets (px wide) to fit the matrix in its width. */
const MATRIX_SMALLEST = 48;
const CELL_GAP = 6;

interface ScatterPlot {
  root: HTMLElement;
  base: HTMLCanvasElement;
  overlay: HTMLCanvasElement;
  hparam: Column;
  metric: Column;
  /** Pixel positions of each shown session (NaN where either value is not logged). */
  px: Float64Array;
  py: Float64Array;
}

/** Scatter plots of every shown metric (columns) against every shown hyperparameter (rows). */
export class ScatterMatrix {
  readonly root: HTMLElement;
  private grid: HTMLElement;
  private note: HTMLElement;
  private tip: HTMLElement;
  private plots: ScatterPlot[] = [];
  private input: PlotInput | null = null;
  private rows: Int32Array<ArrayBuffer> = new Int32Array(0);
  private highlighted: number | null = null;
  private layoutKey = "";
  private width = 0;

  constructor(private events: PlotEvents) {
    onThemeChange(() => {
      if (this.input) this.draw(this.input, this.width);
    });
    this.root = el("div", "hparams-matrix-wrap");
    this.note = el("p", "hparams-note");
    this.grid = el("div", "hparams-matrix");
    this.tip = el("div", "tooltip hparams-tooltip");
    this.tip.hidden = true;
    this.root.append(this.note, this.grid, this.tip);
  }

  draw(input: PlotInput, width: number): void {
    this.input = input;
    this.width = width;
    const hparams = input.columns.filter((c) => c.kind === "hparam");
    const metrics = input.columns.filter((c) => c.kind === "metric");
    const rows = hparams.slice(0, MATRIX_MAX);
    const cols = metrics.slice(0, MATRIX_MAX);
    const cut = hparams.length > rows.length || metrics.length > cols.length;
    this.note.textContent =
      rows.length === 0 || cols.length === 0
        ? "Show at least one hyperparameter and one metric for the scatter plots."
        : cut
          ? `The first ${rows.length} hyperparameters × ${cols.length} metrics; hide columns to choose others.`
          : "";
    this.note.hidden = this.note.textContent === "";
    // The cells shrink to fit the width (the labels' column too, down to a point).
    const label = Math.round(Math.min(MATRIX_LABEL, Math.max(72, width * 0.15)));
    const room = (width - label) / Math.max(1, cols.length) - CELL_GAP;
    const size = Math.floor(Math.min(220, Math.max(MATRIX_SMALLEST, room)));
    const key = JSON.stringify([rows.map((c) => c.id), cols.map((c) => c.id), size, label]);
    if (key !== this.layoutKey) this.layout(rows, cols, size, label);
    this.layoutKey = key;
    this.rows = rowsOf(input);
    const scales = new Map([...rows, ...cols].map((column) => [column, scaleOf(column, input.sessions)]));
    for (const plot of this.plots) {
      this.drawPlot(plot, input, size, scales.get(plot.hparam)!, scales.get(plot.metric)!);
    }
    this.root.dataset.plots = String(this.plots.length);
    this.highlight(this.highlighted);
  }

  highlight(session: number | null): void {
    this.highlighted = session;
    const row = session === null ? -1 : (this.rows[session] ?? -1);
    for (const plot of this.plots) {
      const ctx = clear(plot.overlay);
      if (row < 0 || Number.isNaN(plot.px[row]) || !this.input) continue;
      ctx.lineWidth = 2;
      ctx.strokeStyle = themeColors().text;
      ctx.fillStyle = this.input.color(session!);
      ctx.beginPath();
      ctx.arc(plot.px[row], plot.py[row], 5, 0, 2 * Math.PI);
      ctx.fill();
      ctx.stroke();
    }
  }

  private layout(rows: Column[], cols: Column[], size: number, label: number): void {
    this.grid.style.gridTemplateColumns = `${label}px repeat(${cols.length}, ${size}px)`;
    const cells: HTMLElement[] = [el("div", "")];
    for (const metric of cols) {
      const head = el("div", "hparams-matrix-col");
      head.textContent = metric.name; // text, never HTML
      head.title = metric.name;
      cells.push(head);
    }
    this.plots = [];
    for (const hparam of rows) {
      const head = el("div", "hparams-matrix-row");
      head.textContent = hparam.name; // text, never HTML
      head.title = hparam.name;
      cells.push(head);
      for (const metric of cols) {
        const plot = this.makePlot(hparam, metric);
        this.plots.push(plot);
        cells.push(plot.root);
      }
    }
    this.grid.replaceChildren(...(rows.length && cols.length ? cells : []));
  }

  private makePlot(hparam: Column, metric: Column): ScatterPlot {
    const root = el("div", "hparams-scatter");
    root.dataset.hparam = hparam.name;
    root.dataset.metric = metric.name;
    const base = document.createElement("canvas");
    base.className = "hparams-scatter-base";
    base.setAttribute("role", "img");
    base.setAttribute("aria-label", `${metric.name} against ${hparam.name}`);
    const overlay = document.createElement("canvas");
    overlay.className = "hparams-scatter-overlay";
    root.append(base, overlay);
    const plot: ScatterPlot = { root, base, overlay, hparam, metric, px: new Float64Array(0), py: new Float64Array(0) };
    overlay.addEventListener("mousemove", (event) => {
      const session = this.pick(plot, event.offsetX, event.offsetY);
      this.events.hover(session);
      if (session === null || !this.input) this.tip.hidden = true;
      else {
        const input = { ...this.input, columns: [hparam, metric] };
        const [x, y] = [root.offsetLeft + event.offsetX, root.offsetTop + event.offsetY];
        showTooltip(this.tip, this.root, input, session, x, y);
      }
    });
    overlay.addEventListener("mouseleave", () => {
      this.tip.hidden = true;
      this.events.hover(null);
    });
    overlay.addEventListener("click", (event) => {
      const session = this.pick(plot, event.offsetX, event.offsetY);
      if (session !== null) this.events.open(session);
    });
    return plot;
  }

  private drawPlot(plot: ScatterPlot, input: PlotInput, size: number, sx: Scale, sy: Scale): void {
    const height = Math.round(size * 0.75);
    const ctx = sizeCanvas(plot.base, size, height);
    sizeCanvas(plot.overlay, size, height);
    const pad = 8;
    const count = input.sessions.length;
    plot.px = new Float64Array(count);
    plot.py = new Float64Array(count);
    input.sessions.forEach((session, row) => {
      const x = sx.at(session);
      const y = sy.at(session);
      const both = x !== null && y !== null;
      plot.px[row] = both ? pad + x * (size - 2 * pad) : NaN;
      plot.py[row] = both ? pad + (1 - y) * (height - 2 * pad - 10) : NaN;
    });
    const colors = themeColors();
    ctx.strokeStyle = colors.line;
    ctx.strokeRect(0.5, 0.5, size - 1, height - 1);
    ctx.font = "9px system-ui, sans-serif";
    ctx.fillStyle = colors.muted;
    ctx.textBaseline = "bottom";
    const lowX = sx.ticks[0]?.[1] ?? "";
    const highX = sx.ticks.length > 1 ? sx.ticks[sx.ticks.length - 1][1] : "";
    ctx.textAlign = "left";
    ctx.fillText(fit(ctx, lowX, size / 2 - 4), 3, height - 1);
    ctx.textAlign = "right";
    ctx.fillText(fit(ctx, highX, size / 2 - 4), size - 3, height - 1);
    const big = count > 300;
    ctx.globalAlpha = big ? 0.6 : 0.85;
    input.sessions.forEach((session, row) => {
      const x = plot.px[row];
      if (Number.isNaN(x)) return;
      ctx.fillStyle = input.color(session);
      if (big) ctx.fillRect(x - 1.5, plot.py[row] - 1.5, 3, 3);
      else {
        ctx.beginPath();
        ctx.arc(x, plot.py[row], 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    });
    ctx.globalAlpha = 1;
  }

  private pick(plot: ScatterPlot, x: number, y: number): number | null {
    const input = this.input;
    if (!input) return null;
    let best: number | null = null;
    let nearest = PICK * PICK;
    input.sessions.forEach((session, row) => {
      const d = (plot.px[row] - x) ** 2 + (plot.py[row] - y) ** 2;
      if (d < nearest) {
        nearest = d;
        best = session;
      }
    });
    return best;
  }
}
