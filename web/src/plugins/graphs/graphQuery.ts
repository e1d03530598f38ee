// What the page asks of a graph besides its picture: the groups opened at
// first, a search by name or op, and everything the node panel shows.

import { drawn, matches, type Group, type Model } from "./graphModel";
import { attrList, elementCount, shapeText } from "./graphValues";
import type { ApiNode, Detail, GraphSummary, SearchAnswer } from "./protocol";

/** About as many boxes as a person takes in at a glance. */
const FIRST_VIEW_ITEMS = 50;
const FIRST_VIEW_DEPTH = 6;

/**
 * The groups opened when a graph is first shown: level by level from the
 * top, a whole level at a time while the boxes shown stay under
 * FIRST_VIEW_ITEMS. Repeated blocks stay closed ("×12"), and so does
 * anything under them.
 */
export function defaultOpen(model: Model): Group[] {
  const offset = model.ops.length;
  const opened: Group[] = [];
  let shown = visibleChildren(model, model.groups[0]);
  let level = [model.groups[0]];
  for (let depth = 1; depth <= FIRST_VIEW_DEPTH; depth++) {
    const candidates = level.flatMap((g) =>
      g.children.filter((c) => c >= offset).map((c) => model.groups[c - offset]).filter((c) => !c.repeat && c.children.length > 0),
    );
    if (candidates.length === 0) break;
    const more = candidates.reduce((n, g) => n + visibleChildren(model, g) - 1, 0);
    if (shown + more > FIRST_VIEW_ITEMS) break;
    shown += more;
    opened.push(...candidates);
    level = candidates;
  }
  return opened;
}

function visibleChildren(model: Model, group: Group): number {
  return group.children.filter((c) => c >= model.ops.length || drawn(model.ops[c])).length;
}

export function summary(model: Model, timings: GraphSummary["timings"]): GraphSummary {
  return {
    timings,
    groups: model.groups.filter((g) => g.index > 0 && g.children.length > 0).map((g) => g.id),
    nodeCount: model.ops.filter((op) => !op.missing).length,
    edgeCount: model.edges.length,
    groupCount: model.groups.filter((g) => g.index > 0 && !g.repeat && g.children.length > 0).length,
    repeatCount: model.groups.filter((g) => g.repeat).length,
    notes: model.notes,
    hasCompute: model.hasCompute,
    hasMemory: model.hasMemory,
    defaultOpen: defaultOpen(model).map((g) => g.id),
  };
}

/** A case-insensitive regex, or the reason it is not one. */
export function compilePattern(pattern: string): { regex: RegExp | null; error: string | null } {
  if (pattern === "") return { regex: null, error: null };
  try {
    return { regex: new RegExp(pattern, "i"), error: null };
  } catch (error) {
    return { regex: null, error: (error as Error).message };
  }
}

/** The groups leading to an op (outermost first), through the op it folds into. */
export function pathTo(model: Model, op: number): string[] {
  const folded = model.ops[op].foldedInto;
  const chain = model.chains[folded >= 0 ? folded : op];
  return chain.slice(1).map((g) => model.groups[g].id);
}

export function search(model: Model, pattern: string, limit: number): SearchAnswer {
  const { regex, error } = compilePattern(pattern);
  if (!regex) return { count: 0, hits: [], error };
  // The ops drawn first, then those folded into them (constants, parameter reads), each in graph order.
  const found = model.ops.filter((op) => !op.missing && matches(regex, op));
  const ordered = [...found.filter(drawn), ...found.filter((op) => !drawn(op))];
  const hits = ordered.slice(0, limit).map((op) => ({ name: op.name, op: op.op, path: pathTo(model, op.index) }));
  return { count: found.length, hits, error: null };
}

/** What the panel shows of the op or group with this name (a group's id). */
export function detail(model: Model, name: string): Detail | null {
  const op = model.byName.get(name);
  if (op !== undefined) return opDetail(model, op);
  const group = model.byGroupId.get(name);
  return group === undefined || group === 0 ? null : groupDetail(model, model.groups[group]);
}

function empty(id: string): Detail {
  return {
    id,
    kind: "op",
    name: id,
    op: "",
    path: [],
    parentLabel: "",
    device: "",
    attrs: [],
    inputs: [],
    outputs: [],
    moduleClass: "",
    modulePath: "",
    params: [],
    paramCount: 0,
    computeTime: null,
    memory: null,
    opCount: 0,
    childCount: 0,
    ops: [],
    members: [],
  };
}

function opDetail(model: Model, index: number): Detail {
  const op = model.ops[index];
  const api = op.api;
  const found = empty(op.name);
  found.kind = op.missing ? "missing" : "op";
  found.op = op.op;
  found.path = pathTo(model, index);
  found.parentLabel = groupName(model, model.ops[op.foldedInto >= 0 ? op.foldedInto : index].group);
  found.device = api.device ?? "";
  found.attrs = attrList(api);
  const consumers: string[][] = [];
  for (const e of model.edges) {
    if (e.dst === index) {
      const from = model.ops[e.src];
      found.inputs.push({ name: from.name, op: from.op, shape: e.control ? "control" : e.shape, dtype: e.dtype });
    }
    if (e.src === index) (consumers[e.output] ??= []).push(model.ops[e.dst].name);
  }
  const outputs = Math.max(op.shapes.length, consumers.length);
  for (let i = 0; i < outputs; i++) {
    found.outputs.push({ index: i, shape: op.shapes[i] ?? "", dtype: op.dtypes[i] ?? "", consumers: consumers[i] ?? [] });
  }
  const scope = model.scopes.get(op.name.slice(0, Math.max(op.name.lastIndexOf("/"), 0)));
  found.moduleClass = api.module?.class ?? scope?.module?.class ?? "";
  found.modulePath = api.module?.path ?? scope?.module?.path ?? modulePath(op.name.slice(0, op.name.lastIndexOf("/") + 1));
  // Its parameters: the parameter nodes it reads (folded into it), or itself if it is one.
  const readers = [index, ...model.edges.filter((e) => e.dst === index).map((e) => e.src)];
  for (const i of new Set(readers)) {
    const param = model.ops[i].api.param;
    if (param) found.params.push(paramRow(param));
  }
  found.paramCount = found.params.reduce((n, p) => n + p.count, 0);
  found.computeTime = api.stats?.compute_micros ?? null;
  found.memory = api.stats?.memory_bytes ?? null;
  return found;
}

function groupDetail(model: Model, group: Group): Detail {
  const offset = model.ops.length;
  const found = empty(group.id);
  found.kind = group.repeat ? "repeat" : "group";
  found.name = group.repeat ? group.label : group.id.replace(/\/$/, "");
  found.moduleClass = group.moduleClass;
  found.modulePath = modulePath(group.repeat ? model.groups[group.children[0] - offset].id : group.id);
  const path: string[] = [];
  for (let g = group.parent; g > 0; g = model.groups[g].parent) path.unshift(model.groups[g].id);
  found.path = path;
  found.parentLabel = groupName(model, group.parent);
  found.childCount = group.children.length;
  found.opCount = group.opCount;
  const histogram = new Map<string, number>();
  const params: Detail["params"] = [];
  const visit = (g: Group): void => {
    for (const c of g.children) {
      if (c >= offset) {
        visit(model.groups[c - offset]);
        continue;
      }
      const op = model.ops[c];
      histogram.set(op.op, (histogram.get(op.op) ?? 0) + 1);
    }
  };
  visit(group);
  // Parameters are folded into the ops that read them: the group's are those of its ops' reads.
  const inside = new Set<number>();
  const collect = (g: Group): void => {
    for (const c of g.children) {
      if (c >= offset) collect(model.groups[c - offset]);
      else inside.add(c);
    }
  };
  collect(group);
  for (const op of model.ops) {
    const into = op.foldedInto >= 0 ? op.foldedInto : op.index;
    if (op.api.param && inside.has(into)) params.push(paramRow(op.api.param));
  }
  const scope = model.scopes.get(group.id.replace(/\/$/, ""));
  if (scope?.module?.class) found.moduleClass = scope.module.class;
  if (scope?.module?.path) found.modulePath = scope.module.path;
  found.ops = [...histogram.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  // Named from the group's module: "self_attn.in_proj_weight" rather than "encoder.layers.0.self_attn...".
  const prefix = found.modulePath ? `${found.modulePath}.` : "";
  for (const p of params) if (prefix && p.name.startsWith(prefix)) p.name = p.name.slice(prefix.length);
  found.params = params;
  found.paramCount = scope?.param_count ?? params.reduce((n, p) => n + p.count, 0);
  found.members = group.repeat ? group.children.map((c) => model.groups[c - offset].id) : [];
  return found;
}

/** A group as the panel names it: a scope by its path, a repeat by its label; "" for the whole graph. */
function groupName(model: Model, g: number): string {
  if (g <= 0) return "";
  const group = model.groups[g];
  return group.repeat ? group.label : group.id.replace(/\/$/, "");
}

function paramRow(param: NonNullable<ApiNode["param"]>): Detail["params"][number] {
  return { name: param.name, shape: shapeText(param.shape), count: elementCount(param.shape), dtype: param.dtype ?? "" };
}

/** torch's scope "Net/Sequential[features]/Conv2d[0]/" as the module's path, "features.0" ("" if not torch's form). */
export function modulePath(scope: string): string {
  const parts = scope.split("/").filter((p) => p !== "").slice(1);
  const names = parts.map((p) => /^[^[\]]+\[(.+)\]$/.exec(p)?.[1]);
  return names.length > 0 && names.every((n) => n !== undefined) ? names.join(".") : "";
}
