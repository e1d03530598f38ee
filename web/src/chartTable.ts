// A scalar chart's table, under it, of its runs at the selected step or over
// the selected range (chartSelection). At a step: each run's point at the
// nearest logged step at or before it, fetched from the server (the chart
// may draw a downsampled series, which can miss that step), with the
// smoothed value drawn there, the step and the times. Over a range: each
// run's min, max, mean and change (last minus first) of the values logged
// in it, fetched at full resolution up to RANGE_POINTS points a run (past
// that the server downsamples keeping every spike, the first and the last
// point, so only the mean is approximate, and marked ≈).
//
// Each chart shows or hides its own table; "On every chart" sets the default
// (kept in the browser), which every chart then follows.

import { errorText } from "./api";
import { isGroupEdge } from "./chartGroups";
import { type ChartQuery, type Density, type Line, type Plotted, upperBound } from "./chartSeries";
import { type Selection, selection, setSelection } from "./chartSelection";
import "./chartTable.css";
import { formatDuration, formatStep, formatValue, formatWall } from "./format";
import { RememberedFlag } from "./remembered";
import { button, el } from "./runs";

/** Whether every chart shows its table (until toggled one by one): kept in the browser. */
export const tablesByDefault = new RememberedFlag("stepscope.chartTables", false);

const RANGE_POINTS = 10_000;
/** More rows than this are counted, not listed. */
const ROW_LIMIT = 500;
const collator = new Intl.Collator("en", { numeric: true });

/** What the table needs of its chart. */
export interface TableHost {
  tag: string;
  queries(): ChartQuery[];
  /** The lines drawn (the legend's hidden ones left out). */
  plotted(): Plotted[];
  /** Fetches the chart's lines at this density, labelled as the chart labels them. */
  fetch(density: Density, signal: AbortSignal): Promise<Line[]>;
}

export class ChartTable {
  readonly root: HTMLElement;
  private head: HTMLElement;
  private body: HTMLElement;
  private override: boolean | null = null;
  private fetched: { key: string; lines: Line[] } | null = null;
  private pending = "";
  private controller: AbortController | null = null;
  private stopDefault: () => void;
  /** The chart's tool that shows or hides this table. */
  readonly toggleButton: HTMLButtonElement;

  constructor(private host: TableHost) {
    this.toggleButton = button("▦", "Show or hide the table of the runs at the selected step or range", () =>
      this.toggle(),
    );
    this.toggleButton.classList.add("chart-table-toggle");
    this.root = el("div", "chart-table");
    this.head = el("div", "chart-table-head");
    this.body = el("div", "chart-table-scroll");
    this.root.append(this.head, this.body);
    this.root.hidden = true;
    this.stopDefault = tablesByDefault.subscribe(() => {
      this.override = null;
      this.update();
    });
    this.update();
  }

  get shown(): boolean {
    return this.override ?? tablesByDefault.value;
  }

  /** Shows or hides this chart's table (whatever the default). */
  toggle(): void {
    this.override = !this.shown;
    this.update();
  }

  /** Draws the table for the selection and the lines drawn now; fetches what it needs if they changed. */
  update(): void {
    const shown = this.shown;
    this.root.hidden = !shown;
    this.toggleButton.setAttribute("aria-pressed", String(shown));
    if (!shown) return;
    const current = selection();
    this.renderHead(current);
    if (current === null) {
      this.controller?.abort();
      this.pending = "";
      this.root.dataset.state = "idle";
      this.body.replaceChildren(note("Click the chart to pick a step, Shift+drag to pick a range; Esc clears."));
      return;
    }
    const plotted = this.host.plotted();
    const key = fingerprint(current, this.host.queries(), plotted);
    if (this.fetched?.key === key) {
      this.renderRows(current, plotted, this.fetched.lines);
    } else if (this.pending !== key) {
      void this.fetch(current, key);
    }
  }

  private async fetch(current: NonNullable<Selection>, key: string): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.pending = key;
    this.root.dataset.state = "loading";
    const density: Density =
      current.kind === "step"
        ? { max_points: 2, max_step: current.step } // the first and the last point at or before the step
        : { max_points: RANGE_POINTS, min_step: current.from, max_step: current.to };
    try {
      const lines = await this.host.fetch(density, controller.signal);
      if (controller.signal.aborted) return;
      this.fetched = { key, lines };
      this.pending = "";
      this.update();
    } catch (error) {
      if ((error as Error).name === "AbortError") return;
      this.pending = "";
      this.root.dataset.state = "error";
      this.body.replaceChildren(note(errorText(error), "error"));
    }
  }

  private renderHead(current: Selection): void {
    const title = el("span", "chart-table-title");
    title.textContent =
      current === null
        ? "No step selected"
        : current.kind === "step"
          ? `Step ${formatStep(current.step)}`
          : `Steps ${formatStep(current.from)} to ${formatStep(current.to)}`;
    this.root.dataset.selection =
      current === null ? "" : current.kind === "step" ? String(current.step) : `${current.from}-${current.to}`;
    const every = document.createElement("input");
    every.type = "checkbox";
    every.checked = tablesByDefault.value;
    every.addEventListener("change", () => tablesByDefault.set(every.checked));
    const label = el("label", "chart-table-every");
    label.title = "Show a table under every chart (kept in this browser)";
    label.append(every, " On every chart");
    const clear = button("✕", "Clear the selection (Esc)", () => setSelection(null));
    clear.className = "chart-table-clear";
    clear.hidden = current === null;
    this.head.replaceChildren(title, clear, label);
  }

  private renderRows(current: NonNullable<Selection>, plotted: Plotted[], lines: Line[]): void {
    const byLabel = new Map(lines.map((line) => [line.label, line]));
    // A run group is one row, its mean's, as in the tooltip.
    const sorted = plotted.filter((p) => !isGroupEdge(p)).sort((a, b) => collator.compare(a.label, b.label));
    const table = document.createElement("table");
    const columns =
      current.kind === "step"
        ? ["Run", "Value", "Smoothed", "Step", "Relative", "Wall time"]
        : ["Run", "Min", "Max", "Mean", "Change", "From", "To", "Points"];
    const head = table.createTHead().insertRow();
    for (const label of ["", ...columns]) head.append(Object.assign(document.createElement("th"), { textContent: label }));
    const body = table.createTBody();
    for (const p of sorted.slice(0, ROW_LIMIT)) {
      const line = byLabel.get(p.label);
      const cells = current.kind === "step" ? stepCells(p, line) : rangeCells(line);
      const tr = body.insertRow();
      tr.dataset.label = p.label;
      const swatch = el("span", "swatch");
      swatch.style.background = p.color;
      tr.insertCell().append(swatch);
      tr.insertCell().textContent = p.role ? `${p.label} (${p.role})` : p.label; // text, never HTML
      for (const [name, text] of cells) {
        const td = tr.insertCell();
        td.textContent = text;
        td.dataset.column = name;
      }
    }
    if (sorted.length > ROW_LIMIT) {
      const td = body.insertRow().insertCell();
      td.colSpan = columns.length + 1;
      td.textContent = `and ${sorted.length - ROW_LIMIT} more runs`;
    }
    this.body.replaceChildren(table);
    this.root.dataset.state = "ready";
  }

  destroy(): void {
    this.controller?.abort();
    this.stopDefault();
  }
}

/** A line's point at (or last before) the step: its value, the smoothed value drawn there, its step and times. */
function stepCells(p: Plotted, line: Line | undefined): [string, string][] {
  const i = line ? line.step.length - 1 : -1;
  if (!line || i < 0) return [["value", "no point at or before this step"]];
  const step = line.step[i];
  const drawn = upperBound(p.step, step) - 1;
  return [
    ["value", formatValue(line.value[i])],
    ["smoothed", drawn >= 0 ? formatValue(p.smoothed[drawn]) : "—"],
    ["step", formatStep(step)],
    // Relative to the run's first point, which every series drawn holds.
    ["relative", formatDuration(line.wall[i] - p.wall[0])],
    ["wall", formatWall(line.wall[i])],
  ];
}

/** A line's min, max, mean and change (last minus first) over the range, of its finite values. */
export function rangeStats(values: ArrayLike<number>): { min: number; max: number; mean: number; change: number } | null {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let count = 0;
  let first = NaN;
  let last = NaN;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (count === 0) first = v;
    last = v;
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
    count++;
  }
  return count === 0 ? null : { min, max, mean: sum / count, change: last - first };
}

function rangeCells(line: Line | undefined): [string, string][] {
  const stats = line ? rangeStats(line.value) : null;
  if (!line || !stats) return [["min", "no finite point in this range"]];
  // Past RANGE_POINTS the server downsampled: min, max, first and last are kept, the mean is not exact.
  const approximate = line.total > line.step.length ? "≈" : "";
  return [
    ["min", formatValue(stats.min)],
    ["max", formatValue(stats.max)],
    ["mean", approximate + formatValue(stats.mean)],
    ["change", (stats.change > 0 ? "+" : "") + formatValue(stats.change)],
    ["from", formatStep(line.step[0])],
    ["to", formatStep(line.step[line.step.length - 1])],
    ["points", line.total.toLocaleString("en-US")],
  ];
}

/** What the table's data depends on: the selection, the queries and the lines drawn (their ends, their lengths). */
function fingerprint(current: Selection, queries: ChartQuery[], plotted: Plotted[]): string {
  const ends = plotted.map((p) => [p.label, p.step.length, p.step[p.step.length - 1], p.wall[p.wall.length - 1]]);
  return JSON.stringify([current, queries, ends]);
}

function note(text: string, className = ""): HTMLElement {
  const found = el("p", `chart-table-note ${className}`.trim());
  found.textContent = text;
  return found;
}
