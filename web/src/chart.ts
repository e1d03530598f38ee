// One scalar chart: every shown run's series of one tag, drawn by uPlot.
//
// Each run keeps its own x values (uPlot's mode 2), so runs logged at
// different steps are never forced onto one grid. The overview is fetched
// downsampled to about one point per pixel by the server's spike-keeping
// downsampling; zooming in fetches the zoomed range again at that density,
// so the detail is always at full resolution once there is room for it.
//
// This module keeps the chart's state (what is fetched, the zoom) and when
// to fetch and draw; its parts are beside it: the series as data
// (chartSeries), the uPlot options (chartOptions), the marks of points a line
// cannot show (chartMarks), the checkpoint markers (checkpoints), the
// tooltip (chartTooltip), the downloads (chartExport), the step selection
// every chart shares (chartSelection), the table of the runs there
// (chartTable) and the legend (chartLegend).

import uPlot from "uplot";
import { errorText } from "./api";
import { downloadData, downloadPng } from "./chartExport";
import { fetchGroupedLines } from "./chartGroups";
import { ChartLegend } from "./chartLegend";
import { fillBands, markLonePoints, markNonFinite } from "./chartMarks";
import { chartOptions } from "./chartOptions";
import {
  type ChartQuery,
  type Density,
  drawable,
  type Line,
  type Plotted,
  spliceDetail,
  stepRange,
  xValues,
  yRange,
} from "./chartSeries";
import { onSelection, selectionPlugin } from "./chartSelection";
import { ChartTable } from "./chartTable";
import { placeTooltip, tooltipTable } from "./chartTooltip";
import {
  checkpointLines,
  checkpointMarkers,
  type CheckpointsByRun,
  drawCheckpoints,
  type Marker,
} from "./checkpoints";
import { onThemeChange, runColor } from "./colors";
import type { Grouping } from "./groups";
import { button, cardHead, el } from "./runs";
import { smooth } from "./smooth";
import type { ViewState } from "./state";

const HEIGHT = 220;
const ENLARGED_HEIGHT = 520;

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
  /** Run groups (the scalars view's): each drawn as its mean and band, its runs only when opened. */
  private grouping: Grouping | null = null;
  private legend: ChartLegend;
  private table: ChartTable;
  /** What stops the chart following the shared selection and the theme (on destroy). */
  private stopFollowing: (() => void)[] = [];
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
    this.legend = new ChartLegend(() => this.draw());
    this.table = new ChartTable({
      tag,
      queries: () => this.queries,
      plotted: () => this.plotted,
      fetch: (density, signal) => this.fetch(density, signal),
    });
    tools.append(
      button("⤢", "Enlarge this chart (or shrink it back)", () => this.toggleEnlarged()),
      button("⟲", "Reset the zoom (or double-click the chart)", () => this.resetZoom()),
      button("CSV", "Download this chart's data at full resolution as CSV", () => void this.download("csv")),
      button("JSON", "Download this chart's data at full resolution as JSON", () => void this.download("json")),
      button("PNG", "Download this chart as a PNG image", () => {
        if (this.u) downloadPng(this.u, this.tag, this.plotted);
      }),
      this.table.toggleButton,
      this.legend.toggleButton,
    );
    head.append(tools);
    this.plot = el("div", "plot");
    this.plot.style.height = `${HEIGHT}px`;
    this.message = el("div", "card-message");
    this.tooltip = el("div", "tooltip");
    this.tooltip.hidden = true;
    this.plot.append(this.message, this.tooltip);
    this.card.append(head, this.plot, this.legend.root, this.table.root);
    this.plot.addEventListener("dblclick", () => this.resetZoom());
    this.stopFollowing.push(
      onSelection(() => {
        this.u?.redraw(false);
        this.table.update();
      }),
      // The axes, the grid and the faint lines are drawn in the theme's colours: made again.
      onThemeChange(() => {
        if (!this.u) return;
        this.destroyPlot();
        this.draw();
      }),
    );
    new ResizeObserver(() => this.resize()).observe(this.plot);
  }

  /** A person picked new colours for ``runs``: uPlot keeps the colours a plot was made with, so make it again. */
  recolor(runs: Set<string>): void {
    if (!this.u || !this.plotted.some((line) => runs.has(line.run))) return;
    this.destroyPlot();
    this.draw();
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

  /** The logdir's checkpoints (after every change of the index): the markers are redrawn. */
  setCheckpoints(byRun: CheckpointsByRun): void {
    this.checkpoints = byRun;
    this.u?.redraw(false);
  }

  /** The run groups (null: none); fetches again on the next setRuns if they changed. */
  setGrouping(grouping: Grouping | null): void {
    if ((grouping?.key ?? null) === (this.grouping?.key ?? null)) return;
    this.grouping = grouping;
    this.stale = true;
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

  private fetch(density: Density, signal: AbortSignal): Promise<Line[]> {
    return fetchGroupedLines(this.queries, this.tag, density, signal, this.grouping);
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
      const overview = await this.fetch({ max_points: this.pointsWanted() }, controller.signal);
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
    const range = stepRange(overview, this.zoom, this.state().xAxis);
    if (!range) return null;
    return this.fetch({ max_points: this.pointsWanted(), min_step: range[0], max_step: range[1] }, signal);
  }

  private draw(): void {
    const state = this.state();
    const weight = state.smoothing;
    const lines: Plotted[] = spliceDetail(this.overview, this.detail)
      .filter((s) => s.step.length > 0)
      .map((s) => ({
        run: s.run,
        tag: s.tag,
        label: s.label,
        role: s.role,
        of: s.of,
        group: s.group,
        color: runColor(s.colorKey),
        step: s.step,
        wall: s.wall,
        x: xValues(s, state.xAxis),
        raw: s.value,
        // A margin chart's bounds are smoothed as its value is, or the line would leave its band.
        smoothed: smooth(s.value, weight),
      }));
    this.legend.setLines(lines);
    this.plotted = lines.filter((p) => this.legend.drawn(p));
    this.table.update();
    if (this.runs.length === 0 || this.plotted.length === 0) {
      this.destroyPlot();
      this.showMessage(
        this.runs.length === 0
          ? "No run that is shown has this tag."
          : lines.length > 0
            ? "Every line is hidden: click a name in the legend to show it."
            : "No points yet.",
        false,
      );
      this.card.dataset.state = "empty";
      return;
    }
    this.showMessage("", false);
    this.fullX = this.xExtent();
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
    this.forced = { x, y: yRange(this.plotted, x[0], x[1], state) };
    this.settingScale = true;
    if (!this.u) {
      this.u = new uPlot(this.options(state), data as uPlot.AlignedData, (u, init) => {
        this.plot.prepend(u.root);
        init();
      });
    } else {
      this.u.setData(data as uPlot.AlignedData, true);
    }
  }

  /** The x range of every line drawn, widened around a single x. */
  private xExtent(): [number, number] {
    let xMin = Infinity;
    let xMax = -Infinity;
    for (const p of this.plotted) {
      xMin = Math.min(xMin, p.x[0]);
      xMax = Math.max(xMax, p.x[p.x.length - 1]);
    }
    return xMin === xMax ? [xMin - 1, xMax + 1] : [xMin, xMax];
  }

  private options(state: ViewState): uPlot.Options {
    const size = { width: Math.max(200, this.plot.clientWidth), height: this.plot.clientHeight || HEIGHT };
    return chartOptions(this.plotted, state, size, {
      forced: () => this.forced,
      drawUnder: (u) => {
        this.card.dataset.checkpoints = String(drawCheckpoints(u, this.markers()));
      },
      afterDraw: (u) => this.afterDraw(u),
      onScale: (u, key) => this.onScale(u, key),
      onCursor: (u) => this.showTooltip(u),
      plugins: [
        selectionPlugin({
          plotted: () => this.plotted,
          axis: () => this.state().xAxis,
          marked: (lines) => {
            this.card.dataset.marker = String(lines);
          },
        }),
      ],
    });
  }

  private onScale(u: uPlot, key: string): void {
    if (key !== "x" || this.settingScale) return;
    const { min, max } = u.scales.x;
    if (min == null || max == null) return;
    const whole = min <= this.fullX[0] && max >= this.fullX[1];
    this.zoom = whole ? null : { min, max };
    this.settingScale = true;
    try {
      const [yMin, yMax] = yRange(this.plotted, min, max, this.state());
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

  private afterDraw(u: uPlot): void {
    this.forced = null;
    this.settingScale = false;
    markNonFinite(u, this.plotted);
    markLonePoints(u, this.plotted);
    fillBands(u, this.plotted);
    const points = this.plotted.reduce((n, p) => n + p.x.length, 0);
    this.card.dataset.state = "drawn";
    this.card.dataset.points = String(points);
    this.card.dataset.runs = String(this.plotted.length);
    this.card.dataset.zoomed = this.zoom ? "1" : "0";
  }

  private markers(): Marker[] {
    return checkpointMarkers(this.plotted, this.checkpoints, this.state().xAxis);
  }

  private showTooltip(u: uPlot): void {
    const left = u.cursor.left ?? -1;
    const top = u.cursor.top ?? -1;
    if (left < 0 || this.plotted.length === 0) {
      this.tooltip.hidden = true;
      return;
    }
    this.tooltip.replaceChildren(tooltipTable(this.plotted, u.posToVal(left, "x"), this.state().tooltipSort));
    const checkpoints = checkpointLines(u, this.markers(), left);
    if (checkpoints) this.tooltip.append(checkpoints);
    this.tooltip.hidden = false;
    placeTooltip(this.tooltip, u, this.plot.clientWidth, left, top);
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
      await downloadData(this.queries, this.tag, format, this.grouping);
    } catch (error) {
      this.showMessage(`Download failed: ${(error as Error).message}`, true);
    }
  }

  destroy(): void {
    this.controller?.abort();
    for (const stop of this.stopFollowing) stop();
    this.table.destroy();
    this.legend.destroy();
    this.destroyPlot();
    this.card.remove();
  }
}
