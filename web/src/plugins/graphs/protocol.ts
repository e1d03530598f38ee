// What the page and the graph worker (graph.worker.ts) say to each other,
// and the graph as the server answers it (GET api/plugins/graphs/graph).
//
// The worker holds the graph: it fetches and parses it, finds the scopes and
// the repeated blocks, lays out every opened group with elkjs and sends the
// page a Scene, the laid-out picture packed in typed arrays (transferred, not
// copied), so the page's thread only draws. Every request carries an id; the
// answer carries it back.

// -- the server's answers ----------------------------------------------------------

/** One graph of a run, as GET api/plugins/graphs/graphs?run= lists it. */
export interface GraphEntry {
  run: string;
  tag: string;
  plugin: string;
  /** "op" (a GraphDef), "keras" (Keras's conceptual graph) or "run_metadata". */
  kind: string;
  step: number;
  steps: number[];
  /** 0: it holds no graph (torch's empty run metadata). */
  nodes: number;
  /** It holds step stats (compute time, memory per node). */
  profile: boolean;
  bytes: number;
}

/** An attribute: one key naming its kind ({"s": "text"}, {"list": {...}}), and truncated/bytes when cut. */
export type ApiAttr = Record<string, unknown> & { truncated?: boolean; bytes?: number };

export interface ApiNode {
  name: string;
  op: string;
  /** The name up to its last "/". */
  scope?: string;
  inputs?: string[];
  device?: string;
  outputs?: { shape: number[] | null; dtype: string | null }[];
  attrs?: Record<string, ApiAttr>;
  /** The module it ran in (graphs stepscope wrote): its path in the model and its class. */
  module?: { path?: string; class?: string } | null;
  /** A parameter or buffer node: its name in state_dict, shape and dtype. */
  param?: { name: string; shape: number[] | null; dtype: string | null; kind?: string } | null;
  /** From run metadata. */
  stats?: { compute_micros?: number; memory_bytes?: number; peak_bytes?: number; devices?: string[] } | null;
}

export interface ApiEdge {
  from: string;
  to: string;
  from_output?: number;
  to_input?: number;
  control?: boolean;
  shape?: number[] | null;
  dtype?: string | null;
}

export interface ApiScope {
  name: string;
  parent: string | null;
  module?: { path?: string; class?: string } | null;
  params?: { name: string; shape: number[] | null; dtype: string | null; kind?: string }[];
  param_count?: number;
}

export interface ApiNote {
  kind?: string;
  message: string;
  nodes?: string[];
}

export interface ApiGraph {
  run?: string;
  tag?: string;
  kind?: string;
  nodes: ApiNode[];
  /** Absent: the edges are read from the nodes' inputs. */
  edges?: ApiEdge[];
  scopes?: ApiScope[];
  notes?: (ApiNote | string)[];
}

// -- the scene ------------------------------------------------------------------

/** What a drawn item is. */
export const ItemKind = {
  Op: 0,
  /** A closed group: a scope drawn as one box. */
  Group: 1,
  /** An opened group: a frame around its laid-out contents. */
  OpenGroup: 2,
  /** Sibling groups of identical structure in a chain, drawn as one "×N" box. */
  Repeat: 3,
  OpenRepeat: 4,
  /** An input that names no node of the graph. */
  Missing: 5,
  /** Where an edge enters or leaves an opened group. */
  Anchor: 6,
} as const;
export type ItemKind = (typeof ItemKind)[keyof typeof ItemKind];

/** The laid-out picture of the graph with the current groups opened, in world coordinates. */
export interface Scene {
  generation: number;
  width: number;
  height: number;
  count: number;
  /** Per item: the node's name or the group's id (stable: URLs and selections use it). */
  ids: string[];
  kinds: Uint8Array;
  /** x, y, width, height per item; containers come before their contents. */
  boxes: Float32Array;
  depths: Uint8Array;
  labels: string[];
  sublabels: string[];
  /** What an item's colour depends on: its op type, its structure (equal keys: equal structure). */
  opKeys: string[];
  structureKeys: string[];
  /** From run metadata, or NaN: an item's compute time (µs) and memory (bytes), summed over a group. */
  compute: Float64Array;
  memory: Float64Array;
  /** How many repeats a Repeat item stands for (else 0). */
  repeats: Uint16Array;
  edgeCount: number;
  /** Edge i's points are edgePoints[2*edgeStarts[i] .. 2*edgeStarts[i+1]). */
  edgeStarts: Uint32Array;
  edgePoints: Float32Array;
  edgeWidths: Float32Array;
  /** 1: the edge ends with an arrow (0: a connector into an opened group's anchor). */
  edgeArrows: Uint8Array;
  edgeLabels: string[];
  /** The label's centre (NaN when the edge has no label). */
  edgeLabelAt: Float32Array;
  edgeFrom: Int32Array;
  edgeTo: Int32Array;
}

/** What is highlighted: search hits and a node's traced inputs and outputs. */
export interface Marks {
  generation: number;
  /** Per item: 1 a search hit (or a closed group holding hits). */
  hits: Uint8Array;
  /** Per item and per edge: 1 upstream of the traced node, 2 downstream, 3 the node itself. */
  traceItems: Uint8Array;
  traceEdges: Uint8Array;
  /** The item the selected node shows as (itself, its consumer if folded, or the closed group holding it), or -1. */
  selectedItem: number;
}

export interface GraphSummary {
  nodeCount: number;
  edgeCount: number;
  groupCount: number;
  repeatCount: number;
  notes: string[];
  hasCompute: boolean;
  hasMemory: boolean;
  /** The groups opened when the graph is first shown, and every group (repeats included). */
  defaultOpen: string[];
  groups: string[];
  /** Milliseconds the worker spent fetching, parsing (JSON) and modelling the graph; elk's start (NaN: not yet). */
  timings: { fetch: number; parse: number; model: number; elkWarm: number };
}

export interface SearchHit {
  name: string;
  op: string;
  /** The groups to open to show it, outermost first. */
  path: string[];
}

export interface SearchAnswer {
  count: number;
  hits: SearchHit[];
  error: string | null;
}

export interface DetailInput {
  name: string;
  op: string;
  shape: string;
  dtype: string;
}

export interface DetailOutput {
  index: number;
  shape: string;
  dtype: string;
  consumers: string[];
}

export interface Detail {
  id: string;
  kind: "op" | "group" | "repeat" | "missing";
  name: string;
  op: string;
  /** The groups leading to it, outermost first, and what the innermost is called. */
  path: string[];
  parentLabel: string;
  device: string;
  attrs: { key: string; value: string; truncated: boolean; size: number | null }[];
  inputs: DetailInput[];
  outputs: DetailOutput[];
  moduleClass: string;
  modulePath: string;
  params: { name: string; shape: string; count: number; dtype: string }[];
  paramCount: number;
  computeTime: number | null;
  memory: number | null;
  /** For a group: how many ops it holds, its children and its most common ops. */
  opCount: number;
  childCount: number;
  ops: [string, number][];
  /** For a repeat: its members. */
  members: string[];
}

// -- the messages ------------------------------------------------------------------

export type Request =
  | { type: "load"; id: number; url: string }
  | { type: "scene"; id: number; open: string[]; search: string; trace: string | null; selected: string | null }
  | { type: "marks"; id: number; search: string; trace: string | null; selected: string | null }
  | { type: "search"; id: number; pattern: string; limit: number }
  | { type: "detail"; id: number; name: string };

export type Answer =
  | { type: "loaded"; id: number; summary: GraphSummary }
  | { type: "scene"; id: number; scene: Scene; marks: Marks; layoutMs: number }
  | { type: "marks"; id: number; marks: Marks }
  | { type: "search"; id: number; answer: SearchAnswer }
  | { type: "detail"; id: number; detail: Detail | null }
  | { type: "error"; id: number; message: string }
  /** A scene request that a newer one made pointless before it began. */
  | { type: "skipped"; id: number };
