// What the views share: the View interface main.ts drives, the tag filter,
// and TagCardsView, a grid of cards (one per run and tag of some plugins)
// that load only once they scroll near the viewport.

import { errorText, type TagMeta, type TagsByRun } from "./api";
import { runColor } from "./colors";
import { el } from "./runs";
import { cardSizeControl } from "./settings";
import { compileFilter, type Store } from "./state";
import { addCardTools, enlargeButton, PinnedCards } from "./workspace";

/** A tab's view, as main.ts drives it. */
export interface View {
  readonly root: HTMLElement;
  /** The logdir's tags (after every change in the logdir). */
  setTags(tags: TagsByRun): void;
  /** The runs checked in the selector changed. */
  updateRuns(): void;
  /** The data changed: what is shown is fetched again, keeping what the person chose. */
  invalidate(): void;
  /** These runs' colours changed: draw them in their new colours (without it, main.ts calls invalidate). */
  recolor?(runs: Set<string>): void;
}

/** Makes a tab's view; ``plugin`` is the tab's name (e.g. "distributions", or the plugin a raw tab shows). */
export type ViewFactory = (store: Store, shownRuns: () => Set<string>, plugin: string) => View;

/** A view that is one line: why a tab shows nothing else (no page, a plugin's problem). */
export function messageView(text: string, error: boolean): View {
  const root = el("div", "tab-message");
  const line = el("p", error ? "empty error" : "empty");
  line.textContent = text; // text, never HTML
  root.append(line);
  return { root, setTags() {}, updateRuns() {}, invalidate() {} };
}

/** The tag filter box: a regex over tags, shared by every tab (it lives in the URL). */
export function tagFilterInput(store: Store): HTMLElement {
  const wrap = el("span", "tag-filter-wrap");
  const input = document.createElement("input");
  input.type = "search";
  input.className = "filter tag-filter";
  input.placeholder = "Filter tags (regex)";
  input.setAttribute("aria-label", "Filter tags (regular expression)");
  input.value = store.state.tagFilter;
  input.addEventListener("input", () => store.set("tagFilter", input.value));
  const error = el("span", "filter-error");
  const show = (): void => {
    if (input.value !== store.state.tagFilter) input.value = store.state.tagFilter;
    const { error: message } = compileFilter(store.state.tagFilter);
    error.textContent = message ? `Not a valid regex: ${message}` : "";
    input.classList.toggle("invalid", message !== null);
  };
  store.subscribe((changed) => {
    if (changed.has("tagFilter")) show();
  });
  show();
  wrap.append(input, error);
  return wrap;
}

/** The run's name with its colour, for a card's head; a long name too wide shows its start and end ("abc…xyz"). */
export function runLabel(run: string): HTMLElement {
  const label = el("span", "card-run");
  const swatch = el("span", "swatch");
  swatch.style.background = runColor(run);
  // The start gives way (clipped with an ellipsis) and the end stays: together they read as the name.
  const cut = run.length > 20 ? run.length - 10 : run.length;
  const start = el("span", "card-run-start");
  start.textContent = run.slice(0, cut); // text, never HTML
  const end = el("span", "card-run-end");
  end.textContent = run.slice(cut);
  label.title = run;
  label.append(swatch, start, end);
  return label;
}

/** One card of a TagCardsView. */
export interface TagCard {
  readonly card: HTMLElement;
  /** Near the viewport or not: a card fetches its data the first time it is. */
  setVisible(visible: boolean): void;
  /** The data changed; fetch again if visible (else when next visible). */
  invalidate(): void;
  /** Frees what the card holds (e.g. a WebGL context) when the view drops it. */
  destroy?(): void;
}

/**
 * A card that fetches its data the first time it comes near the viewport, and
 * again after the data changed (at once if near, else when it next is).
 */
export abstract class LazyCard implements TagCard {
  abstract readonly card: HTMLElement;
  protected abstract readonly message: MessageLine;
  private near = false;
  private fetched = false;
  private loads = 0;

  setVisible(visible: boolean): void {
    this.near = visible;
    if (visible && !this.fetched) this.start();
  }

  invalidate(): void {
    this.fetched = false;
    if (this.near) this.start();
  }

  private start(): void {
    this.fetched = true;
    const load = ++this.loads;
    const stale = () => load !== this.loads;
    this.load(stale).catch((error: unknown) => {
      // Only the newest load's failure is shown; an aborted fetch is not one.
      if (!stale() && (error as Error).name !== "AbortError") this.failed(error);
    });
  }

  /** Fetches and shows the data; ``stale()`` turns true once a newer load has begun (its answer wins). */
  protected abstract load(stale: () => boolean): Promise<void>;

  /** Says on the card why its newest load failed. */
  protected failed(error: unknown): void {
    this.message.show(errorText(error), true);
    this.card.dataset.state = "error";
  }
}

export interface TagCardsOptions<C extends TagCard> {
  className: string;
  /** Which tags get a card. */
  accepts: (meta: TagMeta, tag: string) => boolean;
  makeCard: (run: string, tag: string, meta: TagMeta) => C;
  /** What the view says when no card is shown. */
  emptyText: string;
  /** Controls placed after the tag filter. */
  tools?: HTMLElement[];
}

/**
 * A grid of cards, one per shown run and accepted tag, ordered by tag then
 * run; pinned cards go first, in a section of their own, in pin order.
 */
export class TagCardsView<C extends TagCard> implements View {
  readonly root: HTMLElement;
  readonly cards = new Map<string, C>();
  private grid: HTMLElement;
  private empty: HTMLElement;
  private observer: IntersectionObserver;
  private tags: TagsByRun = {};
  private pinned: PinnedCards;

  constructor(
    protected store: Store,
    private shownRuns: () => Set<string>,
    private options: TagCardsOptions<C>,
  ) {
    this.root = el("div", options.className);
    const bar = el("div", "toolbar");
    bar.append(tagFilterInput(store), ...(options.tools ?? []), cardSizeControl(store));
    this.empty = el("p", "empty");
    this.grid = el("div", "cards");
    // A view is made when its tab is shown (main.ts): the tab is the current one.
    this.pinned = new PinnedCards(store, store.state.tab);
    this.root.append(bar, this.empty, this.pinned.root, this.grid);
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const key = (entry.target as HTMLElement).dataset.key;
          if (key !== undefined) this.cards.get(key)?.setVisible(entry.isIntersecting);
        }
      },
      { rootMargin: "300px 0px" },
    );
    store.subscribe((changed) => {
      if (changed.has("tagFilter") || changed.has("pinned")) this.render();
    });
  }

  setTags(tags: TagsByRun): void {
    this.tags = tags;
    this.render();
  }

  updateRuns(): void {
    this.render();
  }

  invalidate(): void {
    for (const card of this.cards.values()) card.invalidate();
  }

  /** The cards of these runs are made again, in their new colours (a card takes its run's colour when made). */
  recolor(runs: Set<string>): void {
    for (const [key, card] of this.cards) {
      if (!runs.has(card.card.dataset.run ?? "")) continue;
      this.observer.unobserve(card.card);
      card.destroy?.();
      this.pinned.forget(key);
      this.cards.delete(key);
    }
    this.render();
  }

  private render(): void {
    const shown = this.shownRuns();
    const { regex } = compileFilter(this.store.state.tagFilter);
    const wanted: [string, string, string, TagMeta][] = [];
    for (const [run, byTag] of Object.entries(this.tags)) {
      if (!shown.has(run)) continue;
      for (const [tag, meta] of Object.entries(byTag)) {
        if (!this.options.accepts(meta, tag) || (regex && !regex.test(tag))) continue;
        wanted.push([JSON.stringify([tag, run]), run, tag, meta]);
      }
    }
    wanted.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [key, run, tag, meta] of wanted) {
      if (this.cards.has(key)) continue;
      const card = this.options.makeCard(run, tag, meta);
      card.card.dataset.key = key;
      card.card.dataset.run = run;
      card.card.dataset.tag = tag;
      addCardTools(card.card, enlargeButton(card.card), this.pinned.button(key));
      this.cards.set(key, card);
      this.observer.observe(card.card);
    }
    const pinned = this.pinned.order(wanted.map(([key]) => key));
    const first = new Set(pinned);
    this.pinned.grid.replaceChildren(...pinned.map((key) => this.cards.get(key)!.card));
    this.grid.replaceChildren(...wanted.filter(([key]) => !first.has(key)).map(([key]) => this.cards.get(key)!.card));
    this.pinned.update(pinned.length);
    this.empty.hidden = wanted.length > 0;
    this.empty.textContent = this.options.emptyText;
  }
}

/** A step slider with its label ("step 1,200 (3 of 40)"), for cards that show one step at a time. */
export class StepSlider {
  readonly root: HTMLElement;
  readonly input: HTMLInputElement;
  private label: HTMLElement;
  private steps: number[] = [];

  constructor(what: string, onChange: (step: number | undefined) => void) {
    this.root = el("div", "step-control");
    this.input = document.createElement("input");
    this.input.type = "range";
    this.input.min = "0";
    this.input.className = "step-slider";
    this.input.setAttribute("aria-label", `Step of ${what}`);
    this.input.addEventListener("input", () => onChange(this.step));
    this.label = el("div", "step-label");
    this.root.append(this.input, this.label);
  }

  /** New steps (sorted, distinct); stays at the last step if it was there. */
  setSteps(steps: number[]): void {
    const atEnd = this.steps.length === 0 || Number(this.input.value) === this.steps.length - 1;
    this.steps = steps;
    this.input.max = String(Math.max(0, steps.length - 1));
    this.input.disabled = steps.length < 2;
    if (atEnd) this.input.value = this.input.max;
    this.describe("");
  }

  get position(): number {
    return Number(this.input.value);
  }

  get step(): number | undefined {
    return this.steps[this.position];
  }

  /** The label: the step, its place among all, and an optional detail after it. */
  describe(detail: string): void {
    const step = this.step;
    this.label.textContent =
      step === undefined
        ? ""
        : `step ${step.toLocaleString("en-US")} (${this.position + 1} of ${this.steps.length})` +
          (detail ? ` · ${detail}` : "");
  }
}

/** A card's message line (errors, "no data yet"); hidden when empty. */
export interface MessageLine {
  root: HTMLElement;
  show: (text: string, error?: boolean) => void;
}

export function messageLine(): MessageLine {
  const root = el("div", "card-message");
  root.hidden = true;
  return {
    root,
    show(text: string, error = false): void {
      root.textContent = text; // text, never HTML
      root.hidden = text === "";
      root.classList.toggle("error", error);
    },
  };
}
