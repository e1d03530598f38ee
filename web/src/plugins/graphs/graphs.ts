// The Graphs view: a run's model graph (op graph or Keras's conceptual
// graph) with its scopes as groups that open and close, repeated blocks as
// one "×N" box, a node panel, a search, traces, colours and exports. The
// graph lives in a worker (graph.worker.ts) that fetches it and lays it out;
// this thread only draws the scenes it sends (renderer.ts).

import "./graphs.css";
import { errorText, getJson, type TagsByRun } from "../../api";
import type { View } from "../../cards";
import { button, el } from "../../runs";
import type { Store } from "../../state";
import { GraphClient } from "./graphClient";
import { itemColors, legendOf, StructureColors, type ColorMode } from "./graphColors";
import { GraphSearch } from "./graphSearch";
import { GraphHash, readGraphUrl } from "./hashState";
import { NodePanel } from "./panel";
import type { GraphEntry, GraphSummary, Marks, Scene } from "./protocol";
import { GraphRenderer } from "./renderer";
import { isFrame, isGroup } from "./sceneDraw";
import { downloadScene, exportName } from "./sceneExport";
import { exposeTestHook } from "./testHook";

/** A performance mark of the view's first steps (the benchmark reads them): the first of each name only. */
function mark(name: string): void {
  const full = `graphs:${name}`;
  if (performance.getEntriesByName(full).length === 0) performance.mark(full);
}

/** The tag plugins whose tags are graphs (src/stepscope/plugins/graphs/metadata.py). */
const GRAPH_PLUGINS = new Set(["graphs", "graph_keras_model", "graph_run_metadata_graph", "graph_run_metadata", "graph_tagged_run_metadata"]);
const KIND_NAMES: Record<string, string> = { op: "Op graph", keras: "Conceptual graph (Keras)", run_metadata: "Traced function graph" };

export function graphsView(store: Store, _shownRuns: () => Set<string>, plugin: string): View {
  return new GraphsView(store, plugin);
}

/**
 * The worker, started as the page loads when its URL opens the Graphs tab
 * (a shared link, a reload): elk's code takes a while to compile, and this
 * overlaps it with the page's own start. Otherwise it starts with the view.
 */
let early: GraphClient | null = new URLSearchParams(location.hash.slice(1)).get("tab") === "graphs" ? new GraphClient() : null;

class GraphsView implements View {
  readonly root = el("div", "graphs-view");
  private runSelect = document.createElement("select");
  private graphSelect = document.createElement("select");
  private colorSelect = document.createElement("select");
  private status = el("span", "graph-status");
  private notes = el("div", "graph-notes");
  private legend = el("div", "graph-legend");
  private message = el("p", "graph-message empty");
  private renderer: GraphRenderer;
  private panel: NodePanel;
  private search: GraphSearch;
  private client: GraphClient | null = null;
  private hash: GraphHash;
  private url = readGraphUrl();
  private urlUsed = false;
  private runs: string[] = [];
  private tags: TagsByRun = {};
  private graphs: GraphEntry[] = [];
  private run = "";
  private tag = "";
  summary: GraphSummary | null = null;
  private defaults = new Set<string>();
  private open = new Set<string>();
  scene: Scene | null = null;
  private marks: Marks | null = null;
  colors: string[] = [];
  private structures = new StructureColors();
  private selected: string | null = null;
  private tracing = false;
  private latest = 0;
  private fitNext = true;
  layoutMs = 0;
  /** Counts the graphs chosen: an answer for an earlier one is dropped. */
  private loads = 0;

  constructor(store: Store, tab: string) {
    this.hash = new GraphHash(store, tab);
    this.renderer = new GraphRenderer({
      select: (item) => this.selectItem(item),
      toggle: (item) => void this.toggleItem(item),
      drawn: () => {
        if (!this.scene || this.root.dataset.state === "drawn") return;
        this.root.dataset.state = "drawn";
        mark("drawn");
      },
    });
    this.panel = new NodePanel({
      select: (name) => void this.selectName(name, true),
      toggle: (id) => void this.toggleId(id),
      trace: (on) => this.setTracing(on),
    });
    this.search = new GraphSearch({
      find: async (pattern, limit) => (this.client && this.summary ? (await this.client.search({ pattern, limit })).answer : null),
      changed: () => this.refreshMarks(),
      show: (hit, also) => {
        for (const other of also) for (const group of other.path) this.open.add(group);
        void this.selectName(hit.name, true);
      },
    });
    this.root.dataset.state = "waiting";
    // The worker (and elk's, inside it) start now, while the graph list is fetched.
    this.client = early ?? new GraphClient();
    early = null;
    mark("view");
    this.root.append(this.toolbar(), this.notes, this.body());
    this.renderer.root.append(this.message, this.legend);
    exposeTestHook(this.root, this, this.renderer);
  }

  // -- the toolbar ---------------------------------------------------------------

  private toolbar(): HTMLElement {
    const bar = el("div", "toolbar graph-toolbar");
    this.runSelect.className = "graph-run";
    this.runSelect.setAttribute("aria-label", "Run");
    this.runSelect.addEventListener("change", () => void this.chooseRun(this.runSelect.value, ""));
    this.graphSelect.className = "graph-tag";
    this.graphSelect.setAttribute("aria-label", "Graph");
    this.graphSelect.addEventListener("change", () => void this.chooseGraph(this.graphSelect.value));
    this.colorSelect.className = "graph-color";
    this.colorSelect.setAttribute("aria-label", "Colour by");
    for (const [value, label] of [["op", "Colour: op type"], ["structure", "Colour: structure"], ["compute", "Colour: compute time"], ["memory", "Colour: memory"]]) {
      this.colorSelect.append(new Option(label, value));
    }
    this.colorSelect.value = ["op", "structure", "compute", "memory"].includes(this.url.color) ? this.url.color : "op";
    this.colorSelect.addEventListener("change", () => {
      this.applyColors();
      this.writeUrl();
    });
    const fit = button("Fit", "Show the whole graph", () => this.renderer.fit(true));
    const reset = button("Reset", "Close every group opened since the graph was shown", () => {
      this.open = new Set(this.defaults);
      this.fitNext = true;
      void this.requestScene(null);
    });
    const svg = button("SVG", "Download what is shown as an SVG file", () => this.download("svg"));
    const png = button("PNG", "Download what is shown as a PNG image", () => this.download("png"));
    svg.className = "graph-export-svg";
    png.className = "graph-export-png";
    bar.append(this.runSelect, this.graphSelect, this.search.root, this.colorSelect, fit, reset, svg, png, this.status);
    return bar;
  }

  private body(): HTMLElement {
    const body = el("div", "graph-body");
    body.append(this.renderer.root, this.panel.root);
    return body;
  }

  // -- runs and graphs -----------------------------------------------------------

  setTags(tags: TagsByRun): void {
    this.tags = tags;
    const runs = Object.keys(tags)
      .filter((run) => Object.values(tags[run]).some((meta) => GRAPH_PLUGINS.has(meta.plugin)))
      .sort();
    if (runs.join("\n") === this.runs.join("\n")) return;
    this.runs = runs;
    this.runSelect.replaceChildren(...runs.map((run) => new Option(run, run)));
    if (runs.length === 0) {
      this.showMessage("No graphs in this logdir yet: writer.add_graph(model, example_input) writes one.", false);
      this.root.dataset.state = "empty";
      return;
    }
    if (!runs.includes(this.run)) void this.chooseRun(runs.includes(this.url.run) ? this.url.run : runs[0], this.url.tag);
    else this.runSelect.value = this.run;
  }

  updateRuns(): void {
    // The Graphs tab has its own run selector: the checked runs do not change it.
  }

  invalidate(): void {
    if (this.run) void this.refreshGraphs();
  }

  private async listGraphs(run: string): Promise<GraphEntry[]> {
    const body = await getJson<{ graphs: GraphEntry[] } | GraphEntry[]>(`api/plugins/graphs/graphs?${new URLSearchParams({ run })}`);
    return Array.isArray(body) ? body : body.graphs;
  }

  private async chooseRun(run: string, tag: string): Promise<void> {
    this.run = run;
    this.runSelect.value = run;
    this.graphs = []; // the last run's, until this one's come
    // The logdir's tags name the op graph already: it is read and drawn first, and the
    // run's list of graphs (node counts, step stats; counting a big graph's nodes takes
    // the server a while) asked for after.
    const early = this.graphTagOf(run, tag);
    if (early) {
      this.graphSelect.replaceChildren(new Option(early, early));
      await this.chooseGraph(early);
      if (this.run !== run) return;
    }
    try {
      this.graphs = await this.listGraphs(run);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (this.run !== run) return;
    mark("list");
    this.fillGraphSelect();
    const op = this.drawable.find((g) => g.kind === "op") ?? this.drawable[0];
    const chosen = this.drawable.find((g) => g.tag === tag) ?? op;
    if (!chosen) {
      this.showMessage(`The run ${run} has no graph that can be drawn.`, false);
      return;
    }
    const withStats = chosen.kind === "op" && this.graphs.some((g) => g.profile);
    if (chosen.tag === early && !withStats) {
      this.graphSelect.value = early;
      return;
    }
    await this.chooseGraph(chosen.tag);
  }

  /** The tag of the run's graph to show first, from the logdir's tags: the one asked for, else the op graph. */
  private graphTagOf(run: string, tag: string): string | null {
    const tags = this.tags[run] ?? {};
    if (tag && Object.hasOwn(tags, tag) && GRAPH_PLUGINS.has(tags[tag].plugin)) return tag;
    return Object.keys(tags).find((t) => tags[t].plugin === "graphs") ?? null;
  }

  /** The graphs that hold nodes (torch's empty run metadata holds none). */
  private get drawable(): GraphEntry[] {
    return this.graphs.filter((g) => g.nodes > 0);
  }

  private fillGraphSelect(): void {
    const drawable = this.drawable;
    // A graph is named by its kind; by its tag too when another of the run has that kind.
    const ofKind = (kind: string): number => drawable.filter((g) => g.kind === kind).length;
    this.graphSelect.replaceChildren(
      ...drawable.map((g) => {
        const kind = KIND_NAMES[g.kind] ?? g.kind;
        const count = `${g.nodes.toLocaleString("en-US")} ${g.kind === "keras" ? "layers" : "nodes"}`;
        return new Option(ofKind(g.kind) > 1 ? `${kind}: ${g.tag} (${count})` : `${kind} (${count})`, g.tag);
      }),
    );
  }

  private async refreshGraphs(): Promise<void> {
    const run = this.run;
    const before = this.graphs.find((g) => g.tag === this.tag);
    try {
      this.graphs = await this.listGraphs(run);
    } catch {
      return; // the next refresh tries again; what is drawn stays
    }
    if (this.run !== run) return;
    this.fillGraphSelect();
    this.graphSelect.value = this.tag;
    const after = this.graphs.find((g) => g.tag === this.tag);
    if (!after) {
      await this.chooseRun(run, "");
      return;
    }
    // A graph written again under the same tag (a new add_graph) is read again.
    const changed = before && (after.nodes !== before.nodes || after.step !== before.step || after.bytes !== before.bytes);
    if (changed) await this.chooseGraph(this.tag);
  }

  private async chooseGraph(tag: string): Promise<void> {
    const load = ++this.loads;
    this.tag = tag;
    this.graphSelect.value = tag;
    this.scene = null;
    this.summary = null;
    this.root.dataset.state = "loading";
    this.showMessage("Reading the graph…", false);
    this.client ??= new GraphClient();
    mark("load");
    const query = new URLSearchParams({ run: this.run, tag });
    // Step stats of the run (a profiled run metadata) colour an op graph by compute time and memory.
    const profile = this.graphs.find((g) => g.profile);
    if (profile && this.graphs.find((g) => g.tag === tag)?.kind === "op") query.set("stats", profile.tag);
    const url = new URL(`api/plugins/graphs/graph?${query}`, location.href).href;
    // The URL's node and groups are of the graph it names (by default, the run's first), once.
    const fromUrl = !this.urlUsed && this.url.run === this.run && (this.url.tag === "" || this.url.tag === tag);
    try {
      const loaded = await this.client.load({ url });
      if (load !== this.loads) return; // another graph was chosen meanwhile
      this.summary = loaded.summary;
    } catch (error) {
      if (load === this.loads) this.fail(error);
      return;
    }
    const summary = this.summary;
    mark("loaded");
    this.structures = new StructureColors();
    this.defaults = new Set(summary.defaultOpen);
    this.open = new Set(summary.defaultOpen);
    this.selected = null;
    if (fromUrl) {
      this.urlUsed = true;
      for (const id of this.url.open) this.open.add(id);
      for (const id of this.url.shut) this.open.delete(id);
      this.selected = this.url.node || null;
    }
    this.showNotes(summary);
    this.enableColors(summary);
    this.search.reset();
    this.fitNext = true;
    await this.requestScene(null);
    if (load !== this.loads) return;
    if (this.selected) await this.selectName(this.selected, true);
    else this.panel.clear();
  }

  // -- the scene -------------------------------------------------------------------

  /** Asks for the scene of the groups opened; ``keep``: an item to hold at its place on the screen. */
  private async requestScene(keep: { id: string; screen: [number, number] } | null): Promise<void> {
    const client = this.client;
    if (!client || !this.summary) return;
    const id = ++this.latest;
    const load = this.loads;
    const slow = window.setTimeout(() => (this.status.textContent = "Laying out…"), 150);
    let answer;
    try {
      answer = await client.scene({ open: [...this.open], search: this.search.pattern, trace: this.tracing ? this.selected : null, selected: this.selected });
    } catch (error) {
      window.clearTimeout(slow);
      this.fail(error);
      return;
    } finally {
      window.clearTimeout(slow);
    }
    if (!answer || id !== this.latest || load !== this.loads || !this.summary) return;
    this.scene = answer.scene;
    this.marks = answer.marks;
    this.layoutMs = answer.layoutMs;
    mark("scene");
    this.colors = itemColors(this.scene, this.mode, this.structures);
    this.message.hidden = true;
    this.renderer.show(this.scene, this.colors, this.marks, this.marks.selectedItem);
    if (this.fitNext) {
      this.renderer.fit();
      this.fitNext = false;
    } else if (keep) {
      const item = this.scene.ids.indexOf(keep.id);
      if (item >= 0) this.renderer.keep([this.scene.boxes[4 * item], this.scene.boxes[4 * item + 1]], keep.screen);
    }
    this.root.dataset.items = String(this.scene.count);
    this.root.dataset.open = String(this.open.size);
    this.status.textContent = this.statusText();
    this.writeUrl();
  }

  private statusText(): string {
    const s = this.summary!;
    const plural = (n: number, word: string): string => `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
    const parts = [plural(s.nodeCount, "node"), plural(s.groupCount, "group")];
    if (s.repeatCount > 0) parts.push(plural(s.repeatCount, "repeated block"));
    return parts.join(" · ");
  }

  private get mode(): ColorMode {
    return this.colorSelect.value as ColorMode;
  }

  private applyColors(): void {
    if (!this.scene) return;
    this.colors = itemColors(this.scene, this.mode, this.structures);
    this.renderer.update({ colors: this.colors });
    this.legend.replaceChildren(
      ...legendOf(this.mode).map(([color, label]) => {
        const entry = el("span", "graph-legend-entry");
        const swatch = el("span", "swatch");
        swatch.style.background = color;
        entry.append(swatch, document.createTextNode(label));
        return entry;
      }),
    );
    this.legend.hidden = this.legend.childElementCount === 0;
  }

  private enableColors(summary: GraphSummary): void {
    for (const option of this.colorSelect.options) {
      if (option.value === "compute") option.disabled = !summary.hasCompute;
      if (option.value === "memory") option.disabled = !summary.hasMemory;
      if (option.value === "compute" || option.value === "memory") option.title = option.disabled ? "This graph has no run metadata" : "";
    }
    if (this.colorSelect.selectedOptions[0]?.disabled) this.colorSelect.value = "op";
    this.applyColors();
  }

  /** The graph's notes: one line each, or, past two, the first line and the rest a click away. */
  private showNotes(summary: GraphSummary): void {
    const lines = summary.notes.map((note) => {
      const line = el("p", "graph-note");
      line.textContent = note; // text, never HTML
      return line;
    });
    if (lines.length <= 2) {
      this.notes.replaceChildren(...lines);
    } else {
      const details = document.createElement("details");
      const summaryLine = document.createElement("summary");
      summaryLine.className = "graph-note";
      summaryLine.textContent = `${lines.length} notes about this graph: ${summary.notes[0]}`;
      const list = el("div", "graph-note-list");
      list.append(...lines.slice(1));
      details.append(summaryLine, list);
      this.notes.replaceChildren(details);
    }
    this.notes.hidden = lines.length === 0;
  }

  private showMessage(text: string, error: boolean): void {
    this.message.textContent = text;
    this.message.classList.toggle("error", error);
    this.message.hidden = false;
  }

  private fail(error: unknown): void {
    this.root.dataset.state = "error";
    this.status.textContent = "";
    this.showMessage(errorText(error), true);
  }

  // -- groups and selection ---------------------------------------------------------

  private async toggleItem(item: number): Promise<void> {
    const scene = this.scene;
    if (!scene || !isGroup(scene.kinds[item])) return;
    await this.toggleId(scene.ids[item]);
  }

  private async toggleId(id: string): Promise<void> {
    const scene = this.scene;
    if (!scene) return;
    const item = scene.ids.indexOf(id);
    let keep: { id: string; screen: [number, number] } | null = null;
    if (item >= 0) keep = { id, screen: this.renderer.toScreen(scene.boxes[4 * item], scene.boxes[4 * item + 1]) };
    if (item >= 0 && isFrame(scene.kinds[item])) this.open.delete(id);
    else this.open.add(id);
    this.root.dataset.state = "laying-out";
    await this.requestScene(keep);
    if (this.selected === id) await this.showDetail();
  }

  private selectItem(item: number): void {
    const scene = this.scene;
    void this.selectName(item >= 0 && scene ? scene.ids[item] : null, false);
  }

  /** Selects a node (or group); ``reveal``: open the groups leading to it and bring it into view. */
  private async selectName(name: string | null, reveal: boolean): Promise<void> {
    this.selected = name;
    if (name === null) {
      this.panel.clear();
      await this.refreshMarks();
      this.writeUrl();
      return;
    }
    const detail = await this.showDetail();
    if (reveal && detail) {
      for (const group of detail.path) this.open.add(group);
      await this.requestScene(null);
      this.renderer.centerOn(this.marks?.selectedItem ?? -1);
    } else {
      await this.refreshMarks();
    }
    this.writeUrl();
  }

  private async showDetail() {
    if (!this.client || this.selected === null) return null;
    const name = this.selected;
    const { detail } = await this.client.detail({ name });
    if (this.selected !== name) return null;
    if (detail) this.panel.show(detail, this.open.has(detail.id), this.tracing);
    else this.panel.clear();
    return detail;
  }

  private setTracing(on: boolean): void {
    this.tracing = on;
    void this.refreshMarks().then(() => this.showDetail());
  }

  private async refreshMarks(): Promise<void> {
    if (!this.client || !this.scene) return;
    const generation = this.scene.generation;
    const { marks } = await this.client.marks({ search: this.search.pattern, trace: this.tracing ? this.selected : null, selected: this.selected });
    if (!this.scene || marks.generation !== generation || this.scene.generation !== generation) return;
    this.marks = marks;
    this.renderer.update({ marks, selected: marks.selectedItem });
  }

  // -- URL and exports ---------------------------------------------------------------

  private writeUrl(): void {
    this.hash.write({
      run: this.run,
      tag: this.tag,
      node: this.selected ?? "",
      open: [...this.open].filter((id) => !this.defaults.has(id)),
      shut: [...this.defaults].filter((id) => !this.open.has(id)),
      color: this.mode,
    });
  }

  /** The current view (as drawn: groups, colours, marks) as a file. */
  private download(format: "svg" | "png"): void {
    const state = this.renderer.current;
    if (state) void downloadScene(format, state, this.renderer.palette, exportName(this.run, this.tag, format));
  }

  /** Every group opened (the benchmark's "fully expanded"). */
  openAll(): void {
    for (const id of this.summary?.groups ?? []) this.open.add(id);
    this.root.dataset.state = "laying-out";
    void this.requestScene(null);
  }
}
