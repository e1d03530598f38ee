// The histograms' drawing on a canvas, every step on the same equal bins:
// "offset" stacks the steps as a ridgeline (older further back, each filled),
// "overlay" draws their outlines on one set of axes; with the value axis
// below and the steps (offset) or counts (overlay) beside them. Drawn by hand
// because a ridgeline of 500 steps is no chart library's kind of plot.

import { faint } from "../../colors";
import { formatStep, formatValue } from "../../format";
import { niceTicks, type Layout, type Rebinned } from "./histomath";
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
