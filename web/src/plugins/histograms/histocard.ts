// What the histograms and distributions cards share: a card per run and
// histogram tag that fetches every step of the tag (TensorBoard keeps 500)
// when it first comes into view, reads each step's buckets, notes what it had
// to mend, and places a tooltip inside its plot.

import { tensorPoints } from "../../api";
import { LazyCard, messageLine, runLabel } from "../../cards";
import { onThemeChange } from "../../colors";
import { cardHead, el } from "../../runs";
import { readHistogram, readingNote, type Histogram, type ReadProblems, type ReadingFacts } from "./histomath";

/** A card's plot height (CSS pixels), for both kinds of card. */
export const HEIGHT = 280;

export interface Loaded extends ReadingFacts {
  /** performance.now() when the data had arrived and been parsed. */
  arrived: number;
}

async function loadHistograms(run: string, tag: string, signal: AbortSignal): Promise<Loaded> {
  const points = await tensorPoints(run, tag, signal);
  const arrived = performance.now();
  const problems: ReadProblems = { clampedEdges: 0, skippedBuckets: 0 };
  let tooBig = 0;
  let mended = 0;
  const histograms: Histogram[] = [];
  for (const point of points) {
    if (point.truncated) {
      tooBig++;
      continue;
    }
    const before = problems.clampedEdges + problems.skippedBuckets;
    histograms.push(readHistogram(point.step, point.wall_time, point.values, problems));
    if (problems.clampedEdges + problems.skippedBuckets > before) mended++;
  }
  return { histograms, problems, tooBig, mended, arrived };
}

/** A card that fetches a histogram tag's every step when first in view, and again when the data change. */
export abstract class HistogramTagCard extends LazyCard {
  readonly card: HTMLElement;
  protected plot: HTMLElement;
  protected tooltip: HTMLElement;
  private note: HTMLElement;
  protected readonly message = messageLine();
  private controller: AbortController | null = null;
  /** The plot is drawn in the theme's colours: drawn again when it changes (until the card is dropped). */
  private stopTheme = onThemeChange(() => this.themeChanged());

  constructor(
    readonly run: string,
    readonly tag: string,
    private kind: string,
  ) {
    super();
    this.card = el("div", `card ${kind}-card`);
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    head.append(runLabel(run));
    this.plot = el("div", "histo-plot");
    this.plot.style.height = `${HEIGHT}px`;
    this.tooltip = el("div", "tooltip");
    this.tooltip.hidden = true;
    this.plot.append(this.message.root, this.tooltip);
    this.note = el("div", "histo-note");
    this.note.hidden = true;
    this.card.append(head, this.plot, this.note);
  }

  protected async load(stale: () => boolean): Promise<void> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const data = await loadHistograms(this.run, this.tag, controller.signal);
    if (stale()) return;
    this.note.textContent = readingNote(data); // text, never HTML
    this.note.hidden = this.note.textContent === "";
    this.message.show(data.histograms.length === 0 ? "No histograms yet." : "");
    this.show(data);
  }

  /** Draws the data (the card says "drawn" once it is on screen, with finished()). */
  protected abstract show(data: Loaded): void;

  /** Draws what is shown again, in the theme's new colours. */
  protected abstract themeChanged(): void;

  destroy(): void {
    this.stopTheme();
    this.controller?.abort();
  }

  /** Marks the card drawn and records how long the data took to draw. */
  protected finished(data: Loaded): void {
    const end = performance.now();
    performance.measure(`stepscope ${this.kind} card`, { start: data.arrived, end, detail: [this.run, this.tag] });
    this.card.dataset.renderMs = (end - data.arrived).toFixed(1);
    this.card.dataset.steps = String(data.histograms.length);
    this.card.dataset.state = "drawn";
  }

  /** Shows the tooltip's rows (label, value) next to the cursor, inside the plot. */
  protected placeTooltip(rows: [string, string][], x: number, y: number): void {
    const table = document.createElement("table");
    const body = table.createTBody();
    for (const [label, value] of rows) {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.textContent = label;
      tr.append(th);
      tr.insertCell().textContent = value;
    }
    this.tooltip.replaceChildren(table);
    this.tooltip.hidden = false;
    const width = this.tooltip.offsetWidth;
    const at = x + 16 + width > this.plot.clientWidth ? Math.max(0, x - width - 16) : x + 16;
    this.tooltip.style.left = `${at}px`;
    this.tooltip.style.top = `${Math.max(0, Math.min(y - 10, HEIGHT - this.tooltip.offsetHeight))}px`;
  }
}
