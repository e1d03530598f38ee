// The scalars view: one chart per tag, grouped by the tag's prefix (before
// the first "/") in collapsible sections. A chart fetches and draws only
// once it scrolls near the viewport. The view fetches the logdir's
// checkpoints (again whenever the index changes) and hands them to every
// chart, which marks those of the runs it draws.

import { type CheckpointInfo, fetchCheckpoints, type TagsByRun } from "../../api";
import type { View } from "../../cards";
import { ScalarChart } from "../../chart";
import type { CheckpointsByRun } from "../../checkpoints";
import { el } from "../../runs";
import { compileFilter, type Key, type Store } from "../../state";

export class ScalarsView implements View {
  readonly root: HTMLElement;
  private groups = new Map<string, { section: HTMLDetailsElement; cards: HTMLElement; count: HTMLElement; tags: string[] }>();
  private charts = new Map<string, ScalarChart>();
  private runsOfTag = new Map<string, string[]>();
  private observer: IntersectionObserver;
  private filterInput: HTMLInputElement;
  private filterError: HTMLElement;
  private empty: HTMLElement;
  private list: HTMLElement;
  private checkpoints: CheckpointsByRun = new Map();
  private checkpointsRequest: AbortController | null = null;

  constructor(
    private store: Store,
    private shownRuns: () => Set<string>,
  ) {
    this.root = el("div", "scalars");
    const bar = el("div", "toolbar");
    this.filterInput = document.createElement("input");
    this.filterInput.type = "search";
    this.filterInput.className = "filter tag-filter";
    this.filterInput.placeholder = "Filter tags (regex)";
    this.filterInput.setAttribute("aria-label", "Filter tags (regular expression)");
    this.filterInput.value = store.state.tagFilter;
    this.filterInput.addEventListener("input", () => store.set("tagFilter", this.filterInput.value));
    this.filterError = el("span", "filter-error");
    bar.append(this.filterInput, this.filterError);
    this.empty = el("p", "empty");
    this.list = el("div", "groups");
    this.root.append(bar, this.empty, this.list);
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const tag = (entry.target as HTMLElement).dataset.tag;
          if (tag !== undefined) this.charts.get(tag)?.setVisible(entry.isIntersecting);
        }
      },
      { rootMargin: "300px 0px" },
    );
    store.subscribe((changed) => this.onState(changed));
    void this.loadCheckpoints();
  }

  /** Fetches every run's checkpoints and gives them to the charts; on failure the markers stay as they were. */
  private async loadCheckpoints(): Promise<void> {
    this.checkpointsRequest?.abort();
    const controller = new AbortController();
    this.checkpointsRequest = controller;
    let found: CheckpointInfo[];
    try {
      found = await fetchCheckpoints(controller.signal);
    } catch {
      // The charts say when the server is gone; markers are not worth a second message.
      return;
    }
    if (controller.signal.aborted) return;
    const byRun = new Map<string, CheckpointInfo[]>();
    for (const checkpoint of found) {
      const list = byRun.get(checkpoint.run);
      if (list) list.push(checkpoint);
      else byRun.set(checkpoint.run, [checkpoint]);
    }
    this.checkpoints = byRun;
    for (const chart of this.charts.values()) chart.setCheckpoints(byRun);
  }

  /** The tags of the logdir (new ones are added; the existing charts stay as they are). */
  setTags(tags: TagsByRun): void {
    const runsOfTag = new Map<string, string[]>();
    for (const [run, byTag] of Object.entries(tags)) {
      for (const [tag, meta] of Object.entries(byTag)) {
        if (meta.plugin !== "scalars") continue;
        const runs = runsOfTag.get(tag);
        if (runs) runs.push(run);
        else runsOfTag.set(tag, [run]);
      }
    }
    this.runsOfTag = runsOfTag;
    const sorted = [...runsOfTag.keys()].sort(compareTags);
    for (const tag of sorted) {
      const group = groupOf(tag);
      let found = this.groups.get(group);
      if (!found) {
        const section = document.createElement("details");
        section.className = "group";
        section.dataset.group = group;
        section.open = !this.store.state.collapsed.has(group);
        const summary = document.createElement("summary");
        const name = el("span", "group-name");
        name.textContent = group;
        const count = el("span", "group-count");
        summary.append(name, count);
        const cards = el("div", "cards");
        section.append(summary, cards);
        section.addEventListener("toggle", () => {
          const collapsed = new Set(this.store.state.collapsed);
          if (section.open) collapsed.delete(group);
          else collapsed.add(group);
          if (collapsed.size !== this.store.state.collapsed.size) this.store.set("collapsed", collapsed);
        });
        found = { section, cards, count, tags: [] };
        this.groups.set(group, found);
        this.placeGroup(group, section);
      }
      if (!this.charts.has(tag)) {
        const chart = new ScalarChart(tag, () => this.store.state);
        chart.setCheckpoints(this.checkpoints);
        this.charts.set(tag, chart);
        found.tags.push(tag);
        found.tags.sort(compareTags);
        const at = found.tags.indexOf(tag);
        const next = found.tags[at + 1];
        found.cards.insertBefore(chart.card, next ? this.charts.get(next)!.card : null);
        this.observer.observe(chart.card);
      }
    }
    this.applyFilter();
    this.updateRuns();
  }

  private placeGroup(group: string, section: HTMLElement): void {
    const names = [...this.groups.keys()].sort(compareTags);
    const next = names[names.indexOf(group) + 1];
    this.list.insertBefore(section, next ? this.groups.get(next)!.section : null);
  }

  /** The index changed: every chart fetches again (now if in view, else when scrolled to). */
  invalidate(): void {
    for (const chart of this.charts.values()) chart.invalidate();
    void this.loadCheckpoints();
  }

  updateRuns(): void {
    const shown = this.shownRuns();
    for (const [tag, chart] of this.charts) {
      const runs = (this.runsOfTag.get(tag) ?? []).filter((r) => shown.has(r)).sort();
      chart.setRuns(runs);
    }
  }

  private onState(changed: Set<Key>): void {
    if (changed.has("tagFilter")) {
      if (this.filterInput.value !== this.store.state.tagFilter) this.filterInput.value = this.store.state.tagFilter;
      this.applyFilter();
    }
    if (changed.has("collapsed")) {
      for (const [group, { section }] of this.groups) {
        const open = !this.store.state.collapsed.has(group);
        if (section.open !== open) section.open = open;
      }
    }
    const style = new Set<string>();
    for (const key of ["smoothing", "xAxis", "logY", "ignoreOutliers"] as Key[]) {
      if (changed.has(key)) style.add(key);
    }
    if (style.size) for (const chart of this.charts.values()) chart.restyle(style);
  }

  private applyFilter(): void {
    const { regex, error } = compileFilter(this.store.state.tagFilter);
    this.filterError.textContent = error ? `Not a valid regex: ${error}` : "";
    this.filterInput.classList.toggle("invalid", error !== null);
    let shownTags = 0;
    for (const { section, count, tags } of this.groups.values()) {
      let shown = 0;
      for (const tag of tags) {
        const match = !regex || regex.test(tag);
        this.charts.get(tag)!.card.hidden = !match;
        if (match) shown++;
      }
      section.hidden = shown === 0;
      count.textContent = `${shown}`;
      shownTags += shown;
    }
    this.empty.hidden = shownTags > 0;
    this.empty.textContent =
      this.charts.size === 0
        ? "No scalar data in this logdir yet. Charts appear as soon as a writer logs a scalar."
        : "No tag matches the filter.";
  }
}

function groupOf(tag: string): string {
  const slash = tag.indexOf("/");
  return slash > 0 ? tag.slice(0, slash) : tag;
}

const collator = new Intl.Collator("en", { numeric: true });

function compareTags(a: string, b: string): number {
  return collator.compare(a, b);
}
