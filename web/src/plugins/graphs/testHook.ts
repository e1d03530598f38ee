// The Graphs view's test hook, for the browser tests and the benchmark: what
// a person sees on the canvas (which boxes, where, in which colour) and two
// actions a script cannot easily do with the mouse. The view's root element
// carries it as ``graphTest``; nothing in the page uses it.

import type { GraphSummary, Scene } from "./protocol";
import type { GraphRenderer } from "./renderer";

export interface HookedView {
  readonly scene: Scene | null;
  readonly colors: string[];
  readonly summary: GraphSummary | null;
  /** The worker's time on the last scene (ms). */
  readonly layoutMs: number;
  /** Opens every group (the benchmark's "fully expanded"). */
  openAll(): void;
}

export function exposeTestHook(root: HTMLElement, view: HookedView, renderer: GraphRenderer): void {
  const index = (id: string): number => view.scene?.ids.indexOf(id) ?? -1;
  const hook = {
    ids: () => view.scene?.ids ?? [],
    labels: () => view.scene?.labels ?? [],
    sublabels: () => view.scene?.sublabels ?? [],
    /** Where an item is on the page (CSS pixels), and its kind (protocol.ts' ItemKind). */
    boxOf: (id: string) => {
      const scene = view.scene;
      const i = index(id);
      if (!scene || i < 0) return null;
      const canvas = renderer.canvas.getBoundingClientRect();
      const [x, y] = renderer.toScreen(scene.boxes[4 * i], scene.boxes[4 * i + 1]);
      const scale = renderer.view.scale;
      return { x: canvas.left + x, y: canvas.top + y, width: scene.boxes[4 * i + 2] * scale, height: scene.boxes[4 * i + 3] * scale, kind: scene.kinds[i] };
    },
    /** The points of every edge drawn from item a to item b. */
    edgesBetween: (a: string, b: string) => {
      const scene = view.scene;
      if (!scene) return [];
      const [from, to] = [index(a), index(b)];
      const found: number[][] = [];
      for (let e = 0; e < scene.edgeCount; e++) {
        if (scene.edgeFrom[e] !== from || scene.edgeTo[e] !== to) continue;
        found.push([...scene.edgePoints.slice(2 * scene.edgeStarts[e], 2 * scene.edgeStarts[e + 1])]);
      }
      return found;
    },
    colorOf: (id: string) => view.colors[index(id)],
    center: (id: string) => renderer.centerOn(index(id)),
    /** The worker's times (fetch, parse, model, elk's start, the last layout) and the view's marks (ms). */
    timings: () => ({
      ...view.summary?.timings,
      layout: view.layoutMs,
      marks: Object.fromEntries(
        performance
          .getEntriesByType("mark")
          .filter((m) => m.name.startsWith("graphs:"))
          .map((m) => [m.name.slice("graphs:".length), Math.round(m.startTime)]),
      ),
    }),
    openAll: () => view.openAll(),
  };
  Object.defineProperty(root, "graphTest", { value: hook });
}
