// The scalars view: one chart per tag, grouped by the tag's prefix (before
// the first "/") in collapsible sections, pinned charts first. Only the tags
// a shown run has get a card, and groups of one card share a row. A chart
// fetches and draws only once it scrolls near the viewport. The view fetches the logdir's
// checkpoints (again whenever the index changes) and hands them to every
// chart, which marks those of the runs it draws.

import { type CheckpointInfo, fetchCheckpoints, type TagsByRun } from "../../api";
import type { View } from "../../cards";
import { ScalarChart } from "../../chart";
import type { CheckpointsByRun } from "../../checkpoints";
import { RunGroupsControl } from "../../groupControl";
import { el } from "../../runs";
import { cardSizeControl } from "../../settings";
import { compileFilter, type Key, type Store } from "../../state";
import { addCardTools, PinnedCards } from "../../workspace";

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
  /** Run groups: the "Group runs" control and its list of groups (issue 14). */
  private runGroups: RunGroupsControl;
  /** The pinned charts (by tag), in their section at the top of the list. */
  private pinned: PinnedCards;

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
    this.runGroups = new RunGroupsControl(
      store,
      () => [...this.runsOfTag.values()].flat(),
      () => this.shownRuns(),
      () => this.updateRuns(),
    );
    bar.append(this.filterInput, this.filterError, this.runGroups.root, cardSizeControl(store));
    this.empty = el("p", "empty");
    this.list = el("div", "groups");
    // A view is made when its tab is shown (main.ts): the tab is the current one.
    this.pinned = new PinnedCards(store, store.state.tab);
    this.list.append(this.pinned.root);
    this.root.append(bar, this.runGroups.list, this.empty, this.list);
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
        addCardTools(chart.card, this.pinned.button(tag));
        this.placeCard(found, tag);
        this.observer.observe(chart.card);
      }
    }
    this.updateRuns();
  }

  /** Puts a new chart's card in the pinned section (in pin order) or in its group (in tag order). */
  private placeCard(group: { cards: HTMLElement; tags: string[] }, tag: string): void {
    if (this.pinned.has(tag)) {
      this.arrangePinned();
      return;
    }
    const next = group.tags.slice(group.tags.indexOf(tag) + 1).find((t) => !this.pinned.has(t));
    group.cards.insertBefore(this.charts.get(tag)!.card, next ? this.charts.get(next)!.card : null);
  }

  /** After the pins changed: pinned cards to the pinned section, the others back to their groups. */
  private arrangePinned(): void {
    const order = this.pinned.order(this.charts.keys());
    putChildren(this.pinned.grid, order.map((tag) => this.charts.get(tag)!.card));
    for (const { cards, tags } of this.groups.values()) {
      putChildren(cards, tags.filter((tag) => !this.pinned.has(tag)).map((tag) => this.charts.get(tag)!.card));
    }
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
    this.runGroups.invalidate();
  }

  updateRuns(): void {
    const grouping = this.runGroups.grouping();
    const shown = this.shownRuns();
    for (const [tag, chart] of this.charts) {
      const runs = (this.runsOfTag.get(tag) ?? []).filter((r) => shown.has(r)).sort();
      chart.setGrouping(grouping);
      chart.setRuns(runs);
    }
    this.applyFilter();
  }

  /** Runs' colours changed: the charts drawing them are drawn again. */
  recolor(runs: Set<string>): void {
    for (const chart of this.charts.values()) chart.recolor(runs);
  }

  private onState(changed: Set<Key>): void {
    if (changed.has("tagFilter")) {
      if (this.filterInput.value !== this.store.state.tagFilter) this.filterInput.value = this.store.state.tagFilter;
      this.applyFilter();
    }
    if (changed.has("pinned")) {
      this.arrangePinned();
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

  /**
   * Which cards show: those of the tags a shown run has that match the tag
   * filter (a pinned one whatever the filter). A group left without a card
   * is hidden; one with a single card shares its row with its neighbours.
   */
  private applyFilter(): void {
    const { regex, error } = compileFilter(this.store.state.tagFilter);
    this.filterError.textContent = error ? `Not a valid regex: ${error}` : "";
    this.filterInput.classList.toggle("invalid", error !== null);
    const runs = this.shownRuns();
    let matching = 0;
    let shownCards = 0;
    let shownPinned = 0;
    for (const { section, count, tags } of this.groups.values()) {
      let shown = 0;
      for (const tag of tags) {
        const pinned = this.pinned.has(tag);
        const match = !regex || regex.test(tag);
        if (match) matching++;
        const visible = (pinned || match) && (this.runsOfTag.get(tag) ?? []).some((run) => runs.has(run));
        this.charts.get(tag)!.card.hidden = !visible;
        if (visible && pinned) shownPinned++;
        else if (visible) shown++;
      }
      section.hidden = shown === 0;
      section.classList.toggle("single", shown === 1);
      count.textContent = `${shown}`;
      shownCards += shown;
    }
    this.pinned.update(shownPinned);
    this.empty.hidden = shownCards + shownPinned > 0;
    this.empty.textContent =
      this.charts.size === 0
        ? "No scalar data in this logdir yet. Charts appear as soon as a writer logs a scalar."
        : matching === 0
          ? "No tag matches the filter."
          : "No run that is shown has these tags: check runs in the sidebar.";
  }
}

/** Makes ``parent``'s children these, in this order, moving nothing already in place. */
function putChildren(parent: HTMLElement, children: HTMLElement[]): void {
  const same = parent.children.length === children.length && children.every((c, i) => parent.children[i] === c);
  if (!same) parent.replaceChildren(...children);
}

function groupOf(tag: string): string {
  const slash = tag.indexOf("/");
  return slash > 0 ? tag.slice(0, slash) : tag;
}

const collator = new Intl.Collator("en", { numeric: true });

function compareTags(a: string, b: string): number {
  return collator.compare(a, b);
}
