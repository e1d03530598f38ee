// A scalar chart's legend, under it: each line's name in its colour; a click
// on a name hides its line on this chart (and from its tooltip and table),
// another click shows it again. A margin chart has one name per value, which
// hides the value with its band. Whether the charts show their legends is
// one choice for all of them, kept in the browser.

import type { Plotted } from "./chartSeries";
import "./chartLegend.css";
import { RememberedFlag } from "./remembered";
import { button, el } from "./runs";

/** Whether the charts show their legends: kept in the browser. */
export const legendsShown = new RememberedFlag("stepscope.chartLegend", false);

/** What a legend entry stands for: a line, or a margin chart's value with its bounds. */
function entryKey(p: Plotted): string {
  return p.of === undefined ? p.label : `${p.run}\u0000${p.of}`;
}

export class ChartLegend {
  readonly root: HTMLElement;
  /** The chart's tool that shows or hides the legends (of every chart). */
  readonly toggleButton: HTMLButtonElement;
  private hidden = new Set<string>();
  private stop: () => void;

  /** ``onChange`` is called when a line is hidden or shown: the chart draws again. */
  constructor(private onChange: () => void) {
    this.root = el("div", "chart-legend");
    this.toggleButton = button("≡", "Show or hide the legends of the charts (kept in this browser)", () =>
      legendsShown.set(!legendsShown.value),
    );
    this.toggleButton.classList.add("chart-legend-toggle");
    this.show(legendsShown.value);
    this.stop = legendsShown.subscribe((on) => this.show(on));
  }

  private show(on: boolean): void {
    this.root.hidden = !on || this.root.childElementCount === 0;
    this.toggleButton.setAttribute("aria-pressed", String(on));
  }

  /** Whether a line is drawn (not hidden in the legend). */
  drawn(p: Plotted): boolean {
    return !this.hidden.has(entryKey(p));
  }

  /** Lists the chart's lines (drawn or hidden), one entry per value. */
  setLines(lines: Plotted[]): void {
    const entries = new Map<string, Plotted>();
    for (const p of lines) {
      const key = entryKey(p);
      if (!entries.has(key) || !p.role) entries.set(key, p);
    }
    const items = [...entries].map(([key, p]) => {
      const item = button("", "", () => this.toggle(key));
      item.className = "legend-item";
      const off = this.hidden.has(key);
      item.classList.toggle("off", off);
      item.setAttribute("aria-pressed", String(!off));
      item.title = off ? "Show this line" : "Hide this line";
      item.dataset.label = p.label;
      const swatch = el("span", "swatch");
      swatch.style.background = p.color;
      const name = el("span", "legend-name");
      name.textContent = p.label; // text, never HTML
      item.append(swatch, name);
      return item;
    });
    this.root.replaceChildren(...items);
    this.show(legendsShown.value);
  }

  private toggle(key: string): void {
    if (this.hidden.has(key)) this.hidden.delete(key);
    else this.hidden.add(key);
    this.onChange();
  }

  destroy(): void {
    this.stop();
  }
}
