// A scalar chart's downloads: its data at full resolution (fetched again, not
// the points drawn) as CSV or JSON, and the chart as a PNG with its title and
// legend, which the canvas alone does not hold.

import type uPlot from "uplot";
import { scalarsJson } from "./api";
import { groupedCsv, groupedDownload, isGroupEdge } from "./chartGroups";
import type { ChartQuery, Plotted } from "./chartSeries";
import { themeColors } from "./colors";
import type { Grouping } from "./groups";

type Body = { series: { run: string; step: number[]; wall_time: number[]; value: (number | string)[] }[] };

/** Fetches every query's series at full resolution and saves them as ``<title>.csv`` or ``.json``. */
export async function downloadData(
  queries: ChartQuery[],
  title: string,
  format: "csv" | "json",
  grouping: Grouping | null = null,
): Promise<void> {
  // With run groups: the groups' series (mean, band, counts) and the runs drawn as lines.
  const grouped = await groupedDownload(queries, title, grouping, scalarsJson);
  if (grouped) {
    const text = format === "json" ? JSON.stringify(grouped, null, 1) : groupedCsv(grouped);
    saveFile(new Blob([text], { type: format === "csv" ? "text/csv" : "application/json" }), `${fileName(title)}.${format}`);
    return;
  }
  const bodies = await Promise.all(
    queries
      .filter((q) => q.runs.length > 0)
      .map(async (q) => ({ tag: q.tag, ...((await scalarsJson(q.tag, q.runs)) as Body) })),
  );
  const text =
    format === "json"
      ? JSON.stringify(bodies.length === 1 ? bodies[0] : { charts: bodies }, null, 1)
      : csvText(bodies);
  saveFile(new Blob([text], { type: format === "csv" ? "text/csv" : "application/json" }), `${fileName(title)}.${format}`);
}

function csvText(bodies: (Body & { tag: string })[]): string {
  const lines = ["run,tag,step,wall_time,value"];
  for (const body of bodies) {
    for (const s of body.series) {
      const prefix = `${csvField(s.run)},${csvField(body.tag)},`;
      for (let i = 0; i < s.step.length; i++) {
        lines.push(`${prefix}${s.step[i]},${s.wall_time[i]},${s.value[i]}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}

/** Saves the chart's canvas as ``<title>.png``, with the title above it and a legend (up to 20 lines) below. */
export function downloadPng(u: uPlot, title: string, plotted: Plotted[]): void {
  const source = u.ctx.canvas;
  const ratio = source.width / u.width;
  const header = Math.round(28 * ratio);
  const lineHeight = Math.round(16 * ratio);
  plotted = plotted.filter((p) => !isGroupEdge(p)); // a group is one entry: its mean
  const legend = Math.min(plotted.length, 20) * lineHeight + Math.round(8 * ratio);
  const canvas = document.createElement("canvas");
  canvas.width = source.width;
  canvas.height = source.height + header + legend;
  const ctx = canvas.getContext("2d")!;
  // The theme's background and text: the canvas's lines and axes are drawn for it.
  const { panel, text } = themeColors();
  ctx.fillStyle = panel;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = text;
  ctx.font = `${Math.round(14 * ratio)}px sans-serif`;
  ctx.fillText(title, Math.round(8 * ratio), Math.round(19 * ratio));
  ctx.drawImage(source, 0, header);
  ctx.font = `${Math.round(12 * ratio)}px sans-serif`;
  plotted.slice(0, 20).forEach((p, i) => {
    const y = source.height + header + (i + 1) * lineHeight;
    ctx.fillStyle = p.color;
    ctx.fillRect(Math.round(8 * ratio), y - Math.round(9 * ratio), Math.round(14 * ratio), Math.round(4 * ratio));
    ctx.fillStyle = text;
    ctx.fillText(p.label, Math.round(28 * ratio), y);
  });
  canvas.toBlob((blob) => {
    if (blob) saveFile(blob, `${fileName(title)}.png`);
  }, "image/png");
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A file name from a tag: what a file system takes, at most 100 characters. */
function fileName(tag: string): string {
  return tag.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 100) || "chart";
}

/** Offers ``blob`` to the person as a download named ``name``. */
export function saveFile(blob: Blob, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The download may start only after click() returns: the URL must outlive it a while.
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
