// The images view: a card per run and tag, with a slider over every step
// (TensorBoard keeps 10 per tag; stepscope keeps them all). The bytes are
// fetched when a card scrolls into view, from URLs the browser may cache for good.

import { ApiError, getJson } from "./api";
import { runColor } from "./colors";
import { button, cardHead, el } from "./runs";
import { compileFilter, type Store } from "./state";
import type { TagsByRun } from "./api";

interface BlobInfo {
  step: number;
  wall_time: number;
  index: number;
  width: number;
  height: number;
  content_type: string;
  url: string;
}

class ImageCard {
  readonly card: HTMLElement;
  private blobs: BlobInfo[] = [];
  private steps: number[] = [];
  private slider: HTMLInputElement;
  private label: HTMLElement;
  private frame: HTMLElement;
  private message: HTMLElement;
  private loaded = false;
  visible = false;

  constructor(
    readonly run: string,
    readonly tag: string,
    private filters: () => string,
  ) {
    this.card = el("div", "card image-card");
    this.card.dataset.run = run;
    this.card.dataset.tag = tag;
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    const runName = el("span", "card-run");
    const swatch = el("span", "swatch");
    swatch.style.background = runColor(run);
    const name = el("span", "");
    name.textContent = run;
    runName.append(swatch, name);
    const actual = button("1:1", "Show the image at its actual size (or fit it to the card)", () => {
      this.card.classList.toggle("actual-size");
    });
    head.append(runName, actual);
    this.slider = document.createElement("input");
    this.slider.type = "range";
    this.slider.min = "0";
    this.slider.className = "step-slider";
    this.slider.setAttribute("aria-label", `Step of ${tag} in ${run}`);
    this.slider.addEventListener("input", () => this.show());
    this.label = el("div", "step-label");
    this.frame = el("div", "image-frame");
    this.message = el("div", "card-message");
    this.message.hidden = true;
    this.card.append(head, this.frame, this.message, this.slider, this.label);
  }

  setVisible(visible: boolean): void {
    this.visible = visible;
    if (visible && !this.loaded) void this.load();
  }

  invalidate(): void {
    this.loaded = false;
    if (this.visible) void this.load();
  }

  applyFilters(): void {
    for (const img of this.frame.querySelectorAll("img")) (img as HTMLImageElement).style.filter = this.filters();
  }

  private async load(): Promise<void> {
    this.loaded = true;
    try {
      const params = new URLSearchParams({ run: this.run, tag: this.tag });
      const body = await getJson<{ blobs: BlobInfo[] }>(`api/blobs?${params}`);
      const atEnd = this.steps.length === 0 || Number(this.slider.value) === this.steps.length - 1;
      this.blobs = body.blobs;
      this.steps = [...new Set(this.blobs.map((b) => b.step))];
      this.slider.max = String(Math.max(0, this.steps.length - 1));
      this.slider.disabled = this.steps.length < 2;
      if (atEnd) this.slider.value = this.slider.max;
      this.show();
    } catch (error) {
      this.showMessage(error instanceof ApiError ? error.message : String(error));
      this.card.dataset.state = "error";
    }
  }

  private show(): void {
    const position = Number(this.slider.value);
    const step = this.steps[position];
    if (step === undefined) {
      this.showMessage("No images yet.");
      return;
    }
    const shown = this.blobs.filter((b) => b.step === step);
    const last = new Map<number, BlobInfo>();
    for (const blob of shown) last.set(blob.index, blob); // the last logged at a step wins
    const images = [...last.values()].map((blob) => {
      const img = document.createElement("img");
      img.alt = `${this.tag} at step ${step}`;
      img.width = blob.width || 0;
      img.height = blob.height || 0;
      img.style.filter = this.filters();
      img.addEventListener("error", () => {
        this.showMessage(
          `The image at step ${step} cannot be shown: its bytes are not a valid ${blob.content_type || "image"}.`,
        );
        img.remove();
        this.card.dataset.state = "error";
      });
      img.addEventListener("load", () => {
        this.card.dataset.state = "shown";
      });
      img.src = blob.url;
      return img;
    });
    this.showMessage("");
    this.frame.replaceChildren(...images);
    this.card.dataset.step = String(step);
    const info = last.values().next().value as BlobInfo | undefined;
    this.label.textContent =
      `step ${step.toLocaleString("en-US")} (${position + 1} of ${this.steps.length})` +
      (info && info.width ? ` · ${info.width}×${info.height}` : "");
  }

  private showMessage(text: string): void {
    this.message.textContent = text;
    this.message.hidden = text === "";
  }
}

export class ImagesView {
  readonly root: HTMLElement;
  private cards = new Map<string, ImageCard>();
  private grid: HTMLElement;
  private empty: HTMLElement;
  private observer: IntersectionObserver;
  private brightness = 1;
  private contrast = 1;
  private tags: TagsByRun = {};

  constructor(
    private store: Store,
    private shownRuns: () => Set<string>,
  ) {
    this.root = el("div", "images");
    const bar = el("div", "toolbar");
    bar.append(
      this.slider("Brightness", (v) => (this.brightness = v)),
      this.slider("Contrast", (v) => (this.contrast = v)),
      button("Reset", "Brightness and contrast back to normal", () => {
        for (const input of bar.querySelectorAll("input")) (input as HTMLInputElement).value = "1";
        this.brightness = 1;
        this.contrast = 1;
        this.applyFilters();
      }),
    );
    this.empty = el("p", "empty");
    this.grid = el("div", "cards");
    this.root.append(bar, this.empty, this.grid);
    this.observer = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const key = (entry.target as HTMLElement).dataset.key;
          if (key !== undefined) this.cards.get(key)?.setVisible(entry.isIntersecting);
        }
      },
      { rootMargin: "300px 0px" },
    );
    store.subscribe((changed) => {
      if (changed.has("tagFilter")) this.render();
    });
  }

  private slider(label: string, set: (value: number) => void): HTMLElement {
    const row = el("label", "setting");
    const text = el("span", "");
    text.textContent = label;
    const input = document.createElement("input");
    input.type = "range";
    input.min = "0";
    input.max = "3";
    input.step = "0.05";
    input.value = "1";
    input.setAttribute("aria-label", label);
    input.addEventListener("input", () => {
      set(Number(input.value));
      this.applyFilters();
    });
    row.append(text, input);
    return row;
  }

  private filterCss(): string {
    return this.brightness === 1 && this.contrast === 1
      ? ""
      : `brightness(${this.brightness}) contrast(${this.contrast})`;
  }

  private applyFilters(): void {
    for (const card of this.cards.values()) card.applyFilters();
  }

  setTags(tags: TagsByRun): void {
    this.tags = tags;
    this.render();
  }

  updateRuns(): void {
    this.render();
  }

  invalidate(): void {
    for (const card of this.cards.values()) card.invalidate();
  }

  private render(): void {
    const shown = this.shownRuns();
    const { regex } = compileFilter(this.store.state.tagFilter);
    const wanted: string[] = [];
    for (const [run, byTag] of Object.entries(this.tags)) {
      if (!shown.has(run)) continue;
      for (const [tag, meta] of Object.entries(byTag)) {
        if (meta.plugin !== "images" || (regex && !regex.test(tag))) continue;
        wanted.push(JSON.stringify([tag, run]));
      }
    }
    wanted.sort();
    for (const key of wanted) {
      if (this.cards.has(key)) continue;
      const [tag, run] = JSON.parse(key) as [string, string];
      const card = new ImageCard(run, tag, () => this.filterCss());
      card.card.dataset.key = key;
      this.cards.set(key, card);
      this.observer.observe(card.card);
    }
    this.grid.replaceChildren(...wanted.map((key) => this.cards.get(key)!.card));
    this.empty.hidden = wanted.length > 0;
    this.empty.textContent = "No images for the runs shown.";
  }
}
