// The ticks of a log-scale value axis and the width of a value axis.
//
// uPlot's own log splits start at the scale's minimum, which a chart pads to
// a value such as 0.0013976, and go up by that decade's step from there:
// unround ticks whose labels do not fit the axis. Here the ticks are round
// (1, 2 and 5 times a power of ten, or every decade, or every few decades,
// whichever is the densest that leaves room between labels), with plain
// round steps for a range narrower than that, and the axis is made as wide
// as its widest label.

import type uPlot from "uplot";

/** The least room (CSS pixels) between two labels of a value axis. */
const LABEL_SPACE = 16;

/** The position (0 to 1, bottom to top) of a value on a log axis from min to max. */
function logPosition(v: number, min: number, max: number): number {
  return (Math.log10(v) - Math.log10(min)) / (Math.log10(max) - Math.log10(min));
}

/** The smallest gap (pixels) between two neighbouring ticks, or Infinity if fewer than two. */
function smallestGap(ticks: number[], min: number, max: number, height: number): number {
  let gap = Infinity;
  for (let i = 1; i < ticks.length; i++) {
    gap = Math.min(gap, (logPosition(ticks[i], min, max) - logPosition(ticks[i - 1], min, max)) * height);
  }
  return gap;
}

/** ``m`` times ten to the ``k``, exactly as written in decimal (10 ** -3 is not 0.001). */
function decimal(m: number, k: number): number {
  return Number(`${m}e${k}`);
}

/** The multiples (of ``mantissas``) of every ``every``-th power of ten between min and max. */
function powerTicks(min: number, max: number, mantissas: number[], every: number): number[] {
  const ticks: number[] = [];
  const low = Math.floor(Math.log10(min));
  const high = Math.ceil(Math.log10(max));
  for (let k = Math.floor(low / every) * every; k <= high; k += every) {
    for (const m of mantissas) {
      const v = decimal(m, k);
      if (v >= min && v <= max) ticks.push(v);
    }
  }
  return ticks;
}

/** Evenly spaced round ticks (a step of 1, 2 or 5 times a power of ten) for a range under a decade or so. */
function evenTicks(min: number, max: number, height: number): number[] {
  for (let k = Math.floor(Math.log10(max - min)) - 2; k <= Math.ceil(Math.log10(max)); k++) {
    for (const m of [1, 2, 5]) {
      const step = decimal(m, k);
      const ticks: number[] = [];
      for (let i = Math.ceil(min / step); i * step <= max; i++) ticks.push(Number((i * step).toPrecision(12)));
      if (ticks.length <= 40 && smallestGap(ticks, min, max, height) >= LABEL_SPACE) return ticks;
    }
  }
  return [];
}

/** Round ticks for a log axis from min to max, ``height`` CSS pixels tall. */
export function logTicks(min: number, max: number, height: number): number[] {
  if (!(min > 0 && max > min && height > 0)) return [];
  let best = powerTicks(min, max, [1, 2, 5], 1);
  if (smallestGap(best, min, max, height) < LABEL_SPACE) {
    best = [];
    for (const every of [1, 2, 3, 5, 10, 20, 50, 100]) {
      const ticks = powerTicks(min, max, [1], every);
      if (smallestGap(ticks, min, max, height) >= LABEL_SPACE) {
        best = ticks;
        break;
      }
    }
  }
  if (best.length >= 3) return best;
  const even = evenTicks(min, max, height);
  return even.length > best.length ? even : best;
}

/** A tick's label: plain decimals from 0.001 to 99,999, else ``2e-5``, ``1.5e7``. */
export function formatTick(v: number): string {
  const a = Math.abs(v);
  if (a === 0 || (a >= 1e-3 && a < 1e5)) return String(Number(v.toPrecision(6)));
  const k = Math.floor(Math.log10(a) + 1e-9);
  return `${Number((v / 10 ** k).toPrecision(3))}e${k}`;
}

/** uPlot's splits function of a log-scale value axis. */
export function logSplits(u: uPlot, _axis: number, min: number, max: number): number[] {
  const height = u.bbox.height > 0 ? u.bbox.height / devicePixelRatio : 150;
  return logTicks(min, max, height);
}

let measurer: CanvasRenderingContext2D | null = null;

/** uPlot's size function of a value axis: its widest label, the tick and the gaps. */
export function valueAxisSize(u: uPlot, values: string[] | null, axisIndex: number): number {
  const axis = u.axes[axisIndex] as uPlot.Axis & { font?: [string, number, number] };
  const least = 48;
  if (!values || values.length === 0) return least;
  measurer ??= document.createElement("canvas").getContext("2d");
  if (!measurer) return least;
  const font = axis.font;
  measurer.font = font ? font[0] : "12px sans-serif";
  const ratio = font ? font[1] / font[2] : 1;
  let widest = 0;
  for (const text of values) if (text) widest = Math.max(widest, measurer.measureText(text).width / ratio);
  const tick = axis.ticks?.size ?? 10;
  const gap = axis.gap ?? 5;
  return Math.max(least, Math.ceil(widest + tick + gap + 6));
}
