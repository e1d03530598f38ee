// The scene: every opened group laid out (cached), placed inside its parent,
// and packed into typed arrays for the page to draw; and the marks (search
// hits, a traced node's inputs and outputs) over the scene last built.

import type { ELK } from "elkjs/lib/elk-api";
import { boxSize, FONT, layoutGroup, SUBFONT, type GroupLayout, type LaidEdge, type Measure, type Size } from "./graphLayout";
import { drawn, matches, type Model, type Op } from "./graphModel";
import { ItemKind, type Marks, type Scene } from "./protocol";

/** What the worker keeps of the scene it sent, to mark it later. */
interface Built {
  generation: number;
  open: Set<number>;
  /** Per entity: its item in the scene, or -1. */
  entityItem: Int32Array;
  itemCount: number;
  edgeSrc: number[];
  edgeDsts: number[][];
}

/** What placing a scene's items works on. */
interface Placing {
  open: Set<number>;
  layouts: Map<number, GroupLayout>;
  arrays: SceneArrays;
  entityItem: Int32Array;
  edgeSrc: number[];
  edgeDsts: number[][];
}

class SceneArrays {
  ids: string[] = [];
  kinds: number[] = [];
  boxes: number[] = [];
  depths: number[] = [];
  labels: string[] = [];
  sublabels: string[] = [];
  opKeys: string[] = [];
  structureKeys: string[] = [];
  compute: number[] = [];
  memory: number[] = [];
  repeats: number[] = [];
  edgeStarts: number[] = [0];
  edgePoints: number[] = [];
  edgeWidths: number[] = [];
  edgeArrows: number[] = [];
  edgeLabels: string[] = [];
  edgeLabelAt: number[] = [];
  edgeFrom: number[] = [];
  edgeTo: number[] = [];
}

export class SceneBuilder {
  private cache = new Map<string, GroupLayout>();
  private built: Built | null = null;
  private sums = new Map<number, [number, number]>();
  /** Per op: whether a drawn op reads it (else it says its own shape). */
  private read: Uint8Array;

  constructor(
    private elk: ELK,
    private model: Model,
    private measure: Measure,
  ) {
    this.read = new Uint8Array(model.ops.length);
    for (const e of model.edges) if (drawn(model.ops[e.dst]) && e.src !== e.dst) this.read[e.src] = 1;
  }

  get offset(): number {
    return this.model.ops.length;
  }

  /** The scene with the groups ``open`` opened (the root always is; a group inside a closed one is not). */
  async build(open: Set<number>, generation: number): Promise<Scene> {
    open.add(0);
    const layouts = new Map<number, GroupLayout>();
    await this.layOut(0, open, layouts);
    const p: Placing = {
      open,
      layouts,
      arrays: new SceneArrays(),
      entityItem: new Int32Array(this.model.ops.length + this.model.groups.length).fill(-1),
      edgeSrc: [],
      edgeDsts: [],
    };
    this.place(0, 0, 0, -1, 0, p);
    const root = layouts.get(0)!;
    this.built = { generation, open, entityItem: p.entityItem, itemCount: p.arrays.ids.length, edgeSrc: p.edgeSrc, edgeDsts: p.edgeDsts };
    return pack(p.arrays, generation, root.width, root.height);
  }

  private async layOut(g: number, open: Set<number>, layouts: Map<number, GroupLayout>): Promise<string> {
    const group = this.model.groups[g];
    const inner = group.children.filter((c) => c >= this.offset && open.has(c - this.offset));
    const keys = await Promise.all(inner.map((c) => this.layOut(c - this.offset, open, layouts)));
    const key = `${group.id}(${keys.join(",")})`;
    let layout = this.cache.get(key);
    if (!layout) {
      const sizes = new Map<number, Size>();
      for (const c of group.children) {
        const opened = layouts.get(c - this.offset);
        sizes.set(c, c >= this.offset && opened && open.has(c - this.offset) ? { w: opened.width, h: opened.height } : this.closedSize(c));
      }
      const opened = new Set(inner);
      layout = await layoutGroup(this.elk, this.model, group, sizes, opened);
      this.cache.set(key, layout);
    }
    layouts.set(g, layout);
    return key;
  }

  private closedSize(entity: number): Size {
    const [label, sub] = this.text(entity);
    return boxSize(this.measure, label, sub, entity >= this.offset);
  }

  /** An item's two lines: what it is, and its shape or what it holds. */
  text(entity: number): [string, string] {
    if (entity < this.offset) return opText(this.model.ops[entity], this.model.kind === "keras", !this.read[entity]);
    const group = this.model.groups[entity - this.offset];
    const ops = `${group.opCount.toLocaleString("en-US")} op${group.opCount === 1 ? "" : "s"}`;
    if (group.repeat) {
      const each = Math.round(group.opCount / Math.max(group.children.length, 1));
      return [group.label, `${each.toLocaleString("en-US")} op${each === 1 ? "" : "s"} each`];
    }
    return [group.label, group.moduleClass ? `${group.moduleClass} · ${ops}` : ops];
  }

  /** Puts group g's children (and, inside the opened ones, theirs) and its edges into the scene, at (x, y). */
  private place(g: number, x: number, y: number, frame: number, depth: number, p: Placing): void {
    const layout = p.layouts.get(g)!;
    for (const child of this.model.groups[g].children) {
      const box = layout.boxes.get(child);
      if (!box) continue;
      const [bx, by, bw, bh] = box;
      const opened = this.opened(child, p);
      const item = this.pushItem(p.arrays, child, x + bx, y + by, bw, bh, depth, opened);
      p.entityItem[child] = item;
      if (opened) this.place(child - this.offset, x + bx, y + by, item, depth + 1, p);
    }
    const a = p.arrays;
    for (const e of layout.edges) {
      a.edgePoints.push(...this.edgePoints(e, layout, x, y, p));
      a.edgeStarts.push(a.edgePoints.length / 2);
      a.edgeWidths.push(edgeWidth(e.size));
      a.edgeArrows.push(e.to >= 0 && !this.opened(e.to, p) ? 1 : 0);
      a.edgeLabels.push(e.label);
      a.edgeLabelAt.push(e.labelX + x, e.labelY + y);
      a.edgeFrom.push(e.from >= 0 ? p.entityItem[e.from] : frame);
      a.edgeTo.push(e.to >= 0 ? p.entityItem[e.to] : frame);
      p.edgeSrc.push(e.src);
      p.edgeDsts.push(e.dsts);
    }
  }

  private opened(entity: number, p: Placing): boolean {
    return entity >= this.offset && p.open.has(entity - this.offset);
  }

  /** An edge's points in the scene, carried on to the anchors it meets at either end. */
  private edgePoints(e: LaidEdge, layout: GroupLayout, x: number, y: number, p: Placing): number[] {
    const points = e.points.map((v, i) => v + (i % 2 === 0 ? x : y));
    // From (or to) the group's own anchor: start (end) at its centre, where the edge outside ends.
    const own = e.from < 0 ? layout.anchorsIn.get(e.fromAnchor) : undefined;
    if (own) points.unshift(x + own[0], y + own[1]);
    const out = e.to < 0 ? layout.anchorsOut.get(e.toAnchor) : undefined;
    if (out) points.push(x + out[0], y + out[1]);
    // Out of (or into) an opened child: on to the anchor of the same tensor inside it.
    if (e.from >= 0 && this.opened(e.from, p)) {
      const inner = p.layouts.get(e.from - this.offset)!;
      const at = inner.anchorsOut.get(e.tensor) ?? inner.anchorsOut.get("*");
      const [fx, fy] = layout.boxes.get(e.from)!;
      if (at) points.unshift(x + fx + at[0], y + fy + at[1]);
    }
    if (e.to >= 0 && this.opened(e.to, p)) {
      const inner = p.layouts.get(e.to - this.offset)!;
      const at = inner.anchorsIn.get(e.tensor) ?? inner.anchorsIn.get("*");
      const [tx, ty] = layout.boxes.get(e.to)!;
      if (at) points.push(x + tx + at[0], y + ty + at[1]);
    }
    return points;
  }

  private pushItem(arrays: SceneArrays, entity: number, x: number, y: number, w: number, h: number, depth: number, opened: boolean): number {
    const isOp = entity < this.offset;
    const op = isOp ? this.model.ops[entity] : null;
    const group = isOp ? null : this.model.groups[entity - this.offset];
    let kind: number = ItemKind.Op;
    if (op?.missing) kind = ItemKind.Missing;
    else if (group) kind = group.repeat ? (opened ? ItemKind.OpenRepeat : ItemKind.Repeat) : opened ? ItemKind.OpenGroup : ItemKind.Group;
    const [label, sub] = this.text(entity);
    const width = opened ? w - 40 : group ? w - 40 : w - 12;
    arrays.ids.push(op ? op.name : group!.id);
    arrays.kinds.push(kind);
    arrays.boxes.push(x, y, w, h);
    arrays.depths.push(Math.min(depth, 255));
    arrays.labels.push(fit(this.measure, label, FONT, width));
    arrays.sublabels.push(fit(this.measure, sub, SUBFONT, width));
    arrays.opKeys.push(op ? op.op : "");
    arrays.structureKeys.push(group ? group.structure : op!.op);
    const [compute, memory] = this.costs(entity);
    arrays.compute.push(compute);
    arrays.memory.push(memory);
    arrays.repeats.push(group?.repeat ? group.children.length : 0);
    return arrays.ids.length - 1;
  }

  /** Compute time and memory of an op (from run metadata), summed over a group; NaN when unknown. */
  private costs(entity: number): [number, number] {
    if (entity < this.offset) {
      const api = this.model.ops[entity].api;
      return [api.stats?.compute_micros ?? NaN, api.stats?.memory_bytes ?? NaN];
    }
    const found = this.sums.get(entity);
    if (found) return found;
    let compute = NaN;
    let memory = NaN;
    for (const c of this.model.groups[entity - this.offset].children) {
      const [cc, cm] = this.costs(c);
      if (!Number.isNaN(cc)) compute = (Number.isNaN(compute) ? 0 : compute) + cc;
      if (!Number.isNaN(cm)) memory = (Number.isNaN(memory) ? 0 : memory) + cm;
    }
    this.sums.set(entity, [compute, memory]);
    return [compute, memory];
  }

  /** The item an op shows as in the last scene: itself, or the closed group holding it. */
  itemOf(op: number): number {
    const built = this.built;
    if (!built) return -1;
    const folded = this.model.ops[op].foldedInto;
    if (folded >= 0) op = folded;
    const chain = this.model.chains[op];
    for (let d = 1; d < chain.length; d++) {
      if (!built.open.has(chain[d])) return built.entityItem[this.offset + chain[d]];
    }
    return built.entityItem[op];
  }

  /** Hits of ``regex`` and the trace of the node named ``trace``, over the last scene. */
  marks(regex: RegExp | null, trace: string | null, selected: string | null): Marks {
    const built = this.built!;
    const hits = new Uint8Array(built.itemCount);
    if (regex) {
      for (const op of this.model.ops) {
        if (!matches(regex, op)) continue;
        const item = this.itemOf(op.index);
        if (item >= 0) hits[item] = 1;
      }
    }
    const traceItems = new Uint8Array(built.itemCount);
    const traceEdges = new Uint8Array(built.edgeSrc.length);
    const start = trace === null ? undefined : this.model.byName.get(trace);
    if (start !== undefined) this.trace(start, traceItems, traceEdges);
    return { generation: built.generation, hits, traceItems, traceEdges, selectedItem: this.itemNamed(selected) };
  }

  /** The item an op or group shows as in the last scene, or -1. */
  private itemNamed(name: string | null): number {
    if (name === null) return -1;
    const op = this.model.byName.get(name);
    if (op !== undefined) return this.itemOf(op);
    const group = this.model.byGroupId.get(name);
    if (group === undefined || group === 0) return -1;
    const built = this.built!;
    const own = built.entityItem[this.offset + group];
    if (own >= 0) return own;
    // Inside a closed group: the outermost closed group holding it.
    const chain: number[] = [];
    for (let g = group; g > 0; g = this.model.groups[g].parent) chain.unshift(g);
    for (const g of chain) if (!built.open.has(g)) return built.entityItem[this.offset + g];
    return -1;
  }

  private trace(start: number, items: Uint8Array, edges: Uint8Array): void {
    const built = this.built!;
    const origin = this.model.ops[start].foldedInto >= 0 ? this.model.ops[start].foldedInto : start;
    const up = reach(this.model, origin, "up");
    const down = reach(this.model, origin, "down");
    for (const op of up) if (this.itemOf(op) >= 0) items[this.itemOf(op)] |= 1;
    for (const op of down) if (this.itemOf(op) >= 0) items[this.itemOf(op)] |= 2;
    if (this.itemOf(origin) >= 0) items[this.itemOf(origin)] = 3;
    built.edgeSrc.forEach((src, i) => {
      const dsts = built.edgeDsts[i];
      if ((src === origin || up.has(src)) && dsts.some((d) => up.has(d) || d === origin)) edges[i] |= 1;
      if ((src === origin || down.has(src)) && dsts.some((d) => down.has(d))) edges[i] |= 2;
    });
  }
}

function reach(model: Model, start: number, way: "up" | "down"): Set<number> {
  const next: number[][] = model.ops.map(() => []);
  for (const e of model.edges) {
    if (!drawn(model.ops[e.src]) || !drawn(model.ops[e.dst])) continue;
    if (way === "up") next[e.dst].push(e.src);
    else next[e.src].push(e.dst);
  }
  const seen = new Set<number>();
  const stack = [start];
  while (stack.length > 0) {
    const op = stack.pop()!;
    for (const n of next[op]) {
      if (seen.has(n) || n === start) continue;
      seen.add(n);
      stack.push(n);
    }
  }
  return seen;
}

/**
 * An op's two lines: its type without the namespace ("aten::linear" -> linear),
 * or its name when that says more (a module's, a Keras layer's, ``named``), the
 * type second. Its output's shape is on the edges that leave it; only an op
 * that nothing reads (``sink``) says it itself.
 */
export function opText(op: Op, named = false, sink = false): [string, string] {
  const last = op.name.slice(op.name.lastIndexOf("/") + 1);
  const shape = sink ? op.shapes.filter((s) => s !== "").join(", ") : "";
  const join = (a: string): string => (shape ? `${a} ${shape}` : a);
  if (op.missing) return [last, "missing"];
  if (op.op === "IO Node" || op.op === "Placeholder" || op.op === "_Arg" || op.op === "_Retval") {
    return [last, join(op.name.includes("/") ? op.name.slice(0, op.name.indexOf("/")) : op.op)];
  }
  const type = op.op.slice(op.op.lastIndexOf(":") + 1) || op.op;
  if (op.title || named || namesItself(op.op, last)) return [op.title || last, join(type)];
  return [type, shape];
}

/**
 * Whether a node's own name says more than its op: in TensorFlow's graphs
 * ("twice", "logits") unless it is the op's ("MatMul_1"); never in
 * TorchScript's (op "aten::relu"), whose names are the values' ("input.3").
 */
function namesItself(op: string, last: string): boolean {
  if (op.includes("::")) return false;
  const base = last.replace(/_\d+$/, "");
  return base.toLowerCase() !== op.toLowerCase();
}

/** An edge's thickness, growing with the log of the tensor's size. */
export function edgeWidth(size: number): number {
  if (size <= 1) return 1;
  return Math.min(1 + Math.log10(size) * 0.6, 5);
}

function fit(measure: Measure, text: string, font: string, width: number): string {
  if (text === "" || measure(text, font) <= width) return text;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (measure(text.slice(0, mid) + "…", font) <= width) low = mid;
    else high = mid - 1;
  }
  return text.slice(0, low) + "…";
}

function pack(a: SceneArrays, generation: number, width: number, height: number): Scene {
  return {
    generation,
    width,
    height,
    count: a.ids.length,
    ids: a.ids,
    kinds: Uint8Array.from(a.kinds),
    boxes: Float32Array.from(a.boxes),
    depths: Uint8Array.from(a.depths),
    labels: a.labels,
    sublabels: a.sublabels,
    opKeys: a.opKeys,
    structureKeys: a.structureKeys,
    compute: Float64Array.from(a.compute),
    memory: Float64Array.from(a.memory),
    repeats: Uint16Array.from(a.repeats),
    edgeCount: a.edgeWidths.length,
    edgeStarts: Uint32Array.from(a.edgeStarts),
    edgePoints: Float32Array.from(a.edgePoints),
    edgeWidths: Float32Array.from(a.edgeWidths),
    edgeArrows: Uint8Array.from(a.edgeArrows),
    edgeLabels: a.edgeLabels,
    edgeLabelAt: Float32Array.from(a.edgeLabelAt),
    edgeFrom: Int32Array.from(a.edgeFrom),
    edgeTo: Int32Array.from(a.edgeTo),
  };
}

/** The transferable buffers of a scene (sent without copying). */
export function sceneBuffers(scene: Scene, marks: Marks): ArrayBuffer[] {
  const arrays = [
    scene.kinds, scene.boxes, scene.depths, scene.compute, scene.memory, scene.repeats, scene.edgeStarts,
    scene.edgePoints, scene.edgeWidths, scene.edgeArrows, scene.edgeLabelAt, scene.edgeFrom, scene.edgeTo,
    marks.hits, marks.traceItems, marks.traceEdges,
  ];
  return arrays.map((a) => a.buffer as ArrayBuffer);
}
