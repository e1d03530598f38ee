// The histograms' drawing on a canvas, every step on the same equal bins:
// "offset" stacks the steps as a ridgeline (older further back, each filled),
// "overlay" draws their outlines on one set of axes; with the value axis
// below and the steps (offset) or counts (overlay) beside them. Drawn by hand
// because a ridgeline of 500 steps is no chart library's kind of plot.

import { faint, themeColors, type ThemeColors } from "../../colors";
import { formatDuration, formatStep, formatValue } from "../../format";
import type { XAxis } from "../../state";
import { extent, niceTicks, type Layout, type Rebinned } from "./histomath";

/** Where each step is on the x axis chosen in the settings: its step, seconds since the first, or its wall time. */
export function positionsOf(axis: XAxis, histograms: { step: number; wall: number }[]): Float64Array<ArrayBuffer> {
  if (axis === "step") return Float64Array.from(histograms, (h) => h.step);
  if (axis === "wall") return Float64Array.from(histograms, (h) => h.wall);
  const [start] = extent(Float64Array.from(histograms, (h) => h.wall));
  return Float64Array.from(histograms, (h) => h.wall - start);
}

/** A position on the x axis as a label: a step, a duration, or a time of day (with the day if they span days). */
export function formatPosition(axis: XAxis, at: number, span = 0): string {
  if (axis === "step") return formatStep(at);
  if (axis === "relative") return formatDuration(at);
  const d = new Date(at * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${span < 600 ? `:${pad(d.getSeconds())}` : ""}`;
  return span >= 86400 ? `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}` : time;
}
/** The canvas at this CSS size, sharp on any screen: its context draws in CSS pixels. */
export function sized(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
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
export function tracePath(ctx: CanvasRenderingContext2D, layout: Layout, binned: Rebinned, index: number): void {
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

export function drawHistograms(
  ctx: CanvasRenderingContext2D,
  layout: Layout,
  binned: Rebinned,
  positions: Float64Array,
  axis: XAxis,
  color: string,
): void {
  const n = positions.length;
  const { width, height } = ctx.canvas;
  const colors = themeColors();
  ctx.clearRect(0, 0, width, height);
  drawValueAxis(ctx, layout, binned, colors);
  if (layout.mode === "offset") drawStepAxis(ctx, layout, positions, axis);
  else drawCountAxis(ctx, layout, binned.peak, colors);
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
        ctx.strokeStyle = colors.panel;
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

/** The axis lines and tick marks: the light theme's own grey (darker than its grid), the dark theme's tick colour. */
function axisLine(colors: ThemeColors): string {
  return colors.theme === "dark" ? colors.ticks : "#cccccc";
}

function drawValueAxis(ctx: CanvasRenderingContext2D, layout: Layout, binned: Rebinned, colors: ThemeColors): void {
  const { left, right, bottom } = layout;
  const span = binned.high - binned.low;
  ctx.fillStyle = colors.axis;
  ctx.strokeStyle = axisLine(colors);
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

/** The offset mode's axis of the steps (beside the ridges), in the x axis' unit. */
function drawStepAxis(ctx: CanvasRenderingContext2D, layout: Layout, positions: Float64Array, axis: XAxis): void {
  const [first, last] = extent(positions);
  const { right, top, bottom, peakHeight } = layout;
  const yOf = (at: number): number =>
    last > first ? top + peakHeight + ((bottom - top - peakHeight) * (at - first)) / (last - first) : bottom;
  ctx.textAlign = "left";
  ctx.textBaseline = "middle";
  ctx.beginPath();
  let ticks = last > first ? niceTicks(first, last, 5) : [first];
  if (axis === "step") ticks = ticks.filter(Number.isInteger);
  for (const at of ticks) {
    const y = yOf(at);
    ctx.moveTo(right + 2, Math.round(y) + 0.5);
    ctx.lineTo(right + 6, Math.round(y) + 0.5);
    ctx.fillText(formatPosition(axis, at, last - first), right + 9, y);
  }
  ctx.stroke();
}

function drawCountAxis(ctx: CanvasRenderingContext2D, layout: Layout, peak: number, colors: ThemeColors): void {
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
  ctx.strokeStyle = colors.grid;
  ctx.stroke();
}
