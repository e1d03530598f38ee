// The distributions view: per run and histogram tag, over steps, the bands
// between the percentiles of each step at TensorBoard's basis points, drawn
// by uPlot (translucent bands that darken towards the median), along step,
// relative or wall time (the scalars' x axis setting, "Steps by").

import uPlot from "uplot";
import { TagCardsView, type View } from "../../cards";
import { valueAxis, xAxisOf } from "../../chartOptions";
import { runColor } from "../../colors";
import { formatDuration, formatStep, formatValue, formatWall } from "../../format";
import type { Store, XAxis } from "../../state";
import { stepAxisControl } from "../../settings";
import { HEIGHT, HistogramTagCard, type Loaded } from "./histocard";
import { positionsOf } from "./histodraw";
import { BASIS_POINTS, bucketPercentiles } from "./histomath";
import "./histograms.css";

/** The percentiles' names in the tooltip, in BASIS_POINTS' order. */
const PERCENTILE_NAMES = ["min", "−2σ", "−1σ", "−½σ", "median", "+½σ", "+1σ", "+2σ", "max"];

/** The colour as rgba with this opacity (for the translucent bands, which stack). */
function withAlpha(color: string, alpha: number): string {
  const n = parseInt(color.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}

class DistributionCard extends HistogramTagCard {
  private u: uPlot | null = null;
  private data: Loaded | null = null;
  /** The steps by position on the x axis (uPlot wants x ascending), and where each is. */
  private steps: number[] = [];
  private walls: number[] = [];
  private positions: number[] = [];
  private percentiles: Float64Array[] = [];
  private pending: Loaded | null = null;
  /** Whether there is one step only, which is drawn as points (a band needs two). */
  private lone = false;
  /** The x axis the chart was made for. */
  private madeFor: XAxis | null = null;

  constructor(
    run: string,
    tag: string,
    private axis: () => XAxis,
  ) {
    super(run, tag, "distribution");
    new ResizeObserver(() => {
      const width = Math.max(200, this.plot.clientWidth);
      if (this.u && width !== this.u.width) this.u.setSize({ width, height: HEIGHT });
    }).observe(this.plot);
  }

  protected show(data: Loaded): void {
    this.data = data;
    const axis = this.axis();
    this.card.dataset.axis = axis;
    const at = positionsOf(axis, data.histograms);
    const order = data.histograms.map((_, i) => i).sort((a, b) => at[a] - at[b] || a - b);
    this.steps = order.map((i) => data.histograms[i].step);
    this.walls = order.map((i) => data.histograms[i].wall);
    this.positions = order.map((i) => at[i]);
    this.percentiles = order.map((i) => bucketPercentiles(data.histograms[i]));
    const columns: (number | null)[][] = BASIS_POINTS.map((_, j) =>
      this.percentiles.map((p) => (Number.isFinite(p[j]) ? p[j] : null)),
    );
    const aligned = [this.positions, ...columns] as uPlot.AlignedData;
    this.pending = data;
    const lone = this.steps.length === 1;
    if (this.u && lone === this.lone && axis === this.madeFor) {
      this.u.setData(aligned);
      return;
    }
    this.lone = lone;
    this.madeFor = axis;
    this.u?.destroy();
    this.u = new uPlot(this.options(), aligned, (u, init) => {
      this.plot.prepend(u.root);
      init();
    });
  }

  private options(): uPlot.Options {
    const color = runColor(this.run);
    const lone = this.lone;
    const series: uPlot.Series[] = [{}];
    BASIS_POINTS.forEach((_, j) => {
      const median = j === 4;
      series.push({
        label: PERCENTILE_NAMES[j],
        stroke: median ? color : "transparent",
        width: median ? 1.5 : 0,
        points: { show: lone && median, stroke: color, fill: color },
      });
    });
    // Series 1..9 are min..max: the bands pair them from the outside in, each darkening the middle.
    const bands: uPlot.Band[] = [0, 1, 2, 3].map((j) => ({ series: [9 - j, 1 + j], fill: withAlpha(color, 0.16) }));
    return {
      width: Math.max(200, this.plot.clientWidth),
      height: HEIGHT,
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: this.madeFor === "wall" } },
      axes: [xAxisOf(this.madeFor ?? "step"), valueAxis()],
      series,
      bands,
      hooks: {
        setCursor: [(u) => this.hover(u)],
        draw: [
          () => {
            if (this.pending) this.finished(this.pending);
            this.pending = null;
          },
        ],
      },
    };
  }

  /** uPlot keeps the colours a plot was made with (the axes', the bands'): made again. */
  protected themeChanged(): void {
    if (!this.data || !this.u) return;
    this.madeFor = null;
    this.show(this.data);
  }

  /** The x axis of the settings changed: the chart again, in its unit. */
  restyle(): void {
    if (this.data) this.show(this.data);
  }

  private hover(u: uPlot): void {
    const index = u.cursor.idx;
    const left = u.cursor.left ?? -1;
    if (index == null || left < 0 || !this.percentiles[index]) {
      this.tooltip.hidden = true;
      return;
    }
    const values = this.percentiles[index];
    const rows: [string, string][] = [["Step", formatStep(this.steps[index])]];
    if (this.madeFor === "wall") rows.push(["Wall time", formatWall(this.walls[index])]);
    if (this.madeFor === "relative") rows.push(["Relative", formatDuration(this.positions[index])]);
    for (let j = BASIS_POINTS.length - 1; j >= 0; j--) {
      const share = `${(BASIS_POINTS[j] / 100).toFixed(BASIS_POINTS[j] % 100 ? 2 : 0)}%`;
      rows.push([`${PERCENTILE_NAMES[j]} (${share})`, Number.isNaN(values[j]) ? "—" : formatValue(values[j])]);
    }
    this.placeTooltip(rows, u.over.offsetLeft + left, u.over.offsetTop + (u.cursor.top ?? 0));
  }
}

/** The distributions view: per run and histogram tag, the bands between percentiles of every step. */
export function distributionsView(store: Store, shownRuns: () => Set<string>): View {
  const view = new TagCardsView(store, shownRuns, {
    className: "distributions",
    accepts: (meta) => meta.plugin === "histograms",
    makeCard: (run, tag) => new DistributionCard(run, tag, () => store.state.xAxis),
    emptyText: "No histograms (whose distributions this tab shows) for the runs and tags shown.",
    tools: [stepAxisControl(store)],
  });
  store.subscribe((changed) => {
    if (changed.has("xAxis")) for (const card of view.cards.values()) card.restyle();
  });
  return view;
}
