// The arithmetic of the histograms and distributions views, free of the DOM:
// reading the API's bucket rows (non-finite values included), the shared bins
// every step is redrawn on, percentiles by interpolation inside a bucket, and
// round axis ticks, where things go on the canvas and what the cursor points at.

/** One step's histogram: buckets with a positive count, by value. */
export interface Histogram {
  step: number;
  wall: number;
  left: Float64Array;
  right: Float64Array;
  count: Float64Array;
  /** The sum of the counts. */
  total: number;
}

/** What reading the buckets had to mend, for the card's note. */
export interface ReadProblems {
  /** Edges that were NaN or infinite, moved onto the bucket's other edge. */
  clampedEdges: number;
  /** Buckets left out: both edges non-finite, or a count that is NaN, infinite or negative. */
  skippedBuckets: number;
}

/** The distributions' percentiles in basis points: min, -2σ, -1σ, -½σ, median, +½σ, +1σ, +2σ, max of a normal. */
export const BASIS_POINTS = [0, 668, 1587, 3085, 5000, 6915, 8413, 9332, 10000];

/**
 * A histogram from the API's rows of (left edge, right edge, count), where
 * non-finite numbers come as the strings "NaN", "Infinity" and "-Infinity".
 * A bucket with one non-finite edge keeps its count at the other edge; a
 * bucket that cannot be placed, or whose count is not a finite non-negative
 * number, is left out. Both are counted in ``problems``.
 */
export function readHistogram(step: number, wall: number, rows: unknown, problems: ReadProblems): Histogram {
  const left: number[] = [];
  const right: number[] = [];
  const count: number[] = [];
  let total = 0;
  for (const row of Array.isArray(rows) ? rows : []) {
    if (!Array.isArray(row) || row.length < 3) {
      problems.skippedBuckets++;
      continue;
    }
    let a = Number(row[0]);
    let b = Number(row[1]);
    const c = Number(row[2]);
    if (!Number.isFinite(c) || c < 0 || (!Number.isFinite(a) && !Number.isFinite(b))) {
      problems.skippedBuckets++;
      continue;
    }
    if (!Number.isFinite(a)) {
      a = b;
      problems.clampedEdges++;
    } else if (!Number.isFinite(b)) {
      b = a;
      problems.clampedEdges++;
    }
    if (c === 0) continue;
    left.push(Math.min(a, b));
    right.push(Math.max(a, b));
    count.push(c);
    total += c;
  }
  const floats = (a: number[]) => Float64Array.from(a);
  return { step, wall, left: floats(left), right: floats(right), count: floats(count), total };
}

/** The lowest and highest value any bucket reaches, or null if every histogram is empty. */
export function valueRange(histograms: Histogram[]): [number, number] | null {
  let low = Infinity;
  let high = -Infinity;
  for (const h of histograms) {
    for (let i = 0; i < h.count.length; i++) {
      if (h.left[i] < low) low = h.left[i];
      if (h.right[i] > high) high = h.right[i];
    }
  }
  return low <= high ? [low, high] : null;
}

/** A range with room in it: a single value (all values equal) widened around itself. */
export function widened(range: [number, number] | null): [number, number] {
  if (range === null) return [0, 1];
  const [low, high] = range;
  if (high > low) return [low, high];
  const pad = Math.abs(low) * 0.1 || 0.5;
  return [low - pad, high + pad];
}

/** Every step's counts on the same ``bins`` equal bins over ``[low, high]``. */
export interface Rebinned {
  low: number;
  high: number;
  bins: number;
  /** Row-major: ``counts[i * bins + b]`` is step i's count in bin b. */
  counts: Float64Array;
  /** The largest count of any bin of any step. */
  peak: number;
}

/**
 * Redistributes each step's buckets onto shared equal bins (as TensorBoard
 * does), assuming values spread evenly inside a bucket: the steps become
 * comparable, and drawing costs the same whatever the buckets were (torch's
 * default gives hundreds of uneven ones).
 */
export function rebin(histograms: Histogram[], low: number, high: number, bins: number): Rebinned {
  const counts = new Float64Array(histograms.length * bins);
  const width = (high - low) / bins;
  const binOf = (v: number) => Math.min(bins - 1, Math.max(0, Math.floor((v - low) / width)));
  histograms.forEach((h, i) => {
    const row = i * bins;
    for (let k = 0; k < h.count.length; k++) {
      const a = h.left[k];
      const b = h.right[k];
      const c = h.count[k];
      const first = binOf(a);
      const last = binOf(b);
      if (first === last || b <= a) {
        counts[row + (b <= a ? binOf(a) : first)] += c;
        continue;
      }
      for (let bin = first; bin <= last; bin++) {
        const from = Math.max(a, low + bin * width);
        const to = Math.min(b, low + (bin + 1) * width);
        if (to > from) counts[row + bin] += (c * (to - from)) / (b - a);
      }
    }
  });
  let peak = 0;
  for (let j = 0; j < counts.length; j++) if (counts[j] > peak) peak = counts[j];
  return { low, high, bins, counts, peak };
}

/**
 * The values below which the given shares (basis points of 10,000) of a
 * histogram's counts lie: the bucket where the cumulative count reaches the
 * share, and linear interpolation inside it. 0 gives the lowest edge, 10,000
 * the highest; an empty histogram gives NaN for each.
 */
export function bucketPercentiles(h: Histogram, basisPoints: readonly number[] = BASIS_POINTS): Float64Array {
  const out = new Float64Array(basisPoints.length).fill(NaN);
  const n = h.count.length;
  if (n === 0 || !(h.total > 0)) return out;
  basisPoints.forEach((bp, j) => {
    const wanted = (bp / 10000) * h.total;
    let before = 0;
    let k = 0;
    // The first bucket whose cumulative count reaches the wanted one (the last if rounding falls short).
    while (k < n - 1 && before + h.count[k] < wanted) before += h.count[k++];
    const share = Math.min(1, Math.max(0, (wanted - before) / h.count[k]));
    out[j] = h.left[k] + (h.right[k] - h.left[k]) * share;
  });
  return out;
}

/** Round values between ``low`` and ``high`` (steps of 1, 2 or 5 times a power of ten), about ``wanted`` of them. */
export function niceTicks(low: number, high: number, wanted: number): number[] {
  if (!(high > low) || !Number.isFinite(high - low)) return Number.isFinite(low) ? [low] : [];
  const rough = (high - low) / Math.max(1, wanted);
  const power = 10 ** Math.floor(Math.log10(rough));
  const unit = [1, 2, 5, 10].map((m) => m * power).find((m) => m >= rough) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = Math.ceil(low / unit) * unit; v <= high + unit * 1e-9; v += unit) {
    ticks.push(Math.abs(v) < unit * 1e-9 ? 0 : v);
  }
  return ticks;
}

/** The index of the value in a sorted array nearest ``v``. */
export function nearestIndex(sorted: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  if (lo === 0) return 0;
  if (lo >= sorted.length) return sorted.length - 1;
  return v - sorted[lo - 1] <= sorted[lo] - v ? lo - 1 : lo;
}

/** What reading a tag's steps found, for the card's note. */
export interface ReadingFacts {
  histograms: Histogram[];
  problems: ReadProblems;
  /** Steps where some bucket had to be mended or left out. */
  mended: number;
  /** Steps whose tensor was too big to come whole. */
  tooBig: number;
}

/** The card's note: what was mended or left out, and empty histograms; "" if nothing. */
export function readingNote(data: ReadingFacts): string {
  const sentences: string[] = [];
  const { clampedEdges, skippedBuckets } = data.problems;
  const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
  const steps = data.histograms.length;
  if (data.mended) {
    const mends: string[] = [];
    if (skippedBuckets) mends.push(`${plural(skippedBuckets, "bucket")} left out`);
    if (clampedEdges) mends.push(`${plural(clampedEdges, "bucket edge")} clamped`);
    sentences.push(`NaN or infinity at ${data.mended} of ${plural(steps, "step")}: ${mends.join(", ")}.`);
  }
  if (data.tooBig) sentences.push(`${plural(data.tooBig, "step")} too big to show.`);
  const empty = data.histograms.filter((h) => !(h.total > 0)).length;
  if (steps > 0 && empty === steps) {
    sentences.push(`${steps === 1 ? "The histogram is" : "Every histogram is"} empty (all counts 0).`);
  } else if (empty) {
    sentences.push(`${plural(empty, "step is", "steps are")} empty (all counts 0).`);
  }
  return sentences.join(" ");
}

// -- the histograms' canvas ------------------------------------------------------

export type Mode = "offset" | "overlay";

/** Where things go on the histograms' canvas, in CSS pixels. */
export interface Layout {
  mode: Mode;
  left: number;
  right: number;
  top: number;
  bottom: number;
  /** The height of the highest bin of any step. */
  peakHeight: number;
  /** The y of each step's zero line. */
  baselines: Float64Array;
}

/**
 * The layout of a chart of this size for steps at these positions on the x
 * axis chosen in the settings (steps, relative or wall time; logged order).
 * Offset: the last position's zero line at the bottom, the first's a ridge's
 * height below the top, the others placed by their position; overlay: one
 * zero line for all.
 */
export function computeLayout(mode: Mode, width: number, height: number, positions: ArrayLike<number>): Layout {
  const offset = mode === "offset";
  const left = offset ? 12 : 56;
  const right = width - (offset ? 64 : 16);
  const top = 10;
  const bottom = height - 26;
  const peakHeight = offset ? Math.round((bottom - top) * 0.4) : bottom - top;
  const [first, last] = extent(positions);
  const span = last - first;
  const baselines = Float64Array.from(positions, (at) =>
    offset && span > 0 ? top + peakHeight + ((bottom - top - peakHeight) * (at - first)) / span : bottom,
  );
  return { mode, left, right, top, bottom, peakHeight, baselines };
}

/** The lowest and highest of some numbers ([0, 0] for none). */
export function extent(values: ArrayLike<number>): [number, number] {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < values.length; i++) {
    if (values[i] < low) low = values[i];
    if (values[i] > high) high = values[i];
  }
  return low <= high ? [low, high] : [0, 0];
}

/**
 * The step whose ridge is under the cursor: the frontmost (newest) whose
 * filled shape covers it at this bin; above every ridge, the step of the
 * nearest zero line.
 */
export function ridgeAt(layout: Layout, binned: Rebinned, bin: number, y: number): number {
  const scale = binned.peak > 0 ? layout.peakHeight / binned.peak : 0;
  const n = layout.baselines.length;
  for (let i = n - 1; i >= 0; i--) {
    const base = layout.baselines[i];
    if (y <= base && y >= base - binned.counts[i * binned.bins + bin] * scale) return i;
  }
  return nearestIndex(layout.baselines, y);
}

/** The step whose outline passes nearest the cursor at this bin (the newest of equals). */
export function outlineNearest(layout: Layout, binned: Rebinned, bin: number, y: number): number {
  const scale = binned.peak > 0 ? layout.peakHeight / binned.peak : 0;
  let best = 0;
  let distance = Infinity;
  for (let i = layout.baselines.length - 1; i >= 0; i--) {
    const d = Math.abs(layout.bottom - binned.counts[i * binned.bins + bin] * scale - y);
    if (d < distance) {
      distance = d;
      best = i;
    }
  }
  return best;
}
