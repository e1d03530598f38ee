// One scalar chart: every shown run's series of one tag, drawn by uPlot.
//
// Each run keeps its own x values (uPlot's mode 2), so runs logged at
// different steps are never forced onto one grid. The overview is fetched
// downsampled to about one point per pixel by the server's spike-keeping
// downsampling; zooming in fetches the zoomed range again at that density,
// so the detail is always at full resolution once there is room for it.
// Checkpoints of the runs drawn are marked with a faint dashed vertical line
// (a uPlot draw plugin), and named in the tooltip near them.

import uPlot from "uplot";
import { type CheckpointInfo, errorText, scalars, scalarsJson, type Series } from "./api";
import { faint, runColor } from "./colors";
import { formatDuration, formatStep, formatValue, formatWall } from "./format";
import { button, cardHead, el } from "./runs";
import "./scalars.css";
import { smooth } from "./smooth";
import type { ViewState } from "./state";

/** What a chart draws: one tag for some runs. A chart of several (custom scalars) labels its lines "run: tag". */
export interface ChartQuery {
  tag: string;
  runs: string[];
  /** A margin chart's bounds: drawn thin, with the band between a run's lower and upper filled. */
  role?: "lower" | "upper";
  /** In a margin chart: the value tag a line belongs to (a band pairs the lower and upper of one value). */
  of?: string;
}

/** A fetched series with what it is a line of. */
interface Line extends Series {
  tag: string;
  label: string;
  /** What picks the line's colour: its run, unless the chart has several tags of one run apart. */
  colorKey: string;
  role?: "lower" | "upper";
  of?: string;
}

interface Plotted {
  run: string;
  tag: string;
  label: string;
  role?: "lower" | "upper";
  of?: string;
  color: string;
  step: Float64Array;
  wall: Float64Array;
  x: Float64Array;
  raw: Float64Array;
  smoothed: Float64Array;
}

const HEIGHT = 220;
const STEP_INCREMENTS = [1, 2, 5].flatMap((m) => Array.from({ length: 16 }, (_, e) => m * 10 ** e)).sort((a, b) => a - b);
const ENLARGED_HEIGHT = 520;
/** How near the cursor (CSS pixels) a checkpoint marker must be for the tooltip to name it. */
const CHECKPOINT_REACH = 6;
/** Checkpoints by run, as the scalars view fetched them. */
export type CheckpointsByRun = ReadonlyMap<string, CheckpointInfo[]>;

export class ScalarChart {
  readonly card: HTMLElement;
  private plot: HTMLElement;
  private tooltip: HTMLElement;
  private message: HTMLElement;
  private u: uPlot | null = null;
  private runs: string[] = [];
  private queries: ChartQuery[] = [];
  private overview: Line[] = [];
  private detail: Line[] | null = null;
  /** The zoomed x range (in the current axis's units), or null for the whole series. */
  private zoom: { min: number; max: number } | null = null;
  private plotted: Plotted[] = [];
  private fullX: [number, number] = [0, 1];
  private controller: AbortController | null = null;
  private detailTimer = 0;
  private settingScale = false;
  private forced: { x: [number, number]; y: [number, number] } | null = null;
  private lastWidth = 0;
  private checkpoints: CheckpointsByRun = new Map();
  /** Whether the card is in view, and whether its data is older than the index. */
  visible = false;
  stale = true;

  constructor(
    readonly tag: string,
    private state: () => ViewState,
  ) {
    this.card = el("div", "card");
    this.card.dataset.tag = tag;
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    const tools = el("span", "card-tools");
    tools.append(
      button("⤢", "Enlarge this chart (or shrink it back)", () => this.toggleEnlarged()),
      button("⟲", "Reset the zoom (or double-click the chart)", () => this.resetZoom()),
      button("CSV", "Download this chart's data at full resolution as CSV", () => void this.download("csv")),
      button("JSON", "Download this chart's data at full resolution as JSON", () => void this.download("json")),
      button("PNG", "Download this chart as a PNG image", () => this.downloadPng()),
    );
    head.append(tools);
    this.plot = el("div", "plot");
    this.plot.style.height = `${HEIGHT}px`;
    this.message = el("div", "card-message");
    this.tooltip = el("div", "tooltip");
    this.tooltip.hidden = true;
    this.plot.append(this.message, this.tooltip);
    this.card.append(head, this.plot);
    this.plot.addEventListener("dblclick", () => this.resetZoom());
    new ResizeObserver(() => this.resize()).observe(this.plot);
  }

  /** The runs to draw (shown and having this tag); fetches if they changed. */
  setRuns(runs: string[]): void {
    this.setQueries([{ tag: this.tag, runs }]);
  }

  /** What to draw when it is more than one tag (custom scalars); fetches if it changed. */
  setQueries(queries: ChartQuery[]): void {
    const same = JSON.stringify(queries) === JSON.stringify(this.queries);
    this.queries = queries;
    this.runs = [...new Set(queries.flatMap((q) => q.runs))];
    if (!same) this.stale = true;
    if (this.visible && this.stale) void this.load();
  }

  /** Each query's series, labelled (by run alone when the chart is of one tag). */
  private async fetchLines(
    extra: { max_points: number; min_step?: number; max_step?: number },
    signal: AbortSignal,
  ): Promise<Line[]> {
    const single = this.queries.length === 1 && this.queries[0].tag === this.tag;
    // Lines of one run differ in colour only where a run has several of them that are not a margin's.
    const byRun = this.queries.length <= 1 || this.queries.some((q) => q.of !== undefined);
    const parts = await Promise.all(
      this.queries
        .filter((q) => q.runs.length > 0)
        .map(async (q) => {
          const found = await scalars({ tag: q.tag, runs: q.runs, ...extra }, signal);
          return found.map(
            (s): Line => {
              const label = single ? s.run : `${s.run}: ${q.tag}`;
              return { ...s, tag: q.tag, label, colorKey: byRun ? s.run : label, role: q.role, of: q.of };
            },
          );
        }),
    );
    return parts.flat();
  }

  /** The logdir's checkpoints (after every change of the index): the markers are redrawn. */
  setCheckpoints(byRun: CheckpointsByRun): void {
    this.checkpoints = byRun;
    this.u?.redraw(false);
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible && this.stale) void this.load();
  }

  /** New data in the index: fetch again if in view (keeping the zoom), else when scrolled to. */
  invalidate(): void {
    this.stale = true;
    if (this.visible) void this.load();
  }

  /** Settings changed (smoothing, axes, outliers): redraw from the data at hand. */
  restyle(changed: Set<string>): void {
    if (changed.has("xAxis")) {
      this.zoom = null;
      this.detail = null;
    }
    if (changed.has("xAxis") || changed.has("logY")) this.destroyPlot();
    this.draw();
  }

  private pointsWanted(): number {
    // About one point per pixel: each pair of pixels gets its bucket's lowest and highest.
    return Math.max(100, Math.min(4000, Math.round(this.plot.clientWidth || 400)));
  }

  async load(): Promise<void> {
    this.stale = false;
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    if (this.runs.length === 0) {
      this.overview = [];
      this.detail = null;
      this.draw();
      return;
    }
    if (this.card.dataset.state === "waiting") this.card.dataset.state = "loading";
    try {
      const overview = await this.fetchLines({ max_points: this.pointsWanted() }, controller.signal);
      const detail = this.zoom ? await this.fetchDetail(overview, controller.signal) : null;
      if (controller.signal.aborted) return;
      this.overview = overview;
      this.detail = detail;
      this.draw();
    } catch (error) {
      if ((error as Error).name === "AbortError") return;
      this.showMessage(errorText(error), true);
      this.card.dataset.state = "error";
    }
  }

  /** The zoomed range at full density, or null if the overview already holds every point. */
  private async fetchDetail(overview: Line[], signal: AbortSignal): Promise<Line[] | null> {
    if (!this.zoom || overview.every((s) => s.total === s.step.length)) return null;
    const range = this.stepRange(overview, this.zoom);
    if (!range) return null;
    return this.fetchLines({ max_points: this.pointsWanted(), min_step: range[0], max_step: range[1] }, signal);
  }

  /** The steps covering an x range of the current axis, one point beyond each end. */
  private stepRange(series: Series[], zoom: { min: number; max: number }): [number, number] | null {
    let low = Infinity;
    let high = -Infinity;
    for (const s of series) {
      const x = this.xOf(s);
      if (x.length === 0) continue;
      let i = lowerBound(x, zoom.min) - 1;
      let j = lowerBound(x, zoom.max);
      i = Math.max(0, i);
      j = Math.min(x.length - 1, j);
      low = Math.min(low, s.step[i]);
      high = Math.max(high, s.step[j]);
    }
    return Number.isFinite(low) && Number.isFinite(high) ? [Math.floor(low), Math.ceil(high)] : null;
  }

  private xOf(s: Series): Float64Array {
    const axis = this.state().xAxis;
    if (axis === "step") return s.step;
    if (axis === "wall") return s.wall;
    // A series always holds its run's first point (downsampling and zoom detail keep it).
    const origin = s.wall[0] ?? 0;
    const x = new Float64Array(s.wall.length);
    for (let i = 0; i < x.length; i++) x[i] = s.wall[i] - origin;
    return x;
  }

  /** The overview with the zoomed detail spliced in, per run. */
  private merged(): Line[] {
    if (!this.detail) return this.overview;
    const byLabel = new Map(this.detail.map((d) => [d.label, d]));
    return this.overview.map((o) => {
      const d = byLabel.get(o.label);
      if (!d || d.step.length === 0) return o;
      const low = d.step[0];
      const high = d.step[d.step.length - 1];
      const before = lowerBound(o.step, low);
      const after = upperBound(o.step, high);
      const join = (a: Float64Array, b: Float64Array) => {
        const out = new Float64Array(before + b.length + (a.length - after));
        out.set(a.subarray(0, before), 0);
        out.set(b, before);
        out.set(a.subarray(after), before + b.length);
        return out;
      };
      return {
        ...o,
        total: o.total,
        step: join(o.step, d.step),
        wall: join(o.wall, d.wall),
        value: join(o.value, d.value),
      };
    });
  }

  private draw(): void {
    const state = this.state();
    const series = this.merged();
    const weight = state.smoothing;
    this.plotted = series
      .filter((s) => s.step.length > 0)
      .map((s) => ({
        run: s.run,
        tag: s.tag,
        label: s.label,
        role: s.role,
        of: s.of,
        color: runColor(s.colorKey),
        step: s.step,
        wall: s.wall,
        x: this.xOf(s),
        raw: s.value,
        smoothed: s.role ? s.value : smooth(s.value, weight),
      }));
    if (this.runs.length === 0) {
      this.destroyPlot();
      this.showMessage("No run that is shown has this tag.", false);
      this.card.dataset.state = "empty";
      return;
    }
    if (this.plotted.length === 0) {
      this.destroyPlot();
      this.showMessage("No points yet.", false);
      this.card.dataset.state = "empty";
      return;
    }
    this.showMessage("", false);
    let xMin = Infinity;
    let xMax = -Infinity;
    for (const p of this.plotted) {
      xMin = Math.min(xMin, p.x[0]);
      xMax = Math.max(xMax, p.x[p.x.length - 1]);
    }
    if (xMin === xMax) {
      xMin -= 1;
      xMax += 1;
    }
    this.fullX = [xMin, xMax];
    const log = state.logY;
    const smoothing = weight > 0;
    const data: unknown[] = [null];
    for (const p of this.plotted) {
      if (smoothing) data.push([p.x, drawable(p.raw, log)]);
      data.push([p.x, drawable(smoothing ? p.smoothed : p.raw, log)]);
    }
    const wantedSeries = this.plotted.length * (smoothing ? 2 : 1) + 1;
    if (this.u && this.u.series.length !== wantedSeries) this.destroyPlot();
    // The data goes in with its ranges decided beforehand: one draw, not one per scale.
    const x: [number, number] = this.zoom ? [this.zoom.min, this.zoom.max] : this.fullX;
    // uPlot applies ranges when it next draws (a microtask later): the forced ranges
    // hold until then, and afterDraw lets go of them.
    this.forced = { x, y: this.yRange(x[0], x[1]) };
    this.settingScale = true;
    if (!this.u) {
      this.u = new uPlot(this.options(state, smoothing), data as uPlot.AlignedData, (u, init) => {
        this.plot.prepend(u.root);
        init();
      });
    } else {
      this.u.setData(data as uPlot.AlignedData, true);
    }
  }

  private options(state: ViewState, smoothing: boolean): uPlot.Options {
    const series: uPlot.Series[] = [{}];
    const facets = [
      { scale: "x", auto: false },
      { scale: "y", auto: false },
    ];
    for (const p of this.plotted) {
      if (smoothing) {
        series.push({ label: p.label, stroke: faint(p.color, 0.25), width: 1, facets, points: { show: false } } as uPlot.Series);
      }
      const stroke = p.role ? faint(p.color, 0.6) : p.color;
      series.push({ label: p.label, stroke, width: p.role ? 1 : 1.5, facets, points: { show: false } } as uPlot.Series);
    }
    const axis = state.xAxis;
    return {
      mode: 2,
      width: Math.max(200, this.plot.clientWidth),
      height: this.plot.clientHeight || HEIGHT,
      legend: { show: false },
      cursor: {
        drag: { x: true, y: false, setScale: true },
        points: { show: false },
        bind: { dblclick: () => () => null },
      },
      scales: {
        // While new data goes in, the ranges are ours (forced); otherwise, as asked (a zoom).
        x: { time: axis === "wall", auto: true, range: (_u, min, max) => this.forced?.x ?? [min, max] },
        y: { auto: true, distr: state.logY ? 3 : 1, range: (_u, min, max) => this.forced?.y ?? [min, max] },
      },
      axes: [
        {
          stroke: "#555",
          grid: { stroke: "#eee" },
          ticks: { stroke: "#ddd" },
          values:
            axis === "relative"
              ? (_u, splits) => splits.map((v) => formatDuration(v))
              : axis === "step"
                ? (_u, splits) => splits.map((v) => formatStep(v))
                : undefined,
          // Steps are whole numbers: no tick between two of them.
          incrs: axis === "step" ? STEP_INCREMENTS : undefined,
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
      plugins: [{ hooks: { draw: [(u: uPlot) => this.drawCheckpoints(u)] } }],
      hooks: {
        setScale: [(u, key) => this.onScale(u, key)],
        setCursor: [(u) => this.showTooltip(u)],
        draw: [(u) => this.afterDraw(u)],
      },
    } as uPlot.Options;
  }

  private onScale(u: uPlot, key: string): void {
    if (key !== "x" || this.settingScale) return;
    const { min, max } = u.scales.x;
    if (min == null || max == null) return;
    const whole = min <= this.fullX[0] && max >= this.fullX[1];
    this.zoom = whole ? null : { min, max };
    this.settingScale = true;
    try {
      const [yMin, yMax] = this.yRange(min, max);
      u.setScale("y", { min: yMin, max: yMax });
    } finally {
      this.settingScale = false;
    }
    window.clearTimeout(this.detailTimer);
    this.detailTimer = window.setTimeout(() => void this.refetchDetail(), 120);
  }

  private async refetchDetail(): Promise<void> {
    if (!this.zoom) {
      if (this.detail) {
        this.detail = null;
        this.draw();
      }
      return;
    }
    const controller = new AbortController();
    this.controller?.abort();
    this.controller = controller;
    try {
      const detail = await this.fetchDetail(this.overview, controller.signal);
      if (controller.signal.aborted) return;
      this.detail = detail;
      this.draw();
    } catch (error) {
      if ((error as Error).name !== "AbortError") this.showMessage(String((error as Error).message), true);
    }
  }

  /** The y range of what is drawn between two x values; outliers (outside 5%-95%) optionally left out. */
  private yRange(xMin: number, xMax: number): [number, number] {
    const state = this.state();
    const smoothing = state.smoothing > 0;
    const log = state.logY;
    const outliers = state.ignoreOutliers;
    const kept: number[] = [];
    let low = Infinity;
    let high = -Infinity;
    const take = (v: number) => {
      if (!Number.isFinite(v) || (log && v <= 0)) return;
      if (v < low) low = v;
      if (v > high) high = v;
      if (outliers) kept.push(v);
    };
    for (const p of this.plotted) {
      const start = Math.max(0, lowerBound(p.x, xMin) - 1);
      const end = Math.min(p.x.length, upperBound(p.x, xMax) + 1);
      for (let i = start; i < end; i++) {
        take(p.raw[i]);
        if (smoothing) take(p.smoothed[i]);
      }
    }
    if (low > high) return log ? [0.1, 10] : [0, 1];
    if (outliers && kept.length > 20) {
      // Leave out the lowest and highest 5% of the values in view.
      const sorted = Float64Array.from(kept).sort();
      low = sorted[Math.floor(0.05 * (sorted.length - 1))];
      high = sorted[Math.ceil(0.95 * (sorted.length - 1))];
    }
    if (log) {
      const pad = Math.pow(high / low, 0.05) || 1.1;
      return low === high ? [low / 2, high * 2] : [low / pad, high * pad];
    }
    if (low === high) {
      const pad = Math.abs(low) * 0.1 || 1;
      return [low - pad, high + pad];
    }
    const pad = (high - low) * 0.05;
    return [low - pad, high + pad];
  }

  private afterDraw(u: uPlot): void {
    this.forced = null;
    this.settingScale = false;
    // Non-finite points (NaN, +-Inf) are not lines: mark each with a triangle at the edge.
    const ctx = u.ctx;
    const { left, top, width, height } = u.bbox;
    ctx.save();
    for (const p of this.plotted) {
      for (let i = 0; i < p.raw.length; i++) {
        const v = p.raw[i];
        if (Number.isFinite(v)) continue;
        const x = u.valToPos(p.x[i], "x", true);
        if (x < left || x > left + width) continue;
        const down = v === -Infinity;
        const y = down ? top + height - 2 : top + 2;
        const size = 5 * devicePixelRatio;
        ctx.fillStyle = p.color;
        ctx.beginPath();
        ctx.moveTo(x - size, down ? y - size * 1.6 : y);
        ctx.lineTo(x + size, down ? y - size * 1.6 : y);
        ctx.lineTo(x, down ? y : y + size * 1.6);
        ctx.closePath();
        ctx.fill();
      }
    }
    // A lone point has no line to draw: a dot instead.
    for (const p of this.plotted) {
      if (p.x.length !== 1 || !Number.isFinite(p.raw[0])) continue;
      const x = u.valToPos(p.x[0], "x", true);
      const y = u.valToPos(p.raw[0], "y", true);
      ctx.fillStyle = p.color;
      ctx.beginPath();
      ctx.arc(x, y, 3.5 * devicePixelRatio, 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.restore();
    this.fillBands(u);
    const points = this.plotted.reduce((n, p) => n + p.x.length, 0);
    this.card.dataset.state = "drawn";
    this.card.dataset.points = String(points);
    this.card.dataset.runs = String(this.plotted.length);
    this.card.dataset.zoomed = this.zoom ? "1" : "0";
  }

  /** The checkpoints of the runs drawn, each where its step (or time) is on the x axis, in view or not. */
  private markers(): { run: string; color: string; x: number; checkpoint: CheckpointInfo }[] {
    const axis = this.state().xAxis;
    const found = [];
    const seen = new Set<string>();
    for (const p of this.plotted) {
      if (seen.has(p.run)) continue;
      seen.add(p.run);
      const color = runColor(p.run);
      // The relative axis counts from the run's first point, as its lines do.
      const origin = p.wall[0] ?? 0;
      for (const checkpoint of this.checkpoints.get(p.run) ?? []) {
        const x =
          axis === "step" ? checkpoint.step : axis === "wall" ? checkpoint.wall_time : checkpoint.wall_time - origin;
        found.push({ run: p.run, color, x, checkpoint });
      }
    }
    return found;
  }

  /** A thin dashed line in the run's colour, faint, at each checkpoint in view; under the lines. */
  private drawCheckpoints(u: uPlot): void {
    const { min, max } = u.scales.x;
    let drawn = 0;
    if (min != null && max != null) {
      const ctx = u.ctx;
      const { top, height } = u.bbox;
      const width = Math.max(1, Math.round(devicePixelRatio));
      // Centred on a device pixel, so that a 1-pixel line is one crisp column.
      const align = width % 2 === 1 ? 0.5 : 0;
      ctx.save();
      ctx.globalCompositeOperation = "destination-over";
      ctx.lineWidth = width;
      ctx.setLineDash([4 * width, 3 * width]);
      for (const marker of this.markers()) {
        if (!(marker.x >= min && marker.x <= max)) continue;
        const x = Math.round(u.valToPos(marker.x, "x", true)) + align;
        ctx.strokeStyle = faint(marker.color, 0.5);
        ctx.beginPath();
        ctx.moveTo(x, top);
        ctx.lineTo(x, top + height);
        ctx.stroke();
        drawn++;
      }
      ctx.restore();
    }
    this.card.dataset.checkpoints = String(drawn);
  }

  /** The tooltip's lines for the checkpoints within reach of the cursor (at ``left``, CSS pixels). */
  private checkpointLines(u: uPlot, left: number): HTMLElement | null {
    const { min, max } = u.scales.x;
    if (min == null || max == null) return null;
    const near = this.markers().filter(
      (m) => m.x >= min && m.x <= max && Math.abs(u.valToPos(m.x, "x") - left) <= CHECKPOINT_REACH,
    );
    if (near.length === 0) return null;
    const list = el("div", "tooltip-checkpoints");
    for (const { run, color, checkpoint } of near.slice(0, 10)) {
      const line = el("div", "tooltip-checkpoint");
      line.dataset.run = run;
      line.dataset.step = String(checkpoint.step);
      const swatch = el("span", "swatch checkpoint-swatch");
      swatch.style.borderColor = color;
      const label = el("span", "checkpoint-label");
      label.textContent = `checkpoint at step ${formatStep(checkpoint.step)} (${run})`; // text, never HTML
      const path = el("span", "checkpoint-path");
      path.textContent = checkpoint.path;
      line.append(swatch, label, path);
      list.append(line);
    }
    return list;
  }

  /** A margin chart's bands: between each run's lower and upper bound, under what is drawn. */
  private fillBands(u: uPlot): void {
    const ctx = u.ctx;
    ctx.save();
    ctx.globalCompositeOperation = "destination-over";
    const { left, top, width, height } = u.bbox;
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    for (const lower of this.plotted) {
      if (lower.role !== "lower") continue;
      const upper = this.plotted.find((p) => p.role === "upper" && p.run === lower.run && p.of === lower.of);
      if (!upper) continue;
      const outline: [number, number][] = [];
      const trace = (p: Plotted, backwards: boolean) => {
        for (let k = 0; k < p.x.length; k++) {
          const i = backwards ? p.x.length - 1 - k : k;
          if (!Number.isFinite(p.raw[i])) continue;
          outline.push([u.valToPos(p.x[i], "x", true), u.valToPos(p.raw[i], "y", true)]);
        }
      };
      trace(lower, false);
      trace(upper, true);
      if (outline.length < 3) continue;
      ctx.fillStyle = faint(lower.color, 0.2);
      ctx.beginPath();
      ctx.moveTo(outline[0][0], outline[0][1]);
      for (const [x, y] of outline.slice(1)) ctx.lineTo(x, y);
      ctx.closePath();
      ctx.fill();
    }
    ctx.restore();
  }

  private showTooltip(u: uPlot): void {
    const left = u.cursor.left ?? -1;
    const top = u.cursor.top ?? -1;
    if (left < 0 || this.plotted.length === 0) {
      this.tooltip.hidden = true;
      return;
    }
    const x = u.posToVal(left, "x");
    const state = this.state();
    const rows = this.plotted
      .map((p) => {
        const i = nearest(p.x, x);
        return { p, i };
      })
      .filter(({ i }) => i >= 0);
    if (state.tooltipSort === "value") {
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
    const limit = 25;
    for (const { p, i } of rows.slice(0, limit)) {
      const tr = body.insertRow();
      const swatch = el("span", "swatch");
      swatch.style.background = p.color;
      tr.insertCell().append(swatch);
      const cells = [
        p.role ? `${p.label} (${p.role})` : p.label,
        formatValue(p.smoothed[i]),
        formatValue(p.raw[i]),
        formatStep(p.step[i]),
        formatWall(p.wall[i]),
        formatDuration(p.wall[i] - p.wall[0]),
      ];
      for (const text of cells) tr.insertCell().textContent = text; // text, never HTML
    }
    if (rows.length > limit) {
      const tr = body.insertRow();
      const td = tr.insertCell();
      td.colSpan = 7;
      td.textContent = `and ${rows.length - limit} more runs`;
    }
    this.tooltip.replaceChildren(table);
    const checkpoints = this.checkpointLines(u, left);
    if (checkpoints) this.tooltip.append(checkpoints);
    this.tooltip.hidden = false;
    const plotLeft = u.over.offsetLeft;
    const width = this.tooltip.offsetWidth;
    const room = this.plot.clientWidth;
    let at = plotLeft + left + 16;
    if (at + width > room) at = Math.max(0, plotLeft + left - width - 16);
    this.tooltip.style.left = `${at}px`;
    this.tooltip.style.top = `${Math.max(0, u.over.offsetTop + top - 10)}px`;
  }

  resetZoom(): void {
    if (!this.zoom && !this.detail) return;
    this.zoom = null;
    this.detail = null;
    this.draw();
  }

  private toggleEnlarged(): void {
    const on = !this.card.classList.contains("enlarged");
    this.card.classList.toggle("enlarged", on);
    this.plot.style.height = `${on ? ENLARGED_HEIGHT : HEIGHT}px`;
    this.resize();
    if (on) this.card.scrollIntoView({ block: "nearest" });
  }

  private resize(): void {
    if (!this.u) return;
    const width = Math.max(200, this.plot.clientWidth);
    const height = this.plot.clientHeight || HEIGHT;
    if (width === this.lastWidth && height === this.u.height) return;
    this.lastWidth = width;
    this.u.setSize({ width, height });
  }

  private destroyPlot(): void {
    this.u?.destroy();
    this.u = null;
    this.lastWidth = 0;
  }

  private showMessage(text: string, error: boolean): void {
    this.message.textContent = text;
    this.message.hidden = text === "";
    this.message.classList.toggle("error", error);
  }

  private async download(format: "csv" | "json"): Promise<void> {
    try {
      type Body = { series: { run: string; step: number[]; wall_time: number[]; value: (number | string)[] }[] };
      const bodies = await Promise.all(
        this.queries.filter((q) => q.runs.length > 0).map(async (q) => ({ tag: q.tag, ...((await scalarsJson(q.tag, q.runs)) as Body) })),
      );
      let text: string;
      if (format === "json") {
        text = JSON.stringify(bodies.length === 1 ? bodies[0] : { charts: bodies }, null, 1);
      } else {
        const lines = ["run,tag,step,wall_time,value"];
        for (const body of bodies) for (const s of body.series) {
          const prefix = `${csvField(s.run)},${csvField(body.tag)},`;
          for (let i = 0; i < s.step.length; i++) {
            lines.push(`${prefix}${s.step[i]},${s.wall_time[i]},${s.value[i]}`);
          }
        }
        text = lines.join("\n") + "\n";
      }
      save(new Blob([text], { type: format === "csv" ? "text/csv" : "application/json" }), `${fileName(this.tag)}.${format}`);
    } catch (error) {
      this.showMessage(`Download failed: ${(error as Error).message}`, true);
    }
  }

  private downloadPng(): void {
    const u = this.u;
    if (!u) return;
    const source = u.ctx.canvas;
    const ratio = source.width / u.width;
    const header = Math.round(28 * ratio);
    const lineHeight = Math.round(16 * ratio);
    const legend = Math.min(this.plotted.length, 20) * lineHeight + Math.round(8 * ratio);
    const canvas = document.createElement("canvas");
    canvas.width = source.width;
    canvas.height = source.height + header + legend;
    const ctx = canvas.getContext("2d")!;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#222";
    ctx.font = `${Math.round(14 * ratio)}px sans-serif`;
    ctx.fillText(this.tag, Math.round(8 * ratio), Math.round(19 * ratio));
    ctx.drawImage(source, 0, header);
    ctx.font = `${Math.round(12 * ratio)}px sans-serif`;
    this.plotted.slice(0, 20).forEach((p, i) => {
      const y = source.height + header + (i + 1) * lineHeight;
      ctx.fillStyle = p.color;
      ctx.fillRect(Math.round(8 * ratio), y - Math.round(9 * ratio), Math.round(14 * ratio), Math.round(4 * ratio));
      ctx.fillStyle = "#222";
      ctx.fillText(p.label, Math.round(28 * ratio), y);
    });
    canvas.toBlob((blob) => {
      if (blob) save(blob, `${fileName(this.tag)}.png`);
    }, "image/png");
  }

  destroy(): void {
    this.controller?.abort();
    this.destroyPlot();
    this.card.remove();
  }
}

/** The values as uPlot draws them: the array itself if all drawable, else with gaps (null). */
function drawable(values: Float64Array, log: boolean): Float64Array | (number | null)[] {
  let clean = true;
  for (let i = 0; i < values.length; i++) {
    const y = values[i];
    if (!Number.isFinite(y) || (log && y <= 0)) {
      clean = false;
      break;
    }
  }
  if (clean) return values;
  const out: (number | null)[] = new Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const y = values[i];
    out[i] = Number.isFinite(y) && (!log || y > 0) ? y : null;
  }
  return out;
}

function order(v: number): number {
  return Number.isNaN(v) ? Infinity : v;
}

/** The first index with a[i] >= v. */
function lowerBound(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index with a[i] > v. */
function upperBound(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function nearest(a: ArrayLike<number>, v: number): number {
  if (a.length === 0) return -1;
  const i = lowerBound(a, v);
  if (i === 0) return 0;
  if (i >= a.length) return a.length - 1;
  return v - a[i - 1] <= a[i] - v ? i - 1 : i;
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function fileName(tag: string): string {
  return tag.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 100) || "chart";
}

function save(blob: Blob, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
