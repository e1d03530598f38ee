// The hparams view's data: the sessions of /api/plugins/hparams/sessions as
// columns of cells (one per session), with what sorting, filtering and the
// plots need: sort keys, column filters ("0.1..0.5", ">0.3", a regex) and
// scales onto an axis.

/** One session as the server sends it. */
export interface SessionInfo {
  run: string;
  hparams: Record<string, unknown>;
  metrics: Record<string, unknown>;
}

/** A cell: a number, a text (booleans and anything else become text), or null when not logged. */
export type Cell = number | string | null;

export type ColumnKind = "run" | "hparam" | "metric";

export interface Column {
  /** "run", "h:<name>" or "m:<tag>": a hyperparameter and a metric may share a name. */
  readonly id: string;
  readonly name: string;
  readonly kind: ColumnKind;
  /** Every logged cell is a number. */
  readonly numeric: boolean;
  readonly cells: Cell[];
  /** The cells as shown ("" when not logged). */
  readonly text: string[];
  /** Sort keys: the number, or a categorical cell's rank in natural order. */
  readonly keys: Float64Array;
  /** 0 a value, 1 NaN, 2 not logged: both sort last whichever the direction. */
  readonly groups: Uint8Array;
}

export interface Model {
  readonly runs: string[];
  /** The run column, then hyperparameters, then metrics, each by name in natural order. */
  readonly columns: Column[];
  /** The metric columns shown until the person chooses. */
  readonly defaultMetrics: Set<string>;
}

const collator = new Intl.Collator("en", { numeric: true });
const NON_FINITE: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
/** Metrics shown by default when the logdir does not say which are the sessions' metrics. */
const DEFAULT_METRICS = 10;

export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b);
}

/** A number as a cell shows it: integers whole, others to 6 significant digits. */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return String(Number(v.toPrecision(6)));
}

/**
 * The model of the sessions. ``experimentRuns`` are the runs that hold an
 * ``add_hparams`` experiment: their scalars are the ``metric_dict``, so those
 * metrics are shown by default (else the first ten, the most logged first).
 */
export function buildModel(sessions: SessionInfo[], experimentRuns: Set<string>): Model {
  const runs = sessions.map((s) => s.run);
  const hparamNames = new Set<string>();
  const metricCount = new Map<string, number>();
  const preferred = new Set<string>();
  for (const session of sessions) {
    for (const name of Object.keys(session.hparams)) hparamNames.add(name);
    for (const tag of Object.keys(session.metrics)) {
      metricCount.set(tag, (metricCount.get(tag) ?? 0) + 1);
      if (experimentRuns.has(session.run)) preferred.add(tag);
    }
  }
  const columns: Column[] = [makeColumn("run", "run", "run", runs)];
  for (const name of [...hparamNames].sort(naturalCompare)) {
    const cells = sessions.map((s) => s.hparams[name]);
    columns.push(makeColumn(`h:${name}`, name, "hparam", cells));
  }
  for (const tag of [...metricCount.keys()].sort(naturalCompare)) {
    const cells = sessions.map((s) => s.metrics[tag]);
    columns.push(makeColumn(`m:${tag}`, tag, "metric", cells));
  }
  const others = [...metricCount.keys()]
    .filter((tag) => !preferred.has(tag))
    .sort((a, b) => metricCount.get(b)! - metricCount.get(a)! || naturalCompare(a, b));
  const defaults = [...preferred, ...others.slice(0, Math.max(0, DEFAULT_METRICS - preferred.size))];
  return { runs, columns, defaultMetrics: new Set(defaults.map((tag) => `m:${tag}`)) };
}

function makeColumn(id: string, name: string, kind: ColumnKind, raw: unknown[]): Column {
  // "NaN"/"Infinity" are how JSON carries non-finite floats: numbers in a metric,
  // or in a hyperparameter column that holds numbers too (else they are text).
  const hasNumber = kind === "metric" || raw.some((v) => typeof v === "number");
  const cells: Cell[] = raw.map((v) => toCell(v, hasNumber));
  const logged = cells.filter((c) => c !== null);
  const numeric = kind !== "run" && logged.length > 0 && logged.every((c) => typeof c === "number");
  const text = cells.map((c) => (c === null ? "" : typeof c === "number" ? formatNumber(c) : c));
  const keys = new Float64Array(cells.length);
  const groups = new Uint8Array(cells.length);
  const ranks = numeric ? null : rankOf(text, cells);
  cells.forEach((cell, i) => {
    if (cell === null) groups[i] = 2;
    else if (ranks) keys[i] = ranks.get(text[i])!;
    else if (Number.isNaN(cell)) groups[i] = 1;
    else keys[i] = cell as number;
  });
  return { id, name, kind, numeric, cells, text, keys, groups };
}

function toCell(value: unknown, numbersAsText: boolean): Cell {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return value;
  if (typeof value === "string") return numbersAsText && value in NON_FINITE ? NON_FINITE[value] : value;
  if (typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

function rankOf(text: string[], cells: Cell[]): Map<string, number> {
  const distinct = [...new Set(text.filter((_, i) => cells[i] !== null))].sort(naturalCompare);
  return new Map(distinct.map((t, i) => [t, i]));
}

/** ``indices`` sorted by a column (values, then NaN, then not logged), ties in run order. */
export function sortBy(column: Column, descending: boolean, indices: number[]): number[] {
  const { keys, groups } = column;
  const sign = descending ? -1 : 1;
  return indices.slice().sort((a, b) => groups[a] - groups[b] || sign * (keys[a] - keys[b]) || a - b);
}

/** A column filter: which cells pass, or why the text is not a filter. */
export interface Filter {
  test: ((column: Column, i: number) => boolean) | null;
  error: string | null;
}

const NUMBER = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|[-+]?Infinity`;
const RANGE = new RegExp(`^(${NUMBER})?\\.\\.(${NUMBER})?$`, "i");
const COMPARISON = new RegExp(`^(>=|<=|>|<|==|=|!=)(${NUMBER})$`, "i");
const PLAIN = new RegExp(`^(${NUMBER})$`, "i");

/**
 * The filter a person typed: for a numeric column ranges and comparisons,
 * all of which must hold ("0.1..0.5", ">0.3 <=10", a number as shown); for
 * others a case-insensitive regex (or the plain text if not a valid regex).
 * A cell not logged never passes a filter.
 */
export function parseFilter(text: string, numeric: boolean): Filter {
  const trimmed = text.trim();
  if (!trimmed) return { test: null, error: null };
  if (!numeric) {
    let regex: RegExp;
    try {
      regex = new RegExp(trimmed, "i");
    } catch {
      regex = new RegExp(trimmed.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "i");
    }
    return { test: (column, i) => column.cells[i] !== null && regex.test(column.text[i]), error: null };
  }
  const checks: ((v: number) => boolean)[] = [];
  for (const part of trimmed.replace(/([<>]=?|==?|!=)\s+/g, "$1").split(/[\s,]+/)) {
    const check = numberCheck(part);
    if (!check) return { test: null, error: `"${part}" is not a range: write 0.1..0.5, >0.3, <=10 or a number` };
    checks.push(check);
  }
  return {
    test: (column, i) => {
      const cell = column.cells[i];
      return typeof cell === "number" && checks.every((check) => check(cell));
    },
    error: null,
  };
}

function numberCheck(part: string): ((v: number) => boolean) | null {
  let m = RANGE.exec(part);
  if (m && (m[1] !== undefined || m[2] !== undefined)) {
    const low = m[1] === undefined ? -Infinity : Number(m[1]);
    const high = m[2] === undefined ? Infinity : Number(m[2]);
    return (v) => v >= low && v <= high;
  }
  m = COMPARISON.exec(part);
  if (m) {
    const x = Number(m[2]);
    const ops: Record<string, (v: number) => boolean> = {
      ">": (v) => v > x,
      ">=": (v) => v >= x,
      "<": (v) => v < x,
      "<=": (v) => v <= x,
      "=": (v) => sameAsShown(v, x),
      "==": (v) => sameAsShown(v, x),
      "!=": (v) => !sameAsShown(v, x),
    };
    return ops[m[1]];
  }
  m = PLAIN.exec(part);
  if (m) {
    const x = Number(m[1]);
    return (v) => sameAsShown(v, x);
  }
  if (/^nan$/i.test(part)) return (v) => Number.isNaN(v);
  return null;
}

/** Equal as the table shows them: a metric logged as float32 0.8999999761 equals 0.9. */
function sameAsShown(v: number, x: number): boolean {
  return formatNumber(v) === formatNumber(x);
}

/** Where a column's cells fall on an axis (0 bottom .. 1 top), over some sessions; null if not logged. */
export interface Scale {
  at(i: number): number | null;
  /** Labels with their positions, for the axis. */
  ticks: [number, string][];
  log: boolean;
}

export function scaleOf(column: Column, sessions: number[]): Scale {
  if (!column.numeric) {
    const shown = [...new Set(sessions.filter((i) => column.groups[i] === 0).map((i) => column.keys[i]))];
    shown.sort((a, b) => a - b);
    const position = new Map(shown.map((key, n) => [key, shown.length === 1 ? 0.5 : n / (shown.length - 1)]));
    const label = new Map(sessions.map((i) => [column.keys[i], column.text[i]]));
    return {
      at: (i) => (column.groups[i] === 0 ? (position.get(column.keys[i]) ?? null) : null),
      ticks: shown.map((key) => [position.get(key)!, label.get(key)!]),
      log: false,
    };
  }
  let min = Infinity;
  let max = -Infinity;
  for (const i of sessions) {
    const v = column.keys[i];
    if (column.groups[i] !== 0 || !Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return { at: () => null, ticks: [], log: false };
  // Learning rates and the like span decades: a log axis spreads them out.
  const log = column.kind === "hparam" && min > 0 && max / min >= 100;
  const f = log ? Math.log10 : (v: number) => v;
  const low = f(min);
  const span = f(max) - low;
  const at = (i: number): number | null => {
    if (column.groups[i] !== 0) return null;
    const v = column.keys[i];
    if (v === Infinity) return 1;
    if (v === -Infinity) return 0;
    return span === 0 ? 0.5 : (f(v) - low) / span;
  };
  const ends: [number, string][] = [
    [0, formatNumber(min)],
    [1, formatNumber(max)],
  ];
  return { at, ticks: min === max ? [[0.5, formatNumber(min)]] : ends, log };
}

// A perceptually even ramp (close to viridis), for colouring sessions by a metric.
const RAMP = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** The ramp's colour at ``t`` in 0..1. */
export function rampColor(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (RAMP.length - 1);
  const k = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - k;
  const mix = (c: number) => Math.round(RAMP[k][c] + (RAMP[k + 1][c] - RAMP[k][c]) * f);
  return `rgb(${mix(0)},${mix(1)},${mix(2)})`;
}
