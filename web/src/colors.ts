// A colour per run that depends on its name only: the same run has the same
// colour in every chart, after a reload and when other runs come and go.

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

const cache = new Map<string, string>();

export function runColor(run: string): string {
  let found = cache.get(run);
  if (found === undefined) {
    found = PALETTE[hash(run) % PALETTE.length];
    cache.set(run, found);
  }
  return found;
}

/** The colour with an alpha, for the faint raw line behind the smoothed one. */
export function faint(color: string, alpha: number): string {
  const n = parseInt(color.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
}
