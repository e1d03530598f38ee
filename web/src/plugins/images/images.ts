// The images view: a card per run and tag, with a slider over every step
// (TensorBoard keeps 10 per tag; stepscope keeps them all). A step may hold
// several images (TF2's max_outputs, a batch): each sample is shown, with its
// place among them. An image is shown at its actual size up to the card's
// width; **Fit** enlarges the samples to share the card's width (with sharp pixels), **1:1**
// shows every pixel even past the card's width. The bytes are fetched when a
// card scrolls into view, from URLs the browser may cache for good.

import "./images.css";
import { ApiError, getJson, request } from "../../api";
import { messageLine, runLabel, StepSlider, LazyCard, TagCardsView, type View } from "../../cards";
import { formatWall } from "../../format";
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

/** How a card sizes its images: actual size up to its width, enlarged to its width, or every pixel. */
type Sizing = "actual" | "fit" | "pixels";

/** The samples of one step, by index (the last logged at an index wins). */
function samplesAt(blobs: BlobInfo[], step: number): BlobInfo[] {
  const last = new Map<number, BlobInfo>();
  for (const blob of blobs) if (blob.step === step) last.set(blob.index, blob);
  return [...last.values()].sort((a, b) => a.index - b.index);
}

class ImageCard extends LazyCard {
  readonly card: HTMLElement;
  private blobs: BlobInfo[] = [];
  private slider: StepSlider;
  private frame: HTMLElement;
  private count: HTMLElement;
  private sizing: Sizing = "actual";
  private sizeButtons: HTMLButtonElement[];
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
    this.card.dataset.sizing = this.sizing;
    const head = cardHead(tag);
    this.count = el("span", "image-count");
    this.count.hidden = true;
    const fit = button("Fit", "Enlarge the images to fill the card's width (or back to their actual size)", () =>
      this.setSizing("fit"),
    );
    const pixels = button("1:1", "Show every pixel, even past the card's width (or fit them in the card)", () =>
      this.setSizing("pixels"),
    );
    fit.dataset.sizing = "fit";
    pixels.dataset.sizing = "pixels";
    this.sizeButtons = [fit, pixels];
    const tools = el("span", "card-tools");
    tools.append(fit, pixels);
    head.append(this.count, runLabel(run), tools);
    this.slider = new StepSlider(`${tag} in ${run}`, () => this.show());
    this.frame = el("div", "image-samples");
    this.card.append(head, this.frame, this.fullLinks, this.message.root, this.slider.root);
    this.showSizing();
    new ResizeObserver(() => this.markEnlarged()).observe(this.frame);
  }

  applyFilters(): void {
    for (const img of this.frame.querySelectorAll("img")) (img as HTMLImageElement).style.filter = this.filters();
  }

  /** A sizing button pressed: that sizing, or back to the actual size when it was already on. */
  private setSizing(chosen: Sizing): void {
    this.sizing = this.sizing === chosen ? "actual" : chosen;
    this.showSizing();
  }

  private showSizing(): void {
    this.card.dataset.sizing = this.sizing;
    for (const found of this.sizeButtons) {
      found.setAttribute("aria-pressed", String(found.dataset.sizing === this.sizing));
    }
    this.markEnlarged();
  }

  /** Images drawn larger than they are get sharp pixels; those scaled down stay smooth. */
  private markEnlarged(): void {
    for (const img of this.frame.querySelectorAll("img")) {
      const image = img as HTMLImageElement;
      image.classList.toggle("enlarged", image.naturalWidth > 0 && image.clientWidth > image.naturalWidth);
    }
  }

  protected async load(stale: () => boolean): Promise<void> {
    const params = new URLSearchParams({ run: this.run, tag: this.tag });
    const body = await getJson<{ blobs: BlobInfo[] }>(`api/plugins/images/list?${params}`);
    if (stale()) return;
    this.blobs = body.blobs;
    this.slider.setSteps([...new Set(this.blobs.map((b) => b.step))].sort((a, b) => a - b));
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
    const samples = samplesAt(this.blobs, step);
    const links: HTMLElement[] = [];
    const figures = samples.map((blob, k) => {
      const figure = el("figure", "image-sample");
      figure.dataset.index = String(blob.index);
      figure.append(this.image(blob, step, samples.length, links));
      if (samples.length > 1) {
        const caption = el("figcaption", "image-caption");
        caption.textContent = `sample ${k + 1} of ${samples.length}`;
        figure.append(caption);
      }
      return figure;
    });
    this.message.show("");
    this.frame.replaceChildren(...figures);
    this.fullLinks.replaceChildren(...links);
    this.card.dataset.step = String(step);
    this.card.dataset.samples = String(samples.length);
    this.count.textContent = samples.length > 1 ? `${samples.length} samples` : "";
    this.count.hidden = samples.length < 2;
    const first = samples[0];
    const size = first && first.width ? `${first.width}×${first.height}` : "";
    const each = samples.length > 1 ? `${samples.length} samples` : "";
    const wall = first ? formatWall(first.wall_time) : "";
    this.slider.describe([size, each, wall].filter((part) => part).join(" · "));
  }

  private image(blob: BlobInfo, step: number, samples: number, links: HTMLElement[]): HTMLImageElement {
    const img = document.createElement("img");
    img.alt = samples > 1 ? `${this.tag} at step ${step}, sample ${blob.index + 1}` : `${this.tag} at step ${step}`;
    if (blob.preview_url) {
      // The page would stall decoding it: a scaled copy, and the whole image a click away.
      const full = document.createElement("a");
      full.href = blob.url;
      full.target = "_blank";
      full.rel = "noopener";
      full.textContent = `Open the full ${blob.width}×${blob.height} image`;
      links.push(full);
      img.classList.add("preview");
    } else if (blob.width && blob.height) {
      img.width = blob.width; // its room is kept while it loads
      img.height = blob.height;
    }
    img.style.filter = this.filters();
    img.addEventListener("error", () => void this.placeholder(img, blob, step));
    img.addEventListener("load", () => {
      this.markEnlarged();
      this.card.dataset.state = "shown";
    });
    img.src = blob.preview_url ?? blob.url;
    return img;
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
