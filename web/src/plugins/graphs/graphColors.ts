// The colours of a scene's items: by op type, by structure (groups of equal
// structure alike), or by compute time or memory from run metadata. Fills are
// light, so an item's dark label reads on them in either theme.

import { ItemKind, type Scene } from "./protocol";

export type ColorMode = "op" | "structure" | "compute" | "memory";

const PALETTE = [
  "#b9d3ee", "#ffd2a6", "#b8e6b0", "#ffc0bf", "#d9c8ea", "#dcc3bd", "#f8cce3", "#e6e6aa",
  "#b7e6ee", "#d4d4d4", "#cfe3a4", "#f1d59a", "#f0bcc0", "#e9c4e6", "#c4c6ee", "#e0eac2",
];
const NEUTRAL = "#e3e8ef";
const QUIET = "#eef1f5";
const NO_DATA = "#e6e6e6";

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function keyColor(key: string): string {
  return PALETTE[hash(key) % PALETTE.length];
}

/**
 * Colours for structures: each new one takes the slot its key hashes to or,
 * when an earlier one has it, the next free one, so that different
 * structures differ while the palette lasts; a structure keeps its colour
 * as groups open and close.
 */
export class StructureColors {
  private slots = new Map<string, number>();
  private used = new Set<number>();

  color(key: string): string {
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = hash(key) % PALETTE.length;
      if (this.used.size < PALETTE.length) while (this.used.has(slot)) slot = (slot + 1) % PALETTE.length;
      this.used.add(slot);
      this.slots.set(key, slot);
    }
    return PALETTE[slot];
  }
}

/** White to orange to red, by a share in [0, 1]. */
function heat(share: number): string {
  const t = Math.max(0, Math.min(1, share));
  const stops = [
    [255, 245, 235],
    [253, 174, 107],
    [217, 72, 1],
  ];
  const at = t * (stops.length - 1);
  const i = Math.min(Math.floor(at), stops.length - 2);
  const f = at - i;
  const mix = (k: number) => Math.round(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f);
  return `rgb(${mix(0)},${mix(1)},${mix(2)})`;
}

/** The fill of each item (an opened group's frame gets "" and is drawn by depth). */
export function itemColors(scene: Scene, mode: ColorMode, structures: StructureColors): string[] {
  const colors: string[] = new Array(scene.count);
  const values = mode === "compute" ? scene.compute : mode === "memory" ? scene.memory : null;
  let max = 0;
  if (values) {
    for (let i = 0; i < scene.count; i++) {
      const kind = scene.kinds[i];
      if (kind !== ItemKind.OpenGroup && kind !== ItemKind.OpenRepeat && values[i] > max) max = values[i];
    }
  }
  for (let i = 0; i < scene.count; i++) {
    const kind = scene.kinds[i];
    const closedGroup = kind === ItemKind.Group || kind === ItemKind.Repeat;
    if (kind === ItemKind.OpenGroup || kind === ItemKind.OpenRepeat) colors[i] = mode === "structure" ? structures.color(scene.structureKeys[i]) : "";
    else if (kind === ItemKind.Missing || kind === ItemKind.Anchor) colors[i] = QUIET;
    else if (values) colors[i] = Number.isNaN(values[i]) || max <= 0 ? NO_DATA : heat(Math.sqrt(values[i] / max));
    else if (mode === "structure") colors[i] = closedGroup ? structures.color(scene.structureKeys[i]) : QUIET;
    else colors[i] = closedGroup ? NEUTRAL : keyColor(scene.opKeys[i]);
  }
  return colors;
}

/** What the legend says of the colours: by op and by structure, the boxes say it themselves. */
export function legendOf(mode: ColorMode): [string, string][] {
  if (mode !== "compute" && mode !== "memory") return [];
  return [
    [heat(0), "least"],
    [heat(0.5), ""],
    [heat(1), mode === "compute" ? "most compute time" : "most memory"],
    [NO_DATA, "no data"],
  ];
}
