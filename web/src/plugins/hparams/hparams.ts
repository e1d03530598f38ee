// The hparams view: the sessions of /api/plugins/hparams/sessions (a run with
// hyperparameters and the final value of its scalars) as a sortable,
// filterable table, in parallel coordinates and in a scatter-plot matrix.
// Clicking a session opens the scalars tab with only its run.

import "./hparams.css";
import { errorText, getJson, type TagsByRun } from "../../api";
import type { View } from "../../cards";
import { runColor } from "../../colors";
import { buildModel, type Column, type Model, rampColor, scaleOf, type SessionInfo } from "./hparamsData";
import { ParallelCoordinates, type PlotInput, ScatterMatrix } from "./hparamsPlots";
import { SessionTable } from "./hparamsTable";
import { button, el } from "../../runs";
import type { Store } from "../../state";

/** The tag an ``add_hparams`` sub-run holds: its scalars are the ``metric_dict``. */
const EXPERIMENT_TAG = "_hparams_/experiment";
const MISSING_COLOR = "#b8bec7";

class HParamsView implements View {
  readonly root: HTMLElement;
  private empty: HTMLElement;
  private error: HTMLElement;
  private body: HTMLElement;
  private count: HTMLElement;
  private columnList: HTMLElement;
  private colorSelect: HTMLSelectElement;
  private table: SessionTable;
  private parallel: ParallelCoordinates;
  private matrix: ScatterMatrix;
  private model: Model | null = null;
  private experimentRuns = new Set<string>();
  /** Columns the person showed or hid; the others follow the defaults. */
  private chosen = new Map<string, boolean>();
  /** The metric column the sessions are coloured by ("" for their runs' colours). */
  private colorBy = "";
  private fetched = "";
  private loading = false;
  private again = false;
  private frame = 0;
  private plotsDirty = false;
  private plotWidth = 0;

  constructor(
    private store: Store,
    private shownRuns: () => Set<string>,
  ) {
    this.root = el("div", "hparams");
    this.root.dataset.state = "loading";
    this.root.dataset.rows = "0";
    this.empty = el("div", "empty hparams-empty");
    this.empty.hidden = true;
    this.error = el("p", "empty error");
    this.error.hidden = true;
    const events = {
      hover: (session: number | null) => this.highlight(session),
      open: (session: number) => this.open(session),
    };
    this.table = new SessionTable({
      ...events,
      update: (change) => {
        this.measure(change);
        this.shownChanged();
      },
    });
    this.parallel = new ParallelCoordinates(events);
    this.matrix = new ScatterMatrix(events);
    this.count = el("span", "hparams-count");
    this.columnList = el("div", "hparams-column-list");
    this.colorSelect = document.createElement("select");
    this.body = el("div", "hparams-body");
    this.body.append(
      this.toolbar(),
      this.table.root,
      heading("Parallel coordinates", "One axis per column shown, one line per session; click a line to open its run."),
      this.parallel.root,
      heading("Scatter plots", "Each metric against each hyperparameter; click a point to open its run."),
      this.matrix.root,
    );
    this.body.hidden = true;
    this.root.append(this.error, this.empty, this.body);
    // The plots need a width: drawn when the view is shown (if they changed meanwhile) or resized.
    new ResizeObserver(() => {
      if (this.plotsDirty || this.body.clientWidth !== this.plotWidth) this.schedulePlots();
    }).observe(this.root);
  }

  setTags(tags: TagsByRun): void {
    this.experimentRuns = new Set(Object.keys(tags).filter((run) => EXPERIMENT_TAG in tags[run]));
    if (!this.fetched && !this.loading) void this.load();
  }

  updateRuns(): void {
    if (!this.model) return;
    this.measure(() => {
      this.table.setAllowed(this.shownRuns());
      this.table.refresh();
    });
    this.shownChanged();
  }

  invalidate(): void {
    void this.load();
  }

  private toolbar(): HTMLElement {
    const bar = el("div", "toolbar hparams-toolbar");
    const columns = document.createElement("details");
    columns.className = "hparams-columns";
    const summary = document.createElement("summary");
    summary.textContent = "Columns";
    columns.append(summary, this.columnList);
    const colorLabel = el("label", "setting hparams-color");
    const colorText = el("span", "");
    colorText.textContent = "Colour by";
    this.colorSelect.setAttribute("aria-label", "Colour the sessions by");
    this.colorSelect.addEventListener("change", () => {
      this.colorBy = this.colorSelect.value;
      this.schedulePlots();
    });
    colorLabel.append(colorText, this.colorSelect);
    const clearFilters = button("Clear filters", "Empty every column filter", () => {
      this.measure(() => this.table.clearFilters());
      this.shownChanged();
    });
    bar.append(this.count, columns, colorLabel, clearFilters);
    return bar;
  }

  private async load(): Promise<void> {
    if (this.loading) {
      this.again = true; // the index changed while fetching: fetch once more after
      return;
    }
    this.loading = true;
    try {
      const answer = await getJson<{ sessions: SessionInfo[] }>("api/plugins/hparams/sessions");
      const text = JSON.stringify(answer.sessions);
      if (text !== this.fetched) {
        this.fetched = text;
        this.show(answer.sessions);
      }
      this.error.hidden = true;
    } catch (error) {
      this.error.textContent = errorText(error);
      this.error.hidden = false;
      if (this.root.dataset.state === "loading") this.root.dataset.state = "error";
    } finally {
      this.loading = false;
    }
    if (this.again) {
      this.again = false;
      void this.load();
    }
  }

  private show(sessions: SessionInfo[]): void {
    const empty = sessions.length === 0;
    this.empty.hidden = !empty;
    this.body.hidden = empty;
    if (empty) {
      this.model = null;
      this.showEmpty();
      this.root.dataset.state = "empty";
      this.root.dataset.rows = "0";
      return;
    }
    this.model = buildModel(sessions, this.experimentRuns);
    this.buildColumnList();
    this.buildColorSelect();
    this.measure(() => {
      this.table.setAllowed(this.shownRuns());
      this.table.setColumns(this.model!, this.shownColumns());
    });
    this.root.dataset.sessions = String(sessions.length);
    this.root.dataset.state = "ready";
    this.shownChanged();
  }

  private showEmpty(): void {
    const title = el("p", "");
    title.textContent = "No hyperparameters in this logdir.";
    const hint = el("p", "hparams-hint");
    hint.textContent =
      "Log a session's hyperparameters and final metrics with " +
      'writer.add_hparams({"lr": 0.1, "batch_size": 32}, {"hparam/accuracy": 0.9}) ' +
      "(torch, tensorboardX or stepscope's SummaryWriter), with hp.hparams(...) in TensorFlow, " +
      "or let Lightning's TensorBoardLogger write its hparams.yaml.";
    this.empty.replaceChildren(title, hint);
  }

  private isShown(column: Column): boolean {
    const choice = this.chosen.get(column.id);
    if (choice !== undefined) return choice;
    return column.kind !== "metric" || this.model!.defaultMetrics.has(column.id);
  }

  private shownColumns(): Column[] {
    return this.model!.columns.filter((c) => c.kind === "run" || this.isShown(c));
  }

  private buildColumnList(): void {
    const groups: [string, Column[]][] = [
      ["Hyperparameters", this.model!.columns.filter((c) => c.kind === "hparam")],
      ["Metrics", this.model!.columns.filter((c) => c.kind === "metric")],
    ];
    const parts: HTMLElement[] = [];
    for (const [title, columns] of groups) {
      if (columns.length === 0) continue;
      const head = el("div", "hparams-column-group");
      head.textContent = title;
      parts.push(head);
      for (const column of columns) {
        const label = el("label", "hparams-column-choice");
        const box = document.createElement("input");
        box.type = "checkbox";
        box.checked = this.isShown(column);
        box.dataset.column = column.id;
        box.addEventListener("change", () => {
          this.chosen.set(column.id, box.checked);
          this.columnsChanged();
        });
        const name = el("span", "");
        name.textContent = column.name; // text, never HTML
        label.title = column.name;
        label.append(box, name);
        parts.push(label);
      }
    }
    this.columnList.replaceChildren(...parts);
  }

  private buildColorSelect(): void {
    const metrics = this.model!.columns.filter((c) => c.kind === "metric" && c.numeric);
    if (!metrics.some((c) => c.id === this.colorBy)) this.colorBy = "";
    const option = (value: string, text: string): HTMLOptionElement => {
      const found = document.createElement("option");
      found.value = value;
      found.textContent = text; // text, never HTML
      return found;
    };
    this.colorSelect.replaceChildren(option("", "run"), ...metrics.map((c) => option(c.id, c.name)));
    this.colorSelect.value = this.colorBy;
  }

  private columnsChanged(): void {
    if (!this.model) return;
    this.measure(() => this.table.setColumns(this.model!, this.shownColumns()));
    this.shownChanged();
  }

  /** Times a change of the table up to its layout, for the benchmark (``data-last-ms``, ``data-updates``). */
  private measure(change: () => void): void {
    const start = performance.now();
    change();
    void this.table.root.offsetHeight; // the layout the change costs, inside the timing
    this.root.dataset.lastMs = (performance.now() - start).toFixed(1);
    this.root.dataset.updates = String(Number(this.root.dataset.updates ?? 0) + 1);
    this.root.dataset.rows = String(this.table.shown.length);
  }

  private shownChanged(): void {
    const total = this.model?.runs.length ?? 0;
    const shown = this.table.shown.length;
    this.count.textContent = `${shown} of ${total} session${total === 1 ? "" : "s"}`;
    this.schedulePlots();
  }

  private schedulePlots(): void {
    this.plotsDirty = true;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawPlots();
    });
  }

  private drawPlots(): void {
    const width = this.parallel.root.clientWidth;
    if (!this.model || width === 0) return; // not on screen: drawn when shown (ResizeObserver)
    this.plotsDirty = false;
    this.plotWidth = this.body.clientWidth;
    const start = performance.now();
    const input: PlotInput = {
      model: this.model,
      columns: this.shownColumns().filter((c) => c.kind !== "run"),
      sessions: this.table.shown,
      color: this.colorer(),
    };
    this.parallel.draw(input, width);
    this.matrix.draw(input, this.matrix.root.clientWidth);
    this.root.dataset.plotMs = (performance.now() - start).toFixed(1);
  }

  /** A session's colour: its run's, or its place on the chosen metric's range. */
  private colorer(): (session: number) => string {
    const column = this.model!.columns.find((c) => c.kind === "metric" && c.id === this.colorBy);
    if (!column) return (session) => runColor(this.model!.runs[session]);
    const scale = scaleOf(column, this.table.shown);
    return (session) => {
      const t = scale.at(session);
      return t === null ? MISSING_COLOR : rampColor(t);
    };
  }

  private highlight(session: number | null): void {
    this.table.highlight(session);
    this.parallel.highlight(session);
    this.matrix.highlight(session);
  }

  /** The scalars tab with only the session's run checked. */
  private open(session: number): void {
    const run = this.model!.runs[session];
    // Store has no way to set several keys at once: three changes, the tab last.
    this.store.set("selectionMode", "show");
    this.store.set("selectionNames", new Set([run]));
    this.store.set("tab", "scalars");
  }
}

function heading(title: string, hint: string): HTMLElement {
  const head = el("div", "hparams-section");
  const name = el("h3", "");
  name.textContent = title;
  const note = el("span", "hparams-note");
  note.textContent = hint;
  head.append(name, note);
  return head;
}

/** The hparams view (the tab "hparams"). */
export function hparamsView(store: Store, shownRuns: () => Set<string>, _plugin: string): View {
  return new HParamsView(store, shownRuns);
}
