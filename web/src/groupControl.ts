// The "Group runs" control of the scalars toolbar: the rule (none, a regex on
// the run's name, or a hyperparameter), its regex or hyperparameter, and the
// band (min–max or ±1 std), all kept in the URL; and the list of the groups
// it makes, each a button that opens the group (its member runs are drawn
// beside its mean) or closes it.

import { errorText, getJson } from "./api";
import "./groups.css";
import {
  compileGroupRegex,
  groupColor,
  type Grouping,
  groupsOf,
  hparamKeys,
  hparamNames,
  makeGrouping,
  regexKeys,
  type Session,
} from "./groups";
import { el } from "./runs";
import type { GroupBand, GroupRule, Key, Store } from "./state";

const KEYS: Key[] = ["groupRule", "groupRegex", "groupHparam", "groupBand", "groupsOpen"];

export class RunGroupsControl {
  /** The control, for the toolbar. */
  readonly root: HTMLElement;
  /** The groups made, one button each, for under the toolbar. */
  readonly list: HTMLElement;
  private rule: HTMLSelectElement;
  private regex: HTMLInputElement;
  private hparam: HTMLSelectElement;
  private band: HTMLSelectElement;
  private error: HTMLElement;
  private sessions: Session[] | null = null;
  private sessionsError: string | null = null;
  private sessionsRequest: AbortController | null = null;

  /** ``runs()``: the runs that can be grouped; ``shown()``: those checked; ``onChange``: the grouping changed. */
  constructor(
    private store: Store,
    private runs: () => string[],
    private shown: () => Set<string>,
    private onChange: () => void,
  ) {
    this.root = el("span", "group-control");
    const label = el("label", "");
    label.textContent = "Group runs";
    label.setAttribute("for", "group-rule");
    this.rule = select("group-rule", "How to group runs", [
      ["none", "none"],
      ["regex", "by name (regex)"],
      ["hparam", "by hparam"],
    ]);
    this.rule.addEventListener("change", () => store.set("groupRule", this.rule.value as GroupRule));
    this.regex = document.createElement("input");
    this.regex.type = "search";
    this.regex.className = "filter group-regex";
    this.regex.placeholder = "^(.*)_seed\\d+$";
    this.regex.setAttribute("aria-label", "Group runs by what this regex captures in their names");
    this.regex.addEventListener("input", () => store.set("groupRegex", this.regex.value));
    this.hparam = select("group-hparam", "Group runs by this hyperparameter", []);
    this.hparam.addEventListener("change", () => store.set("groupHparam", this.hparam.value));
    this.band = select("group-band", "The band around each group's mean", [
      ["minmax", "min–max"],
      ["std", "±1 std"],
    ]);
    this.band.addEventListener("change", () => store.set("groupBand", this.band.value as GroupBand));
    this.error = el("span", "filter-error group-error");
    this.root.append(label, this.rule, this.regex, this.hparam, this.band, this.error);
    this.list = el("div", "run-groups");
    this.list.setAttribute("aria-label", "Run groups: open one to draw its runs");
    store.subscribe((changed) => {
      if (KEYS.some((key) => changed.has(key))) this.onChange();
    });
  }

  /** The grouping of the runs now (and the control and list redrawn to say it). */
  grouping(): Grouping | null {
    const state = this.store.state;
    this.rule.value = state.groupRule;
    this.band.value = state.groupBand;
    if (this.regex.value !== state.groupRegex) this.regex.value = state.groupRegex;
    this.regex.hidden = state.groupRule !== "regex";
    this.hparam.hidden = state.groupRule !== "hparam";
    this.band.hidden = state.groupRule === "none";
    const { keys, error } = this.keys();
    this.error.textContent = error ?? "";
    this.regex.classList.toggle("invalid", state.groupRule === "regex" && error !== null);
    const grouping = keys ? makeGrouping(groupsOf(keys), state.groupBand, state.groupsOpen) : null;
    this.showList(grouping);
    return grouping;
  }

  /** The data changed: the hyperparameters are fetched again when grouping by one. */
  invalidate(): void {
    this.sessions = null;
    this.sessionsError = null;
    if (this.store.state.groupRule === "hparam") this.onChange();
  }

  /** Each groupable run's group key under the rule, or why there is none. */
  private keys(): { keys: Map<string, string> | null; error: string | null } {
    const state = this.store.state;
    const runs = [...new Set(this.runs())];
    if (state.groupRule === "regex") {
      const { regex, error } = compileGroupRegex(state.groupRegex);
      if (error) return { keys: null, error: `Not a valid regex: ${error}` };
      return { keys: regex ? regexKeys(runs, regex) : null, error: null };
    }
    if (state.groupRule !== "hparam") return { keys: null, error: null };
    if (this.sessions === null) {
      this.loadSessions();
      return { keys: null, error: null };
    }
    if (this.sessionsError) return { keys: null, error: this.sessionsError };
    const names = hparamNames(this.sessions);
    if ([...this.hparam.options].map((o) => o.value).join("\n") !== names.join("\n")) {
      this.hparam.replaceChildren(...names.map((name) => option(name, name)));
    }
    if (names.length === 0) return { keys: null, error: "No run has hyperparameters." };
    const name = names.includes(state.groupHparam) ? state.groupHparam : names[0];
    this.hparam.value = name;
    return { keys: hparamKeys(runs, this.sessions, name), error: null };
  }

  private loadSessions(): void {
    if (this.sessionsRequest) return;
    const controller = new AbortController();
    this.sessionsRequest = controller;
    getJson<{ sessions: Session[] }>("api/plugins/hparams/sessions", controller.signal)
      .then((found) => {
        this.sessions = found.sessions;
        this.sessionsError = null;
      })
      .catch((error: unknown) => {
        this.sessions = [];
        this.sessionsError = `Hyperparameters: ${errorText(error)}`;
      })
      .finally(() => {
        this.sessionsRequest = null;
        this.onChange();
      });
  }

  private showList(grouping: Grouping | null): void {
    const shown = this.shown();
    const buttons = (grouping?.groups ?? []).flatMap((group) => {
      const members = group.runs.filter((r) => shown.has(r)).length;
      if (members === 0) return [];
      const open = grouping!.open.has(group.name);
      const found = document.createElement("button");
      found.type = "button";
      found.className = "run-group";
      found.dataset.group = group.name;
      found.setAttribute("aria-pressed", String(open));
      found.title = `${open ? "Hide" : "Show"} the runs of this group: ${group.runs.join(", ")}`;
      const swatch = el("span", "swatch");
      swatch.style.background = groupColor(group);
      const name = el("span", "run-group-name");
      name.textContent = group.name; // text, never HTML
      const count = el("span", "run-group-count");
      count.textContent = `${open ? "▾" : "▸"} ${members}`;
      found.append(swatch, name, count);
      found.addEventListener("click", () => this.toggle(group.name));
      return [found];
    });
    this.list.replaceChildren(...buttons);
    this.list.hidden = buttons.length === 0;
  }

  private toggle(name: string): void {
    const open = new Set(this.store.state.groupsOpen);
    if (open.has(name)) open.delete(name);
    else open.add(name);
    this.store.set("groupsOpen", open);
  }
}

function select(id: string, label: string, options: [string, string][]): HTMLSelectElement {
  const box = document.createElement("select");
  box.id = id;
  box.setAttribute("aria-label", label);
  box.append(...options.map(([value, text]) => option(value, text)));
  return box;
}

function option(value: string, text: string): HTMLOptionElement {
  const found = document.createElement("option");
  found.value = value;
  found.textContent = text; // text, never HTML
  return found;
}
