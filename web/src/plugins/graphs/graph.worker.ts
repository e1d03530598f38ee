// The graph worker: everything that takes time happens here, never on the
// page's thread. It fetches the graph itself (parsing a 20,000-node answer
// would stall the page), builds the model, and lays out the opened groups
// with elkjs, which runs in a worker of its own (elk-worker.min.js, a
// same-origin file, so the page's CSP holds). Requests are answered in
// order; a scene request that a newer one has overtaken is skipped.

import ELK, { type ElkNode } from "elkjs/lib/elk-api.js";
import elkWorkerUrl from "elkjs/lib/elk-worker.min.js?url";
import type { Measure } from "./graphLayout";
import { buildModel } from "./graphBuild";
import type { Model } from "./graphModel";
import { compilePattern, detail, search, summary } from "./graphQuery";
import { SceneBuilder, sceneBuffers } from "./graphScene";
import type { Answer, ApiGraph, Request } from "./protocol";

interface WorkerScope {
  postMessage(message: Answer, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<Request>) => void) | null;
}

const scope = self as unknown as WorkerScope;
const elk = new ELK({ workerUrl: elkWorkerUrl });
// The first layouts pay for loading and compiling elk's code: pay it while the graph is fetched.
const workerStarted = performance.now();
let elkWarm = NaN; // ms from the worker's start until elk had laid out its first graph
void elk
  .layout(warmUpGraph())
  .then(() => (elkWarm = performance.now() - workerStarted))
  .catch(() => undefined);

function warmUpGraph(): ElkNode {
  const children = Array.from({ length: 12 }, (_, i) => ({ id: `n${i}`, width: 80, height: 30 }));
  const edges = children.slice(1).map((c, i) => ({
    id: `e${i}`,
    sources: [`n${Math.max(0, i - (i % 3))}`],
    targets: [c.id],
    labels: [{ text: "1×64", width: 30, height: 11 }],
  }));
  return { id: "warm", layoutOptions: { "elk.algorithm": "layered", "elk.direction": "DOWN" }, children, edges };
}

let model: Model | null = null;
let builder: SceneBuilder | null = null;
let latestScene = 0;
let queue: Promise<void> = Promise.resolve();

const measure = textMeasure();

function textMeasure(): Measure {
  const canvas = typeof OffscreenCanvas === "undefined" ? null : new OffscreenCanvas(1, 1);
  const context = canvas?.getContext("2d") ?? null;
  const cache = new Map<string, number>();
  return (text, font) => {
    const key = font + "\u0000" + text;
    let width = cache.get(key);
    if (width === undefined) {
      if (context) {
        context.font = font;
        width = context.measureText(text).width;
      } else {
        width = text.length * (font.includes("11px") ? 6.6 : 6);
      }
      if (cache.size > 200_000) cache.clear();
      cache.set(key, width);
    }
    return width;
  };
}

/** The graph as the server answers it, and how long fetching and parsing it took (ms). */
async function fetchGraph(url: string): Promise<{ graph: ApiGraph; fetch: number; parse: number }> {
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  } catch {
    throw new Error("the stepscope server does not answer: is it still running?");
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { error?: { message?: string } };
      if (body.error?.message) message = body.error.message;
    } catch {
      // not our error shape: keep the status line
    }
    throw new Error(message);
  }
  const text = await response.text();
  const fetched = performance.now();
  const graph = JSON.parse(text) as ApiGraph;
  return { graph, fetch: fetched - started, parse: performance.now() - fetched };
}

function ready(): { model: Model; builder: SceneBuilder } {
  if (!model || !builder) throw new Error("no graph is loaded");
  return { model, builder };
}

async function answer(request: Request): Promise<void> {
  switch (request.type) {
    case "load": {
      model = null;
      builder = null;
      const { graph, fetch, parse } = await fetchGraph(request.url);
      const started = performance.now();
      const loaded = buildModel(graph);
      model = loaded;
      builder = new SceneBuilder(elk, loaded, measure);
      const timings = { fetch, parse, model: performance.now() - started, elkWarm };
      scope.postMessage({ type: "loaded", id: request.id, summary: summary(loaded, timings) });
      return;
    }
    case "scene": {
      if (request.id !== latestScene) {
        scope.postMessage({ type: "skipped", id: request.id });
        return;
      }
      const found = ready();
      const open = new Set<number>();
      for (const id of request.open) {
        const g = found.model.byGroupId.get(id);
        if (g !== undefined) open.add(g);
      }
      const started = performance.now();
      const scene = await found.builder.build(open, request.id);
      const layoutMs = performance.now() - started;
      const marks = found.builder.marks(compilePattern(request.search).regex, request.trace, request.selected);
      scope.postMessage({ type: "scene", id: request.id, scene, marks, layoutMs }, sceneBuffers(scene, marks));
      return;
    }
    case "marks": {
      const marks = ready().builder.marks(compilePattern(request.search).regex, request.trace, request.selected);
      scope.postMessage({ type: "marks", id: request.id, marks }, [marks.hits.buffer, marks.traceItems.buffer, marks.traceEdges.buffer] as ArrayBuffer[]);
      return;
    }
    case "search":
      scope.postMessage({ type: "search", id: request.id, answer: search(ready().model, request.pattern, request.limit) });
      return;
    case "detail":
      scope.postMessage({ type: "detail", id: request.id, detail: detail(ready().model, request.name) });
      return;
  }
}

let loadsPending = 0;

scope.onmessage = (event) => {
  const request = event.data;
  const run = (): Promise<void> =>
    answer(request).catch((error: unknown) => {
      scope.postMessage({ type: "error", id: request.id, message: (error as Error).message ?? String(error) });
    });
  // A search or the panel's details need no layout: they do not wait behind one.
  if ((request.type === "search" || request.type === "detail") && loadsPending === 0 && model) {
    void run();
    return;
  }
  if (request.type === "scene") latestScene = request.id;
  if (request.type === "load") loadsPending++;
  queue = queue.then(run).finally(() => {
    if (request.type === "load") loadsPending--;
  });
};
