// The graph as the worker holds it: ops by number, the tree of scopes (with
// repeated blocks folded into groups of their own), the edges, and which
// group each edge belongs to when the groups are laid out one by one
// (graphBuild.ts makes it from the server's answer).
//
// Entities: ops are 0..ops.length-1, groups follow (ops.length + group index);
// the root group (index 0) is the whole graph and is never drawn.

import type { ApiNode, ApiScope } from "./protocol";

export interface Op {
  index: number;
  name: string;
  op: string;
  api: ApiNode;
  /** The group it is drawn in (an index into groups). */
  group: number;
  /** A name that is only an input of other nodes: drawn as a dashed box. */
  missing: boolean;
  /**
   * Constants and parameter reads are not drawn: they show in their
   * consumer's panel (PyTorch's graphs hold as many of them as real ops).
   * ``foldedInto`` is that consumer, or -1 for an op that is drawn.
   */
  foldedInto: number;
  shapes: string[];
  dtypes: string[];
  sizes: number[];
  /** The scope it stands for when it was the only op of one ("fc1" for Linear[fc1]'s linear), else "". */
  title: string;
}

export interface Group {
  index: number;
  /** Stable id: a scope's path with a trailing "/", a repeat's first member's id with "×N". */
  id: string;
  parent: number;
  depth: number;
  /** The scope's last segment ("Linear[fc1]"), or a repeat's members' shared name. */
  segment: string;
  label: string;
  moduleClass: string;
  repeat: boolean;
  /** Entities, in the order the graph gave them (ops first seen first). */
  children: number[];
  opCount: number;
  /** Equal keys: the same ops joined by the same edges. */
  structure: string;
  /** Edges between two of its children; edges entering and leaving it. */
  internal: number[];
  entering: number[];
  leaving: number[];
}

export interface Edge {
  src: number;
  /** Which output of src. */
  output: number;
  dst: number;
  /** Which input of dst. */
  input: number;
  control: boolean;
  shape: string;
  dtype: string;
  size: number;
}

export interface Model {
  ops: Op[];
  groups: Group[];
  edges: Edge[];
  byName: Map<string, number>;
  byGroupId: Map<string, number>;
  notes: string[];
  /** Groups (root first) that hold each op: groupChain[op] ends with the op's own group. */
  chains: number[][];
  hasCompute: boolean;
  hasMemory: boolean;
  /** What the server says of each scope (its module, parameters), by the scope's name. */
  scopes: Map<string, ApiScope>;
  /** "op", "keras" (layers, named by the model), ... */
  kind: string;
}

/** Whether an op is drawn (not folded into the op that uses it). */
export function drawn(op: Op): boolean {
  return op.foldedInto < 0;
}

/** A new, empty group under ``parent`` (-1: the root), named by its scope's last segment. */
export function newGroup(model: Model, id: string, parent: number, segment: string): Group {
  const { label, moduleClass } = segmentLabel(segment);
  const group: Group = {
    index: model.groups.length,
    id,
    parent,
    depth: parent < 0 ? 0 : model.groups[parent].depth + 1,
    segment,
    label,
    moduleClass,
    repeat: false,
    children: [],
    opCount: 0,
    structure: "",
    internal: [],
    entering: [],
    leaving: [],
  };
  model.groups.push(group);
  model.byGroupId.set(id, group.index);
  return group;
}

/** "Linear[fc1]" (torch's scope of a module) -> fc1, Linear; "Conv2d[0]" -> itself, Conv2d; "dense_1" -> itself. */
export function segmentLabel(segment: string): { label: string; moduleClass: string } {
  const match = /^([^[\]]+)\[(.+)\]$/.exec(segment);
  if (!match) return { label: segment, moduleClass: "" };
  // A Sequential's "0" says less than "Conv2d[0]".
  return { label: /^\d+$/.test(match[2]) ? segment : match[2], moduleClass: match[1] };
}

/** The child of ``group`` that holds op ``op``, or -1. */
export function childHolding(model: Model, chain: number[], group: Group, op: number): number {
  if (group.depth + 1 < chain.length) return model.ops.length + chain[group.depth + 1];
  return chain[group.depth] === group.index ? op : -1;
}

/** The groups (root first) that hold an op, by their parents. */
export function chainOf(model: Model, op: Op): number[] {
  const chain: number[] = [];
  for (let g = op.group; g >= 0; g = model.groups[g].parent) chain.push(g);
  return chain.reverse();
}

/** The child of ``group`` that holds op ``op`` (the op itself if it is one), or -1 if none does. */
export function childOf(model: Model, group: Group, op: number): number {
  const chain = model.chains[op];
  if (chain.length === 0 || chain[group.depth] !== group.index) return -1;
  return childHolding(model, chain, group, op);
}

/** Whether a search's regex finds an op, by its name or its op type. */
export function matches(regex: RegExp, op: Op): boolean {
  return regex.test(op.name) || regex.test(op.op);
}
