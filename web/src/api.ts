// The server's API, as the page uses it. Every failure becomes an ApiError
// carrying the server's one-line message.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RunInfo {
  name: string;
  events: number;
  corrupt_records: number;
  problems: string[];
}

export interface TagMeta {
  plugin: string;
  display_name: string;
  description: string;
}

export type TagsByRun = Record<string, Record<string, TagMeta>>;

/** A tab's page: a view bundled with the dashboard, or a plugin's own ES module (a same-origin URL). */
export type PluginPage = { builtin: string } | { url: string };

/** A plugin with data in the logdir (or always shown), as /api/plugins lists it, in tab order. */
export interface PluginInfo {
  /** The tab's key (in the URL) and the segment of its routes, api/plugins/<name>/. */
  name: string;
  title: string;
  order: number;
  /** The tag plugin names whose tags the tab shows. */
  claims: string[];
  /** Null: the plugin has no page in the dashboard. */
  page: PluginPage | null;
  /** Whether this is a tab of tags no plugin claims (shown raw). */
  fallback: boolean;
  /** Why the plugin cannot be shown (one line), or null. */
  problem: string | null;
}

export interface PluginsAnswer {
  plugins: PluginInfo[];
  /** One line per plugin that could not be loaded at all. */
  problems: string[];
}

export interface ServerState {
  loading: boolean;
  error: string | null;
  generation: number;
  updates?: number;
  last_update?: number;
}

/** One run's series of a tag: x columns and values as float64 (NaN and infinities as such). */
export interface Series {
  run: string;
  total: number;
  step: Float64Array;
  wall: Float64Array;
  value: Float64Array;
}

export interface ScalarsRequest {
  tag: string;
  runs: string[];
  max_points?: number;
  min_step?: number;
  max_step?: number;
}

async function failure(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body?.error?.message) message = String(body.error.message);
  } catch {
    // not our JSON error shape: keep the status line
  }
  return new ApiError(response.status, message);
}

/** A response that is ok, or an ApiError with the server's one-line message (or that it does not answer). */
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "the stepscope server does not answer: is it still running?");
  }
  if (!response.ok) throw await failure(response);
  return response;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const response = await request(path, { signal, headers: { Accept: "application/json" } });
  return (await response.json()) as T;
}

function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return request(path, {
    method: "POST",
    signal,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** An error for a card's message line: the server's message, or the error's text. */
export function errorText(error: unknown): string {
  return error instanceof ApiError ? error.message : String(error);
}

/** A checkpoint saved during a run (a SessionLog CHECKPOINT event), as /api/checkpoints gives it. */
export interface CheckpointInfo {
  run: string;
  step: number;
  wall_time: number;
  path: string;
}

/** Every run's checkpoints, by run, then step. */
export async function fetchCheckpoints(signal?: AbortSignal): Promise<CheckpointInfo[]> {
  return getJson<CheckpointInfo[]>("api/checkpoints", signal);
}

/** One step of a tag's tensors, as /api/tensors gives it. */
export interface TensorPoint {
  step: number;
  wall_time: number;
  dtype: string;
  shape: number[];
  /** Nested lists; strings as text; non-finite floats as "NaN", "Infinity", "-Infinity". */
  values: unknown;
  /** A flat preview of the first values only (the tensor is huge). */
  truncated: boolean;
}

/** A tag's tensors in logged order (a step logged twice is there twice). */
export async function tensorPoints(run: string, tag: string, signal?: AbortSignal): Promise<TensorPoint[]> {
  const params = new URLSearchParams({ run, tag });
  return (await getJson<{ points: TensorPoint[] }>(`api/tensors?${params}`, signal)).points;
}

/** A tag's tensors, one per step (the last logged at a step wins), sorted by step. */
export async function fetchTensors(run: string, tag: string): Promise<TensorPoint[]> {
  const byStep = new Map<number, TensorPoint>();
  for (const point of await tensorPoints(run, tag)) byStep.set(point.step, point);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

interface Pending {
  request: ScalarsRequest;
  resolve: (series: Series[]) => void;
  reject: (error: Error) => void;
  signal?: AbortSignal;
}

let queue: Pending[] = [];
let scheduled = false;

/**
 * Scalars in the binary columnar form (see stepscope.server.app.columns_binary).
 * The requests made in one turn of the event loop go out as one batch, whose
 * answers stream back one frame per request, in order.
 */
export function scalars(request: ScalarsRequest, signal?: AbortSignal): Promise<Series[]> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException("aborted", "AbortError"));
      return;
    }
    signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")), {
      once: true,
    });
    queue.push({ request, resolve, reject, signal });
    if (!scheduled) {
      scheduled = true;
      setTimeout(() => void flush(), 0);
    }
  });
}

async function flush(): Promise<void> {
  scheduled = false;
  const batch = queue.filter((p) => !p.signal?.aborted);
  queue = [];
  if (batch.length === 0) return;
  let delivered = 0;
  try {
    const response = await post("api/scalars/batch", { queries: batch.map((p) => p.request) });
    const frames = new FrameReader(response.body!.getReader());
    for (;;) {
      const frame = await frames.next();
      if (frame === null) break;
      const pending = batch[delivered++];
      if (!pending) break;
      const kind = String.fromCharCode(...frame.subarray(0, 4));
      if (kind === "ERR1") {
        const body = JSON.parse(new TextDecoder().decode(frame.subarray(4)));
        pending.reject(new ApiError(body.error.status, body.error.message));
      } else {
        pending.resolve(decodeColumns(frame.buffer as ArrayBuffer));
      }
    }
  } catch (error) {
    for (const pending of batch.slice(delivered)) pending.reject(error as Error);
    return;
  }
  for (const pending of batch.slice(delivered)) {
    pending.reject(new ApiError(0, "the server's answer ended early; it will be fetched again"));
  }
}

/** Length-prefixed frames (uint32 LE) from a byte stream, each in its own buffer. */
class FrameReader {
  private chunks: Uint8Array[] = [];
  private length = 0;
  private done = false;

  constructor(private reader: ReadableStreamDefaultReader<Uint8Array>) {}

  async next(): Promise<Uint8Array | null> {
    if (!(await this.fill(4))) return null;
    const head = this.take(4);
    const size = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, true);
    if (!(await this.fill(size))) throw new ApiError(0, "the server's answer was cut short");
    return this.take(size);
  }

  private async fill(wanted: number): Promise<boolean> {
    while (this.length < wanted && !this.done) {
      const { done, value } = await this.reader.read();
      if (value && value.length) {
        this.chunks.push(value);
        this.length += value.length;
      }
      if (done) this.done = true;
    }
    return this.length >= wanted;
  }

  /** The next ``size`` bytes, copied into a fresh buffer (so float64 views are aligned). */
  private take(size: number): Uint8Array {
    const out = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const chunk = this.chunks[0];
      const used = Math.min(chunk.length, size - filled);
      out.set(chunk.subarray(0, used), filled);
      filled += used;
      if (used === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(used);
    }
    this.length -= size;
    return out;
  }
}

/** Scalars at full resolution in JSON (exact integer steps), for downloads. */
export async function scalarsJson(tag: string, runs: string[]): Promise<unknown> {
  const response = await post("api/scalars", { tag, runs, format: "json" });
  return response.json();
}

interface ColumnsHeader {
  series: { run: string; total: number; points: number; step: "i4" | "f8"; value: "f4" | "f8"; wall0: number }[];
}

/** Reads the SSC2 form (stepscope.server.app.columns_binary) into float64 columns. */
export function decodeColumns(buffer: ArrayBuffer): Series[] {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== "SSC2") throw new ApiError(0, "the server sent scalars in an unknown form");
  const headerLength = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as ColumnsHeader;
  let offset = 8 + headerLength;
  const block = (points: number, kind: "i4" | "f4" | "f8"): ArrayLike<number> => {
    const size = kind === "f8" ? 8 : 4;
    const view =
      kind === "i4"
        ? new Int32Array(buffer, offset, points)
        : kind === "f4"
          ? new Float32Array(buffer, offset, points)
          : new Float64Array(buffer, offset, points);
    offset += Math.ceil((points * size) / 8) * 8;
    return view;
  };
  return header.series.map((entry) => {
    const step = Float64Array.from(block(entry.points, entry.step));
    const offsets = block(entry.points, "f4");
    const wall = new Float64Array(entry.points);
    for (let i = 0; i < entry.points; i++) wall[i] = entry.wall0 + offsets[i];
    const value = Float64Array.from(block(entry.points, entry.value));
    return { run: entry.run, total: entry.total, step, wall, value };
  });
}
