// The view's whole state, kept in the URL's fragment so that a link
// reproduces what its sender saw: tab, filters, chart settings, which runs
// are checked, which groups are closed, the cards' size and the pinned cards.

export type XAxis = "step" | "relative" | "wall";
export type TooltipSort = "value" | "run";
/** The cards' width (and a chart's height): as many columns as fit at that width. */
export type CardSize = "small" | "medium" | "large";
/** How runs are grouped (each group drawn as its mean with a band): not, by a regex on the name, by an hparam. */
export type GroupRule = "none" | "regex" | "hparam";
export type GroupBand = "minmax" | "std";

export interface ViewState {
  tab: string;
  runFilter: string;
  tagFilter: string;
  smoothing: number;
  xAxis: XAxis;
  logY: boolean;
  ignoreOutliers: boolean;
  tooltipSort: TooltipSort;
  /** "hide": the named runs are unchecked; "show": only the named runs are checked. */
  selectionMode: "hide" | "show";
  selectionNames: Set<string>;
  collapsed: Set<string>;
  cardSize: CardSize;
  /** The pinned cards, in pin order, each "<tab>:<the card's key in its view>". */
  pinned: Set<string>;
  /** Run groups: the rule, its regex and hparam, the band, and the groups opened to show their runs. */
  groupRule: GroupRule;
  groupRegex: string;
  groupHparam: string;
  groupBand: GroupBand;
  groupsOpen: Set<string>;
}

export type Key = keyof ViewState;

const DEFAULTS: ViewState = {
  tab: "scalars",
  runFilter: "",
  tagFilter: "",
  smoothing: 0.6,
  xAxis: "step",
  logY: false,
  ignoreOutliers: false,
  tooltipSort: "value",
  selectionMode: "hide",
  selectionNames: new Set(),
  collapsed: new Set(),
  cardSize: "medium",
  pinned: new Set(),
  groupRule: "none",
  groupRegex: "",
  groupHparam: "",
  groupBand: "minmax",
  groupsOpen: new Set(),
};

function parse(hash: string): ViewState {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  const state: ViewState = {
    ...DEFAULTS,
    selectionNames: new Set(),
    collapsed: new Set(q.getAll("closed")),
  };
  state.tab = q.get("tab") || DEFAULTS.tab;
  state.runFilter = q.get("runs") ?? "";
  state.tagFilter = q.get("tags") ?? "";
  const smoothing = Number(q.get("smoothing"));
  if (q.has("smoothing") && Number.isFinite(smoothing)) {
    state.smoothing = Math.min(0.999, Math.max(0, smoothing));
  }
  const x = q.get("x");
  if (x === "step" || x === "relative" || x === "wall") state.xAxis = x;
  state.logY = q.get("log") === "1";
  state.ignoreOutliers = q.get("outliers") === "ignore";
  state.tooltipSort = q.get("sort") === "run" ? "run" : "value";
  const size = q.get("size");
  if (size === "small" || size === "large") state.cardSize = size;
  state.pinned = new Set(q.getAll("pinned").filter((p) => p.includes(":")));
  if (q.has("show")) {
    state.selectionMode = "show";
    state.selectionNames = new Set(q.getAll("show").filter((n) => n !== ""));
  } else {
    state.selectionNames = new Set(q.getAll("hide"));
  }
  const rule = q.get("group");
  if (rule === "regex" || rule === "hparam") state.groupRule = rule;
  state.groupRegex = q.get("group_re") ?? "";
  state.groupHparam = q.get("group_hp") ?? "";
  state.groupBand = q.get("band") === "std" ? "std" : "minmax";
  state.groupsOpen = new Set(q.getAll("open"));
  return state;
}

function serialize(state: ViewState): string {
  const q = new URLSearchParams();
  q.set("tab", state.tab);
  if (state.runFilter) q.set("runs", state.runFilter);
  if (state.tagFilter) q.set("tags", state.tagFilter);
  if (state.smoothing !== DEFAULTS.smoothing) q.set("smoothing", String(state.smoothing));
  if (state.xAxis !== "step") q.set("x", state.xAxis);
  if (state.logY) q.set("log", "1");
  if (state.ignoreOutliers) q.set("outliers", "ignore");
  if (state.tooltipSort !== "value") q.set("sort", state.tooltipSort);
  if (state.selectionMode === "show") {
    if (state.selectionNames.size === 0) q.append("show", "");
    for (const name of state.selectionNames) q.append("show", name);
  } else {
    for (const name of state.selectionNames) q.append("hide", name);
  }
  for (const name of state.collapsed) q.append("closed", name);
  if (state.cardSize !== "medium") q.set("size", state.cardSize);
  for (const name of state.pinned) q.append("pinned", name);
  if (state.groupRule !== "none") q.set("group", state.groupRule);
  if (state.groupRegex) q.set("group_re", state.groupRegex);
  if (state.groupHparam) q.set("group_hp", state.groupHparam);
  if (state.groupBand !== "minmax") q.set("band", state.groupBand);
  for (const name of state.groupsOpen) q.append("open", name);
  return "#" + q.toString();
}

type Listener = (changed: Set<Key>) => void;

export class Store {
  state: ViewState;
  private listeners: Listener[] = [];
  private writeTimer = 0;

  constructor() {
    this.state = parse(location.hash);
    window.addEventListener("hashchange", () => {
      if (ownKeys(location.hash) === serialize(this.state)) return;
      const next = parse(location.hash);
      const changed = new Set<Key>();
      for (const key of Object.keys(next) as Key[]) {
        if (JSON.stringify([...toIterable(next[key])]) !== JSON.stringify([...toIterable(this.state[key])])) {
          changed.add(key);
        }
      }
      this.state = next;
      this.emit(changed);
    });
  }

  subscribe(listener: Listener): void {
    this.listeners.push(listener);
  }

  set<K extends Key>(key: K, value: ViewState[K]): void {
    this.state = { ...this.state, [key]: value };
    this.emit(new Set([key]));
  }

  /** Whether a run's box is checked. */
  checked(run: string): boolean {
    const named = this.state.selectionNames.has(run);
    return this.state.selectionMode === "hide" ? !named : named;
  }

  /** Checks or unchecks runs, then keeps whichever form of the selection is shorter. */
  setChecked(runs: Iterable<string>, checked: boolean, allRuns: string[]): void {
    const isChecked = new Set(allRuns.filter((r) => this.checked(r)));
    for (const run of runs) {
      if (checked) isChecked.add(run);
      else isChecked.delete(run);
    }
    const unchecked = allRuns.filter((r) => !isChecked.has(r));
    if (unchecked.length <= isChecked.size) {
      this.state = { ...this.state, selectionMode: "hide", selectionNames: new Set(unchecked) };
    } else {
      this.state = { ...this.state, selectionMode: "show", selectionNames: isChecked };
    }
    this.emit(new Set<Key>(["selectionNames"]));
  }

  private emit(changed: Set<Key>): void {
    for (const listener of this.listeners) listener(changed);
    window.clearTimeout(this.writeTimer);
    this.writeTimer = window.setTimeout(() => {
      const hash = withViewKeys(serialize(this.state), location.hash);
      if (hash !== location.hash) history.replaceState(null, "", hash);
    }, 150);
  }
}

/** A view's own keys in the URL are namespaced (``g.node`` for the graphs view): not the store's. */
function isViewKey(key: string): boolean {
  return key.includes(".");
}

/** ``hash`` without the views' own keys. */
function ownKeys(hash: string): string {
  const q = new URLSearchParams(hash.replace(/^#/, ""));
  for (const key of [...q.keys()]) if (isViewKey(key)) q.delete(key);
  return "#" + q.toString();
}

/** The store's ``serialized`` state with the views' own keys of ``current`` kept after it. */
function withViewKeys(serialized: string, current: string): string {
  const q = new URLSearchParams(serialized.replace(/^#/, ""));
  for (const [key, value] of new URLSearchParams(current.replace(/^#/, ""))) {
    if (isViewKey(key)) q.append(key, value);
  }
  return "#" + q.toString();
}

function toIterable(value: unknown): Iterable<unknown> {
  return value instanceof Set ? value : [value];
}

/** A case-insensitive regex from what the user typed, or null (with the reason) if it is invalid. */
export function compileFilter(text: string): { regex: RegExp | null; error: string | null } {
  if (!text) return { regex: null, error: null };
  try {
    return { regex: new RegExp(text, "i"), error: null };
  } catch (error) {
    return { regex: null, error: (error as Error).message };
  }
}
