// What a scalar chart draws on uPlot's canvas besides its lines: points that
// a line cannot show (NaN and infinities, a lone point) and the bands of a
// margin chart. uPlot leaves gaps for non-finite values and draws no line
// through a single point, so without these marks such points would vanish.

import type uPlot from "uplot";
import { bandFill } from "./chartGroups";
import type { Plotted } from "./chartSeries";
import { faint } from "./colors";

/** A triangle at the top (NaN, +inf) or bottom (-inf) edge for each non-finite point in view. */
export function markNonFinite(u: uPlot, plotted: Plotted[]): void {
  const ctx = u.ctx;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  for (const p of plotted) {
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
  ctx.restore();
}

/** A dot for each line of a single finite point: it has no line to draw. */
export function markLonePoints(u: uPlot, plotted: Plotted[]): void {
  const ctx = u.ctx;
  ctx.save();
  for (const p of plotted) {
    if (p.x.length !== 1 || !Number.isFinite(p.raw[0])) continue;
    const x = u.valToPos(p.x[0], "x", true);
    const y = u.valToPos(p.raw[0], "y", true);
    ctx.fillStyle = p.color;
    ctx.beginPath();
    ctx.arc(x, y, 3.5 * devicePixelRatio, 0, 2 * Math.PI);
    ctx.fill();
  }
  ctx.restore();
}

/** A margin chart's bands: between each run's lower and upper bound, under what is drawn. */
export function fillBands(u: uPlot, plotted: Plotted[]): void {
  const ctx = u.ctx;
  ctx.save();
  ctx.globalCompositeOperation = "destination-over";
  const { left, top, width, height } = u.bbox;
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  for (const lower of plotted) {
    if (lower.role !== "lower") continue;
    const upper = plotted.find((p) => p.role === "upper" && p.run === lower.run && p.of === lower.of);
    if (!upper) continue;
    const outline = [...bandEdge(u, lower, false), ...bandEdge(u, upper, true)];
    if (outline.length < 3) continue;
    // A run group's band is translucent, so that overlapping groups both show.
    ctx.fillStyle = lower.group ? bandFill(lower.color) : faint(lower.color, 0.2);
    ctx.beginPath();
    ctx.moveTo(outline[0][0], outline[0][1]);
    for (const [x, y] of outline.slice(1)) ctx.lineTo(x, y);
    ctx.closePath();
    ctx.fill();
  }
  ctx.restore();
}

/** A bound's finite points as drawn (smoothed) in canvas pixels, forwards (the lower edge) or backwards (the upper). */
function bandEdge(u: uPlot, p: Plotted, backwards: boolean): [number, number][] {
  const edge: [number, number][] = [];
  for (let k = 0; k < p.x.length; k++) {
    const i = backwards ? p.x.length - 1 - k : k;
    if (!Number.isFinite(p.smoothed[i])) continue;
    edge.push([u.valToPos(p.x[i], "x", true), u.valToPos(p.smoothed[i], "y", true)]);
  }
  return edge;
}
