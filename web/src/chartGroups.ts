// A scalar chart's run groups: what it fetches when runs are grouped (each
// group's mean and band from the server, and the lines of the runs in no
// group or in an opened one), the group's three lines (the mean, and the
// band's lower and upper edge, which chartMarks fills between), its rows in
// the tooltip and its part of the downloads.

import { request } from "./api";
import { fetchLines, type ChartQuery, type Density, type Line, type Plotted } from "./chartSeries";
import { formatValue } from "./format";
import type { Grouping, RunGroup } from "./groups";
import type { GroupBand } from "./state";

/** What a group's lines carry besides their values: the group, and per point its member counts. */
export interface GroupLineInfo {
  name: string;
  /** The members drawn in this chart (shown runs that have its tag). */
  runs: string[];
  band: GroupBand;
  /** Per point: the members with a finite value there (within their range). */
  count: Float64Array;
}

/** A group's series as POST api/plugins/scalars/groups answers it (non-finite floats as strings). */
export interface GroupBody {
  name: string;
  runs: string[];
  total: number;
  step: number[];
  wall_time: number[];
  mean: (number | string)[];
  lower: (number | string)[];
  upper: (number | string)[];
  min: (number | string)[];
  max: (number | string)[];
  std: (number | string)[];
  count: number[];
  present: number[];
}

/** How a chart of one tag draws its runs when some are grouped. */
interface Plan {
  tag: string;
  groups: RunGroup[];
  /** The runs drawn as their own lines: in no group, or in an opened one. */
  lineRuns: string[];
}

/** The plan of a chart's query under a grouping, or null when grouping does not apply (or groups nothing in it). */
function planOf(queries: ChartQuery[], chartTag: string, grouping: Grouping | null): Plan | null {
  if (!grouping || queries.length !== 1) return null;
  const [query] = queries;
  if (query.tag !== chartTag || query.role) return null;
  const drawn = new Set(query.runs);
  const groups = grouping.groups
    .map((g) => ({ ...g, runs: g.runs.filter((r) => drawn.has(r)) }))
    .filter((g) => g.runs.length > 0);
  if (groups.length === 0) return null;
  const lineRuns = query.runs.filter((r) => {
    const group = grouping.groupOf.get(r);
    return group === undefined || grouping.open.has(group);
  });
  return { tag: query.tag, groups, lineRuns };
}

/** POST api/plugins/scalars/groups: each group's mean and band (JSON, or the binary columns). */
function postGroups(
  tag: string,
  groups: RunGroup[],
  band: GroupBand,
  density: Partial<Density>,
  format: "json" | "binary",
  signal?: AbortSignal,
): Promise<Response> {
  return request("api/plugins/scalars/groups", {
    method: "POST",
    signal,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ tag, band, format, groups: groups.map((g) => ({ name: g.name, runs: g.runs })), ...density }),
  });
}

/** Each group's series in JSON (exact steps and float64 values), for downloads. */
export async function fetchGroups(tag: string, groups: RunGroup[], band: GroupBand): Promise<GroupBody[]> {
  const response = await postGroups(tag, groups, band, {}, "json");
  return ((await response.json()) as { groups: GroupBody[] }).groups;
}

/** A group's series as drawn: float64 columns. */
interface GroupColumns {
  name: string;
  runs: string[];
  total: number;
  step: Float64Array;
  wall: Float64Array;
  mean: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
  count: Float64Array;
}

interface GroupsHeader {
  groups: { name: string; runs: string[]; total: number; points: number; step: "i4" | "f8"; value: "f4" | "f8"; wall0: number }[];
}

/** Reads the SSG1 form (stepscope.plugins.scalars.read.groups_binary) into float64 columns. */
export function decodeGroups(buffer: ArrayBuffer): GroupColumns[] {
  const bytes = new Uint8Array(buffer);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== "SSG1") {
    throw new Error("the server sent run groups in an unknown form");
  }
  const headerLength = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as GroupsHeader;
  let offset = 8 + headerLength;
  const block = (points: number, kind: "i4" | "f4" | "f8"): Float64Array => {
    const view =
      kind === "i4"
        ? new Int32Array(buffer, offset, points)
        : kind === "f4"
          ? new Float32Array(buffer, offset, points)
          : new Float64Array(buffer, offset, points);
    offset += Math.ceil((points * (kind === "f8" ? 8 : 4)) / 8) * 8;
    return Float64Array.from(view);
  };
  return header.groups.map((g) => {
    const step = block(g.points, g.step);
    const wall = block(g.points, "f4").map((t) => g.wall0 + t);
    // The statistics in the server's order (STAT_COLUMNS): mean, lower, upper, min, max, std.
    const [mean, lower, upper] = [0, 1, 2, 3, 4, 5].map(() => block(g.points, g.value));
    const count = block(g.points, "i4");
    block(g.points, "i4"); // present
    return { name: g.name, runs: g.runs, total: g.total, step, wall, mean, lower, upper, count };
  });
}

/** The lines of a chart: as fetchLines, but each group of the grouping as its mean and band. */
export async function fetchGroupedLines(
  queries: ChartQuery[],
  chartTag: string,
  density: Density,
  signal: AbortSignal,
  grouping: Grouping | null,
): Promise<Line[]> {
  const plan = planOf(queries, chartTag, grouping);
  if (!plan || !grouping) return fetchLines(queries, chartTag, density, signal);
  const [bodies, lines] = await Promise.all([
    postGroups(plan.tag, plan.groups, grouping.band, density, "binary", signal).then(async (r) =>
      decodeGroups(await r.arrayBuffer()),
    ),
    plan.lineRuns.length > 0 ? fetchLines([{ tag: plan.tag, runs: plan.lineRuns }], chartTag, density, signal) : [],
  ]);
  const colorKeys = new Map(plan.groups.map((g) => [g.name, g.colorKey]));
  return [...bodies.flatMap((b) => groupLines(plan.tag, b, grouping.band, colorKeys.get(b.name) ?? b.name)), ...lines];
}

/** A group's mean, lower and upper edge as lines (in that order), sharing its steps. */
function groupLines(tag: string, body: GroupColumns, band: GroupBand, colorKey: string): Line[] {
  const group: GroupLineInfo = { name: body.name, runs: body.runs, band, count: body.count };
  const label = groupLabel(body.name, body.runs.length);
  const of = `group:${body.name}`;
  const line = (value: Float64Array, role?: "lower" | "upper"): Line => ({
    run: body.name,
    total: body.total,
    step: body.step,
    wall: body.wall,
    value,
    tag,
    label: role ? `${label} ${role}` : label,
    colorKey,
    role,
    of,
    group,
  });
  return [line(body.mean), line(body.lower, "lower"), line(body.upper, "upper")];
}

function groupLabel(name: string, members: number): string {
  return `${name} (${members} run${members === 1 ? "" : "s"})`;
}

/** A group's band edges drawn translucent: where bands overlap, both show. */
export function bandFill(color: string): string {
  const n = parseInt(color.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},0.2)`;
}

/** Whether a plotted line is a group's band edge (the tooltip and the legend show the group once). */
export function isGroupEdge(p: Plotted): boolean {
  return p.group !== undefined && p.role !== undefined;
}

/**
 * A group's row cells in the tooltip at point ``i`` of its mean: its name with
 * how many of its runs the mean is of there (those with a finite value in
 * their range), and its mean with the band, ``[lower, upper]``.
 */
export function groupRow(p: Plotted, i: number, plotted: Plotted[]): { name: string; value: string } {
  const group = p.group!;
  const edge = (role: "lower" | "upper") => plotted.find((q) => q.role === role && q.of === p.of);
  const lower = edge("lower")?.raw[i] ?? NaN;
  const upper = edge("upper")?.raw[i] ?? NaN;
  const count = group.count[i] ?? 0;
  const members = group.runs.length;
  const of = count === members ? `${members}` : `${count} of ${members}`;
  return {
    name: `${group.name}: mean of ${of} run${members === 1 ? "" : "s"}`,
    value: `${formatValue(p.raw[i])} [${formatValue(lower)}, ${formatValue(upper)}]`,
  };
}

/** What a chart downloads while it has groups: its runs' series and its groups' (full resolution), or null. */
export async function groupedDownload(
  queries: ChartQuery[],
  chartTag: string,
  grouping: Grouping | null,
  runsJson: (tag: string, runs: string[]) => Promise<unknown>,
): Promise<{ tag: string; series: DownloadedSeries[]; band: GroupBand; groups: GroupBody[] } | null> {
  const plan = planOf(queries, chartTag, grouping);
  if (!plan || !grouping) return null;
  const [groups, runs] = await Promise.all([
    fetchGroups(plan.tag, plan.groups, grouping.band),
    plan.lineRuns.length > 0 ? (runsJson(plan.tag, plan.lineRuns) as Promise<{ series: DownloadedSeries[] }>) : null,
  ]);
  return { tag: plan.tag, series: runs?.series ?? [], band: grouping.band, groups };
}

interface DownloadedSeries {
  run: string;
  step: number[];
  wall_time: number[];
  value: (number | string)[];
}

/** The CSV of a grouped download: a row per point of a run ("run") or of a group ("group": value is the mean). */
export function groupedCsv(found: { tag: string; series: DownloadedSeries[]; groups: GroupBody[] }): string {
  const lines = ["kind,name,tag,step,wall_time,value,lower,upper,min,max,std,count,present"];
  const tag = csvField(found.tag);
  for (const s of found.series) {
    const prefix = `run,${csvField(s.run)},${tag},`;
    for (let i = 0; i < s.step.length; i++) lines.push(`${prefix}${s.step[i]},${s.wall_time[i]},${s.value[i]},,,,,,,`);
  }
  for (const g of found.groups) {
    const prefix = `group,${csvField(g.name)},${tag},`;
    for (let i = 0; i < g.step.length; i++) {
      const cells = [g.mean, g.lower, g.upper, g.min, g.max, g.std].map((c) => c[i]);
      lines.push(`${prefix}${g.step[i]},${g.wall_time[i]},${cells.join(",")},${g.count[i]},${g.present[i]}`);
    }
  }
  return lines.join("\n") + "\n";
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
