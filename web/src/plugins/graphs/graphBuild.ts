// The model of a graph (graphModel.ts) from the server's answer, pass by
// pass: the ops and edges, the ops that fold into others, the tree of scopes,
// the repeated blocks, and which group each edge belongs to.

import { chainOf, drawn, newGroup, type Model, type Op } from "./graphModel";
import { computeStructure, foldRepeats } from "./graphRepeats";
import { elementCount, shapeText } from "./graphValues";
import type { ApiEdge, ApiGraph, ApiNode } from "./protocol";

const CONSTANT = /(^|::)(Constant|Const)$/;
/** torch's reads of a parameter (prim::GetAttr), and the parameter and buffer nodes stepscope writes. */
const PARAMETER = /(^|::)GetAttr$|^Parameter$|^Buffer$/;
const CONTAINER = /(^|::)(ListConstruct|TupleConstruct)$/;
/** Ops that read a tensor's shape or turn numbers into numbers: the arithmetic of shapes. */
const SHAPE_OP = /^aten::(size|dim|numel|Int|Float|Bool|ScalarImplicit)$|^prim::(NumToTensor|shape)$/;

/** Builds the model of a graph from the server's answer. */
export function buildModel(graph: ApiGraph): Model {
  const model: Model = {
    ops: [],
    groups: [],
    edges: [],
    byName: new Map(),
    byGroupId: new Map(),
    notes: (graph.notes ?? []).map((n) => (typeof n === "string" ? n : n.message)),
    chains: [],
    hasCompute: false,
    hasMemory: false,
    scopes: new Map((graph.scopes ?? []).map((scope) => [scope.name, scope])),
    kind: graph.kind ?? "op",
  };
  // The server's notes already say what is wrong (dangling inputs, cycles); else the model says it.
  const noted = graph.notes !== undefined;
  for (const node of graph.nodes) addOp(model, node, false);
  readEdges(model, graph);
  foldAuxiliary(model, noted);
  buildScopes(model);
  flattenSingleOpGroups(model);
  computeStructure(model);
  foldRepeats(model);
  finishTree(model);
  if (!noted) checkCycles(model);
  model.hasCompute = model.ops.some((op) => typeof op.api.stats?.compute_micros === "number");
  model.hasMemory = model.ops.some((op) => typeof op.api.stats?.memory_bytes === "number");
  return model;
}

// -- ops and edges -------------------------------------------------------------------

function addOp(model: Model, node: ApiNode, missing: boolean): number {
  const existing = model.byName.get(node.name);
  if (existing !== undefined) return existing;
  const outputs = node.outputs ?? [];
  const shapes = outputs.map((o) => shapeText(o.shape));
  const sizes = outputs.map((o) => elementCount(o.shape));
  const dtypes = outputs.map((o) => o.dtype ?? "");
  const op: Op = { index: model.ops.length, name: node.name, op: node.op, api: node, group: 0, missing, foldedInto: -1, shapes, dtypes, sizes, title: "" };
  model.ops.push(op);
  model.byName.set(node.name, op.index);
  return op.index;
}

/** "name:1" -> ["name", 1]; "^name" (a control input) -> ["name", -1]. */
export function parseInput(input: string): [string, number] {
  if (input.startsWith("^")) return [input.slice(1), -1];
  const colon = input.lastIndexOf(":");
  if (colon > 0 && /^\d+$/.test(input.slice(colon + 1))) return [input.slice(0, colon), Number(input.slice(colon + 1))];
  return [input, 0];
}

function readEdges(model: Model, graph: ApiGraph): void {
  const source = (name: string): number => model.byName.get(name) ?? addOp(model, { name, op: "(missing)" }, true);
  const given: ApiEdge[] | undefined = graph.edges;
  if (given) {
    for (const e of given) {
      const dst = model.byName.get(e.to);
      if (dst === undefined) continue;
      const src = source(e.from);
      addEdge(model, src, e.from_output ?? 0, dst, e.to_input ?? 0, e.control === true, e.shape ?? null, e.dtype ?? null);
    }
  } else {
    const count = model.ops.length;
    for (let dst = 0; dst < count; dst++) {
      (model.ops[dst].api.inputs ?? []).forEach((input, slot) => {
        const [name, output] = parseInput(input);
        addEdge(model, source(name), Math.max(output, 0), dst, slot, output < 0, null, null);
      });
    }
  }
}

function addEdge(
  model: Model,
  src: number,
  output: number,
  dst: number,
  input: number,
  control: boolean,
  shape: number[] | null,
  dtype: string | null,
): void {
  const from = model.ops[src];
  const shapeTextGiven = shape ? shapeText(shape) : (from.shapes[output] ?? "");
  const size = shape ? elementCount(shape) : (from.sizes[output] ?? 0);
  model.edges.push({
    src,
    output,
    dst,
    input,
    control,
    shape: control ? "" : shapeTextGiven,
    dtype: dtype ?? from.dtypes[output] ?? "",
    size: control ? 0 : size,
  });
}

/**
 * Constants, parameter reads, the arithmetic of shapes (aten::size ->
 * prim::NumToTensor -> aten::Int, as torch traces a reshape) and lists made of
 * them only (a convolution's strides) are not drawn: each folds
 * into the first drawn op that uses it, whose panel lists it as an input. A
 * missing node read only by folded ones (torch's graphs name the module a
 * parameter is read from, never written) is dropped from the drawing too.
 */
function foldAuxiliary(model: Model, noted: boolean): void {
  const consumers: number[][] = model.ops.map(() => []);
  const producers: number[][] = model.ops.map(() => []);
  for (const e of model.edges) {
    consumers[e.src].push(e.dst);
    producers[e.dst].push(e.src);
  }
  const memo = new Int8Array(model.ops.length); // 0 unknown, 1 auxiliary, -1 drawn, 2 being decided
  const auxiliary = (i: number): boolean => {
    if (memo[i] === 1 || memo[i] === 2) return memo[i] === 1;
    if (memo[i] === -1) return false;
    memo[i] = 2; // a cycle through it: not auxiliary
    const op = model.ops[i];
    const from = producers[i];
    const scalar = op.shapes.every((shape) => shape === "" || shape === "scalar");
    const found =
      (CONSTANT.test(op.op) && from.length === 0) ||
      (PARAMETER.test(op.op) && from.every((p) => model.ops[p].missing || PARAMETER.test(model.ops[p].op))) ||
      SHAPE_OP.test(op.op) ||
      (from.length > 0 && (CONTAINER.test(op.op) || scalar) && from.every(auxiliary)) ||
      (op.missing && consumers[i].length > 0 && consumers[i].every((c) => PARAMETER.test(model.ops[c].op)));
    memo[i] = found ? 1 : -1;
    return found;
  };
  const user = (i: number, seen: Set<number>): number => {
    for (const c of consumers[i]) {
      if (seen.has(c)) continue;
      seen.add(c);
      const found = auxiliary(c) ? user(c, seen) : c;
      if (found >= 0) return found;
    }
    return -1;
  };
  for (const op of model.ops) if (auxiliary(op.index)) op.foldedInto = user(op.index, new Set([op.index]));
  const missing = model.ops.filter((op) => op.missing && op.foldedInto < 0);
  if (missing.length > 0 && !noted) {
    const names = missing.slice(0, 3).map((op) => op.name);
    const more = missing.length > 3 ? ` and ${missing.length - 3} more` : "";
    model.notes.push(
      `${missing.length} input${missing.length === 1 ? " names a node" : "s name nodes"} not in the graph (${names.join(", ")}${more}): drawn dashed.`,
    );
  }
}

// -- the scope tree ----------------------------------------------------------------

function scopeOf(op: Op): string[] {
  const scope = op.api.scope;
  if (typeof scope === "string") return scope === "" ? [] : scope.split("/");
  const parts = op.name.split("/");
  parts.pop();
  return parts.filter((p) => p !== "");
}

function buildScopes(model: Model): void {
  const root = newGroup(model, "", -1, "");
  const offset = model.ops.length; // entities: groups come after every op
  for (const op of model.ops) {
    if (!drawn(op)) continue;
    let group = root;
    let path = "";
    for (const segment of scopeOf(op)) {
      path += segment + "/";
      const found = model.byGroupId.get(path);
      if (found !== undefined) {
        group = model.groups[found];
        continue;
      }
      const child = newGroup(model, path, group.index, segment);
      group.children.push(offset + child.index);
      group = child;
    }
    op.group = group.index;
    group.children.push(op.index);
  }
}

/** A group holding one op and nothing else is drawn as that op. */
function flattenSingleOpGroups(model: Model): void {
  const offset = model.ops.length;
  for (let g = model.groups.length - 1; g > 0; g--) {
    const group = model.groups[g];
    if (group.children.length !== 1 || group.children[0] >= offset) continue;
    const op = model.ops[group.children[0]];
    const parent = model.groups[group.parent];
    parent.children[parent.children.indexOf(offset + g)] = op.index;
    op.group = parent.index;
    op.title ||= group.label;
    group.children = [];
  }
}

/** Depths, chains and the edges' groups, once the tree has its final shape. */
function finishTree(model: Model): void {
  const offset = model.ops.length;
  const visit = (g: number, depth: number): void => {
    const group = model.groups[g];
    group.depth = depth;
    for (const c of group.children) if (c >= offset) visit(c - offset, depth + 1);
  };
  visit(0, 0);
  model.chains = model.ops.map((op) => (drawn(op) ? chainOf(model, op) : []));
  model.edges.forEach((e, index) => {
    const a = model.ops[e.src];
    const b = model.ops[e.dst];
    if (!drawn(a) || !drawn(b) || e.src === e.dst) return;
    const ca = model.chains[e.src];
    const cb = model.chains[e.dst];
    let depth = 0;
    while (depth + 1 < ca.length && depth + 1 < cb.length && ca[depth + 1] === cb[depth + 1]) depth++;
    model.groups[ca[depth]].internal.push(index);
    for (let d = depth + 1; d < ca.length; d++) model.groups[ca[d]].leaving.push(index);
    for (let d = depth + 1; d < cb.length; d++) model.groups[cb[d]].entering.push(index);
  });
}

/** A cycle does not stop the drawing (the layout breaks it); it is said in a note. */
function checkCycles(model: Model): void {
  const out: number[][] = model.ops.map(() => []);
  for (const e of model.edges) if (!e.control && drawn(model.ops[e.src]) && drawn(model.ops[e.dst])) out[e.src].push(e.dst);
  const state = new Uint8Array(model.ops.length); // 0 new, 1 on the stack, 2 done
  for (let start = 0; start < model.ops.length; start++) {
    if (state[start] !== 0) continue;
    const stack: [number, number][] = [[start, 0]];
    state[start] = 1;
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [node, next] = top;
      if (next >= out[node].length) {
        state[node] = 2;
        stack.pop();
        continue;
      }
      top[1]++;
      const to = out[node][next];
      if (state[to] === 1) {
        model.notes.push(`The graph has a cycle (through ${model.ops[to].name}): it is drawn with one edge turned back.`);
        return;
      }
      if (state[to] === 0) {
        state[to] = 1;
        stack.push([to, 0]);
      }
    }
  }
}
