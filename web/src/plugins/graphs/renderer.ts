// The graph on screen: a canvas that pans when dragged and zooms with the
// wheel (about the cursor), redrawn at most once a frame and only when
// something changed, with a minimap that shows where the view is and moves
// it when clicked or dragged.

import { drawScene, edgeBounds, glyphAt, isFrame, isGroup, type DrawState, type Palette, type Viewport } from "./sceneDraw";
import { ItemKind, type Marks, type Scene } from "./protocol";

const MIN_SCALE = 0.02;
const MAX_SCALE = 4;
const MINIMAP_W = 200;
const MINIMAP_H = 130;
/** The scale a graph is first shown at, at most: labels stay readable, the rest is a pan away. */
const READABLE = 0.9;

export interface RendererEvents {
  select(item: number): void;
  toggle(item: number): void;
  /** A frame was drawn (tests and the benchmark wait for it). */
  drawn(): void;
}

export class GraphRenderer {
  readonly root: HTMLElement;
  readonly canvas = document.createElement("canvas");
  private minimap = document.createElement("canvas");
  private state: DrawState | null = null;
  private camera = { scale: 1, x: 0, y: 0 };
  private frame = 0;
  private overview: HTMLCanvasElement | null = null;
  palette: Palette;
  private width = 0;
  private height = 0;

  constructor(private events: RendererEvents) {
    this.root = document.createElement("div");
    this.root.className = "graph-stage";
    this.canvas.className = "graph-canvas";
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute(
      "aria-label",
      "The model graph: drag (or the arrow keys) to pan, the wheel (or + and -) to zoom, 0 to fit; click a box for its details, double-click a group to open or close it",
    );
    this.canvas.tabIndex = 0;
    this.minimap.className = "graph-minimap";
    this.minimap.setAttribute("aria-label", "Minimap: click or drag to move the view");
    this.root.append(this.canvas, this.minimap);
    this.palette = readPalette(this.root);
    this.listen();
    new ResizeObserver(() => this.resize()).observe(this.root);
    new MutationObserver(() => {
      this.palette = readPalette(this.root);
      this.overview = null;
      this.schedule();
    }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  }

  get scene(): Scene | null {
    return this.state?.scene ?? null;
  }

  /** What is drawn now (the exports draw it again). */
  get current(): DrawState | null {
    return this.state;
  }

  get view(): Viewport {
    return { ...this.camera, width: this.width, height: this.height };
  }

  show(scene: Scene, colors: string[], marks: Marks | null, selected: number): void {
    this.state = { scene, colors, marks, selected, tracing: marks !== null && marks.traceItems.some((m) => m > 0), edgeBounds: edgeBounds(scene) };
    this.overview = null;
    this.schedule();
  }

  update(changes: { colors?: string[]; marks?: Marks | null; selected?: number }): void {
    const state = this.state;
    if (!state) return;
    if (changes.colors) {
      state.colors = changes.colors;
      this.overview = null;
    }
    if (changes.marks !== undefined) {
      state.marks = changes.marks;
      state.tracing = changes.marks !== null && changes.marks.traceItems.some((m) => m > 0);
    }
    if (changes.selected !== undefined) state.selected = changes.selected;
    this.schedule();
  }

  /** Shows the whole graph if it is small, else its top at a readable scale. */
  fit(all = false): void {
    const scene = this.scene;
    if (!scene || this.width === 0) return;
    const fit = Math.min((this.width - 24) / Math.max(scene.width, 1), (this.height - 24) / Math.max(scene.height, 1));
    const scale = clamp(all ? fit : Math.max(Math.min(fit, 1), Math.min(READABLE, 1)), MIN_SCALE, MAX_SCALE);
    this.camera.scale = scale;
    this.camera.x = (this.width - scene.width * scale) / 2;
    this.camera.y = scene.height * scale <= this.height ? (this.height - scene.height * scale) / 2 : 12;
    if (scene.width * scale > this.width) this.camera.x = 12;
    this.schedule();
  }

  /** Moves the view so that item i is in the middle (zooming in if it would be too small to read). */
  centerOn(i: number): void {
    const scene = this.scene;
    if (!scene || i < 0 || i >= scene.count) return;
    const b = scene.boxes;
    if (this.camera.scale < READABLE) this.camera.scale = READABLE;
    const scale = this.camera.scale;
    this.camera.x = this.width / 2 - (b[4 * i] + b[4 * i + 2] / 2) * scale;
    this.camera.y = this.height / 2 - (b[4 * i + 1] + Math.min(b[4 * i + 3], this.height / scale / 2) / 2) * scale;
    this.schedule();
  }

  /** Keeps a point of the world at the same place of the screen across a new scene. */
  keep(worldBefore: [number, number], screen: [number, number]): void {
    this.camera.x = screen[0] - worldBefore[0] * this.camera.scale;
    this.camera.y = screen[1] - worldBefore[1] * this.camera.scale;
    this.schedule();
  }

  toScreen(wx: number, wy: number): [number, number] {
    return [wx * this.camera.scale + this.camera.x, wy * this.camera.scale + this.camera.y];
  }

  toWorld(sx: number, sy: number): [number, number] {
    return [(sx - this.camera.x) / this.camera.scale, (sy - this.camera.y) / this.camera.scale];
  }

  /** The innermost item at a point of the canvas (CSS pixels), or -1. */
  itemAt(sx: number, sy: number): number {
    const scene = this.scene;
    if (!scene) return -1;
    const [x, y] = this.toWorld(sx, sy);
    const b = scene.boxes;
    for (let i = scene.count - 1; i >= 0; i--) {
      if (scene.kinds[i] === ItemKind.Anchor) continue;
      if (x >= b[4 * i] && y >= b[4 * i + 1] && x <= b[4 * i] + b[4 * i + 2] && y <= b[4 * i + 1] + b[4 * i + 3]) return i;
    }
    return -1;
  }

  private onGlyph(i: number, sx: number, sy: number): boolean {
    const scene = this.scene;
    if (!scene || !isGroup(scene.kinds[i])) return false;
    const [gx, gy] = glyphAt(scene, i);
    const [x, y] = this.toWorld(sx, sy);
    return Math.hypot(x - gx, y - gy) <= 10;
  }

  schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private resize(): void {
    const box = this.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const firstSize = this.width === 0;
    this.width = box.width;
    this.height = box.height;
    this.canvas.width = Math.round(box.width * ratio);
    this.canvas.height = Math.round(box.height * ratio);
    this.minimap.width = Math.round(MINIMAP_W * ratio);
    this.minimap.height = Math.round(MINIMAP_H * ratio);
    if (firstSize && this.scene) this.fit();
    this.schedule();
  }

  private draw(): void {
    const state = this.state;
    const ctx = this.canvas.getContext("2d");
    if (!ctx || this.width === 0) return;
    const ratio = window.devicePixelRatio || 1;
    if (!state) {
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
      return;
    }
    drawScene(ctx, state, this.view, this.palette, ratio);
    this.drawMinimap(ratio);
    this.events.drawn();
  }

  private minimapScale(): { scale: number; x: number; y: number } {
    const scene = this.scene!;
    const scale = Math.min((MINIMAP_W - 8) / Math.max(scene.width, 1), (MINIMAP_H - 8) / Math.max(scene.height, 1));
    return { scale, x: (MINIMAP_W - scene.width * scale) / 2, y: (MINIMAP_H - scene.height * scale) / 2 };
  }

  private drawMinimap(ratio: number): void {
    const state = this.state!;
    const ctx = this.minimap.getContext("2d");
    if (!ctx) return;
    const m = this.minimapScale();
    if (!this.overview) {
      // The whole scene, small, drawn once per scene: each frame only copies it.
      this.overview = document.createElement("canvas");
      this.overview.width = this.minimap.width;
      this.overview.height = this.minimap.height;
      const octx = this.overview.getContext("2d")!;
      octx.setTransform(ratio * m.scale, 0, 0, ratio * m.scale, ratio * m.x, ratio * m.y);
      // The frames in order (outer first), then the boxes with one fill per colour;
      // what would be under a pixel there is left out.
      const b = state.scene.boxes;
      const least = 0.5 / (m.scale * ratio);
      const fills = new Map<string, Path2D>();
      for (let i = 0; i < state.scene.count; i++) {
        if (b[4 * i + 2] < least && b[4 * i + 3] < least) continue;
        if (isFrame(state.scene.kinds[i])) {
          octx.fillStyle = this.palette.frames[Math.min(state.scene.depths[i], this.palette.frames.length - 1)];
          octx.fillRect(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]);
          continue;
        }
        const color = state.colors[i] || this.palette.edge;
        let path = fills.get(color);
        if (!path) fills.set(color, (path = new Path2D()));
        path.rect(b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]);
      }
      for (const [color, path] of fills) {
        octx.fillStyle = color;
        octx.fill(path);
      }
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = this.palette.background;
    ctx.fillRect(0, 0, this.minimap.width, this.minimap.height);
    ctx.drawImage(this.overview, 0, 0);
    const [x0, y0] = this.toWorld(0, 0);
    const [x1, y1] = this.toWorld(this.width, this.height);
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.strokeStyle = this.palette.selected;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(m.x + x0 * m.scale, m.y + y0 * m.scale, (x1 - x0) * m.scale, (y1 - y0) * m.scale);
  }

  private listen(): void {
    let drag: { x: number; y: number; moved: boolean; id: number } | null = null;
    this.canvas.addEventListener("pointerdown", (event) => {
      this.canvas.setPointerCapture(event.pointerId);
      drag = { x: event.clientX, y: event.clientY, moved: false, id: event.pointerId };
      this.canvas.classList.add("panning");
    });
    this.canvas.addEventListener("pointermove", (event) => {
      if (!drag || drag.id !== event.pointerId) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved && Math.hypot(dx, dy) < 4) return;
      drag.moved = true;
      drag.x = event.clientX;
      drag.y = event.clientY;
      this.camera.x += dx;
      this.camera.y += dy;
      this.schedule();
    });
    const end = (event: PointerEvent): void => {
      if (!drag || drag.id !== event.pointerId) return;
      const click = !drag.moved;
      drag = null;
      this.canvas.classList.remove("panning");
      if (!click || event.type === "pointercancel") return;
      const [sx, sy] = this.local(event);
      const item = this.itemAt(sx, sy);
      if (item >= 0 && this.onGlyph(item, sx, sy)) this.events.toggle(item);
      else this.events.select(item);
    };
    this.canvas.addEventListener("pointerup", end);
    this.canvas.addEventListener("pointercancel", end);
    this.canvas.addEventListener("dblclick", (event) => {
      const [sx, sy] = this.local(event);
      const item = this.itemAt(sx, sy);
      const scene = this.scene;
      if (item >= 0 && scene && isGroup(scene.kinds[item]) && !this.onGlyph(item, sx, sy)) this.events.toggle(item);
    });
    this.canvas.addEventListener(
      "wheel",
      (event) => {
        event.preventDefault();
        const [sx, sy] = this.local(event);
        const delta = event.deltaMode === 1 ? event.deltaY * 16 : event.deltaY;
        this.zoomAt(sx, sy, Math.exp(-delta * 0.0015));
      },
      { passive: false },
    );
    this.canvas.addEventListener("keydown", (event) => this.key(event));
    this.listenMinimap();
  }

  /** The keyboard: arrows pan, + and - zoom about the middle, 0 fits the graph. */
  private key(event: KeyboardEvent): void {
    const step = 80;
    const pans: Record<string, [number, number]> = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (event.key in pans) {
      this.camera.x += pans[event.key][0];
      this.camera.y += pans[event.key][1];
      this.schedule();
    } else if (event.key === "+" || event.key === "=") this.zoomAt(this.width / 2, this.height / 2, 1.25);
    else if (event.key === "-") this.zoomAt(this.width / 2, this.height / 2, 0.8);
    else if (event.key === "0") this.fit(true);
    else return;
    event.preventDefault();
  }

  zoomAt(sx: number, sy: number, factor: number): void {
    const scale = clamp(this.camera.scale * factor, MIN_SCALE, MAX_SCALE);
    const [wx, wy] = this.toWorld(sx, sy);
    this.camera.scale = scale;
    this.camera.x = sx - wx * scale;
    this.camera.y = sy - wy * scale;
    this.schedule();
  }

  private listenMinimap(): void {
    const move = (event: PointerEvent): void => {
      if (!this.scene) return;
      const box = this.minimap.getBoundingClientRect();
      const m = this.minimapScale();
      const wx = (event.clientX - box.left - m.x) / m.scale;
      const wy = (event.clientY - box.top - m.y) / m.scale;
      this.camera.x = this.width / 2 - wx * this.camera.scale;
      this.camera.y = this.height / 2 - wy * this.camera.scale;
      this.schedule();
    };
    this.minimap.addEventListener("pointerdown", (event) => {
      this.minimap.setPointerCapture(event.pointerId);
      move(event);
    });
    this.minimap.addEventListener("pointermove", (event) => {
      if (this.minimap.hasPointerCapture(event.pointerId)) move(event);
    });
  }

  private local(event: MouseEvent): [number, number] {
    const box = this.canvas.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), high);
}

/** The canvas's colours, from the page's theme. */
export function readPalette(element: Element): Palette {
  const style = getComputedStyle(element);
  const css = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  const dark = document.documentElement.dataset.theme === "dark";
  return {
    background: css("--panel", "#ffffff"),
    text: css("--text", "#1d232b"),
    muted: css("--muted", "#5f6b7a"),
    line: dark ? "#3b4552" : "#c3ccd7",
    edge: dark ? "#8794a6" : "#7d8a9b",
    ink: "#1d232b",
    inkMuted: "#4a5564",
    selected: "#ff7a00",
    hit: "#f5c400",
    up: "#1f6feb",
    down: "#c2185b",
    frames: dark ? ["#1c2129", "#212731", "#262e39", "#2b3441", "#303a48"] : ["#f4f6f9", "#eaeef3", "#e1e7ee", "#d8e0e9", "#d0d9e4"],
  };
}
