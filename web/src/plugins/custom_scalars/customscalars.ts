// The custom scalars view: the layout a writer gave with add_custom_scalars,
// as categories of charts. A multiline chart draws every scalar tag matching
// its regexes for every shown run; a margin chart draws a value with the band
// between its lower and upper bound. The charts are the scalars view's.

import { errorText, getJson, type TagsByRun } from "../../api";
import type { View } from "../../cards";
import { ScalarChart } from "../../chart";
import type { ChartQuery } from "../../chartSeries";
import { el } from "../../runs";
import type { Key, Store } from "../../state";

interface LayoutChart {
  title: string;
  multiline?: string[];
  margin?: { value: string; lower: string; upper: string }[];
}

interface Layout {
  categories: { title: string; closed: boolean; charts: LayoutChart[] }[];
  problems: string[];
}

export function customScalarsView(store: Store, shownRuns: () => Set<string>): View {
  return new CustomScalarsView(store, shownRuns);
}

class CustomScalarsView implements View {
  readonly root: HTMLElement;
  private list: HTMLElement;
  private note: HTMLElement;
  private charts = new Map<string, { chart: ScalarChart; spec: LayoutChart }>();
  private runsOfTag = new Map<string, string[]>();
  private layoutKey = "";
  private observer: IntersectionObserver;

  constructor(
    private store: Store,
    private shownRuns: () => Set<string>,
  ) {
    this.root = el("div", "custom-scalars");
    this.note = el("p", "empty");
    this.list = el("div", "groups");
    this.root.append(this.note, this.list);
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const key = (entry.target as HTMLElement).dataset.key;
          if (key !== undefined) this.charts.get(key)?.chart.setVisible(entry.isIntersecting);
        }
      },
      { rootMargin: "300px 0px" },
    );
    store.subscribe((changed) => {
      const style = new Set<string>();
      for (const key of ["smoothing", "xAxis", "logY", "ignoreOutliers"] as Key[]) {
        if (changed.has(key)) style.add(key);
      }
      if (style.size) for (const { chart } of this.charts.values()) chart.restyle(style);
    });
  }

  setTags(tags: TagsByRun): void {
    const runsOfTag = new Map<string, string[]>();
    for (const [run, byTag] of Object.entries(tags)) {
      for (const [tag, meta] of Object.entries(byTag)) {
        if (meta.plugin !== "scalars") continue;
        runsOfTag.set(tag, [...(runsOfTag.get(tag) ?? []), run]);
      }
    }
    this.runsOfTag = runsOfTag;
    void this.loadLayout();
  }

  updateRuns(): void {
    for (const { chart, spec } of this.charts.values()) chart.setQueries(this.queries(spec));
  }

  invalidate(): void {
    for (const { chart } of this.charts.values()) chart.invalidate();
  }

  recolor(runs: Set<string>): void {
    for (const { chart } of this.charts.values()) chart.recolor(runs);
  }

  private async loadLayout(): Promise<void> {
    let layout: Layout;
    try {
      layout = await getJson<Layout>("api/plugins/custom_scalars/layout");
    } catch (error) {
      this.note.textContent = errorText(error);
      this.note.classList.add("error");
      this.note.hidden = false;
      return;
    }
    this.note.classList.remove("error");
    const key = JSON.stringify(layout);
    if (key !== this.layoutKey) {
      this.layoutKey = key;
      this.build(layout);
    }
    this.updateRuns();
  }

  private build(layout: Layout): void {
    for (const { chart } of this.charts.values()) {
      this.observer.unobserve(chart.card);
      chart.destroy();
    }
    this.charts.clear();
    const sections = layout.categories.map((category, c) => {
      const section = document.createElement("details");
      section.className = "group";
      section.open = !category.closed;
      const summary = document.createElement("summary");
      const name = el("span", "group-name");
      name.textContent = category.title || "(untitled)";
      const count = el("span", "group-count");
      count.textContent = String(category.charts.length);
      summary.append(name, count);
      const cards = el("div", "cards");
      category.charts.forEach((spec, i) => {
        const chart = new ScalarChart(spec.title || "(untitled)", () => this.store.state);
        const key = `${c}/${i}`;
        chart.card.dataset.key = key;
        chart.card.dataset.kind = spec.margin ? "margin" : "multiline";
        this.charts.set(key, { chart, spec });
        cards.append(chart.card);
        this.observer.observe(chart.card);
      });
      section.append(summary, cards);
      return section;
    });
    this.list.replaceChildren(...sections);
    const lines = [...layout.problems];
    if (layout.categories.length === 0) {
      lines.unshift("The custom scalars layout of this logdir has no charts. Write one with writer.add_custom_scalars(layout).");
    }
    this.note.textContent = lines.join(" ");
    this.note.hidden = lines.length === 0;
  }

  /** The series a chart draws, for the runs shown now. */
  private queries(spec: LayoutChart): ChartQuery[] {
    const shown = this.shownRuns();
    const runsOf = (tag: string) => (this.runsOfTag.get(tag) ?? []).filter((r) => shown.has(r)).sort();
    if (spec.margin) {
      return spec.margin.flatMap((m) => [
        { tag: m.value, runs: runsOf(m.value), of: m.value },
        { tag: m.lower, runs: runsOf(m.lower), role: "lower" as const, of: m.value },
        { tag: m.upper, runs: runsOf(m.upper), role: "upper" as const, of: m.value },
      ]);
    }
    const patterns = (spec.multiline ?? []).map((source) => {
      try {
        return new RegExp(source);
      } catch {
        return null; // an invalid regex matches its own text only
      }
    });
    const tags = [...this.runsOfTag.keys()].filter((tag) =>
      patterns.some((p, i) => (p ? p.test(tag) : tag === spec.multiline![i])),
    );
    return tags.sort().map((tag) => ({ tag, runs: runsOf(tag) }));
  }
}
