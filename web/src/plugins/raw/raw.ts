// The raw-tensor view, for every plugin stepscope has no view of its own for:
// a card per run and tag holding a table of steps (wall time, dtype, shape and
// the first values), with a slider that reaches every step.

import "./raw.css";
import { fetchTensors, type TensorPoint } from "../../api";
import { messageLine, runLabel, StepSlider, LazyCard, TagCardsView, type View } from "../../cards";
import { formatStep, formatValue, formatWall } from "../../format";
import { cardHead, el } from "../../runs";
import type { Store } from "../../state";

const PREVIEW_VALUES = 20;
const ROWS = 5; // steps shown at once, ending at the slider's step

/** The values in row-major order. */
function flatten(values: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(values)) for (const item of values) flatten(item, out);
  else out.push(values);
  return out;
}

/** Strings longer than this are cut in the table, with a button that shows them whole. */
const SHORT_STRING = 60;

function isTextual(value: unknown, dtype: string): value is string {
  return typeof value === "string" && !/^(float|half|bfloat|complex)/.test(dtype); // not "NaN", "Infinity"
}

function formatOne(value: unknown, dtype: string): string {
  if (typeof value === "number") return /^(u?int|bool)/.test(dtype) ? String(value) : formatValue(value);
  if (typeof value === "string") {
    if (!isTextual(value, dtype)) return value;
    const shown = value.length > SHORT_STRING ? value.slice(0, SHORT_STRING) + "…" : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

/** The first values, flattened and formatted; "…" and the count when there are more. */
export function previewValues(point: TensorPoint): string {
  const flat = flatten(point.values);
  const total = point.shape.reduce((a, b) => a * b, 1);
  const shown = flat.slice(0, PREVIEW_VALUES).map((v) => formatOne(v, point.dtype));
  const more = total > shown.length;
  return shown.join(", ") + (more ? `, … (${total.toLocaleString("en-US")} values)` : "");
}

/** A long string as it reads best whole: JSON (a Keras model's config) indented, anything else as it is. */
export function readableString(text: string): string {
  const start = text.trimStart()[0];
  if (start === "{" || start === "[") {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      // not JSON after all
    }
  }
  return text;
}

/**
 * The values cell: the preview as text, where each long string is cut with
 * a button that shows it whole (and back); ``expanded`` holds which are open
 * (by their place among the values), so that they stay open when the rows
 * are drawn again. Returns the open strings, which the table shows whole
 * under the row.
 */
function valuesCell(
  cell: HTMLTableCellElement,
  point: TensorPoint,
  expanded: Set<number>,
  redraw: () => void,
): string[] {
  const flat = flatten(point.values).slice(0, PREVIEW_VALUES);
  if (!flat.some((v) => isTextual(v, point.dtype) && v.length > SHORT_STRING)) {
    cell.textContent = previewValues(point); // text, never HTML
    return [];
  }
  const opened: string[] = [];
  flat.forEach((value, i) => {
    if (i > 0) cell.append(", ");
    cell.append(formatOne(value, point.dtype)); // text, never HTML
    if (!isTextual(value, point.dtype) || value.length <= SHORT_STRING) return;
    const open = expanded.has(i);
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "raw-expand";
    toggle.textContent = open ? "Show less" : `Show all ${value.length.toLocaleString("en-US")} characters`;
    toggle.setAttribute("aria-expanded", String(open));
    toggle.addEventListener("click", () => {
      if (open) expanded.delete(i);
      else expanded.add(i);
      redraw();
    });
    cell.append(" ", toggle);
    if (open) opened.push(value);
  });
  const total = point.shape.reduce((a, b) => a * b, 1);
  if (total > flat.length) cell.append(`, … (${total.toLocaleString("en-US")} values)`);
  return opened;
}

function formatShape(shape: number[]): string {
  return shape.length === 0 ? "[] (scalar)" : `[${shape.join(", ")}]`;
}

class RawCard extends LazyCard {
  readonly card: HTMLElement;
  private points: TensorPoint[] = [];
  private slider: StepSlider;
  private rows: HTMLTableSectionElement;
  protected readonly message = messageLine();
  /** The long strings shown whole, by step and place among the values. */
  private expanded = new Map<number, Set<number>>();

  constructor(
    readonly run: string,
    readonly tag: string,
  ) {
    super();
    this.card = el("div", "card raw-card");
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    head.append(runLabel(run));
    this.slider = new StepSlider(`${tag} in ${run}`, () => this.show());
    const table = document.createElement("table");
    table.className = "raw-table";
    const titles = table.createTHead().insertRow();
    for (const title of ["Step", "Wall time", "dtype", "Shape", "Values"]) {
      const th = document.createElement("th");
      th.textContent = title;
      titles.append(th);
    }
    this.rows = table.createTBody();
    const frame = el("div", "raw-frame");
    frame.append(table);
    this.card.append(head, frame, this.message.root, this.slider.root);
  }

  protected async load(stale: () => boolean): Promise<void> {
    const points = await fetchTensors(this.run, this.tag);
    if (stale()) return; // a newer load is on its way
    this.points = points;
    this.slider.setSteps(points.map((p) => p.step));
    this.show();
  }

  private show(): void {
    const last = this.slider.position;
    if (this.points.length === 0) {
      this.rows.replaceChildren();
      this.message.show("No tensors yet.");
      this.card.dataset.state = "empty";
      return;
    }
    const first = Math.max(0, last - ROWS + 1);
    this.rows.replaceChildren();
    let open = false;
    for (const point of this.points.slice(first, last + 1)) {
      const row = this.rows.insertRow();
      row.dataset.step = String(point.step);
      for (const text of [formatStep(point.step), formatWall(point.wall_time), point.dtype, formatShape(point.shape)]) {
        row.insertCell().textContent = text; // text, never HTML
      }
      const values = row.insertCell();
      values.className = "raw-values";
      if (!this.expanded.has(point.step)) this.expanded.set(point.step, new Set());
      for (const text of valuesCell(values, point, this.expanded.get(point.step)!, () => this.show())) {
        // A string shown whole takes the table's whole width, under its row.
        const whole = el("pre", "raw-long");
        whole.textContent = readableString(text); // text, never HTML
        const cell = this.rows.insertRow().insertCell();
        cell.colSpan = 5;
        cell.className = "raw-whole";
        cell.append(whole);
        open = true;
      }
    }
    // While a string is shown whole, the card spans the page.
    this.card.classList.toggle("enlarged", open);
    this.message.show("");
    this.card.dataset.step = String(this.points[last].step);
    this.card.dataset.state = "shown";
    this.slider.describe(last > first ? `rows ${first + 1}–${last + 1}` : "");
  }
}

/** The view of a plugin without one of its own: its tensors as they are. */
export function rawView(store: Store, shownRuns: () => Set<string>, plugin: string): View {
  const view = new TagCardsView(store, shownRuns, {
    className: "raw-view",
    accepts: (meta) => meta.plugin === plugin,
    makeCard: (run, tag) => new RawCard(run, tag),
    emptyText: `No ${plugin} tensors for the runs and tags shown.`,
  });
  const note = el("p", "raw-note");
  note.textContent = `stepscope has no view for the plugin ${plugin}; these are its raw tensors.`;
  view.root.prepend(note);
  return view;
}
