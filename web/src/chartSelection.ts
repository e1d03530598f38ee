// The step selection every scalar chart shares: a step (click a chart; a
// click at the same step, or Escape, clears it) or a range of steps
// (Shift+drag; a plain drag still zooms). Each chart draws it, a vertical
// line at the step or a shaded band over the range, and its table lists the
// runs there (chartTable). The selection is in steps, whatever the x axis:
// on a time axis each run's line is marked where that run was at the step.

import type uPlot from "uplot";
import { lowerBound, nearest, type Plotted, upperBound } from "./chartSeries";
import { themeColors } from "./colors";
import type { XAxis } from "./state";

export type Selection = { kind: "step"; step: number } | { kind: "range"; from: number; to: number } | null;

let current: Selection = null;
const listeners = new Set<() => void>();

export function selection(): Selection {
  return current;
}

export function setSelection(next: Selection): void {
  current = next;
  for (const listener of listeners) listener();
}

/** Calls ``listener`` whenever the selection changes; returns what stops it. */
export function onSelection(listener: () => void): () => void {
  if (listeners.size === 0) installEscape();
  listeners.add(listener);
  return () => listeners.delete(listener);
}

let escapeInstalled = false;

function installEscape(): void {
  if (escapeInstalled) return;
  escapeInstalled = true;
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && current !== null && !event.defaultPrevented) setSelection(null);
  });
}

/** The step of the drawn point nearest to ``x`` (axis units) on any line, or null if nothing is drawn. */
export function stepNear(plotted: Plotted[], x: number): number | null {
  let best: number | null = null;
  let distance = Infinity;
  for (const p of plotted) {
    const i = nearest(p.x, x);
    if (i < 0 || Math.abs(p.x[i] - x) >= distance) continue;
    distance = Math.abs(p.x[i] - x);
    best = p.step[i];
  }
  return best;
}

/** The first and last step drawn between two x values (axis units) on any line, or null if none is. */
export function stepsBetween(plotted: Plotted[], x0: number, x1: number): [number, number] | null {
  let from = Infinity;
  let to = -Infinity;
  for (const p of plotted) {
    const i = lowerBound(p.x, Math.min(x0, x1));
    const j = upperBound(p.x, Math.max(x0, x1)) - 1;
    if (i > j) continue;
    from = Math.min(from, p.step[i]);
    to = Math.max(to, p.step[j]);
  }
  return from <= to ? [from, to] : null;
}

/** Where the selected step stands on the x axis: the step itself, or on a time axis each line's point at it. */
function markerXs(plotted: Plotted[], step: number, axis: XAxis): number[] {
  if (axis === "step") return [step];
  const xs = new Set<number>();
  for (const p of plotted) {
    const i = upperBound(p.step, step) - 1;
    if (i >= 0) xs.add(p.x[i]);
  }
  return [...xs];
}

/** The x range (axis units) the selected steps cover on the lines drawn, or null. */
function rangeXs(plotted: Plotted[], from: number, to: number): [number, number] | null {
  let low = Infinity;
  let high = -Infinity;
  for (const p of plotted) {
    const i = lowerBound(p.step, from);
    const j = upperBound(p.step, to) - 1;
    if (i > j) continue;
    low = Math.min(low, p.x[i]);
    high = Math.max(high, p.x[j]);
  }
  return low <= high ? [low, high] : null;
}

/** What the plugin needs of its chart. */
export interface SelectionHost {
  plotted(): Plotted[];
  axis(): XAxis;
  /** After each draw: how many marker lines were drawn (0 when there is no step selected or it is out of view). */
  marked(lines: number): void;
}

/** The band's fill, translucent: the checkpoint markers and margin bands drawn under it show through. */
function rangeFill(): string {
  return themeColors().theme === "dark" ? "rgba(255, 255, 255, 0.09)" : "rgba(31, 58, 95, 0.08)";
}

/** The vertical line (lines on a time axis) at the selected step, over the lines. Returns how many. */
function drawMarker(u: uPlot, xs: number[]): number {
  const { min, max } = u.scales.x;
  if (min == null || max == null) return 0;
  const { top, height } = u.bbox;
  const width = Math.max(1, Math.round(devicePixelRatio));
  const align = width % 2 === 1 ? 0.5 : 0;
  const ctx = u.ctx;
  ctx.save();
  ctx.strokeStyle = themeColors().text;
  ctx.lineWidth = width;
  let drawn = 0;
  for (const x of xs) {
    if (!(x >= min && x <= max)) continue;
    const at = Math.round(u.valToPos(x, "x", true)) + align;
    ctx.beginPath();
    ctx.moveTo(at, top);
    ctx.lineTo(at, top + height);
    ctx.stroke();
    drawn++;
  }
  ctx.restore();
  return drawn;
}

/** The band over the selected range, under the grid and the lines, edged at its first and last step. */
function drawRange(u: uPlot, xs: [number, number]): void {
  const { left, top, width, height } = u.bbox;
  const a = Math.max(left, Math.min(left + width, u.valToPos(xs[0], "x", true)));
  const b = Math.max(left, Math.min(left + width, u.valToPos(xs[1], "x", true)));
  const ctx = u.ctx;
  ctx.save();
  ctx.fillStyle = rangeFill();
  ctx.fillRect(a, top, Math.max(1, b - a), height);
  ctx.strokeStyle = themeColors().muted;
  ctx.lineWidth = Math.max(1, Math.round(devicePixelRatio));
  ctx.beginPath();
  for (const x of [a, b]) {
    ctx.moveTo(Math.round(x) + 0.5, top);
    ctx.lineTo(Math.round(x) + 0.5, top + height);
  }
  ctx.stroke();
  ctx.restore();
}

/** uPlot's listener factories get a fourth argument its types leave out: whether only the target's own events count. */
type Bind = (u: uPlot, target: HTMLElement, handler: uPlot.Cursor.MouseListener, onlyTarget?: boolean) => uPlot.Cursor.MouseListener;

/**
 * The uPlot plugin of the selection: a click picks a step, Shift+drag a range
 * (the drag's box then does not zoom), and the selection is drawn.
 */
export function selectionPlugin(host: SelectionHost): uPlot.Plugin {
  let ranging = false;
  let down: { x: number; y: number } | null = null;
  let beforeClick: Selection = null;
  // As uPlot's own listeners: the main button only, on the target itself unless told otherwise.
  const primary = (onlyTarget: boolean | undefined, target: HTMLElement, e: MouseEvent) =>
    e.button === 0 && (onlyTarget === false || e.target === target);

  const mousedown: Bind = (u, target, handler, onlyTarget) => (e) => {
    if (!primary(onlyTarget, target, e)) return null;
    ranging = e.shiftKey;
    down = { x: e.clientX, y: e.clientY };
    if (u.cursor.drag) u.cursor.drag.setScale = !ranging;
    handler(e);
    return null;
  };
  const mouseup: Bind = (u, target, handler, onlyTarget) => (e) => {
    if (!primary(onlyTarget, target, e)) return null;
    handler(e);
    if (!ranging) return null;
    ranging = false;
    if (u.cursor.drag) u.cursor.drag.setScale = true;
    const { left, width } = u.select;
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (width < 3) return null;
    const steps = stepsBetween(host.plotted(), u.posToVal(left, "x"), u.posToVal(left + width, "x"));
    if (steps) setSelection({ kind: "range", from: steps[0], to: steps[1] });
    return null;
  };

  const onClick = (u: uPlot, e: MouseEvent) => {
    const moved = down !== null && Math.hypot(e.clientX - down.x, e.clientY - down.y) > 3;
    if (moved || e.shiftKey) return;
    // The second click of a double-click (which resets the zoom) undoes the first.
    if (e.detail >= 2) {
      if (beforeClick !== current) setSelection(beforeClick);
      return;
    }
    beforeClick = current;
    const left = e.clientX - u.over.getBoundingClientRect().left;
    const step = stepNear(host.plotted(), u.posToVal(left, "x"));
    if (step === null) return;
    setSelection(current?.kind === "step" && current.step === step ? null : { kind: "step", step });
  };

  return {
    opts: (_u, opts) => {
      const bind = { mousedown, mouseup } as Record<string, uPlot.Cursor.MouseListenerFactory>;
      opts.cursor = { ...opts.cursor, bind: { ...opts.cursor?.bind, ...bind } };
    },
    hooks: {
      init: [(u) => u.over.addEventListener("click", (e) => onClick(u, e))],
      drawClear: [
        (u) => {
          if (current?.kind !== "range") return;
          const xs = rangeXs(host.plotted(), current.from, current.to);
          if (xs) drawRange(u, xs);
        },
      ],
      draw: [
        (u) => {
          const xs = current?.kind === "step" ? markerXs(host.plotted(), current.step, host.axis()) : [];
          host.marked(drawMarker(u, xs));
        },
      ],
    },
  };
}
