// The graphs view's part of the URL fragment: the graph shown, the selected
// node and the groups opened or closed (as changes from what the graph opens
// by itself, which keeps a link short). The rest of the fragment is the
// page's (state.ts), which keeps these namespaced keys when it writes its own.

import type { Store } from "../../state";

const KEYS = ["g.run", "g.tag", "g.node", "g.open", "g.shut", "g.color"] as const;

export interface GraphUrl {
  run: string;
  tag: string;
  node: string;
  open: string[];
  shut: string[];
  color: string;
}

export function readGraphUrl(): GraphUrl {
  const q = new URLSearchParams(location.hash.replace(/^#/, ""));
  return {
    run: q.get("g.run") ?? "",
    tag: q.get("g.tag") ?? "",
    node: q.get("g.node") ?? "",
    open: q.getAll("g.open"),
    shut: q.getAll("g.shut"),
    color: q.get("g.color") ?? "",
  };
}

export class GraphHash {
  private current: GraphUrl | null = null;

  constructor(
    private store: Store,
    private tab: string,
  ) {}

  write(state: GraphUrl): void {
    this.current = state;
    this.apply();
  }

  private apply(): void {
    const state = this.current;
    if (!state || this.store.state.tab !== this.tab) return;
    const q = new URLSearchParams(location.hash.replace(/^#/, ""));
    for (const key of KEYS) q.delete(key);
    if (state.run) q.set("g.run", state.run);
    if (state.tag) q.set("g.tag", state.tag);
    if (state.node) q.set("g.node", state.node);
    for (const id of state.open) q.append("g.open", id);
    for (const id of state.shut) q.append("g.shut", id);
    if (state.color && state.color !== "op") q.set("g.color", state.color);
    const hash = "#" + q.toString();
    if (hash !== location.hash) history.replaceState(null, "", hash);
  }
}
