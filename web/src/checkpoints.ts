// A scalar chart's checkpoint markers: a faint dashed vertical line in the
// run's colour where each checkpoint of a run drawn was saved (drawn under
// the lines by a uPlot draw plugin), and the tooltip's lines naming those
// near the cursor.

import type uPlot from "uplot";
import type { CheckpointInfo } from "./api";
import type { Plotted } from "./chartSeries";
import "./checkpoints.css";
import { faint, runColor } from "./colors";
import { formatStep } from "./format";
import { el } from "./runs";
import type { XAxis } from "./state";

/** Checkpoints by run, as the scalars view fetched them. */
export type CheckpointsByRun = ReadonlyMap<string, CheckpointInfo[]>;

/** How near the cursor (CSS pixels) a checkpoint marker must be for the tooltip to name it. */
const CHECKPOINT_REACH = 6;

/** A checkpoint where it stands on the x axis. */
export interface Marker {
  run: string;
  color: string;
  x: number;
  checkpoint: CheckpointInfo;
}

/** The checkpoints of the runs drawn, each where its step (or time) is on the x axis, in view or not. */
export function checkpointMarkers(plotted: Plotted[], checkpoints: CheckpointsByRun, axis: XAxis): Marker[] {
  const found: Marker[] = [];
  const seen = new Set<string>();
  for (const p of plotted) {
    if (seen.has(p.run)) continue;
    seen.add(p.run);
    const color = runColor(p.run);
    // The relative axis counts from the run's first point, as its lines do.
    const origin = p.wall[0] ?? 0;
    for (const checkpoint of checkpoints.get(p.run) ?? []) {
      const x =
        axis === "step" ? checkpoint.step : axis === "wall" ? checkpoint.wall_time : checkpoint.wall_time - origin;
      found.push({ run: p.run, color, x, checkpoint });
    }
  }
  return found;
}

/** A thin dashed line in the run's colour, faint, at each marker in view; under the lines. Returns how many. */
export function drawCheckpoints(u: uPlot, markers: Marker[]): number {
  const { min, max } = u.scales.x;
  if (min == null || max == null) return 0;
  let drawn = 0;
  const ctx = u.ctx;
  const { top, height } = u.bbox;
  const width = Math.max(1, Math.round(devicePixelRatio));
  // Centred on a device pixel, so that a 1-pixel line is one crisp column.
  const align = width % 2 === 1 ? 0.5 : 0;
  ctx.save();
  ctx.globalCompositeOperation = "destination-over";
  ctx.lineWidth = width;
  ctx.setLineDash([4 * width, 3 * width]);
  for (const marker of markers) {
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
  return drawn;
}

/** The tooltip's lines for the markers within reach of the cursor (at ``left``, CSS pixels), or null. */
export function checkpointLines(u: uPlot, markers: Marker[], left: number): HTMLElement | null {
  const { min, max } = u.scales.x;
  if (min == null || max == null) return null;
  const near = markers.filter(
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
