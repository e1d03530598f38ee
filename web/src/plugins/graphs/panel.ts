// The node panel: what the selected op or group is, its inputs and outputs
// with their shapes, its module, parameters and attributes. Every name in it
// is a button that selects that node. All of it is text, never HTML.

import { button, el } from "../../runs";
import type { Detail } from "./protocol";

export interface PanelEvents {
  select(name: string): void;
  toggle(id: string): void;
  trace(on: boolean): void;
}

export class NodePanel {
  readonly root = el("aside", "graph-panel");
  private tracing = false;

  constructor(private events: PanelEvents) {
    this.root.setAttribute("aria-label", "The selected node");
    this.clear();
  }

  clear(): void {
    const hint = el("p", "empty");
    hint.textContent = "Click a box for its details; double-click a group (or its ⊕) to open it.";
    this.root.replaceChildren(hint);
    this.root.dataset.node = "";
  }

  show(detail: Detail, open: boolean, tracing: boolean): void {
    this.tracing = tracing;
    this.root.dataset.node = detail.id;
    const head = el("div", "graph-panel-head");
    const title = el("h3", "graph-panel-title");
    title.textContent = detail.name;
    title.title = detail.id;
    const kind = el("span", "graph-panel-kind");
    kind.textContent = { op: "op", group: "group", repeat: "repeated block", missing: "missing node" }[detail.kind];
    head.append(kind, title);
    const tools = el("div", "graph-panel-tools");
    if (detail.kind === "group" || detail.kind === "repeat") {
      tools.append(button(open ? "Close group" : detail.kind === "repeat" ? "Expand the repeats" : "Open group", open ? "Show it as one box" : "Show what it holds", () => this.events.toggle(detail.id)));
    }
    const trace = button(tracing ? "Stop tracing" : "Trace inputs and outputs", "Highlight everything it depends on and everything that depends on it", () => this.events.trace(!this.tracing));
    trace.className = "graph-trace";
    trace.setAttribute("aria-pressed", String(tracing));
    tools.append(trace);
    this.root.replaceChildren(head, tools, this.facts(detail), ...this.sections(detail));
  }

  private facts(d: Detail): HTMLElement {
    const rows: [string, string][] = [];
    if (d.op) rows.push(["Op", d.op]);
    if (d.moduleClass) rows.push(["Module class", d.moduleClass]);
    if (d.modulePath) rows.push(["Module path", d.modulePath]);
    if (d.parentLabel) rows.push(["In", d.parentLabel]);
    if (d.device) rows.push(["Device", d.device]);
    if (d.kind === "group" || d.kind === "repeat") {
      rows.push(["Ops", d.opCount.toLocaleString("en-US")]);
      rows.push([d.kind === "repeat" ? "Repeats" : "Children", d.childCount.toLocaleString("en-US")]);
    }
    if (d.paramCount > 0) rows.push(["Parameters", d.paramCount.toLocaleString("en-US")]);
    if (d.computeTime !== null) rows.push(["Compute time", `${d.computeTime.toLocaleString("en-US")} µs`]);
    if (d.memory !== null) rows.push(["Memory", bytes(d.memory)]);
    return table("graph-facts", [], rows.map(([k, v]) => [text(k), text(v)]));
  }

  private sections(d: Detail): HTMLElement[] {
    const found: HTMLElement[] = [];
    const add = (title: string, body: HTMLElement | null): void => {
      if (!body) return;
      const section = el("section", "graph-panel-section");
      const h = el("h4", "");
      h.textContent = title;
      section.dataset.section = title.toLowerCase();
      section.append(h, body);
      found.push(section);
    };
    if (d.inputs.length > 0) {
      add(`Inputs (${d.inputs.length})`, table("graph-io", ["from", "shape", "dtype"], d.inputs.map((i) => [this.link(i.name, i.op), text(i.shape), text(i.dtype)])));
    }
    if (d.outputs.length > 0) {
      add(
        `Outputs (${d.outputs.length})`,
        table("graph-io", ["#", "shape", "dtype", "to"], d.outputs.map((o) => [text(String(o.index)), text(o.shape), text(o.dtype), this.links(o.consumers)])),
      );
    }
    if (d.params.length > 0) {
      add(`Parameters (${d.params.length})`, table("graph-params", ["name", "shape", "count"], d.params.map((p) => [text(p.name), text(p.shape), text(p.count.toLocaleString("en-US"))])));
    }
    if (d.ops.length > 0) add("Most common ops", table("graph-ops", ["op", "count"], d.ops.map(([op, count]) => [text(op), text(String(count))])));
    if (d.members.length > 0) add("Members", this.links(d.members));
    if (d.attrs.length > 0) {
      add(
        `Attributes (${d.attrs.length})`,
        table("graph-attrs", ["name", "value"], d.attrs.map((a) => [text(a.key), attrValue(a.value, a.truncated, a.size)])),
      );
    }
    return found;
  }

  private link(name: string, op: string): HTMLElement {
    const bare = name.replace(/\/$/, ""); // a group's id ends with "/"
    const b = button(bare.slice(bare.lastIndexOf("/") + 1) || name, `${bare}${op ? ` (${op})` : ""}: select it`, () => this.events.select(name));
    b.className = "graph-link";
    return b;
  }

  private links(names: string[]): HTMLElement {
    const list = el("span", "graph-links");
    for (const name of names.slice(0, 50)) list.append(this.link(name, ""));
    if (names.length > 50) list.append(text(`and ${names.length - 50} more`));
    return list;
  }
}

function text(value: string): HTMLElement {
  const span = el("span", "");
  span.textContent = value;
  return span;
}

function attrValue(value: string, truncated: boolean, size: number | null): HTMLElement {
  const box = el("div", "graph-attr");
  const pre = el("pre", "");
  pre.textContent = value;
  box.append(pre);
  if (truncated) {
    const note = el("span", "graph-truncated");
    note.textContent = size !== null ? `truncated (${bytes(size)} in all)` : "truncated";
    box.append(note);
  }
  return box;
}

function table(className: string, headers: string[], rows: HTMLElement[][]): HTMLElement {
  const found = document.createElement("table");
  found.className = className;
  if (headers.length > 0) {
    const head = found.createTHead().insertRow();
    for (const h of headers) {
      const th = document.createElement("th");
      th.textContent = h;
      head.append(th);
    }
  }
  const body = found.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const cell of row) tr.insertCell().append(cell);
  }
  return found;
}

function bytes(value: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = value;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}
