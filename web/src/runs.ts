// The run selector: a checkbox, a colour (a picker) and the name of every
// run, a regex filter, all/none, counts. Only the rows in view exist in the
// DOM, so a logdir of thousands of runs scrolls as smoothly as one of ten. A
// name too long for its row shows its start and its end ("abc…xyz"), whole
// on hover.

import type { RunInfo } from "./api";
import { assignColors, runColor, setRunColor } from "./colors";
import { compileFilter, type Store } from "./state";

const ROW = 24; // px, one row
const OVERSCAN = 8;
/** The most characters of a long name's end shown after the ellipsis. */
const TAIL = 12;

export class RunSelector {
  readonly root: HTMLElement;
  private runs: RunInfo[] = [];
  private names: string[] = [];
  private filtered: string[] = [];
  private list: HTMLElement;
  private spacer: HTMLElement;
  private count: HTMLElement;
  private filterInput: HTMLInputElement;
  private filterError: HTMLElement;
  private rows: HTMLLabelElement[] = [];
  private frame = 0;
  /** One colour input for every row: a row's swatch opens it for its run. */
  private picker: HTMLInputElement;
  private pickingRun: string | null = null;

  constructor(
    private store: Store,
    private onChange: () => void,
  ) {
    this.root = el("section", "runs");
    const heading = el("div", "runs-head");
    const title = el("h2", "");
    title.textContent = "Runs";
    this.count = el("span", "run-count");
    heading.append(title, this.count);
    this.filterInput = document.createElement("input");
    this.filterInput.type = "search";
    this.filterInput.className = "filter";
    this.filterInput.placeholder = "Filter runs (regex)";
    this.filterInput.setAttribute("aria-label", "Filter runs (regular expression)");
    this.filterInput.value = store.state.runFilter;
    this.filterInput.addEventListener("input", () => store.set("runFilter", this.filterInput.value));
    this.filterError = el("div", "filter-error");
    const buttons = el("div", "run-buttons");
    const all = button("All", "Check every run that matches the filter", () =>
      this.store.setChecked(this.filtered, true, this.names),
    );
    const none = button("None", "Uncheck every run that matches the filter", () =>
      this.store.setChecked(this.filtered, false, this.names),
    );
    buttons.append(all, none);
    this.list = el("div", "run-list");
    this.list.setAttribute("role", "list");
    this.spacer = el("div", "run-spacer");
    this.list.append(this.spacer);
    this.list.addEventListener("scroll", () => this.schedule());
    this.list.addEventListener("change", (event) => {
      const box = event.target as HTMLInputElement;
      const run = box.closest("label")?.dataset.run;
      if (run !== undefined) this.store.setChecked([run], box.checked, this.names);
    });
    this.list.addEventListener("click", (event) => {
      const swatch = (event.target as HTMLElement).closest(".run-color");
      const run = swatch?.closest("label")?.dataset.run;
      if (!swatch || run === undefined) return;
      event.preventDefault(); // the swatch is in the row's label: not a click on the checkbox
      this.pickColor(run, swatch as HTMLElement);
    });
    this.picker = document.createElement("input");
    this.picker.type = "color";
    this.picker.className = "run-color-picker";
    this.picker.id = "run-color-picker";
    this.picker.tabIndex = -1;
    this.picker.setAttribute("aria-label", "Colour of the run");
    this.picker.addEventListener("change", () => {
      if (this.pickingRun !== null) setRunColor(this.pickingRun, this.picker.value);
    });
    new ResizeObserver(() => this.schedule()).observe(this.list);
    this.root.append(heading, this.filterInput, this.filterError, buttons, this.list, this.picker);
    store.subscribe((changed) => {
      if (changed.has("runFilter")) {
        if (this.filterInput.value !== store.state.runFilter) {
          this.filterInput.value = store.state.runFilter;
        }
        this.refilter();
        this.onChange();
      } else if (changed.has("selectionNames") || changed.has("selectionMode")) {
        this.schedule();
        this.updateCount();
        this.onChange();
      }
    });
  }

  setRuns(runs: RunInfo[]): void {
    this.runs = runs;
    this.names = runs.map((r) => r.name);
    assignColors(this.names);
    this.refilter();
  }

  /** Opens the colour picker for a run, beside its swatch. */
  private pickColor(run: string, swatch: HTMLElement): void {
    this.pickingRun = run;
    this.picker.value = runColor(run);
    this.picker.setAttribute("aria-label", `Colour of ${run}`);
    const box = swatch.getBoundingClientRect();
    const root = this.root.getBoundingClientRect();
    this.picker.style.left = `${box.left - root.left}px`;
    this.picker.style.top = `${box.bottom - root.top}px`;
    try {
      this.picker.showPicker();
    } catch {
      this.picker.click(); // a browser without showPicker (or refusing it)
    }
  }

  /** Draws the rows again (e.g. a run's colour changed). */
  redraw(): void {
    this.schedule();
  }

  /** The runs drawn in the charts: checked and matching the filter. */
  shown(): Set<string> {
    return new Set(this.filtered.filter((r) => this.store.checked(r)));
  }

  private refilter(): void {
    const { regex, error } = compileFilter(this.store.state.runFilter);
    this.filterError.textContent = error ? `Not a valid regex: ${error}` : "";
    this.filterInput.classList.toggle("invalid", error !== null);
    this.filtered = regex ? this.names.filter((n) => regex.test(n)) : this.names.slice();
    this.spacer.style.height = `${this.filtered.length * ROW}px`;
    this.updateCount();
    this.schedule();
  }

  private updateCount(): void {
    const shown = this.filtered.filter((r) => this.store.checked(r)).length;
    this.count.textContent = `${shown} of ${this.names.length} shown`;
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const height = this.list.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.list.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(this.filtered.length, Math.ceil((this.list.scrollTop + height) / ROW) + OVERSCAN);
    const wanted = last - first;
    while (this.rows.length < wanted) {
      const row = document.createElement("label");
      row.className = "run-row";
      row.setAttribute("role", "listitem");
      const box = document.createElement("input");
      box.type = "checkbox";
      // A button inside the label: clicking it opens the colour picker, not the checkbox.
      const swatch = document.createElement("button");
      swatch.type = "button";
      swatch.className = "swatch run-color";
      const name = el("span", "run-name");
      const tail = el("span", "run-tail");
      tail.setAttribute("aria-hidden", "true");
      const warn = el("span", "run-warning");
      row.append(box, swatch, name, tail, warn);
      this.spacer.append(row);
      this.rows.push(row);
    }
    const problems = new Map(this.runs.map((r) => [r.name, r]));
    const tails: HTMLElement[] = [];
    this.rows.forEach((row, i) => {
      const index = first + i;
      if (index >= last) {
        row.hidden = true;
        return;
      }
      const run = this.filtered[index];
      row.hidden = false;
      row.style.transform = `translateY(${index * ROW}px)`;
      row.dataset.run = run;
      const [box, swatch, name, tail, warn] = row.children as unknown as HTMLElement[];
      (box as HTMLInputElement).checked = this.store.checked(run);
      box.setAttribute("aria-label", run); // the row's name, without the swatch's
      swatch.style.background = runColor(run);
      swatch.title = `${run}: pick its colour`;
      swatch.setAttribute("aria-label", `Colour of ${run}`);
      name.textContent = run; // text, never HTML
      name.title = run;
      tail.title = run;
      tail.textContent = run.slice(-Math.min(TAIL, Math.floor(run.length / 2)));
      tail.hidden = true;
      tails.push(tail);
      const info = problems.get(run);
      const issues = info ? [...info.problems] : [];
      if (info && info.corrupt_records > 0) issues.unshift(`${info.corrupt_records} corrupt record(s) skipped`);
      warn.textContent = issues.length ? "⚠" : "";
      warn.title = issues.join("\n");
    });
    // Measured all at once, then shown: one layout, not one per row.
    const clipped = tails.map((tail) => {
      const name = tail.previousElementSibling as HTMLElement;
      return name.scrollWidth > name.clientWidth;
    });
    tails.forEach((tail, i) => (tail.hidden = !clipped[i]));
  }
}

export function el(tag: string, className: string): HTMLElement {
  const found = document.createElement(tag);
  if (className) found.className = className;
  return found;
}

/** A card's head: its tag as the title (text, with the whole tag on hover). */
export function cardHead(tag: string): HTMLElement {
  const head = el("div", "card-head");
  const title = el("span", "card-title");
  title.textContent = tag;
  title.title = tag;
  head.append(title);
  return head;
}

export function button(label: string, title: string, onClick: () => void): HTMLButtonElement {
  const found = document.createElement("button");
  found.type = "button";
  found.textContent = label;
  found.title = title;
  found.addEventListener("click", onClick);
  return found;
}
