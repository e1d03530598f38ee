// The images view: a card per run and tag, with a slider over every step
// (TensorBoard keeps 10 per tag; stepscope keeps them all). The bytes are
// fetched when a card scrolls into view, from URLs the browser may cache for good.

import { ApiError, getJson, request } from "../../api";
import { messageLine, runLabel, StepSlider, LazyCard, TagCardsView, type View } from "../../cards";
import { button, cardHead, el } from "../../runs";
import type { Store } from "../../state";

interface BlobInfo {
  step: number;
  wall_time: number;
  index: number;
  width: number;
  height: number;
  content_type: string;
  url: string;
  /** For an image too large to decode in the page at once: a scaled copy. */
  preview_url: string | null;
}

class ImageCard extends LazyCard {
  readonly card: HTMLElement;
  private blobs: BlobInfo[] = [];
  private slider: StepSlider;
  private frame: HTMLElement;
  private fullLinks = el("div", "image-links");
  protected readonly message = messageLine();

  constructor(
    readonly run: string,
    readonly tag: string,
    private filters: () => string,
  ) {
    super();
    this.card = el("div", "card image-card");
    this.card.dataset.state = "waiting";
    const head = cardHead(tag);
    const actual = button("1:1", "Show the image at its actual size (or fit it to the card)", () => {
      this.card.classList.toggle("actual-size");
    });
    head.append(runLabel(run), actual);
    this.slider = new StepSlider(`${tag} in ${run}`, () => this.show());
    this.frame = el("div", "image-frame");
    this.card.append(head, this.frame, this.fullLinks, this.message.root, this.slider.root);
  }

  applyFilters(): void {
    for (const img of this.frame.querySelectorAll("img")) (img as HTMLImageElement).style.filter = this.filters();
  }

  protected async load(stale: () => boolean): Promise<void> {
    const params = new URLSearchParams({ run: this.run, tag: this.tag });
    const body = await getJson<{ blobs: BlobInfo[] }>(`api/plugins/images/list?${params}`);
    if (stale()) return;
    this.blobs = body.blobs;
    this.slider.setSteps([...new Set(this.blobs.map((b) => b.step))]);
    this.show();
  }

  /** An image that cannot be shown leaves a placeholder saying why; the other images stay. */
  private async placeholder(img: HTMLImageElement, blob: BlobInfo, step: number): Promise<void> {
    let reason = `its bytes are not a valid ${blob.content_type || "image"}`;
    try {
      // The server says why when it could not make a preview; the browser's decoder does not.
      await request(blob.preview_url ?? blob.url);
    } catch (error) {
      if (error instanceof ApiError && error.status !== 0) reason = error.message;
    }
    const box = el("div", "image-placeholder");
    box.textContent = `The image at step ${step} cannot be shown: ${reason}.`;
    img.replaceWith(box);
    this.card.dataset.state = "error";
  }

  private show(): void {
    const step = this.slider.step;
    if (step === undefined) {
      this.message.show("No images yet.");
      return;
    }
    const last = new Map<number, BlobInfo>();
    for (const blob of this.blobs) if (blob.step === step) last.set(blob.index, blob); // the last logged wins
    const links: HTMLElement[] = [];
    const images = [...last.values()].map((blob) => {
      const img = document.createElement("img");
      img.alt = `${this.tag} at step ${step}`;
      if (blob.preview_url) {
        // The page would stall decoding it: a scaled copy, and the whole image a click away.
        const full = document.createElement("a");
        full.href = blob.url;
        full.target = "_blank";
        full.rel = "noopener";
        full.textContent = `Open the full ${blob.width}×${blob.height} image`;
        links.push(full);
        img.classList.add("preview");
      } else {
        img.width = blob.width || 0;
        img.height = blob.height || 0;
      }
      img.style.filter = this.filters();
      img.addEventListener("error", () => void this.placeholder(img, blob, step));
      img.addEventListener("load", () => {
        this.card.dataset.state = "shown";
      });
      img.src = blob.preview_url ?? blob.url;
      return img;
    });
    this.message.show("");
    this.frame.replaceChildren(...images);
    this.fullLinks.replaceChildren(...links);
    this.card.dataset.step = String(step);
    const info = last.values().next().value as BlobInfo | undefined;
    this.slider.describe(info && info.width ? `${info.width}×${info.height}` : "");
  }
}

/** The images view: cards of every images tag, with brightness and contrast for all. */
export function imagesView(store: Store, shownRuns: () => Set<string>): View {
  let brightness = 1;
  let contrast = 1;
  const filterCss = (): string =>
    brightness === 1 && contrast === 1 ? "" : `brightness(${brightness}) contrast(${contrast})`;
  let view: TagCardsView<ImageCard> | null = null;
  const applyFilters = (): void => {
    for (const card of view?.cards.values() ?? []) card.applyFilters();
  };
  const sliders: HTMLInputElement[] = [];
  const slider = (label: string, set: (value: number) => void): HTMLElement => {
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
      applyFilters();
    });
    sliders.push(input);
    row.append(text, input);
    return row;
  };
  const tools = [
    slider("Brightness", (v) => (brightness = v)),
    slider("Contrast", (v) => (contrast = v)),
    button("Reset", "Brightness and contrast back to normal", () => {
      for (const input of sliders) input.value = "1";
      brightness = 1;
      contrast = 1;
      applyFilters();
    }),
  ];
  view = new TagCardsView(store, shownRuns, {
    className: "images",
    accepts: (meta) => meta.plugin === "images",
    makeCard: (run, tag) => new ImageCard(run, tag, filterCss),
    emptyText: "No images for the runs and tags shown.",
    tools,
  });
  return view;
}
