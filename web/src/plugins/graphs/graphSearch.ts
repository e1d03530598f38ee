// The search box: a regular expression over node names and ops, checked as
// it is typed (one that is not valid says so, and nothing is searched), the
// number of matches, and Enter / ◀ ▶ to step through them.

import { button, el } from "../../runs";
import { compilePattern } from "./graphQuery";
import type { SearchAnswer, SearchHit } from "./protocol";

/** Hits listed at most (the count is of them all). */
const LIMIT = 500;
/** Up to this many hits, the first Enter opens the groups of them all; past it, of the one shown. */
const OPEN_ALL_HITS = 20;

export interface SearchEvents {
  /** The hits of a pattern, or null when no graph is shown. */
  find(pattern: string, limit: number): Promise<SearchAnswer | null>;
  /** The pattern whose hits are outlined changed ("": none). */
  changed(pattern: string): Promise<void>;
  /** Shows a hit, after opening the groups leading to it and to ``also`` (other hits). */
  show(hit: SearchHit, also: SearchHit[]): void;
}

export class GraphSearch {
  readonly root = el("span", "graph-search-wrap");
  /** The pattern in effect: the last valid one typed. */
  pattern = "";
  private input = document.createElement("input");
  private info = el("span", "graph-search-info");
  private hits: SearchHit[] = [];
  private index = -1;
  private timer = 0;

  constructor(private events: SearchEvents) {
    this.input.type = "search";
    this.input.className = "filter graph-search";
    this.input.placeholder = "Search names or ops (regex)";
    this.input.setAttribute("aria-label", "Search nodes by name or op (regular expression)");
    this.input.addEventListener("input", () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.run(), 150);
    });
    this.input.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      window.clearTimeout(this.timer);
      void this.run().then(() => this.step(event.shiftKey ? -1 : 1));
    });
    const previous = button("◀", "The previous match (Shift+Enter)", () => this.step(-1));
    const next = button("▶", "The next match (Enter)", () => this.step(1));
    this.root.append(this.input, previous, next, this.info);
  }

  /** A new graph: the same pattern, searched again. */
  reset(): void {
    this.pattern = "";
    void this.run();
  }

  private async run(): Promise<void> {
    const typed = this.input.value;
    const { error } = compilePattern(typed);
    this.input.classList.toggle("invalid", error !== null);
    this.input.setAttribute("aria-invalid", String(error !== null));
    this.info.classList.toggle("error", error !== null);
    if (error !== null) {
      this.info.textContent = `Not a valid regex: ${error}`;
      return;
    }
    if (typed === this.pattern) return;
    this.pattern = typed;
    this.hits = [];
    this.index = -1;
    this.info.textContent = "";
    if (typed !== "") {
      const answer = await this.events.find(typed, LIMIT);
      if (!answer || this.pattern !== typed) return;
      this.hits = answer.hits;
      const count = answer.count.toLocaleString("en-US");
      this.info.textContent = answer.count === 0 ? "no match" : `${count} match${answer.count === 1 ? "" : "es"}`;
    }
    await this.events.changed(typed);
  }

  /** Shows the next (or previous) hit; the first time, with the groups of every hit opened when they are few. */
  private step(by: number): void {
    const hits = this.hits;
    if (hits.length === 0) return;
    const first = this.index < 0;
    this.index = first ? (by > 0 ? 0 : hits.length - 1) : (this.index + by + hits.length) % hits.length;
    const hit = hits[this.index];
    this.info.textContent = `${this.index + 1} of ${hits.length}${hits.length === LIMIT ? "+" : ""}: ${hit.name}`;
    this.info.title = hit.name;
    this.events.show(hit, first && hits.length <= OPEN_ALL_HITS ? hits : []);
  }
}
