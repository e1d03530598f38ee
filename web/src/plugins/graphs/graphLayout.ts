// The layout of one opened group, by elkjs's layered algorithm: its children
// (ops, closed groups as boxes, opened groups at the size of their own
// layout) and the edges between them, with an anchor per tensor that enters
// or leaves the group, where the edges outside it connect. A group's layout
// depends only on what is opened inside it, so it is cached under that.

import type { ELK, ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api";
import { childOf, drawn, type Group, type Model } from "./graphModel";

export const FONT = "600 11px system-ui, sans-serif";
export const SUBFONT = "10px system-ui, sans-serif";
export const EDGE_FONT = "9px system-ui, sans-serif";
export const HEADER = 30; // px, an opened group's title bar
const PADDING = `[top=${HEADER + 6},left=14,bottom=14,right=14]`;
const ANCHOR = 6;
/** Past this many distinct tensors entering (or leaving) a group, they share one anchor. */
const MAX_ANCHORS = 8;
/** Past this many tensors between the same two children, the rest go as one edge. */
const MAX_PARALLEL = 6;
/** Where a shape's label sits: this far below the op that makes the tensor, on its edge. */
const LABEL_DROP = 10;

export interface Size {
  w: number;
  h: number;
}

/** An edge of a group's layout, in the group's coordinates. */
export interface LaidEdge {
  /** The child it starts at, or -1: an anchor of the group (``fromAnchor``). */
  from: number;
  to: number;
  fromAnchor: string;
  toAnchor: string;
  /** The tensor it carries: which op's output (the key of the anchors it meets). */
  tensor: string;
  src: number;
  dsts: number[];
  points: number[];
  label: string;
  labelX: number;
  labelY: number;
  size: number;
}

export interface GroupLayout {
  width: number;
  height: number;
  /** Per child (entity): its box in the group. */
  boxes: Map<number, [number, number, number, number]>;
  anchorsIn: Map<string, [number, number]>;
  anchorsOut: Map<string, [number, number]>;
  edges: LaidEdge[];
}

/** How big a child is drawn when closed; ``label`` and ``sub`` are its two lines. */
export interface Measure {
  (text: string, font: string): number;
}

export function boxSize(measure: Measure, label: string, sub: string, group: boolean): Size {
  const text = Math.max(measure(label, FONT), sub ? measure(sub, SUBFONT) : 0);
  const w = Math.min(Math.max(text + (group ? 48 : 20), group ? 100 : 64), group ? 280 : 220);
  return { w: Math.round(w), h: group ? 44 : sub ? 36 : 24 };
}

interface Pending {
  key: string;
  src: number;
  output: number;
  from: number;
  to: number;
  fromAnchor: string;
  toAnchor: string;
  dsts: number[];
  size: number;
  shape: string;
}

/** The tensor an edge carries: "op:output". */
function tensorKey(src: number, output: number): string {
  return `${src}:${output}`;
}

/** The edges of ``group``'s layout: between its children, and from and to its anchors. */
function groupEdges(model: Model, group: Group): { edges: Pending[]; ins: string[]; outs: string[] } {
  const offset = model.ops.length;
  const byKey = new Map<string, Pending>();
  const add = (p: Omit<Pending, "key" | "dsts">, dst: number, slot: number): void => {
    // One tensor into a closed group is one edge; into an op, each input is its own (add(x, x) has two).
    const perInput = p.to >= 0 && p.to < offset ? `:${slot}` : "";
    const key = `${p.from}|${p.fromAnchor}|${p.to}|${p.toAnchor}|${tensorKey(p.src, p.output)}${perInput}`;
    const found = byKey.get(key);
    if (found) found.dsts.push(dst);
    else byKey.set(key, { ...p, key, dsts: [dst] });
  };
  const ins = new Set<string>();
  const outs = new Set<string>();
  for (const index of group.entering) ins.add(tensorKey(model.edges[index].src, model.edges[index].output));
  for (const index of group.leaving) outs.add(tensorKey(model.edges[index].src, model.edges[index].output));
  const anchorIn = (t: string): string => (ins.size > MAX_ANCHORS ? "*" : t);
  const anchorOut = (t: string): string => (outs.size > MAX_ANCHORS ? "*" : t);
  for (const index of group.internal) {
    const e = model.edges[index];
    const from = childOf(model, group, e.src);
    const to = childOf(model, group, e.dst);
    if (from < 0 || to < 0 || from === to) continue;
    add({ src: e.src, output: e.output, from, to, fromAnchor: "", toAnchor: "", size: e.size, shape: e.shape }, e.dst, e.input);
  }
  for (const index of group.entering) {
    const e = model.edges[index];
    const to = childOf(model, group, e.dst);
    if (to < 0) continue;
    const t = tensorKey(e.src, e.output);
    add({ src: e.src, output: e.output, from: -1, to, fromAnchor: anchorIn(t), toAnchor: "", size: e.size, shape: e.shape }, e.dst, e.input);
  }
  for (const index of group.leaving) {
    const e = model.edges[index];
    const from = childOf(model, group, e.src);
    if (from < 0) continue;
    const t = tensorKey(e.src, e.output);
    add({ src: e.src, output: e.output, from, to: -1, fromAnchor: "", toAnchor: anchorOut(t), size: e.size, shape: e.shape }, e.dst, 0);
  }
  return {
    edges: capParallel([...byKey.values()]),
    ins: [...new Set([...ins].map(anchorIn))],
    outs: [...new Set([...outs].map(anchorOut))],
  };
}

/** Keeps up to MAX_PARALLEL edges between the same two ends; the rest become one edge. */
function capParallel(edges: Pending[]): Pending[] {
  const byEnds = new Map<string, Pending[]>();
  for (const e of edges) {
    const ends = `${e.from}|${e.fromAnchor}|${e.to}|${e.toAnchor}`;
    byEnds.set(ends, [...(byEnds.get(ends) ?? []), e]);
  }
  const kept: Pending[] = [];
  for (const list of byEnds.values()) {
    if (list.length <= MAX_PARALLEL) {
      kept.push(...list);
      continue;
    }
    kept.push(...list.slice(0, MAX_PARALLEL - 1));
    const rest = list.slice(MAX_PARALLEL - 1);
    kept.push({
      ...rest[0],
      key: rest[0].key + "+",
      dsts: rest.flatMap((r) => r.dsts),
      size: rest.reduce((n, r) => n + r.size, 0),
      shape: `${rest.length} more tensors`,
    });
  }
  return kept;
}

const LAYOUT_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.edgeRouting": "POLYLINE",
  "elk.padding": PADDING,
  "elk.spacing.nodeNode": "18",
  "elk.spacing.edgeNode": "10",
  "elk.spacing.edgeEdge": "6",
  "elk.layered.spacing.nodeNodeBetweenLayers": "36",
  "elk.layered.spacing.edgeNodeBetweenLayers": "10",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.layered.mergeEdges": "false",
};

/**
 * Lays out ``group`` (opened) with ``sizes`` giving each child's size (an
 * opened child's is its own layout's). Children are given in the graph's
 * order, which the layout keeps where it can, so a sequential model reads
 * from top to bottom in the order it runs.
 */
export async function layoutGroup(
  elk: ELK,
  model: Model,
  group: Group,
  sizes: Map<number, Size>,
  opened: Set<number>,
): Promise<GroupLayout> {
  const { edges, ins, outs } = groupEdges(model, group);
  // A tensor's shape is said once, where it leaves the op that makes it: not again on
  // the edges that carry it on from an anchor or out of an opened group.
  // Labels are placed after the layout, not by it: elk's label nodes would double its time.
  const says = (e: Pending): boolean => e.shape !== "" && e.from >= 0 && !opened.has(e.from);
  const children: ElkNode[] = [];
  for (const t of ins) children.push(anchorNode(`i${t}`, "FIRST_SEPARATE"));
  for (const child of group.children) {
    if (child < model.ops.length && !drawn(model.ops[child])) continue;
    const size = sizes.get(child)!;
    children.push({ id: `c${child}`, width: size.w, height: size.h });
  }
  for (const t of outs) children.push(anchorNode(`o${t}`, "LAST_SEPARATE"));
  const elkEdges: ElkExtendedEdge[] = edges.map((e, i) => ({
    id: `e${i}`,
    sources: [e.from >= 0 ? `c${e.from}` : `i${e.fromAnchor}`],
    targets: [e.to >= 0 ? `c${e.to}` : `o${e.toAnchor}`],
  }));
  const options: Record<string, string> = { ...LAYOUT_OPTIONS };
  if (children.length > 300) options["elk.layered.thoroughness"] = "2";
  const laid = await elk.layout({ id: "root", layoutOptions: options, children, edges: elkEdges });
  return readLayout(laid, edges, says);
}

/** A label's centre: on the edge's first segment, just below where it leaves its op. */
function labelAt(points: number[]): { labelX: number; labelY: number } {
  const [x0, y0, x1, y1] = points;
  const length = Math.hypot(x1 - x0, y1 - y0) || 1;
  const t = Math.min(LABEL_DROP / length, 0.5);
  return { labelX: x0 + (x1 - x0) * t, labelY: y0 + (y1 - y0) * t };
}

function anchorNode(id: string, layer: string): ElkNode {
  return { id, width: ANCHOR, height: ANCHOR, layoutOptions: { "elk.layered.layering.layerConstraint": layer } };
}

function readLayout(laid: ElkNode, edges: Pending[], says: (e: Pending) => boolean): GroupLayout {
  const layout: GroupLayout = {
    width: laid.width ?? 0,
    height: laid.height ?? 0,
    boxes: new Map(),
    anchorsIn: new Map(),
    anchorsOut: new Map(),
    edges: [],
  };
  for (const node of laid.children ?? []) {
    const x = node.x ?? 0;
    const y = node.y ?? 0;
    const w = node.width ?? 0;
    const h = node.height ?? 0;
    const kind = node.id[0];
    if (kind === "c") layout.boxes.set(Number(node.id.slice(1)), [x, y, w, h]);
    else if (kind === "i") layout.anchorsIn.set(node.id.slice(1), [x + w / 2, y + h / 2]);
    else layout.anchorsOut.set(node.id.slice(1), [x + w / 2, y + h / 2]);
  }
  const labelled = new Set<string>(); // a tensor's shape is said once, on the first of its edges
  (laid.edges ?? []).forEach((elkEdge, i) => {
    const e = edges[i];
    const points: number[] = [];
    for (const section of elkEdge.sections ?? []) {
      points.push(section.startPoint.x, section.startPoint.y);
      for (const b of section.bendPoints ?? []) points.push(b.x, b.y);
      points.push(section.endPoint.x, section.endPoint.y);
    }
    const tensor = tensorKey(e.src, e.output);
    const label = says(e) && !labelled.has(tensor) && points.length >= 4;
    if (label) labelled.add(tensor);
    layout.edges.push({
      from: e.from,
      to: e.to,
      fromAnchor: e.fromAnchor,
      toAnchor: e.toAnchor,
      tensor,
      src: e.src,
      dsts: e.dsts,
      points,
      label: label ? e.shape : "",
      ...(label ? labelAt(points) : { labelX: NaN, labelY: NaN }),
      size: e.size,
    });
  });
  return layout;
}
