// The query box: read-only SQL over the index's views (POST
// api/plugins/sql/query), a table of the result with CSV and JSON downloads,
// and a chart of it when it has a step and a value column (one line per run
// when it has a run column too). The server refuses anything but a SELECT
// over the views; its one-line reason is shown as it comes.

import "./sql.css";
import uPlot from "uplot";
import { errorText, request } from "../../api";
import type { View } from "../../cards";
import { runColor } from "../../colors";
import { saveFile } from "../../chartExport";
import { readStorage, writeStorage } from "../../remembered";
import { button, el } from "../../runs";

interface Column {
  name: string;
  type: string;
}

interface Answer {
  columns: Column[];
  rows: unknown[][];
  truncated: boolean;
  limit: number;
  seconds: number;
  note: string | null;
}

const SAVED = "stepscope.sqlQuery";
const EXAMPLES: [string, string][] = [
  ["Best value of each run", "SELECT run, tag, min(value) AS best, max(step) AS last_step\nFROM scalars\nWHERE tag LIKE '%loss%'\nGROUP BY run, tag\nORDER BY best"],
  ["One tag as a chart", "SELECT run, step, value\nFROM scalars\nWHERE tag = (SELECT min(tag) FROM scalars)\nORDER BY run, step"],
  ["Runs and their problems", "SELECT run, events, corrupt_records, problems FROM runs ORDER BY run"],
  ["Tags per plugin", "SELECT plugin, count(DISTINCT tag) AS tags, count(DISTINCT run) AS runs\nFROM tags GROUP BY plugin ORDER BY tags DESC"],
];
const CHART_HEIGHT = 260;

export function sqlView(): View {
  return new SqlView();
}

class SqlView implements View {
  readonly root = el("div", "sql-view");
  private readonly editor = document.createElement("textarea");
  private readonly limit = document.createElement("select");
  private readonly status = el("p", "sql-status");
  private readonly chartBox = el("div", "sql-chart");
  private readonly table = el("div", "sql-table");
  private answer: Answer | null = null;
  private plot: uPlot | null = null;
  private running: AbortController | null = null;

  constructor() {
    this.editor.className = "sql-editor";
    this.editor.spellcheck = false;
    this.editor.setAttribute("aria-label", "SQL query");
    this.editor.value = readStorage(SAVED) ?? EXAMPLES[0][1];
    this.editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        void this.run();
      }
    });
    for (const count of [100, 1000, 10000]) {
      const option = document.createElement("option");
      option.value = String(count);
      option.textContent = `${count.toLocaleString("en-US")} rows`;
      this.limit.append(option);
    }
    this.limit.value = "1000";
    this.limit.setAttribute("aria-label", "Row limit");
    const examples = document.createElement("select");
    examples.setAttribute("aria-label", "Example queries");
    examples.append(new Option("Examples…", ""), ...EXAMPLES.map(([label], i) => new Option(label, String(i))));
    examples.addEventListener("change", () => {
      if (examples.value === "") return;
      this.editor.value = EXAMPLES[Number(examples.value)][1];
      examples.value = "";
      void this.run();
    });
    const tools = el("div", "toolbar sql-tools");
    const hint = el("span", "sql-hint");
    hint.textContent = "Read-only SQL over runs, tags, scalars, tensors, blobs, checkpoints and problems (Ctrl+Enter runs it)";
    tools.append(
      button("Run", "Run the query (Ctrl+Enter)", () => void this.run()),
      this.limit,
      examples,
      button("CSV", "Download the result as CSV", () => void this.download("csv")),
      button("JSON", "Download the result as JSON", () => this.download("json")),
      hint,
    );
    this.chartBox.hidden = true;
    this.root.append(this.editor, tools, this.status, this.chartBox, this.table);
    new ResizeObserver(() => this.plot?.setSize({ width: this.chartWidth(), height: CHART_HEIGHT })).observe(this.root);
    void this.run();
  }

  setTags(): void {}
  updateRuns(): void {}
  invalidate(): void {}

  private body(format: "json" | "csv"): string {
    return JSON.stringify({ sql: this.editor.value, limit: Number(this.limit.value), format });
  }

  private async post(format: "json" | "csv", signal?: AbortSignal): Promise<Response> {
    return request("api/plugins/sql/query", {
      method: "POST",
      signal,
      headers: { "Content-Type": "application/json" },
      body: this.body(format),
    });
  }

  private async run(): Promise<void> {
    this.running?.abort();
    const controller = new AbortController();
    this.running = controller;
    writeStorage(SAVED, this.editor.value);
    this.root.dataset.state = "running";
    this.status.textContent = "Running…";
    this.status.classList.remove("error");
    let answer: Answer;
    try {
      answer = (await (await this.post("json", controller.signal)).json()) as Answer;
    } catch (error) {
      if ((error as Error).name === "AbortError") return;
      this.answer = null;
      this.status.textContent = errorText(error);
      this.status.classList.add("error");
      this.root.dataset.state = "error";
      return;
    }
    if (controller.signal.aborted) return;
    this.answer = answer;
    const rows = `${answer.rows.length.toLocaleString("en-US")} row${answer.rows.length === 1 ? "" : "s"}`;
    this.status.textContent = `${rows} in ${(answer.seconds * 1000).toFixed(0)} ms.${answer.note ? " " + answer.note : ""}`;
    this.showTable(answer);
    this.showChart(answer);
    this.root.dataset.state = "done";
    this.root.dataset.rows = String(answer.rows.length);
  }

  private showTable(answer: Answer): void {
    const table = document.createElement("table");
    const head = table.createTHead().insertRow();
    for (const column of answer.columns) {
      const cell = document.createElement("th");
      cell.textContent = column.name;
      cell.title = column.type;
      head.append(cell);
    }
    const body = table.createTBody();
    for (const row of answer.rows) {
      const line = body.insertRow();
      for (const value of row) line.insertCell().textContent = cellText(value); // text, never HTML
    }
    this.table.replaceChildren(table);
  }

  /** A line chart when the result has numeric ``step`` and ``value`` columns, one line per ``run``. */
  private showChart(answer: Answer): void {
    this.plot?.destroy();
    this.plot = null;
    const names = answer.columns.map((c) => c.name.toLowerCase());
    const step = names.indexOf("step");
    const value = names.indexOf("value");
    const run = names.indexOf("run");
    this.chartBox.hidden = step < 0 || value < 0;
    if (this.chartBox.hidden) return;
    const lines = new Map<string, [number[], number[]]>();
    for (const row of answer.rows) {
      const x = Number(row[step]);
      const y = Number(row[value]);
      if (!Number.isFinite(x)) continue;
      const key = run >= 0 ? String(row[run]) : "value";
      const line = lines.get(key) ?? [[], []];
      line[0].push(x);
      line[1].push(y);
      lines.set(key, line);
    }
    const data: uPlot.AlignedData = [
      null as unknown as number[],
      ...[...lines.values()].map(([xs, ys]) => [Float64Array.from(xs), Float64Array.from(ys)] as unknown as number[]),
    ];
    const series: uPlot.Series[] = [
      {},
      ...[...lines.keys()].map((name) => ({ label: name, stroke: runColor(name), width: 1.5, points: { show: false } })),
    ];
    this.plot = new uPlot(
      {
        mode: 2,
        width: this.chartWidth(),
        height: CHART_HEIGHT,
        legend: { show: lines.size <= 20 },
        scales: { x: { time: false } },
        axes: [{ label: "step" }, { label: "value" }],
        series,
      },
      data as uPlot.AlignedData,
      this.chartBox,
    );
    this.chartBox.dataset.lines = String(lines.size);
  }

  private chartWidth(): number {
    return Math.max(300, this.chartBox.clientWidth || this.root.clientWidth - 20);
  }

  private async download(format: "json" | "csv"): Promise<void> {
    let blob: Blob;
    if (format === "json") {
      if (!this.answer) return;
      blob = new Blob([JSON.stringify(this.answer, null, 1)], { type: "application/json" });
    } else {
      try {
        blob = await (await this.post("csv")).blob();
      } catch (error) {
        this.status.textContent = errorText(error);
        this.status.classList.add("error");
        return;
      }
    }
    saveFile(blob, `query.${format}`);
  }
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
