// Run groups as data: which runs form a group under the rule the person
// chose (a regex capture on the run's name, or the value of a
// hyperparameter), each group's colour, and what a chart needs of them. The
// server computes each group's mean and band (POST
// api/plugins/scalars/groups); the page only decides the members.

import { runColor } from "./colors";
import type { GroupBand } from "./state";

/** A group: its name, its member runs (in natural order) and the run whose colour it takes. */
export interface RunGroup {
  name: string;
  runs: string[];
  /** Its first member: a group has that run's colour (the run is hidden while the group is closed). */
  colorKey: string;
}

/** What the charts draw of the groups: the groups, the band, and the groups opened to show their members. */
export interface Grouping {
  groups: RunGroup[];
  band: GroupBand;
  open: ReadonlySet<string>;
  /** The group of each grouped run. */
  groupOf: ReadonlyMap<string, string>;
  /** Changes exactly when any of the above does (a chart fetches again). */
  key: string;
}

/** One session of GET api/plugins/hparams/sessions (what grouping needs of it). */
export interface Session {
  run: string;
  hparams: Record<string, unknown>;
}

const collator = new Intl.Collator("en", { numeric: true });

export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b);
}

/** A grouping regex (case-sensitive: it names groups), or why it does not compile. */
export function compileGroupRegex(text: string): { regex: RegExp | null; error: string | null } {
  if (!text) return { regex: null, error: null };
  try {
    return { regex: new RegExp(text), error: null };
  } catch (error) {
    return { regex: null, error: (error as Error).message };
  }
}

/**
 * The group key of each run the regex matches: what it captures (several
 * captures joined by ", "), or the whole match when it captures nothing.
 * The server's groups_by_regex does the same.
 */
export function regexKeys(runs: string[], regex: RegExp): Map<string, string> {
  const keys = new Map<string, string>();
  for (const run of runs) {
    const match = regex.exec(run);
    if (!match) continue;
    keys.set(run, match.length > 1 ? match.slice(1).map((c) => c ?? "").join(", ") : match[0]);
  }
  return keys;
}

/**
 * The group key of each run with that hyperparameter, "<name>=<value>". A
 * run's hyperparameters are its own or, when it has none (torch's
 * add_hparams writes a sub-run), those of its only sub-run that has some.
 */
export function hparamKeys(runs: string[], sessions: Session[], name: string): Map<string, string> {
  const byRun = new Map(sessions.map((s) => [s.run, s.hparams]));
  const keys = new Map<string, string>();
  for (const run of runs) {
    let values = byRun.get(run);
    if (!values) {
      const inside = sessions.filter((s) => s.run.startsWith(run + "/"));
      values = inside.length === 1 ? inside[0].hparams : undefined;
    }
    if (values && Object.hasOwn(values, name)) keys.set(run, `${name}=${hparamText(values[name])}`);
  }
  return keys;
}

/** The hyperparameter names of the sessions, in natural order. */
export function hparamNames(sessions: Session[]): string[] {
  const names = new Set<string>();
  for (const s of sessions) for (const name of Object.keys(s.hparams)) names.add(name);
  return [...names].sort(naturalCompare);
}

function hparamText(value: unknown): string {
  if (typeof value === "number") {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  }
  if (value === null || value === undefined) return "null";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Groups from run keys, by name in natural order, members too. */
export function groupsOf(keys: ReadonlyMap<string, string>): RunGroup[] {
  const members = new Map<string, string[]>();
  for (const [run, key] of keys) {
    const list = members.get(key);
    if (list) list.push(run);
    else members.set(key, [run]);
  }
  return [...members.entries()]
    .sort((a, b) => naturalCompare(a[0], b[0]))
    .map(([name, runs]) => {
      runs.sort(naturalCompare);
      return { name, runs, colorKey: runs[0] };
    });
}

/** The grouping the charts draw (null when no group). */
export function makeGrouping(groups: RunGroup[], band: GroupBand, open: ReadonlySet<string>): Grouping | null {
  if (groups.length === 0) return null;
  const groupOf = new Map<string, string>();
  for (const g of groups) for (const run of g.runs) groupOf.set(run, g.name);
  const opened = new Set([...open].filter((name) => groups.some((g) => g.name === name)));
  const key = JSON.stringify([groups.map((g) => [g.name, g.runs]), band, [...opened].sort()]);
  return { groups, band, open: opened, groupOf, key };
}

/** A group's colour. */
export function groupColor(group: RunGroup): string {
  return runColor(group.colorKey);
}
