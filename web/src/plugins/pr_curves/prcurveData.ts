// The PR curves' data: a pr_curves tensor is [6, N], rows TP, FP, TN, FN,
// precision, recall at thresholds i / (N - 1). Points whose precision or
// recall is not finite are left out of the line (marked at the edge when one
// of the two is known); the thresholds above every prediction (TP + FP = 0,
// so precision is undefined) are left out as TensorBoard does. What a card
// says about those it did not draw is here too.

import type { TensorPoint } from "../../api";
import { formatValue } from "../../format";

/** The rows of a pr_curves tensor. */
export const [TP, FP, TN, FN, PRECISION, RECALL] = [0, 1, 2, 3, 4, 5];

/** One step's curve: the six rows, each of one value per threshold. */
export interface Curve {
  step: number;
  rows: Float64Array[];
  thresholds: number;
}

/** Where the thresholds of a curve go on the chart. */
export interface Layout {
  /** The drawn points by increasing recall (decreasing threshold), and their threshold indices. */
  x: number[];
  y: number[];
  drawn: number[];
  /** Thresholds with precision or recall not finite; those with exactly one known are marked at an edge. */
  nonFinite: number;
  edge: { index: number; side: "top" | "left" }[];
  /** Thresholds at the tail with no prediction at or above them. */
  unpredicted: number;
}

/** The [6, N] curves of a tag by step (the last logged at a step wins), or why there are none. */
export function parseCurves(points: TensorPoint[]): Curve[] | string {
  const byStep = new Map<number, Curve>();
  for (const point of points) {
    const [rows, thresholds] = point.shape;
    if (point.truncated || point.shape.length !== 2 || rows !== 6 || thresholds < 1) {
      const shape = point.shape.join(", ");
      return `This is not PR curve data: step ${point.step} holds a tensor of shape [${shape}], not [6, N].`;
    }
    const values = point.values as unknown[][];
    byStep.set(point.step, {
      step: point.step,
      rows: values.map((row) => Float64Array.from(row, (v) => Number(v))),
      thresholds,
    });
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

export function layout(curve: Curve): Layout {
  const precision = curve.rows[PRECISION];
  const recall = curve.rows[RECALL];
  const found: Layout = { x: [], y: [], drawn: [], nonFinite: 0, edge: [], unpredicted: 0 };
  // TensorBoard trims the tail where nothing is predicted positive: precision there is 0/0.
  let end = curve.thresholds;
  while (end > 1 && curve.rows[TP][end - 1] + curve.rows[FP][end - 1] === 0) end--;
  for (let i = curve.thresholds - 1; i >= 0; i--) {
    const p = precision[i];
    const r = recall[i];
    const finiteP = Number.isFinite(p);
    const finiteR = Number.isFinite(r);
    if (!finiteP || !finiteR) {
      found.nonFinite++;
      if (finiteP !== finiteR) found.edge.push({ index: i, side: finiteR ? "top" : "left" });
    } else if (i >= end) {
      found.unpredicted++;
    } else {
      found.x.push(r);
      found.y.push(p);
      found.drawn.push(i);
    }
  }
  return found;
}

export function thresholdOf(curve: Curve, index: number): number {
  return curve.thresholds === 1 ? 0 : index / (curve.thresholds - 1);
}

export function formatCount(v: number): string {
  return Number.isInteger(v) ? v.toLocaleString("en-US") : formatValue(v);
}

export function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
}

/** What the card says about thresholds of NaN or infinite precision or recall ("" if none). */
export function nonFiniteNote(found: Layout): string {
  if (!found.nonFinite) return "";
  const marked = found.edge.length ? " (marked at the edge where the other one is known)" : "";
  const count = plural(found.nonFinite, "threshold", "thresholds");
  return `Not drawn: ${count} whose precision or recall is NaN or infinite${marked}.`;
}

/** The slider's detail: how many thresholds, and how many lie above every prediction. */
export function thresholdsDetail(curve: Curve, found: Layout): string {
  const detail = plural(curve.thresholds, "threshold", "thresholds");
  return found.unpredicted ? `${detail} (${found.unpredicted} above every prediction, not drawn)` : detail;
}

/** The curve shown at ``step``: the last logged at or before it (null before the first). */
export function curveAt(curves: Curve[], step: number): Curve | null {
  let found: Curve | null = null;
  for (const curve of curves) {
    if (curve.step > step) break;
    found = curve;
  }
  return found;
}
