// The PR curves view, as TensorBoard draws it: a chart per tag with a curve
// per shown run (in the run's colour) at the slider's step; or, as an option
// (remembered in the browser), a card per run and tag with the previous step
// faint behind the chosen one. Under the cursor: the nearest threshold with
// its precision, recall and counts. What is not drawn (NaN, thresholds above
// every prediction) is said on the card (prcurveData.ts).

import { ApiError, type TagMeta, type TagsByRun, tensorPoints } from "../../api";
import { messageLine, runLabel, StepSlider, LazyCard, TagCardsView, type View } from "../../cards";
import { faint, runColor } from "../../colors";
import { formatStep, formatValue } from "../../format";
import { cardHead, el } from "../../runs";
import type { Store } from "../../state";
import { type ChartLine, type Hit, PrChart, tooltipTable } from "./prcurveChart";
import {
  curveAt,
  type Curve,
  FN,
  formatCount,
  FP,
  layout,
  nonFiniteNote,
  parseCurves,
  plural,
  PRECISION,
  RECALL,
  thresholdOf,
  thresholdsDetail,
  TN,
  TP,
} from "./prcurveData";
import "./prcurves.css";

const COUNTS = ["Threshold", "Precision", "Recall", "TP", "FP", "TN", "FN"];
const LAYOUT_KEY = "stepscope.prCurvesLayout";

/** A threshold's cells: threshold, precision, recall and the four counts. */
function thresholdCells(curve: Curve, index: number): string[] {
  return [
    formatValue(thresholdOf(curve, index)),
    formatValue(curve.rows[PRECISION][index]),
    formatValue(curve.rows[RECALL][index]),
    ...[TP, FP, TN, FN].map((row) => formatCount(curve.rows[row][index])),
  ];
}

/** The thresholds with exactly this threshold's precision and recall (a flat stretch): how many, lowest, highest. */
function samePoint(curve: Curve, index: number): [number, number, number] {
  const p = curve.rows[PRECISION][index];
  const r = curve.rows[RECALL][index];
  let count = 0;
  let low = index;
  let high = index;
  for (let i = 0; i < curve.thresholds; i++) {
    if (!Object.is(curve.rows[PRECISION][i], p) || !Object.is(curve.rows[RECALL][i], r)) continue;
    count++;
    low = Math.min(low, i);
    high = Math.max(high, i);
  }
  return [count, low, high];
}

/** A line under the tooltip's table when several thresholds share the point (else nothing). */
function sharedNote(curve: Curve, index: number): HTMLElement[] {
  const [same, low, high] = samePoint(curve, index);
  if (same < 2) return [];
  const more = el("div", "prcurves-same");
  const range = `${formatValue(thresholdOf(curve, low))} to ${formatValue(thresholdOf(curve, high))}`;
  more.textContent = `${same} thresholds share this point (${range}).`;
  return [more];
}

// -- a card per run and tag ---------------------------------------------------------

class PrCurveCard extends LazyCard {
  readonly card: HTMLElement;
  private chart: PrChart;
  private note: HTMLElement;
  protected readonly message = messageLine();
  private slider: StepSlider;
  private curves: Curve[] = [];
  private current: ChartLine | null = null;
  private previous: ChartLine | null = null;
  private color: string;

  constructor(
    readonly run: string,
    readonly tag: string,
    private showPrevious: () => boolean,
  ) {
    super();
    this.color = runColor(run);
    this.card = el("div", "card prcurves-card");
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    head.append(runLabel(run));
    const plot = el("div", "plot prcurves-plot");
    this.chart = new PrChart(plot, { describe: (hit) => this.describe(hit), drawn: () => this.drawn() });
    this.note = el("div", "prcurves-note");
    this.note.hidden = true;
    this.slider = new StepSlider(`${tag} in ${run}`, () => this.show());
    this.card.append(head, plot, this.note, this.message.root, this.slider.root);
  }

  /** The previous-step option changed: draw again. */
  restyle(): void {
    if (this.current) this.show();
  }

  destroy(): void {
    this.chart.destroy();
  }

  protected async load(stale: () => boolean): Promise<void> {
    const points = await tensorPoints(this.run, this.tag);
    if (stale()) return;
    const curves = parseCurves(points);
    if (typeof curves === "string") throw new ApiError(0, curves);
    this.curves = curves;
    this.slider.setSteps(curves.map((c) => c.step));
    this.show();
  }

  private show(): void {
    const position = this.slider.position;
    const curve = this.curves[position];
    if (!curve) {
      this.message.show("No PR curve logged yet.");
      this.card.dataset.state = "empty";
      return;
    }
    this.message.show("");
    const found = layout(curve);
    this.current = { curve, found, color: this.color, faint: false, label: "step" };
    const before = this.showPrevious() ? this.curves[position - 1] : undefined;
    this.previous = before
      ? { curve: before, found: layout(before), color: faint(this.color, 0.3), faint: true, label: "previous step" }
      : null;
    const text = nonFiniteNote(found);
    this.note.textContent = text; // text, never HTML
    this.note.hidden = text === "";
    this.slider.describe(thresholdsDetail(curve, found));
    this.chart.draw(this.previous ? [this.previous, this.current] : [this.current]);
  }

  private drawn(): void {
    if (!this.current) return;
    this.card.dataset.state = "drawn";
    this.card.dataset.step = String(this.current.curve.step);
    this.card.dataset.thresholds = String(this.current.curve.thresholds);
    this.card.dataset.drawn = String(this.current.found.drawn.length);
  }

  /** The threshold's row, and the previous step's at the same threshold, for comparison. */
  private describe(hit: Hit): HTMLElement[] {
    const curve = hit.line.curve;
    const cells = [formatStep(curve.step), ...thresholdCells(curve, hit.index)];
    const rows = [{ color: this.color, kind: "current", cells }];
    const previous = this.previous?.curve;
    if (previous && previous.thresholds === curve.thresholds) {
      const before = [formatStep(previous.step), ...thresholdCells(previous, hit.index)];
      rows.push({ color: faint(this.color, 0.3), kind: "previous", cells: before });
    }
    return [tooltipTable(["Step", ...COUNTS], rows), ...sharedNote(curve, hit.index)];
  }
}

// -- a chart per tag, a curve per run -------------------------------------------------

class PrTagCard extends LazyCard {
  readonly card: HTMLElement;
  private chart: PrChart;
  private legend: HTMLElement;
  private note: HTMLElement;
  protected readonly message = messageLine();
  private slider: StepSlider;
  private runs: string[] = [];
  private curves = new Map<string, Curve[]>();
  /** Runs whose tensors are not PR curves: said on the card. */
  private problems: string[] = [];
  private lines: ChartLine[] = [];

  constructor(
    readonly tag: string,
    private runsOf: (tag: string) => string[],
  ) {
    super();
    this.card = el("div", "card prcurves-tag-card");
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    const plot = el("div", "plot prcurves-plot");
    this.chart = new PrChart(plot, {
      describe: (hit, cursor) => this.describe(hit, cursor),
      drawn: () => this.drawn(),
    });
    this.legend = el("div", "prcurves-legend");
    this.note = el("div", "prcurves-note");
    this.note.hidden = true;
    this.slider = new StepSlider(tag, () => this.show());
    this.card.append(head, plot, this.legend, this.note, this.message.root, this.slider.root);
  }

  /** The runs shown changed: fetched again if this tag's runs are others now. */
  updateRuns(): void {
    if (JSON.stringify(this.runsOf(this.tag)) !== JSON.stringify(this.runs)) this.invalidate();
  }

  /** Runs' colours changed: drawn again in them. */
  restyle(): void {
    if (this.lines.length) this.show();
  }

  destroy(): void {
    this.chart.destroy();
  }

  protected async load(stale: () => boolean): Promise<void> {
    const runs = this.runsOf(this.tag);
    const answers = await Promise.all(runs.map((run) => tensorPoints(run, this.tag)));
    if (stale()) return;
    this.runs = runs;
    this.curves.clear();
    const problems: string[] = (this.problems = []);
    answers.forEach((points, i) => {
      const curves = parseCurves(points);
      if (typeof curves === "string") problems.push(`${runs[i]}: ${curves}`);
      else this.curves.set(runs[i], curves);
    });
    if (this.curves.size === 0 && problems.length) throw new ApiError(0, problems.join(" "));
    const steps = new Set<number>();
    for (const curves of this.curves.values()) for (const curve of curves) steps.add(curve.step);
    this.slider.setSteps([...steps].sort((a, b) => a - b));
    this.show();
  }

  /** Each run's curve at the slider's step (its last at or before it), in its colour. */
  private show(): void {
    const step = this.slider.step;
    if (step === undefined) {
      this.message.show("No PR curve logged yet.");
      this.card.dataset.state = "empty";
      return;
    }
    this.message.show("");
    this.lines = [];
    const notes = [...this.problems];
    const entries: HTMLElement[] = [];
    for (const [run, curves] of this.curves) {
      const curve = curveAt(curves, step);
      entries.push(this.legendEntry(run, curve, step));
      if (!curve) continue;
      const found = layout(curve);
      this.lines.push({ curve, found, color: runColor(run), faint: false, label: run });
      const note = nonFiniteNote(found);
      if (note) notes.push(`${run}: ${note}`);
    }
    this.legend.replaceChildren(...entries);
    this.note.textContent = notes.join(" "); // text, never HTML
    this.note.hidden = notes.length === 0;
    this.slider.describe(`${plural(this.lines.length, "run", "runs")} at this step`);
    this.chart.draw(this.lines);
  }

  private legendEntry(run: string, curve: Curve | null, step: number): HTMLElement {
    const entry = runLabel(run);
    entry.classList.add("prcurves-legend-run");
    entry.dataset.run = run;
    const detail = el("span", "prcurves-legend-step");
    const at = curve === null ? "(no curve yet)" : curve.step === step ? "" : `(step ${formatStep(curve.step)})`;
    detail.textContent = at;
    entry.append(detail);
    entry.classList.toggle("absent", curve === null);
    return entry;
  }

  private drawn(): void {
    this.card.dataset.state = "drawn";
    this.card.dataset.step = String(this.slider.step);
    this.card.dataset.runs = String(this.lines.length);
  }

  /** A row per run: its threshold nearest the cursor, the nearest run first. */
  private describe(hit: Hit, cursor: [number, number]): HTMLElement[] {
    const rows = this.lines
      .map((line) => (line === hit.line ? hit : this.chart.nearest(cursor[0], cursor[1], line)))
      .filter((found): found is Hit => found !== null)
      .map((found) => ({ found, distance: (found.at[0] - cursor[0]) ** 2 + (found.at[1] - cursor[1]) ** 2 }))
      .sort((a, b) => (a.found === hit ? -1 : b.found === hit ? 1 : a.distance - b.distance))
      .map(({ found }) => ({
        color: found.line.color,
        kind: found === hit ? "current" : "other",
        run: found.line.label,
        cells: [found.line.label, formatStep(found.line.curve.step), ...thresholdCells(found.line.curve, found.index)],
      }));
    return [tooltipTable(["Run", "Step", ...COUNTS], rows), ...sharedNote(hit.line.curve, hit.index)];
  }
}

// -- the view ----------------------------------------------------------------------------

type CardLayout = "tag" | "run";

function savedLayout(): CardLayout {
  try {
    return localStorage.getItem(LAYOUT_KEY) === "run" ? "run" : "tag";
  } catch {
    return "tag"; // storage may be off
  }
}

/**
 * The PR curves view: two card views, one shown. Per tag, the cards are a
 * TagCardsView over the tags alone (one pseudo-run, ""), each card asking
 * which shown runs have its tag.
 */
class PrCurvesView implements View {
  readonly root: HTMLElement;
  private byRun: TagCardsView<PrCurveCard>;
  private byTag: TagCardsView<PrTagCard>;
  private toggle: HTMLElement;
  private box: HTMLInputElement;
  private tags: TagsByRun = {};
  private layout = savedLayout();

  constructor(
    store: Store,
    private shownRuns: () => Set<string>,
    plugin: string,
  ) {
    let previous = true;
    const option = el("label", "setting prcurves-previous");
    const previousBox = document.createElement("input");
    previousBox.type = "checkbox";
    previousBox.checked = previous;
    previousBox.addEventListener("change", () => {
      previous = previousBox.checked;
      for (const card of this.byRun.cards.values()) card.restyle();
    });
    const text = el("span", "");
    text.textContent = "Previous step, faint";
    option.title = "Draw the curve of the step before the chosen one, faint, for comparison";
    option.append(previousBox, text);
    this.byRun = new TagCardsView(store, shownRuns, {
      className: "prcurves",
      accepts: (meta) => meta.plugin === plugin,
      makeCard: (run, tag) => new PrCurveCard(run, tag, () => previous),
      emptyText: "No PR curves for the runs and tags shown.",
      tools: [option],
    });
    this.byTag = new TagCardsView(store, () => new Set([""]), {
      className: "prcurves prcurves-by-tag",
      accepts: (meta) => meta.plugin === plugin,
      makeCard: (_run, tag) => new PrTagCard(tag, (t) => this.runsWith(t)),
      emptyText: "No PR curves for the runs and tags shown.",
    });
    [this.toggle, this.box] = this.layoutToggle();
    this.root = el("div", "prcurves-view");
    this.root.append(this.byTag.root, this.byRun.root);
    this.showLayout();
  }

  setTags(tags: TagsByRun): void {
    this.tags = tags;
    this.byRun.setTags(tags);
    this.byTag.setTags(this.tagsOfShownRuns());
  }

  updateRuns(): void {
    this.byRun.updateRuns();
    this.byTag.setTags(this.tagsOfShownRuns());
    for (const card of this.byTag.cards.values()) card.updateRuns();
  }

  invalidate(): void {
    this.byRun.invalidate();
    this.byTag.invalidate();
  }

  recolor(runs: Set<string>): void {
    this.byRun.recolor(runs);
    for (const card of this.byTag.cards.values()) card.restyle();
  }

  /** The shown runs holding ``tag``, in name order. */
  private runsWith(tag: string): string[] {
    const shown = this.shownRuns();
    return Object.keys(this.tags)
      .filter((run) => shown.has(run) && tag in this.tags[run])
      .sort();
  }

  /** The tags any shown run has, under the pseudo-run "" of the per-tag cards. */
  private tagsOfShownRuns(): TagsByRun {
    const shown = this.shownRuns();
    const tags: Record<string, TagMeta> = {};
    for (const [run, byTag] of Object.entries(this.tags)) {
      if (shown.has(run)) for (const [tag, meta] of Object.entries(byTag)) tags[tag] ??= meta;
    }
    return { "": tags };
  }

  private layoutToggle(): [HTMLElement, HTMLInputElement] {
    const label = el("label", "setting prcurves-layout");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = this.layout === "run";
    box.addEventListener("change", () => {
      this.layout = box.checked ? "run" : "tag";
      try {
        localStorage.setItem(LAYOUT_KEY, this.layout);
      } catch {
        // storage may be off: the choice lasts until the page is left
      }
      this.showLayout();
    });
    const text = el("span", "");
    text.textContent = "One card per run";
    label.title = "A card per run and tag, instead of a chart per tag with every run's curve";
    label.append(box, text);
    return [label, box];
  }

  /** Shows the chosen layout's cards; the toggle goes into its toolbar. */
  private showLayout(): void {
    const [shown, hidden] = this.layout === "run" ? [this.byRun, this.byTag] : [this.byTag, this.byRun];
    hidden.root.hidden = true;
    shown.root.hidden = false;
    const bar = shown.root.querySelector(".toolbar")!;
    bar.insertBefore(this.toggle, bar.children[1] ?? null);
    this.box.checked = this.layout === "run";
    this.root.dataset.layout = this.layout;
  }
}

/** The PR curves view (the tab "pr_curves"). */
export function prCurvesView(store: Store, shownRuns: () => Set<string>, plugin: string): View {
  return new PrCurvesView(store, shownRuns, plugin);
}
