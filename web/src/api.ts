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

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { signal, headers: { Accept: "application/json" } });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "the stepscope server does not answer: is it still running?");
  }
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

async function post(path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(path, {
      method: "POST",
      signal,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "the stepscope server does not answer: is it still running?");
  }
  if (!response.ok) throw await failure(response);
  return response;
}

/** Scalars in the binary columnar form (see stepscope.server.app.columns_binary). */
export async function scalars(request: ScalarsRequest, signal?: AbortSignal): Promise<Series[]> {
  const response = await post("api/scalars", { ...request, format: "binary" }, signal);
  return decodeColumns(await response.arrayBuffer());
}

/** Scalars at full resolution in JSON (exact integer steps), for downloads. */
export async function scalarsJson(tag: string, runs: string[]): Promise<unknown> {
  const response = await post("api/scalars", { tag, runs, format: "json" });
  return response.json();
}

export function decodeColumns(buffer: ArrayBuffer): Series[] {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic !== "SSC1") throw new ApiError(0, "the server sent scalars in an unknown form");
  const headerLength = new DataView(buffer).getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as {
    series: { run: string; total: number; points: number }[];
  };
  let offset = 8 + headerLength;
  return header.series.map((entry) => {
    const column = () => {
      const found = new Float64Array(buffer, offset, entry.points);
      offset += entry.points * 8;
      return found;
    };
    return { run: entry.run, total: entry.total, step: column(), wall: column(), value: column() };
  });
}
