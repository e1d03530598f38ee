// A colour per run, chosen from its name: the same run has the same colour in
// every chart and after a reload; runs whose names would share one are spread.

const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f", "#3366cc", "#dc3912", "#109618", "#990099", "#0099c6", "#dd4477",
  "#66aa00", "#b82e2e", "#316395", "#994499", "#22aa99", "#aaaa11", "#6633cc", "#e67300",
];

function hash(text: string): number {
  // FNV-1a, 32 bits
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

let assigned = new Map<string, string>();

/**
 * Gives each run the palette colour its name hashes to or, when an earlier run
 * (in name order) has that one, the next free one, so that runs differ in
 * colour as long as the palette lasts. A run's colour changes only when a run
 * sorting before it takes its colour.
 */
export function assignColors(runs: string[]): void {
  const next = new Map<string, string>();
  const used = new Set<number>();
  for (const run of [...runs].sort()) {
    let slot = hash(run) % PALETTE.length;
    if (used.size < PALETTE.length) {
      while (used.has(slot)) slot = (slot + 1) % PALETTE.length;
    }
    used.add(slot);
    next.set(run, PALETTE[slot]);
  }
  assigned = next;
}

export function runColor(run: string): string {
  return assigned.get(run) ?? PALETTE[hash(run) % PALETTE.length];
}

/**
 * The colour mixed with white, for the faint raw line behind the smoothed one.
 * Opaque on purpose: a canvas draws opaque lines much faster than translucent ones.
 */
export function faint(color: string, strength: number): string {
  const n = parseInt(color.slice(1), 16);
  const mix = (c: number) => Math.round(c * strength + 255 * (1 - strength));
  return `rgb(${mix((n >> 16) & 255)},${mix((n >> 8) & 255)},${mix(n & 255)})`;
}
