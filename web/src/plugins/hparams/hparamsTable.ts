// The hparams view's table: a row per session, a column per shown
// hyperparameter and metric, sorted by a click on a header and filtered per
// column. Only the rows in the scrolled window exist in the DOM (between two
// spacers, with fixed column widths), so sorting or filtering a thousand
// sessions costs a sort and a few dozen rows, not a layout of a thousand.
// The run column is pinned to the left and the metrics (the last columns) to
// the right, so that with many hyperparameters the metrics stay in view while
// the hyperparameters scroll under them. A column is as wide as its values; a
// long name is cut with an ellipsis, whole in the header's tooltip.

import { runColor } from "../../colors";
import { type Column, type Model, parseFilter, sortBy } from "./hparamsData";
import { el } from "../../runs";

export interface TableEvents {
  /** The pointer is over a session's row (null: over none). */
  hover(session: number | null): void;
  /** A session's row was clicked (or Enter pressed on it). */
  open(session: number): void;
  /** Makes a change of the rows shown (a sort, a filter): the view times it and redraws the plots after. */
  update(change: () => void): void;
}

const ROW = 26; // px, one row (the CSS gives rows this height)
const OVERSCAN = 10;
const CHAR = 7.2; // px, about one character of the table's font
/** Of a column's name, this many characters set its width at most (the rest is cut, whole on hover). */
const NAME_CHARS = 12;
/** The run column and the pinned metrics take at most this share of the table's width. */
const PINNED_SHARE = 0.65;

export class SessionTable {
  readonly root: HTMLElement;
  private table: HTMLTableElement;
  private colgroup: HTMLTableColElement;
  private head: HTMLTableSectionElement;
  private body: HTMLTableSectionElement;
  private above: HTMLTableCellElement;
  private below: HTMLTableCellElement;
  private model: Model | null = null;
  private columns: Column[] = [];
  /** Rows built so far, by session (built when first scrolled to). */
  private rows = new Map<number, HTMLTableRowElement>();
  private sortId: string | null = null;
  private descending = false;
  /** Every session in sort order (before the filters). */
  private order: number[] = [];
  /** The filters typed, by column id: kept when columns are hidden or the data comes again. */
  private filterText = new Map<string, string>();
  private allowed: Set<string> = new Set();
  private hovered: number | null = null;
  private frame = 0;
  private widths: number[] = [];
  /** Each column's offset from the right edge when it is pinned there (null: not pinned). */
  private pinnedRight: (number | null)[] = [];
  /** The sessions shown, in order. */
  shown: number[] = [];

  constructor(private events: TableEvents) {
    this.root = el("div", "hparams-table-wrap");
    this.table = document.createElement("table");
    this.table.className = "hparams-table";
    this.colgroup = document.createElement("colgroup");
    this.head = this.table.createTHead();
    this.body = this.table.createTBody();
    this.above = spacer();
    this.below = spacer();
    this.table.append(this.colgroup, this.head, this.body);
    this.root.append(this.table);
    this.root.addEventListener("scroll", () => this.schedule());
    new ResizeObserver(() => {
      // The metrics are pinned only where they leave room: a width change may change that.
      if (this.model && this.pinning().join() !== this.pinnedRight.join()) this.setColumns(this.model, this.columns);
      this.schedule();
    }).observe(this.root);
    this.body.addEventListener("click", (event) => {
      const session = this.sessionAt(event.target);
      if (session !== null) this.events.open(session);
    });
    this.body.addEventListener("keydown", (event) => {
      const session = this.sessionAt(event.target);
      if (event.key === "Enter" && session !== null) this.events.open(session);
    });
    this.body.addEventListener("mouseover", (event) => {
      const session = this.sessionAt(event.target);
      if (session !== this.hovered) this.events.hover(session);
    });
    this.body.addEventListener("mouseleave", () => this.events.hover(null));
  }

  /** New data, or other columns shown: the head is built again, and the rows as they are needed. */
  setColumns(model: Model, columns: Column[]): void {
    this.model = model;
    this.columns = columns;
    if (this.sortId !== null && !columns.some((c) => c.id === this.sortId)) this.sortId = null;
    this.rows.clear();
    this.buildHead();
    this.resort();
    this.refresh();
  }

  /** The runs checked in the selector: sessions of the others are not shown. */
  setAllowed(runs: Set<string>): void {
    this.allowed = runs;
  }

  /** Applies the run selection and the filters, then shows the rows in the window. */
  refresh(): void {
    const model = this.model;
    if (!model) return;
    const tests: [Column, (column: Column, i: number) => boolean][] = [];
    for (const column of this.columns) {
      const { test } = parseFilter(this.filterText.get(column.id) ?? "", column.numeric);
      if (test) tests.push([column, test]);
    }
    this.shown = this.order.filter(
      (i) => this.allowed.has(model.runs[i]) && tests.every(([column, test]) => test(column, i)),
    );
    this.renderWindow();
  }

  /** Marks a session's row as the one pointed at (in the table or a plot). */
  highlight(session: number | null): void {
    if (this.hovered !== null) this.rows.get(this.hovered)?.classList.remove("hparams-hover");
    this.hovered = session;
    if (session !== null) this.rows.get(session)?.classList.add("hparams-hover");
  }

  clearFilters(): void {
    this.filterText.clear();
    for (const input of this.head.querySelectorAll("input")) {
      input.value = "";
      input.classList.remove("invalid");
      input.title = "";
    }
    this.refresh();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.renderWindow();
    });
  }

  /** The rows in (and near) the scrolled window, between spacers as tall as the rows left out. */
  private renderWindow(): void {
    const total = this.shown.length;
    const height = this.root.clientHeight || 600;
    const top = Math.min(this.root.scrollTop, Math.max(0, total * ROW - height));
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(total, Math.ceil((top + height) / ROW) + OVERSCAN);
    const rows = this.shown.slice(first, last).map((session) => this.row(session));
    this.above.style.height = `${first * ROW}px`;
    this.below.style.height = `${(total - last) * ROW}px`;
    this.above.parentElement!.hidden = first === 0;
    this.below.parentElement!.hidden = last === total;
    this.body.replaceChildren(this.above.parentElement!, ...rows, this.below.parentElement!);
  }

  private row(session: number): HTMLTableRowElement {
    let found = this.rows.get(session);
    if (!found) {
      found = this.buildRow(this.model!.runs[session], session);
      this.rows.set(session, found);
    }
    found.classList.toggle("hparams-hover", session === this.hovered);
    return found;
  }

  private resort(): void {
    const all = this.model!.runs.map((_, i) => i);
    const column = this.columns.find((c) => c.id === this.sortId);
    this.order = column ? sortBy(column, this.descending, all) : all;
  }

  private sessionAt(target: EventTarget | null): number | null {
    const row = (target as HTMLElement | null)?.closest?.("tr");
    const index = row?.dataset.session;
    return index === undefined ? null : Number(index);
  }

  private buildHead(): void {
    const names = document.createElement("tr");
    const filters = document.createElement("tr");
    filters.className = "hparams-filters";
    this.widths = this.columns.map((column) => widthOf(column));
    this.pinnedRight = this.pinning();
    this.columns.forEach((column, k) => {
      const th = document.createElement("th");
      th.dataset.column = column.id;
      th.className = `hparams-${column.kind}` + (column.numeric ? " num" : "");
      th.title = column.name; // the whole name, however narrow the column
      const sort = document.createElement("button");
      sort.type = "button";
      sort.className = "hparams-sort";
      sort.title = `${column.name}: sort by it (click again to reverse)`;
      const name = el("span", "hparams-col-name");
      name.textContent = column.name; // text, never HTML
      const arrow = el("span", "hparams-arrow");
      sort.append(name, arrow);
      sort.addEventListener("click", () => this.sortOn(column.id));
      th.append(sort);
      const filter = this.filterCell(column);
      this.pin(th, k);
      this.pin(filter, k);
      names.append(th);
      filters.append(filter);
    });
    this.colgroup.replaceChildren(
      ...this.widths.map((width) => {
        const col = document.createElement("col");
        col.style.width = `${width}px`;
        return col;
      }),
    );
    this.table.style.width = `${this.widths.reduce((a, b) => a + b, 0)}px`;
    this.above.colSpan = this.below.colSpan = this.columns.length;
    this.head.replaceChildren(names, filters);
    this.showSort();
  }

  /**
   * Which columns are pinned to the right, and their offsets: when the table
   * is wider than its box, the metrics (the last columns), as many as leave
   * the hyperparameters room.
   */
  private pinning(): (number | null)[] {
    const widths = this.columns.map((column) => widthOf(column));
    const pinned: (number | null)[] = widths.map(() => null);
    const room = this.root.clientWidth || Infinity; // not laid out yet: as if wide
    if (widths.reduce((a, b) => a + b, 0) <= room) return pinned;
    let used = this.columns[0]?.kind === "run" ? widths[0] : 0;
    let offset = 0;
    for (let k = this.columns.length - 1; k > 0 && this.columns[k].kind === "metric"; k--) {
      if (used + widths[k] > room * PINNED_SHARE) break;
      pinned[k] = offset;
      offset += widths[k];
      used += widths[k];
    }
    return pinned;
  }

  /** Pins a cell of column ``k``: the run column to the left, a pinned metric to the right. */
  private pin(cell: HTMLTableCellElement, k: number): void {
    if (this.columns[k].kind === "run") {
      cell.classList.add("hparams-pin-left");
      return;
    }
    const right = this.pinnedRight[k];
    if (right === null || right === undefined) return;
    cell.classList.add("hparams-pin-right");
    if (this.pinnedRight[k - 1] === null) cell.classList.add("hparams-pin-first");
    cell.style.right = `${right}px`;
  }

  private filterCell(column: Column): HTMLTableCellElement {
    const th = document.createElement("th");
    const input = document.createElement("input");
    input.type = "search";
    input.className = "filter hparams-filter";
    input.dataset.column = column.id;
    input.placeholder = column.numeric ? "0.1..0.5, >0.3" : "regex";
    input.setAttribute("aria-label", `Filter ${column.name}`);
    input.value = this.filterText.get(column.id) ?? "";
    const check = (): void => {
      const { error } = parseFilter(input.value, column.numeric);
      input.classList.toggle("invalid", error !== null);
      input.title = error ?? "";
    };
    check();
    input.addEventListener("input", () => {
      this.filterText.set(column.id, input.value);
      check();
      this.events.update(() => this.refresh());
    });
    th.append(input);
    return th;
  }

  private sortOn(id: string): void {
    if (this.sortId === id) this.descending = !this.descending;
    else {
      this.sortId = id;
      this.descending = false;
    }
    this.showSort();
    this.events.update(() => {
      this.resort();
      this.refresh();
    });
  }

  private showSort(): void {
    for (const th of this.head.rows[0]?.cells ?? []) {
      const on = th.dataset.column === this.sortId;
      th.querySelector(".hparams-arrow")!.textContent = on ? (this.descending ? " ▼" : " ▲") : "";
      if (on) th.setAttribute("aria-sort", this.descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    }
  }

  private buildRow(run: string, session: number): HTMLTableRowElement {
    const row = document.createElement("tr");
    row.dataset.session = String(session);
    row.dataset.run = run;
    row.tabIndex = 0;
    row.title = `Open ${run} in the scalars tab`;
    this.columns.forEach((column, k) => {
      const cell = row.insertCell();
      this.pin(cell, k);
      if (column.kind === "run") {
        const swatch = el("span", "swatch");
        swatch.style.background = runColor(run);
        const name = el("span", "hparams-run-name");
        name.textContent = run; // text, never HTML
        cell.append(swatch, name);
        cell.classList.add("hparams-run");
      } else {
        cell.textContent = column.text[session]; // text, never HTML
        if (column.numeric) cell.classList.add("num");
      }
    });
    return row;
  }
}

function spacer(): HTMLTableCellElement {
  const row = document.createElement("tr");
  row.className = "hparams-spacer";
  row.setAttribute("aria-hidden", "true");
  return row.insertCell();
}

/**
 * A column's width from its longest cell and the start of its name (fixed,
 * so that scrolling never moves the columns): a long name is cut, not the
 * values.
 */
function widthOf(column: Column): number {
  let longest = Math.min(column.name.length, NAME_CHARS) + 2; // the sort arrow
  for (const text of column.text) if (text.length > longest) longest = text.length;
  const [low, high] = column.kind === "run" ? [120, 320] : column.numeric ? [60, 180] : [60, 240];
  return Math.round(Math.min(high, Math.max(low, longest * CHAR + 20 + (column.kind === "run" ? 18 : 0))));
}
