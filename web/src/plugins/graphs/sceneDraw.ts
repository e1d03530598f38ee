// Drawing a scene on a 2D canvas, for the screen and for the PNG export:
// only what is in view, paths batched by style (one stroke per edge width
// and one fill per colour, not one per item), text only where it is big
// enough to read.

import { EDGE_FONT, FONT, HEADER, SUBFONT } from "./graphLayout";
import { ItemKind, type Marks, type Scene } from "./protocol";

export interface Palette {
  background: string;
  text: string;
  muted: string;
  line: string;
  edge: string;
  /** Text on the light fills of boxes: dark in either theme. */
  ink: string;
  inkMuted: string;
  selected: string;
  hit: string;
  up: string;
  down: string;
  /** An opened group's frame, by depth. */
  frames: string[];
}

export interface DrawState {
  scene: Scene;
  colors: string[];
  marks: Marks | null;
  selected: number;
  /** Whether a trace is shown: the rest is drawn faint. */
  tracing: boolean;
  /** Per edge: x0, y0, x1, y1 of its points (for culling). */
  edgeBounds: Float32Array;
}

/** The world rectangle in view: screen = world * scale + (x, y), over width × height CSS pixels. */
export interface Viewport {
  scale: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

const ARROW = 6;
const MIN_TEXT = 4.5; // px on screen: smaller text is left out

export function edgeBounds(scene: Scene): Float32Array {
  const bounds = new Float32Array(scene.edgeCount * 4);
  for (let e = 0; e < scene.edgeCount; e++) {
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (let p = scene.edgeStarts[e]; p < scene.edgeStarts[e + 1]; p++) {
      const x = scene.edgePoints[2 * p];
      const y = scene.edgePoints[2 * p + 1];
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
    }
    bounds.set([x0, y0, x1, y1], e * 4);
  }
  return bounds;
}

export function isFrame(kind: number): boolean {
  return kind === ItemKind.OpenGroup || kind === ItemKind.OpenRepeat;
}

export function isGroup(kind: number): boolean {
  return kind === ItemKind.Group || kind === ItemKind.Repeat || isFrame(kind);
}

/** Draws the scene; the context's transform is set here (``ratio``: device pixels per CSS pixel). */
export function drawScene(ctx: CanvasRenderingContext2D, state: DrawState, view: Viewport, palette: Palette, ratio: number): void {
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = palette.background;
  ctx.fillRect(0, 0, view.width, view.height);
  ctx.setTransform(ratio * view.scale, 0, 0, ratio * view.scale, ratio * view.x, ratio * view.y);
  const world = {
    x0: -view.x / view.scale,
    y0: -view.y / view.scale,
    x1: (view.width - view.x) / view.scale,
    y1: (view.height - view.y) / view.scale,
  };
  const { scene } = state;
  const inView = (i: number): boolean => {
    const b = scene.boxes;
    return b[4 * i] <= world.x1 && b[4 * i + 1] <= world.y1 && b[4 * i] + b[4 * i + 2] >= world.x0 && b[4 * i + 1] + b[4 * i + 3] >= world.y0;
  };
  const text = view.scale * 11 >= MIN_TEXT;
  const shown: number[] = [];
  for (let i = 0; i < scene.count; i++) if (inView(i)) shown.push(i);
  drawFrames(ctx, state, shown, palette, view.scale, text);
  drawEdges(ctx, state, world, palette, view.scale);
  drawBoxes(ctx, state, shown, palette, view.scale, text);
  drawMarks(ctx, state, shown, palette, view.scale);
}

function roundBox(path: Path2D, b: Float32Array, i: number, radius: number): void {
  path.roundRect(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3], radius);
}

function drawFrames(ctx: CanvasRenderingContext2D, state: DrawState, shown: number[], palette: Palette, scale: number, text: boolean): void {
  const { scene, colors } = state;
  const b = scene.boxes;
  for (const i of shown) {
    if (!isFrame(scene.kinds[i])) continue;
    const path = new Path2D();
    roundBox(path, b, i, 8);
    ctx.globalAlpha = colors[i] ? 0.28 : 1;
    ctx.fillStyle = colors[i] || palette.frames[Math.min(scene.depths[i], palette.frames.length - 1)];
    ctx.fill(path);
    ctx.globalAlpha = 1;
    ctx.lineWidth = 1 / scale;
    ctx.strokeStyle = palette.line;
    if (scene.kinds[i] === ItemKind.OpenRepeat) ctx.setLineDash([6, 3]);
    ctx.stroke(path);
    ctx.setLineDash([]);
    if (!text) continue;
    const x = b[4 * i];
    const y = b[4 * i + 1];
    const w = b[4 * i + 2];
    ctx.fillStyle = palette.text;
    ctx.font = FONT;
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.fillText(scene.labels[i], x + 10, y + 12, w - 40);
    ctx.fillStyle = palette.muted;
    ctx.font = SUBFONT;
    ctx.fillText(scene.sublabels[i], x + 10, y + HEADER - 6, w - 40);
    glyph(ctx, x + w - 16, y + 12, "−", palette.muted);
  }
}

/** The ± of a group: where a click opens or closes it. */
function glyph(ctx: CanvasRenderingContext2D, cx: number, cy: number, sign: string, color: string): void {
  ctx.strokeStyle = color;
  ctx.lineWidth = 1.4;
  ctx.beginPath();
  ctx.moveTo(cx - 4, cy);
  ctx.lineTo(cx + 4, cy);
  if (sign === "+") {
    ctx.moveTo(cx, cy - 4);
    ctx.lineTo(cx, cy + 4);
  }
  ctx.stroke();
  ctx.beginPath();
  ctx.arc(cx, cy, 7, 0, Math.PI * 2);
  ctx.lineWidth = 1;
  ctx.stroke();
}

/** Where the ± of item i is (its centre), for drawing and for clicks. */
export function glyphAt(scene: Scene, i: number): [number, number] {
  const b = scene.boxes;
  return isFrame(scene.kinds[i]) ? [b[4 * i] + b[4 * i + 2] - 16, b[4 * i + 1] + 12] : [b[4 * i] + b[4 * i + 2] - 11, b[4 * i + 1] + 11];
}

function edgeStyle(state: DrawState, e: number, palette: Palette): string {
  const mark = state.marks?.traceEdges[e] ?? 0;
  if (mark & 1) return palette.up;
  if (mark & 2) return palette.down;
  return palette.edge;
}

function drawEdges(
  ctx: CanvasRenderingContext2D,
  state: DrawState,
  world: { x0: number; y0: number; x1: number; y1: number },
  palette: Palette,
  scale: number,
): void {
  const { scene, edgeBounds: eb } = state;
  const paths = new Map<string, { path: Path2D; arrows: Path2D; color: string; width: number; faint: boolean }>();
  const labels: number[] = [];
  for (let e = 0; e < scene.edgeCount; e++) {
    if (eb[4 * e] > world.x1 || eb[4 * e + 1] > world.y1 || eb[4 * e + 2] < world.x0 || eb[4 * e + 3] < world.y0) continue;
    const color = edgeStyle(state, e, palette);
    const faint = state.tracing && color === palette.edge;
    const width = Math.max(Math.round(scene.edgeWidths[e] * 2) / 2, 0.6 / scale);
    const key = `${color}|${width}|${faint}`;
    let batch = paths.get(key);
    if (!batch) {
      batch = { path: new Path2D(), arrows: new Path2D(), color, width, faint };
      paths.set(key, batch);
    }
    const start = scene.edgeStarts[e];
    const end = scene.edgeStarts[e + 1];
    if (end - start < 2) continue;
    const pts = scene.edgePoints;
    batch.path.moveTo(pts[2 * start], pts[2 * start + 1]);
    for (let p = start + 1; p < end; p++) batch.path.lineTo(pts[2 * p], pts[2 * p + 1]);
    if (scene.edgeArrows[e]) arrowHead(batch.arrows, pts, end - 2, end - 1, Math.max(ARROW, width * 2.2));
    if (scene.edgeLabels[e] && !Number.isNaN(scene.edgeLabelAt[2 * e])) labels.push(e);
  }
  ctx.lineJoin = "round";
  for (const batch of paths.values()) {
    ctx.globalAlpha = batch.faint ? 0.25 : 1;
    ctx.strokeStyle = batch.color;
    ctx.lineWidth = batch.width;
    ctx.stroke(batch.path);
    ctx.fillStyle = batch.color;
    ctx.fill(batch.arrows);
  }
  ctx.globalAlpha = 1;
  if (scale * 9 < MIN_TEXT + 1.5 || labels.length > 3000) return;
  ctx.font = EDGE_FONT;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.lineWidth = 3;
  ctx.strokeStyle = palette.background;
  ctx.fillStyle = palette.muted;
  for (const e of labels) {
    const x = scene.edgeLabelAt[2 * e];
    const y = scene.edgeLabelAt[2 * e + 1];
    ctx.strokeText(scene.edgeLabels[e], x, y);
    ctx.fillText(scene.edgeLabels[e], x, y);
  }
}

function arrowHead(path: Path2D, pts: Float32Array, from: number, to: number, size: number): void {
  const x = pts[2 * to];
  const y = pts[2 * to + 1];
  const dx = x - pts[2 * from];
  const dy = y - pts[2 * from + 1];
  const length = Math.hypot(dx, dy) || 1;
  const ux = dx / length;
  const uy = dy / length;
  path.moveTo(x, y);
  path.lineTo(x - ux * size - uy * size * 0.45, y - uy * size + ux * size * 0.45);
  path.lineTo(x - ux * size + uy * size * 0.45, y - uy * size - ux * size * 0.45);
  path.closePath();
}

function drawBoxes(ctx: CanvasRenderingContext2D, state: DrawState, shown: number[], palette: Palette, scale: number, text: boolean): void {
  const { scene, colors } = state;
  const b = scene.boxes;
  const fills = new Map<string, Path2D>();
  const outline = new Path2D();
  const dashed = new Path2D();
  const stacks = new Path2D();
  const faint: number[] = [];
  for (const i of shown) {
    const kind = scene.kinds[i];
    if (isFrame(kind)) continue;
    if (state.tracing && state.marks && state.marks.traceItems[i] === 0) faint.push(i);
    const radius = kind === ItemKind.Op ? Math.min(b[4 * i + 3] / 2, 12) : kind === ItemKind.Anchor ? 3 : 5;
    if (kind === ItemKind.Repeat) {
      // The repeats show as a stack of cards behind the front one.
      for (const off of [8, 4]) stacks.roundRect(b[4 * i] + off, b[4 * i + 1] + off, b[4 * i + 2], b[4 * i + 3], radius);
    }
    let path = fills.get(colors[i]);
    if (!path) {
      path = new Path2D();
      fills.set(colors[i], path);
    }
    roundBox(path, b, i, radius);
    roundBox(kind === ItemKind.Missing ? dashed : outline, b, i, radius);
  }
  ctx.lineWidth = 1 / scale;
  ctx.fillStyle = palette.frames[1];
  ctx.strokeStyle = palette.line;
  ctx.fill(stacks);
  ctx.stroke(stacks);
  for (const [color, path] of fills) {
    ctx.fillStyle = color;
    ctx.fill(path);
  }
  ctx.strokeStyle = palette.edge;
  ctx.stroke(outline);
  ctx.setLineDash([4, 3]);
  ctx.stroke(dashed);
  ctx.setLineDash([]);
  if (text) drawLabels(ctx, scene, shown, palette);
  if (faint.length > 0) {
    const veil = new Path2D();
    for (const i of faint) roundBox(veil, b, i, 6);
    ctx.globalAlpha = 0.6;
    ctx.fillStyle = palette.background;
    ctx.fill(veil);
    ctx.globalAlpha = 1;
  }
}

function drawLabels(ctx: CanvasRenderingContext2D, scene: Scene, shown: number[], palette: Palette): void {
  const b = scene.boxes;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  for (const i of shown) {
    const kind = scene.kinds[i];
    if (isFrame(kind) || kind === ItemKind.Anchor) continue;
    const cx = b[4 * i] + b[4 * i + 2] / 2;
    const y = b[4 * i + 1];
    const h = b[4 * i + 3];
    const group = kind === ItemKind.Group || kind === ItemKind.Repeat;
    const sub = scene.sublabels[i];
    ctx.font = FONT;
    ctx.fillStyle = palette.ink;
    ctx.fillText(scene.labels[i], cx - (group ? 8 : 0), sub ? y + h / 2 - 6 : y + h / 2);
    if (sub) {
      ctx.font = SUBFONT;
      ctx.fillStyle = palette.inkMuted;
      ctx.fillText(sub, cx - (group ? 8 : 0), y + h / 2 + 8);
    }
    if (group) {
      const [gx, gy] = glyphAt(scene, i);
      glyph(ctx, gx, gy, "+", palette.inkMuted);
    }
  }
}

function drawMarks(ctx: CanvasRenderingContext2D, state: DrawState, shown: number[], palette: Palette, scale: number): void {
  const { scene, marks } = state;
  const b = scene.boxes;
  const hits = new Path2D();
  const up = new Path2D();
  const down = new Path2D();
  for (const i of shown) {
    const frame = isFrame(scene.kinds[i]);
    if (marks?.hits[i]) roundBox(hits, b, i, 8);
    const trace = marks?.traceItems[i] ?? 0;
    if (!frame && trace === 1) roundBox(up, b, i, 8);
    if (!frame && trace === 2) roundBox(down, b, i, 8);
  }
  const stroke = (path: Path2D, color: string, width: number): void => {
    ctx.strokeStyle = color;
    ctx.lineWidth = Math.max(width, width / scale / 1.5);
    ctx.stroke(path);
  };
  // A hit's halo is wider than the selection's outline, so a selected hit shows both.
  stroke(hits, palette.hit, 7);
  stroke(up, palette.up, 2);
  stroke(down, palette.down, 2);
  if (state.selected >= 0 && state.selected < scene.count) {
    const selected = new Path2D();
    roundBox(selected, b, state.selected, 8);
    stroke(selected, palette.selected, 3);
  }
}
