// The histograms view: a canvas card per run and histogram tag holding every
// step the tag has, "offset" (a ridgeline, older steps further back) or
// "overlay" (every step's outline on one set of axes), one mode for all
// cards, kept in the browser. The offset mode places the steps by step,
// relative or wall time (the scalars' x axis setting, "Steps by"). The
// drawing is histodraw's; the tooltip names the step, bucket and count under
// the cursor and outlines that step.

import { TagCardsView, type View } from "../../cards";
import { runColor, themeColors } from "../../colors";
import { formatDuration, formatStep, formatValue, formatWall } from "../../format";
import { button, el } from "../../runs";
import type { Store, XAxis } from "../../state";
import { stepAxisControl } from "../../settings";
import { HEIGHT, HistogramTagCard, type Loaded } from "./histocard";
import { drawHistograms, positionsOf, sized, tracePath } from "./histodraw";
import {
  computeLayout,
  outlineNearest,
  rebin,
  ridgeAt,
  valueRange,
  widened,
  type Layout,
  type Mode,
  type Rebinned,
} from "./histomath";
import "./histograms.css";

/** TensorBoard's bin count: the steps are redrawn on this many equal bins. */
const BINS = 30;
const MODE_KEY = "stepscope.histogramMode";

class HistogramCard extends HistogramTagCard {
  private canvas: HTMLCanvasElement;
  private overlay: HTMLCanvasElement;
  private data: Loaded | null = null;
  private binned: Rebinned | null = null;
  private layout: Layout | null = null;
  private positions = new Float64Array(0);
  private width = 0;

  constructor(
    run: string,
    tag: string,
    private mode: () => Mode,
    private axis: () => XAxis,
  ) {
    super(run, tag, "histogram");
    this.card.dataset.mode = mode();
    this.canvas = document.createElement("canvas");
    this.canvas.className = "histo-canvas";
    this.overlay = document.createElement("canvas");
    this.overlay.className = "histo-highlight";
    this.overlay.setAttribute("aria-label", `Histograms of ${tag} in ${run} over steps`);
    this.plot.prepend(this.canvas, this.overlay);
    this.overlay.addEventListener("mousemove", (event) => this.hover(event.offsetX, event.offsetY));
    this.overlay.addEventListener("mouseleave", () => this.unhover());
    new ResizeObserver(() => {
      if (this.data && this.plot.clientWidth !== this.width) this.redraw();
    }).observe(this.plot);
  }

  protected show(data: Loaded): void {
    this.data = data;
    const [low, high] = widened(valueRange(data.histograms));
    this.binned = rebin(data.histograms, low, high, BINS);
    this.redraw();
    this.finished(data);
  }

  /** Draws the data at hand again (a new mode, x axis or width). */
  redraw(): void {
    this.card.dataset.mode = this.mode();
    this.card.dataset.axis = this.axis();
    if (!this.data || !this.binned) return;
    this.width = this.plot.clientWidth;
    const ctx = sized(this.canvas, this.width, HEIGHT);
    sized(this.overlay, this.width, HEIGHT);
    this.unhover();
    this.positions = positionsOf(this.axis(), this.data.histograms);
    this.layout = computeLayout(this.mode(), this.width, HEIGHT, this.positions);
    drawHistograms(ctx, this.layout, this.binned, this.positions, this.axis(), runColor(this.run));
  }

  protected themeChanged(): void {
    this.redraw();
  }

  private hover(x: number, y: number): void {
    const layout = this.layout;
    const binned = this.binned;
    const histograms = this.data?.histograms ?? [];
    if (!layout || !binned || histograms.length === 0 || x < layout.left || x > layout.right) {
      this.unhover();
      return;
    }
    const share = (x - layout.left) / (layout.right - layout.left);
    const bin = Math.min(binned.bins - 1, Math.floor(share * binned.bins));
    const index = layout.mode === "offset" ? ridgeAt(layout, binned, bin, y) : outlineNearest(layout, binned, bin, y);
    const ctx = this.overlay.getContext("2d")!;
    ctx.clearRect(0, 0, this.width, HEIGHT);
    tracePath(ctx, layout, binned, index);
    const colors = themeColors();
    ctx.strokeStyle = colors.theme === "dark" ? colors.text : "#111111";
    ctx.lineWidth = 1.5;
    ctx.stroke();
    const h = histograms[index];
    const width = (binned.high - binned.low) / binned.bins;
    const from = binned.low + bin * width;
    this.card.dataset.highlightStep = String(h.step);
    const rows: [string, string][] = [["Step", formatStep(h.step)]];
    if (this.axis() === "wall") rows.push(["Wall time", formatWall(h.wall)]);
    if (this.axis() === "relative") rows.push(["Relative", formatDuration(this.positions[index])]);
    rows.push(
      ["Bucket", `${formatValue(from)} to ${formatValue(from + width)}`],
      ["Count", formatValue(binned.counts[index * binned.bins + bin])],
    );
    this.placeTooltip(rows, x, y);
  }

  private unhover(): void {
    this.tooltip.hidden = true;
    delete this.card.dataset.highlightStep;
    this.overlay.getContext("2d")?.clearRect(0, 0, this.overlay.width, this.overlay.height);
  }
}


function savedMode(): Mode {
  try {
    return localStorage.getItem(MODE_KEY) === "overlay" ? "overlay" : "offset";
  } catch {
    return "offset"; // storage may be off
  }
}

/** The histograms view: a canvas card per run and histogram tag, offset or overlaid (one setting for all). */
export function histogramsView(store: Store, shownRuns: () => Set<string>): View {
  let mode = savedMode();
  let view: TagCardsView<HistogramCard> | null = null;
  const modes = el("span", "histo-modes");
  modes.setAttribute("role", "group");
  modes.setAttribute("aria-label", "Histogram mode");
  const choices = (["offset", "overlay"] as Mode[]).map((choice) => {
    const label = choice === "offset" ? "Offset" : "Overlay";
    const title =
      choice === "offset"
        ? "Each step's histogram offset by its step, older ones further back"
        : "Every step's outline on one set of axes";
    const found = button(label, title, () => setMode(choice));
    found.dataset.mode = choice;
    return found;
  });
  modes.append(...choices);
  const setMode = (chosen: Mode): void => {
    mode = chosen;
    try {
      localStorage.setItem(MODE_KEY, mode);
    } catch {
      // storage may be off: the choice lasts until the page is left
    }
    for (const choice of choices) choice.setAttribute("aria-pressed", String(choice.dataset.mode === mode));
    if (view) {
      view.root.dataset.mode = mode;
      for (const card of view.cards.values()) card.redraw();
    }
  };
  view = new TagCardsView(store, shownRuns, {
    className: "histograms",
    accepts: (meta) => meta.plugin === "histograms",
    makeCard: (run, tag) => new HistogramCard(run, tag, () => mode, () => store.state.xAxis),
    emptyText: "No histograms for the runs and tags shown.",
    tools: [modes, stepAxisControl(store)],
  });
  store.subscribe((changed) => {
    if (changed.has("xAxis")) for (const card of view!.cards.values()) card.redraw();
  });
  setMode(mode);
  return view;
}
