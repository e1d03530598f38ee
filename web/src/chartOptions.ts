// The uPlot options of a scalar chart: a series per line (and its faint raw
// twin when smoothing), the axes in the chosen x unit, and scales whose range
// the chart may force while new data goes in.

import type uPlot from "uplot";
import type { Plotted } from "./chartSeries";
import { formatTick, logSplits, valueAxisSize } from "./chartTicks";
import { faint, themeColors } from "./colors";
import { formatDuration, formatStep, formatValue } from "./format";
import type { ViewState, XAxis } from "./state";

/** Tick spacings for an axis of steps: whole numbers only, so no tick falls between two steps. */
export const STEP_INCREMENTS = [1, 2, 5]
  .flatMap((m) => Array.from({ length: 16 }, (_, e) => m * 10 ** e))
  .sort((a, b) => a - b);

/** What the chart does when uPlot draws, zooms or moves the cursor. */
export interface ChartHooks {
  /** The ranges to use instead of uPlot's while new data goes in (else null: as asked, e.g. a zoom). */
  forced(): { x: [number, number]; y: [number, number] } | null;
  /** Drawn first, under the lines (the checkpoint markers). */
  drawUnder(u: uPlot): void;
  /** Drawn after the lines (the marks of non-finite points, lone points, bands). */
  afterDraw(u: uPlot): void;
  onScale(u: uPlot, key: string): void;
  onCursor(u: uPlot): void;
  /** More of the chart's uPlot plugins (the step selection). */
  plugins?: uPlot.Plugin[];
}

/** An axis's colours: the theme's as it is when drawn (a redraw after a theme change takes the new ones). */
const themed = {
  stroke: () => themeColors().axis,
  grid: { stroke: () => themeColors().grid },
  ticks: { stroke: () => themeColors().ticks },
};

/** The value (y) axis, as every chart of the page draws it: as wide as its labels; round ticks when log-scale. */
export function valueAxis(log = false): uPlot.Axis {
  const axis: uPlot.Axis = {
    ...themed,
    size: valueAxisSize,
    values: (_u, splits) => splits.map((v) => (v == null ? "" : formatValue(v))),
  };
  if (!log) return axis;
  return {
    ...axis,
    splits: logSplits,
    filter: (_u, splits) => splits,
    values: (_u, splits) => splits.map((v) => (v == null ? "" : formatTick(v))),
  };
}

/** The x axis in its unit: steps (whole numbers only), relative time, or wall time (uPlot's dates). */
export function xAxisOf(axis: XAxis): uPlot.Axis {
  return {
    ...themed,
    values:
      axis === "relative"
        ? (_u, splits) => splits.map((v) => formatDuration(v))
        : axis === "step"
          ? (_u, splits) => splits.map((v) => formatStep(v))
          : undefined,
    incrs: axis === "step" ? STEP_INCREMENTS : undefined,
  };
}

/** A series per line; with smoothing, the raw line goes first, faint, behind the smoothed one. */
function lineSeries(plotted: Plotted[], smoothing: boolean): uPlot.Series[] {
  const series: uPlot.Series[] = [{}];
  const facets = [
    { scale: "x", auto: false },
    { scale: "y", auto: false },
  ];
  for (const p of plotted) {
    if (smoothing) {
      series.push({ label: p.label, stroke: faint(p.color, 0.25), width: 1, facets, points: { show: false } } as uPlot.Series);
    }
    const stroke = p.role ? faint(p.color, 0.6) : p.color;
    series.push({ label: p.label, stroke, width: p.role ? 1 : p.group ? 2.5 : 1.5, facets, points: { show: false } } as uPlot.Series);
  }
  return series;
}

/** The options of a chart of these lines (uPlot's mode 2: each line keeps its own x values). */
export function chartOptions(
  plotted: Plotted[],
  state: ViewState,
  size: { width: number; height: number },
  hooks: ChartHooks,
): uPlot.Options {
  return {
    mode: 2,
    ...size,
    legend: { show: false },
    cursor: {
      drag: { x: true, y: false, setScale: true },
      points: { show: false },
      bind: { dblclick: () => () => null },
    },
    scales: {
      // While new data goes in, the ranges are ours (forced); otherwise, as asked (a zoom).
      x: { time: state.xAxis === "wall", auto: true, range: (_u, min, max) => hooks.forced()?.x ?? [min, max] },
      y: { auto: true, distr: state.logY ? 3 : 1, range: (_u, min, max) => hooks.forced()?.y ?? [min, max] },
    },
    axes: [xAxisOf(state.xAxis), valueAxis(state.logY)],
    series: lineSeries(plotted, state.smoothing > 0),
    plugins: [{ hooks: { draw: [(u: uPlot) => hooks.drawUnder(u)] } }, ...(hooks.plugins ?? [])],
    hooks: {
      setScale: [(u, key) => hooks.onScale(u, key)],
      setCursor: [(u) => hooks.onCursor(u)],
      draw: [(u) => hooks.afterDraw(u)],
    },
  } as uPlot.Options;
}
