// Structure and repeats: a group's structure (the ops it holds and the edges
// between them, nested structures included), and sibling groups of equal
// structure that feed one another in a chain folded into one group, drawn
// as "×N" until it is opened.

import { chainOf, childHolding, drawn, newGroup, type Group, type Model } from "./graphModel";

function hashText(text: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return (h1 >>> 0).toString(36) + (h2 >>> 0).toString(36);
}

/** A group's structure: its children's (op types, nested structures) and the edges between them. */
export function computeStructure(model: Model): void {
  const offset = model.ops.length;
  const chains = model.ops.map((op) => (drawn(op) ? chainOf(model, op) : []));
  const key = (entity: number): string => (entity < offset ? model.ops[entity].op : model.groups[entity - offset].structure);
  // Per group, the edges between two of its children, as (source op, target op) pairs.
  const inner = new Map<number, number[]>();
  for (const e of model.edges) {
    if (!drawn(model.ops[e.src]) || !drawn(model.ops[e.dst])) continue;
    const ca = chains[e.src];
    const cb = chains[e.dst];
    let depth = 0;
    while (depth + 1 < ca.length && depth + 1 < cb.length && ca[depth + 1] === cb[depth + 1]) depth++;
    let list = inner.get(ca[depth]);
    if (!list) inner.set(ca[depth], (list = []));
    list.push(e.src, e.dst);
  }
  // Deepest groups first, so a group's nested structures are known.
  const order = [...model.groups].sort((x, y) => y.depth - x.depth);
  for (const group of order) {
    if (group.children.length === 0) continue;
    const pairs = inner.get(group.index) ?? [];
    const edges: string[] = [];
    for (let i = 0; i < pairs.length; i += 2) {
      const [s, d] = [pairs[i], pairs[i + 1]];
      edges.push(`${key(childHolding(model, chains[s], group, s))}>${key(childHolding(model, chains[d], group, d))}`);
    }
    const parts = group.children.map(key).sort();
    group.structure = hashText(parts.join("|") + "#" + edges.sort().join("|"));
    group.opCount = group.children.reduce((n, c) => n + (c < offset ? 1 : model.groups[c - offset].opCount), 0);
  }
  model.chains = chains;
}

/**
 * Sibling groups of equal structure that feed one another in a chain
 * (layers.0 -> layers.1 -> ... of a transformer, the blocks of a ResNet stage)
 * become the members of one group, drawn as "×N" until it is opened.
 */
export function foldRepeats(model: Model): void {
  const offset = model.ops.length;
  const parentCount = model.groups.length;
  for (let g = 0; g < parentCount; g++) {
    const parent = model.groups[g];
    const siblings = parent.children.filter((c) => c >= offset && model.groups[c - offset].opCount > 0);
    const byStructure = new Map<string, number[]>();
    for (const c of siblings) {
      const s = model.groups[c - offset].structure;
      byStructure.set(s, [...(byStructure.get(s) ?? []), c]);
    }
    for (const members of byStructure.values()) {
      if (members.length < 2) continue;
      for (const run of chainsAmong(model, parent, members)) addRepeat(model, parent, run);
    }
  }
}

/** The runs (2 or more) of ``members`` in which each feeds the next and nothing else of the set. */
function chainsAmong(model: Model, parent: Group, members: number[]): number[][] {
  const offset = model.ops.length;
  const set = new Set(members);
  const next = new Map<number, Set<number>>();
  const previous = new Map<number, Set<number>>();
  for (const e of model.edges) {
    const ca = model.chains[e.src];
    const cb = model.chains[e.dst];
    if (ca.length <= parent.depth + 1 || cb.length <= parent.depth + 1) continue;
    if (ca[parent.depth] !== parent.index || cb[parent.depth] !== parent.index) continue;
    const a = offset + ca[parent.depth + 1];
    const b = offset + cb[parent.depth + 1];
    if (a === b || !set.has(a) || !set.has(b)) continue;
    if (!next.has(a)) next.set(a, new Set());
    if (!previous.has(b)) previous.set(b, new Set());
    next.get(a)!.add(b);
    previous.get(b)!.add(a);
  }
  const link = (a: number): number => {
    const out = next.get(a);
    if (!out || out.size !== 1) return -1;
    const b = [...out][0];
    return previous.get(b)!.size === 1 ? b : -1;
  };
  const linkedTo = new Set<number>();
  for (const a of members) {
    const b = link(a);
    if (b >= 0) linkedTo.add(b);
  }
  const runs: number[][] = [];
  for (const head of members) {
    if (linkedTo.has(head)) continue;
    const run = [head];
    const seen = new Set(run);
    for (let b = link(head); b >= 0 && !seen.has(b); b = link(b)) {
      run.push(b);
      seen.add(b);
    }
    if (run.length >= 2) runs.push(run);
  }
  return runs;
}

function addRepeat(model: Model, parent: Group, run: number[]): void {
  const offset = model.ops.length;
  const members = run.map((c) => model.groups[c - offset]);
  const first = members[0];
  const repeat = newGroup(model, `${first.id}×${members.length}`, parent.index, first.segment);
  repeat.repeat = true;
  repeat.moduleClass = first.moduleClass;
  repeat.label = repeatLabel(members);
  repeat.structure = first.structure;
  repeat.opCount = members.reduce((n, m) => n + m.opCount, 0);
  repeat.children = run;
  const at = Math.min(...run.map((c) => parent.children.indexOf(c)));
  parent.children = parent.children.filter((c) => !run.includes(c));
  parent.children.splice(at, 0, offset + repeat.index);
  for (const member of members) member.parent = repeat.index;
}

/** What a repeat is called: its members' class, or their name with the number left out. */
function repeatLabel(members: Group[]): string {
  const count = members.length;
  if (members[0].moduleClass && members.every((m) => m.moduleClass === members[0].moduleClass)) {
    return `${members[0].moduleClass} ×${count}`;
  }
  return `${members[0].segment.replace(/\d+/g, "#")} ×${count}`;
}
