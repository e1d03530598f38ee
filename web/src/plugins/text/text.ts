// The text view: a card per run and tag with the logged Markdown at one step,
// and a slider over every step (TensorBoard keeps 10 per tag; stepscope keeps
// them all). A string tensor of rank 0 (or torch's shape [1]) is one document;
// rank 1 and 2 are tables whose cells are Markdown, as in TensorBoard.

import "./text.css";
import { fetchTensors, type TensorPoint } from "../../api";
import { messageLine, runLabel, StepSlider, LazyCard, TagCardsView, type View } from "../../cards";
import { renderMarkdown } from "./markdown";
import { button, cardHead, el } from "../../runs";
import type { Store } from "../../state";

/** What a step's tensor shows as: one document, or a table with an optional warning. */
type TextContent = { document: string } | { rows: string[][]; warning: string };

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : String(value);
}

/** The rows of cells of a tensor of rank 1 or more (the first 2-D slice of a higher rank). */
export function textLayout(point: TensorPoint): TextContent {
  const { shape, values } = point;
  if (shape.length === 0) return { document: cellText(values) };
  if (shape.length === 1 && shape[0] === 1 && !point.truncated) {
    return { document: cellText((values as unknown[])[0]) };
  }
  const shapeText = `[${shape.join(", ")}]`;
  if (point.truncated) {
    // A flat preview of the first values: cut into rows of the last dimension.
    const flat = values as unknown[];
    const width = shape.length === 1 ? 1 : shape[shape.length - 1];
    const height = shape.length === 1 ? shape[0] : shape[shape.length - 2];
    const rows: string[][] = [];
    for (let start = 0; start + width <= flat.length && rows.length < height; start += width) {
      rows.push(flat.slice(start, start + width).map(cellText));
    }
    return {
      rows,
      warning:
        `This text tensor of shape ${shapeText} is too large to show whole; ` +
        `its first ${rows.length} rows are shown.`,
    };
  }
  let slice = values as unknown[];
  for (let rank = shape.length; rank > 2; rank--) slice = (slice[0] as unknown[] | undefined) ?? [];
  const rows =
    shape.length === 1 ? slice.map((v) => [cellText(v)]) : slice.map((row) => (row as unknown[]).map(cellText));
  if (rows.length === 0 || rows[0].length === 0) {
    return { rows: [], warning: `This text tensor is empty (shape ${shapeText}).` };
  }
  const warning =
    shape.length > 2
      ? `This text tensor has shape ${shapeText}; only its first 2-D slice is shown (TensorBoard does the same).`
      : "";
  return { rows, warning };
}

function markdownTable(rows: string[][]): HTMLElement {
  const table = document.createElement("table");
  table.className = "text-table";
  const body = table.createTBody();
  for (const cells of rows) {
    const row = body.insertRow();
    for (const cell of cells) row.insertCell().append(renderMarkdown(cell));
  }
  return table;
}

class TextCard extends LazyCard {
  readonly card: HTMLElement;
  private points: TensorPoint[] = [];
  private slider: StepSlider;
  private body: HTMLElement;
  private warning: HTMLElement;
  protected readonly message = messageLine();
  private shown: TensorPoint | null = null;

  constructor(
    readonly run: string,
    readonly tag: string,
  ) {
    super();
    this.card = el("div", "card text-card");
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    const expand = button("Expand", "Show the whole text across the page (or back in its card)", () => {
      this.card.classList.toggle("enlarged");
    });
    head.append(runLabel(run), expand);
    this.slider = new StepSlider(`${tag} in ${run}`, () => this.show());
    this.warning = el("div", "text-warning");
    this.warning.hidden = true;
    this.body = el("div", "text-body");
    this.card.append(head, this.warning, this.body, this.message.root, this.slider.root);
  }

  protected async load(stale: () => boolean): Promise<void> {
    const points = await fetchTensors(this.run, this.tag);
    if (stale()) return; // a newer load is on its way
    this.points = points;
    this.slider.setSteps(points.map((p) => p.step));
    this.show();
  }

  protected override failed(error: unknown): void {
    this.shown = null; // the next load renders afresh
    super.failed(error);
  }

  private show(): void {
    const point = this.points[this.slider.position];
    if (point === undefined) {
      this.shown = null;
      this.body.replaceChildren();
      this.message.show("No text yet.");
      this.card.dataset.state = "empty";
      return;
    }
    if (this.shown && this.shown.step === point.step && this.shown.wall_time === point.wall_time) {
      this.slider.describe(""); // the same text: keep it, and where the reader scrolled to
      return;
    }
    this.shown = point;
    const content = textLayout(point);
    if ("document" in content) {
      this.body.replaceChildren(renderMarkdown(content.document));
      this.warning.hidden = true;
    } else {
      this.body.replaceChildren(markdownTable(content.rows));
      this.warning.textContent = content.warning; // text, never HTML
      this.warning.hidden = content.warning === "";
    }
    this.message.show("");
    this.card.dataset.step = String(point.step);
    this.card.dataset.state = "shown";
    this.slider.describe("");
  }
}

/** The text view: cards of every text tag, Markdown rendered and sanitized. */
export function textView(store: Store, shownRuns: () => Set<string>, plugin: string): View {
  return new TagCardsView(store, shownRuns, {
    className: "text-view",
    accepts: (meta) => meta.plugin === plugin,
    makeCard: (run, tag) => new TextCard(run, tag),
    emptyText: "No text for the runs and tags shown.",
  });
}
