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

function formatOne(value: unknown, dtype: string): string {
  if (typeof value === "number") return /^(u?int|bool)/.test(dtype) ? String(value) : formatValue(value);
  if (typeof value === "string") {
    if (/^(float|half|bfloat|complex)/.test(dtype)) return value; // "NaN", "Infinity"
    const shown = value.length > 60 ? value.slice(0, 60) + "…" : value;
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

function formatShape(shape: number[]): string {
  return shape.length === 0 ? "[] (scalar)" : `[${shape.join(", ")}]`;
}

class RawCard extends LazyCard {
  readonly card: HTMLElement;
  private points: TensorPoint[] = [];
  private slider: StepSlider;
  private rows: HTMLTableSectionElement;
  protected readonly message = messageLine();

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
    for (const point of this.points.slice(first, last + 1)) {
      const row = this.rows.insertRow();
      row.dataset.step = String(point.step);
      for (const text of [
        formatStep(point.step),
        formatWall(point.wall_time),
        point.dtype,
        formatShape(point.shape),
        previewValues(point),
      ]) {
        row.insertCell().textContent = text; // text, never HTML
      }
      row.lastElementChild!.className = "raw-values";
    }
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
