// The series of a scalar chart as plain data: what a chart asks for, the
// lines fetched for it, the overview with a zoomed detail spliced in, their x
// values on the chosen axis and the y range of what is in view. No drawing
// here; chart.ts and its drawing modules work from these.

import { scalars, type Series } from "./api";
import type { GroupLineInfo } from "./chartGroups";
import type { ViewState, XAxis } from "./state";

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
export interface Line extends Series {
  tag: string;
  label: string;
  /** What picks the line's colour: its run, unless the chart has several tags of one run apart. */
  colorKey: string;
  role?: "lower" | "upper";
  of?: string;
  /** A run group's line: its mean, or (with a role) an edge of its band. */
  group?: GroupLineInfo;
}

/** A line as drawn: its x values on the current axis, and its smoothed values beside the raw ones. */
export interface Plotted {
  run: string;
  tag: string;
  label: string;
  role?: "lower" | "upper";
  of?: string;
  group?: GroupLineInfo;
  color: string;
  step: Float64Array;
  wall: Float64Array;
  x: Float64Array;
  raw: Float64Array;
  smoothed: Float64Array;
}

/** How many points and which steps to ask the server for. */
export interface Density {
  max_points: number;
  min_step?: number;
  max_step?: number;
}

/** Each query's series, labelled (by run alone when the chart is of one tag, ``chartTag``). */
export async function fetchLines(
  queries: ChartQuery[],
  chartTag: string,
  density: Density,
  signal: AbortSignal,
): Promise<Line[]> {
  const single = queries.length === 1 && queries[0].tag === chartTag;
  // Lines of one run differ in colour only where a run has several of them that are not a margin's.
  const byRun = queries.length <= 1 || queries.some((q) => q.of !== undefined);
  const parts = await Promise.all(
    queries
      .filter((q) => q.runs.length > 0)
      .map(async (q) => {
        const found = await scalars({ tag: q.tag, runs: q.runs, ...density }, signal);
        return found.map((s): Line => {
          const label = single ? s.run : `${s.run}: ${q.tag}`;
          return { ...s, tag: q.tag, label, colorKey: byRun ? s.run : label, role: q.role, of: q.of };
        });
      }),
  );
  return parts.flat();
}

/** A series' x values on an axis: its steps, its wall times, or the time since its first point. */
export function xValues(s: Series, axis: XAxis): Float64Array {
  if (axis === "step") return s.step;
  if (axis === "wall") return s.wall;
  // A series always holds its run's first point (downsampling and zoom detail keep it).
  const origin = s.wall[0] ?? 0;
  const x = new Float64Array(s.wall.length);
  for (let i = 0; i < x.length; i++) x[i] = s.wall[i] - origin;
  return x;
}

/** The steps covering an x range of the axis, one point beyond each end. */
export function stepRange(series: Series[], zoom: { min: number; max: number }, axis: XAxis): [number, number] | null {
  let low = Infinity;
  let high = -Infinity;
  for (const s of series) {
    const x = xValues(s, axis);
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

/** The overview with the zoomed detail spliced in, per line. */
export function spliceDetail(overview: Line[], detail: Line[] | null): Line[] {
  if (!detail) return overview;
  const byLabel = new Map(detail.map((d) => [d.label, d]));
  return overview.map((o) => {
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
      group:
        o.group && d.group
          ? { ...o.group, count: join(o.group.count, d.group.count) }
          : o.group,
    };
  });
}

/** The y range of what is drawn between two x values; outliers (outside 5%-95%) optionally left out. */
export function yRange(plotted: Plotted[], xMin: number, xMax: number, state: ViewState): [number, number] {
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
  for (const p of plotted) {
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

/** The values as uPlot draws them: the array itself if all drawable, else with gaps (null). */
export function drawable(values: Float64Array, log: boolean): Float64Array | (number | null)[] {
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

/** The first index with a[i] >= v. */
export function lowerBound(a: ArrayLike<number>, v: number): number {
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
export function upperBound(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The index of the value nearest v (a sorted), or -1 if there is none. */
export function nearest(a: ArrayLike<number>, v: number): number {
  if (a.length === 0) return -1;
  const i = lowerBound(a, v);
  if (i === 0) return 0;
  if (i >= a.length) return a.length - 1;
  return v - a[i - 1] <= a[i] - v ? i - 1 : i;
}
