// The current view (the groups opened, the colours, the marks) as a file:
// SVG written from the laid-out scene (text stays text, every box has its
// full name as a tooltip), or PNG drawn by the same code as the screen.

import { saveFile } from "../../chartExport";
import { EDGE_FONT, FONT, HEADER, SUBFONT } from "./graphLayout";
import { ItemKind } from "./protocol";
import { drawScene, isFrame, type DrawState, type Palette } from "./sceneDraw";

/** Text for XML: the five escapes, and characters XML 1.0 cannot hold replaced. */
export function xmlText(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const n = (v: number): string => String(Math.round(v * 10) / 10);

function fontAttributes(font: string): string {
  const size = /(\d+)px/.exec(font)?.[1] ?? "11";
  const weight = /^(\d{3}) /.exec(font)?.[1];
  return `font-size="${size}"${weight ? ` font-weight="${weight}"` : ""}`;
}

export function sceneSvg(state: DrawState, palette: Palette): string {
  const { scene, colors, marks } = state;
  const b = scene.boxes;
  const pad = 16;
  const out: string[] = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" width="${n(scene.width + 2 * pad)}" height="${n(scene.height + 2 * pad)}" ` +
      `viewBox="${-pad} ${-pad} ${n(scene.width + 2 * pad)} ${n(scene.height + 2 * pad)}" font-family="system-ui, sans-serif">`,
    `<rect x="${-pad}" y="${-pad}" width="100%" height="100%" fill="${palette.background}"/>`,
    `<g class="groups">`,
  ];
  const text = (x: number, y: number, value: string, font: string, fill: string, anchor: string): string =>
    value ? `<text x="${n(x)}" y="${n(y)}" ${fontAttributes(font)} fill="${fill}" text-anchor="${anchor}" dominant-baseline="central">${xmlText(value)}</text>` : "";
  for (let i = 0; i < scene.count; i++) {
    if (!isFrame(scene.kinds[i])) continue;
    const [x, y, w, h] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
    const fill = colors[i] || palette.frames[Math.min(scene.depths[i], palette.frames.length - 1)];
    out.push(
      `<g><title>${xmlText(scene.ids[i])}</title>` +
        `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" rx="8" fill="${fill}"${colors[i] ? ' fill-opacity="0.28"' : ""} stroke="${palette.line}"/>` +
        text(x + 10, y + 12, scene.labels[i], FONT, palette.text, "start") +
        text(x + 10, y + HEADER - 6, scene.sublabels[i], SUBFONT, palette.muted, "start") +
        `</g>`,
    );
  }
  out.push(`</g>`, `<g class="edges" fill="none" stroke-linejoin="round">`);
  const labels: string[] = [];
  for (let e = 0; e < scene.edgeCount; e++) {
    const start = scene.edgeStarts[e];
    const end = scene.edgeStarts[e + 1];
    if (end - start < 2) continue;
    const pts = scene.edgePoints;
    const d: string[] = [];
    for (let p = start; p < end; p++) d.push(`${p === start ? "M" : "L"}${n(pts[2 * p])} ${n(pts[2 * p + 1])}`);
    const mark = marks?.traceEdges[e] ?? 0;
    const color = mark & 1 ? palette.up : mark & 2 ? palette.down : palette.edge;
    const arrow = scene.edgeArrows[e] ? ` marker-end="url(#arrow)"` : "";
    out.push(`<path d="${d.join("")}" stroke="${color}" stroke-width="${n(scene.edgeWidths[e])}"${arrow}/>`);
    const lx = scene.edgeLabelAt[2 * e];
    if (scene.edgeLabels[e] && !Number.isNaN(lx)) {
      labels.push(text(lx, scene.edgeLabelAt[2 * e + 1], scene.edgeLabels[e], EDGE_FONT, palette.muted, "middle"));
    }
  }
  out.push(`</g>`, `<g class="edge-labels" stroke="${palette.background}" stroke-width="3" paint-order="stroke">`, ...labels, `</g>`);
  out.push(`<g class="nodes">`);
  for (let i = 0; i < scene.count; i++) {
    const kind = scene.kinds[i];
    if (isFrame(kind) || kind === ItemKind.Anchor) continue;
    const [x, y, w, h] = [b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]];
    const radius = kind === ItemKind.Op ? Math.min(h / 2, 12) : 5;
    const dash = kind === ItemKind.Missing ? ' stroke-dasharray="4 3"' : "";
    const selected = i === state.selected ? ` stroke="${palette.selected}" stroke-width="3"` : ` stroke="${palette.edge}"`;
    const sub = scene.sublabels[i];
    const stack =
      kind === ItemKind.Repeat
        ? [8, 4].map((o) => `<rect x="${n(x + o)}" y="${n(y + o)}" width="${n(w)}" height="${n(h)}" rx="5" fill="${palette.frames[1]}" stroke="${palette.line}"/>`).join("")
        : "";
    out.push(
      `<g><title>${xmlText(scene.ids[i])}</title>${stack}` +
        `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" rx="${n(radius)}" fill="${colors[i]}"${selected}${dash}/>` +
        text(x + w / 2, sub ? y + h / 2 - 6 : y + h / 2, scene.labels[i], FONT, palette.ink, "middle") +
        text(x + w / 2, y + h / 2 + 8, sub, SUBFONT, palette.inkMuted, "middle") +
        (marks?.hits[i] ? `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" rx="8" fill="none" stroke="${palette.hit}" stroke-width="4"/>` : "") +
        `</g>`,
    );
  }
  out.push(`</g>`);
  out.splice(
    3,
    0,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="5" markerHeight="5" orient="auto-start-reverse">` +
      `<path d="M0 0L10 5L0 10z" fill="${palette.edge}"/></marker></defs>`,
  );
  out.push(`</svg>`);
  return out.join("\n");
}

/** The scene drawn whole into a canvas, at up to twice the screen's scale (within what a canvas can hold). */
export function scenePng(state: DrawState, palette: Palette): Promise<Blob> {
  const { scene } = state;
  const pad = 16;
  const w = scene.width + 2 * pad;
  const h = scene.height + 2 * pad;
  const scale = Math.min(2, 16_000 / Math.max(w, h), Math.sqrt(60e6 / (w * h)));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  const ctx = canvas.getContext("2d")!;
  drawScene(ctx, state, { scale: 1, x: pad, y: pad, width: w, height: h }, palette, scale);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("the browser could not make the PNG"))), "image/png"),
  );
}

/** Saves the scene as drawn, as ``name``: an SVG file or a PNG image. */
export async function downloadScene(format: "svg" | "png", state: DrawState, palette: Palette, name: string): Promise<void> {
  const blob = format === "svg" ? new Blob([sceneSvg(state, palette)], { type: "image/svg+xml" }) : await scenePng(state, palette);
  saveFile(blob, name);
}

/** A file name from a run and tag: what a file system takes. */
export function exportName(run: string, tag: string, extension: string): string {
  const base = `${run}-${tag}`.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 100);
  return `${base || "graph"}.${extension}`;
}
