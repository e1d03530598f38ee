// A colour per run, and the page's theme.
//
// A run gets its colour when it first appears: the first palette colour no
// other run of the logdir has (then colours made beyond the palette), so the
// runs shown differ, and the first ten are tab10's, the most distinct. The
// colour is kept for the run's lifetime in the browser's local storage: it
// stays across reloads and when other runs come and go. A colour picked in
// the run selector replaces it, and is kept the same way.
//
// The theme is light, dark or the system's (prefers-color-scheme), as chosen
// and remembered; the canvases draw in themeColors() and redraw on
// onThemeChange().

// tab10, then colours chosen to differ from it and from each other (CIE Lab),
// none so dark or light that it vanishes on either theme's background.
const PALETTE = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f", "#9126d9", "#6b7326", "#248f64", "#d6995c", "#b82e57", "#d926b5",
  "#265cd9", "#b8572e", "#1f7a7a", "#825717", "#72981b", "#be5cd6", "#ad911f", "#b82e81",
];

/** Local storage is per origin (host and port): the page's path tells two dashboards behind one proxy apart. */
const COLORS_KEY = `stepscope.runColors:${location.pathname}`;
/** Runs remembered at most; beyond, the runs not in the logdir (and not picked) are forgotten. */
const MAX_REMEMBERED = 5000;

function hash(text: string): number {
  // FNV-1a, 32 bits
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Every run given a colour (in this browser), and those whose colour a person picked. */
const colors = new Map<string, string>();
const picked = new Set<string>();
let present: string[] = [];
const colorListeners: ((runs: Set<string>) => void)[] = [];

interface Stored {
  colors: Record<string, string>;
  picked: string[];
}

/** Takes the colours stored (e.g. by another tab) for runs this page has not coloured yet. */
function readStored(): void {
  let stored: Stored;
  try {
    stored = JSON.parse(localStorage.getItem(COLORS_KEY) ?? "null") as Stored;
  } catch {
    return; // no storage (or not ours): colours last as long as the page
  }
  if (!stored || typeof stored.colors !== "object") return;
  for (const [run, color] of Object.entries(stored.colors)) {
    if (!colors.has(run) && isHexColor(color)) colors.set(run, color);
  }
  for (const run of Array.isArray(stored.picked) ? stored.picked : []) {
    if (colors.has(run)) picked.add(run);
  }
}

function writeStored(): void {
  if (colors.size > MAX_REMEMBERED) {
    const kept = new Set(present);
    for (const run of colors.keys()) if (!kept.has(run) && !picked.has(run)) colors.delete(run);
  }
  const stored: Stored = { colors: Object.fromEntries(colors), picked: [...picked] };
  try {
    localStorage.setItem(COLORS_KEY, JSON.stringify(stored));
  } catch {
    // Full or forbidden: the colours still hold while the page is open.
  }
}

/**
 * Colours the logdir's runs: a run keeps the colour it has; a new one, or one
 * back whose colour another run took meanwhile, gets a colour no other run
 * has. Picked colours are kept as picked, even when shared.
 */
export function assignColors(runs: string[]): void {
  readStored();
  const before = new Set(present);
  // Runs already on the page keep their colour first, then the others by name.
  const ordered = [...runs].sort((a, b) => Number(before.has(b)) - Number(before.has(a)) || (a < b ? -1 : a > b ? 1 : 0));
  const used = new Set<string>();
  const kept = new Set<string>();
  const needing: string[] = [];
  for (const run of ordered) {
    const color = colors.get(run);
    if (color && picked.has(run)) used.add(color);
    else if (color && !kept.has(color)) kept.add(color);
    else needing.push(run);
  }
  for (const color of kept) used.add(color);
  const free = freeColors(used);
  for (const run of needing) {
    const color = free.next().value as string;
    colors.set(run, color);
    used.add(color);
  }
  const fresh = runs.some((run) => !before.has(run));
  present = runs.slice();
  if (needing.length > 0 || fresh) writeStored();
}

/** The palette's colours not in ``used``, then those made beyond the palette (endless); ``used`` may grow meanwhile. */
function* freeColors(used: Set<string>): Generator<string> {
  for (const color of PALETTE) if (!used.has(color)) yield color;
  for (let k = 0; ; k++) {
    const color = madeColor(k);
    if (!used.has(color)) yield color;
  }
}

/** The k-th colour beyond the palette: hues a golden angle apart, in three lightnesses. */
function madeColor(k: number): string {
  const hue = (k * 137.508 + 20) % 360;
  const lightness = [0.45, 0.35, 0.55][k % 3];
  return hslHex(hue, 0.6, lightness);
}

function hslHex(hue: number, saturation: number, lightness: number): string {
  const a = saturation * Math.min(lightness, 1 - lightness);
  const channel = (n: number): string => {
    const k = (n + hue / 30) % 12;
    const value = lightness - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(value * 255)
      .toString(16)
      .padStart(2, "0");
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}

function isHexColor(text: unknown): text is string {
  return typeof text === "string" && /^#[0-9a-f]{6}$/i.test(text);
}

/** The run's colour (``#rrggbb``); a name that is no run of the logdir gets the colour its name hashes to. */
export function runColor(run: string): string {
  return colors.get(run) ?? PALETTE[hash(run) % PALETTE.length];
}

/** Gives a run the colour a person picked (``#rrggbb``), remembered as its colour from now on. */
export function setRunColor(run: string, color: string): void {
  if (!isHexColor(color) || colors.get(run) === color) return;
  colors.set(run, color.toLowerCase());
  picked.add(run);
  writeStored();
  for (const listener of colorListeners) listener(new Set([run]));
}

/** Calls ``listener`` with the runs whose colour a person changed. */
export function onRunColorChange(listener: (runs: Set<string>) => void): void {
  colorListeners.push(listener);
}

/**
 * The colour mixed with the background (white, or the dark theme's card
 * colour), for the faint raw line behind the smoothed one. Opaque on
 * purpose: a canvas draws opaque lines much faster than translucent ones.
 */
export function faint(color: string, strength: number): string {
  const n = parseInt(color.slice(1), 16);
  const back = theme === "dark" ? parseInt(themeColors().panel.slice(1), 16) : 0xffffff;
  const mix = (shift: number) =>
    Math.round(((n >> shift) & 255) * strength + ((back >> shift) & 255) * (1 - strength));
  return `rgb(${mix(16)},${mix(8)},${mix(0)})`;
}

// -- the theme -----------------------------------------------------------------

export type ThemeChoice = "system" | "light" | "dark";
export type Theme = "light" | "dark";

/** What a canvas draws in, for the theme shown (style.css's --chart-* and page colours). */
export interface ThemeColors {
  theme: Theme;
  /** The card's background, under the canvas (``#rrggbb``). */
  panel: string;
  /** Text and tick labels. */
  text: string;
  /** Secondary text (notes, counts). */
  muted: string;
  /** The axes' labels and lines. */
  axis: string;
  /** Grid lines. */
  grid: string;
  /** Tick marks. */
  ticks: string;
  /** Lines and borders of the page (a card's border, a midline). */
  line: string;
}

const THEME_KEY = "stepscope.theme";
const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");
let theme: Theme = "light";
let cachedColors: ThemeColors | null = null;
const themeListeners = new Set<(colors: ThemeColors) => void>();
let chosen: ThemeChoice = "system";

/** The theme chosen (remembered in the browser); "system" follows prefers-color-scheme. */
export function themeChoice(): ThemeChoice {
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(THEME_KEY);
  } catch {
    // no storage: the system's
  }
  return stored === "light" || stored === "dark" ? stored : "system";
}

export function setThemeChoice(choice: ThemeChoice): void {
  try {
    if (choice === "system") localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, choice);
  } catch {
    // no storage: it holds while the page is open
  }
  chosen = choice;
  applyTheme();
}


/** Shows the chosen theme (on <html data-theme>) and tells the listeners if it changed. */
function applyTheme(): void {
  const next: Theme = chosen === "system" ? (darkQuery.matches ? "dark" : "light") : chosen;
  document.documentElement.dataset.theme = next;
  if (next === theme && cachedColors) return;
  theme = next;
  cachedColors = null;
  const found = themeColors();
  for (const listener of themeListeners) listener(found);
}

/** Starts showing the theme (at once, before anything is drawn) and following the system's. */
export function startTheme(): void {
  chosen = themeChoice();
  darkQuery.addEventListener("change", applyTheme);
  applyTheme();
}

/** The colours a canvas draws in for the theme shown now (read from style.css, cached per theme). */
export function themeColors(): ThemeColors {
  if (cachedColors) return cachedColors;
  const style = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  cachedColors = {
    theme,
    panel: read("--panel", "#ffffff"),
    text: read("--text", "#1d232b"),
    muted: read("--muted", "#5f6b7a"),
    axis: read("--chart-axis", "#555555"),
    grid: read("--chart-grid", "#eeeeee"),
    ticks: read("--chart-ticks", "#dddddd"),
    line: read("--line", "#dde1e6"),
  };
  return cachedColors;
}

/** Calls ``listener`` with the new colours whenever the theme shown changes; returns how to stop. */
export function onThemeChange(listener: (colors: ThemeColors) => void): () => void {
  themeListeners.add(listener);
  return () => themeListeners.delete(listener);
}
