// The workspace's parts that every card view shares: pinned cards (a section
// at the top of the tab, kept in the URL's "pinned"), a card's enlarge
// button, and the sidebar's width (dragged, remembered in the browser).

import { button, el } from "./runs";
import type { Store } from "./state";

/**
 * A tab's pinned cards: the section they show in, at the top of the view, and
 * each card's pin button. A card is known by its key in its view (a scalar
 * chart's tag, a TagCardsView card's key); the URL holds "<tab>:<key>".
 */
export class PinnedCards {
  readonly root: HTMLElement;
  /** The grid the view puts its pinned cards in, in pin order. */
  readonly grid: HTMLElement;
  private count: HTMLElement;
  private buttons = new Map<string, HTMLButtonElement>();

  constructor(
    private store: Store,
    private tab: string,
  ) {
    this.root = el("section", "pinned");
    this.root.setAttribute("aria-label", "Pinned cards");
    const head = el("div", "pinned-head");
    const title = el("span", "group-name");
    title.textContent = "Pinned";
    this.count = el("span", "group-count");
    const clear = button("Unpin all", "Unpin every card of this tab", () => this.unpinAll());
    clear.className = "unpin-all";
    head.append(title, this.count, clear);
    this.grid = el("div", "cards");
    this.root.append(head, this.grid);
    this.root.hidden = true;
  }

  has(key: string): boolean {
    return this.store.state.pinned.has(this.id(key));
  }

  /** The keys among ``keys`` that are pinned, in the order they were pinned. */
  order(keys: Iterable<string>): string[] {
    const wanted = new Set(keys);
    const found: string[] = [];
    for (const id of this.store.state.pinned) {
      const key = this.keyOf(id);
      if (key !== null && wanted.has(key)) found.push(key);
    }
    return found;
  }

  /** A card's pin button (put in its head by the view). */
  button(key: string): HTMLButtonElement {
    const found = button("Pin", "", () => this.toggle(key));
    found.className = "pin-button";
    this.buttons.set(key, found);
    this.showButton(key, found);
    return found;
  }

  forget(key: string): void {
    this.buttons.delete(key);
  }

  /** After the pins changed (a click, the URL): the buttons say what they do; the section shows ``shown`` cards. */
  update(shown: number): void {
    for (const [key, found] of this.buttons) this.showButton(key, found);
    this.count.textContent = String(shown);
    this.root.hidden = shown === 0;
  }

  private showButton(key: string, found: HTMLButtonElement): void {
    const pinned = this.has(key);
    found.textContent = pinned ? "Unpin" : "Pin";
    found.title = pinned ? "Unpin this card" : "Pin this card to the top of the tab";
    found.setAttribute("aria-pressed", String(pinned));
  }

  private toggle(key: string): void {
    const pinned = new Set(this.store.state.pinned);
    const id = this.id(key);
    if (pinned.has(id)) pinned.delete(id);
    else pinned.add(id);
    this.store.set("pinned", pinned);
  }

  private unpinAll(): void {
    const prefix = `${this.tab}:`;
    this.store.set("pinned", new Set([...this.store.state.pinned].filter((id) => !id.startsWith(prefix))));
  }

  private id(key: string): string {
    return `${this.tab}:${key}`;
  }

  private keyOf(id: string): string | null {
    const prefix = `${this.tab}:`;
    return id.startsWith(prefix) ? id.slice(prefix.length) : null;
  }
}

/** A button that makes a card span the grid's whole row (or shrinks it back). */
export function enlargeButton(card: HTMLElement): HTMLButtonElement {
  const found = button("⤢", "Enlarge this card (or shrink it back)", () => {
    const on = card.classList.toggle("enlarged");
    found.setAttribute("aria-pressed", String(on));
    if (on) card.scrollIntoView({ block: "nearest" });
  });
  found.className = "enlarge-button";
  found.setAttribute("aria-pressed", "false");
  return found;
}

/** Puts tools (buttons) at the end of a card's head, in its .card-tools (made if missing). */
export function addCardTools(card: HTMLElement, ...tools: HTMLElement[]): void {
  const head = card.querySelector(".card-head") ?? card;
  let box = head.querySelector(":scope > .card-tools");
  if (!box) {
    box = el("span", "card-tools");
    head.append(box);
  }
  box.prepend(...tools);
}

const SIDEBAR_KEY = "stepscope.sidebarWidth";
const SIDEBAR_DEFAULT = 300;
const SIDEBAR_MIN = 200;

/**
 * Lets the handle beside the sidebar resize it: drag it, or focus it and use
 * the arrow keys; a double-click goes back to the default width. The width
 * is remembered in the browser.
 */
export function resizableSidebar(sidebar: HTMLElement, handle: HTMLElement): void {
  const widest = (): number => Math.max(SIDEBAR_MIN, Math.round(window.innerWidth * 0.6));
  const setWidth = (width: number, remember: boolean): void => {
    const clamped = Math.round(Math.min(widest(), Math.max(SIDEBAR_MIN, width)));
    sidebar.style.width = `${clamped}px`;
    handle.setAttribute("aria-valuenow", String(clamped));
    if (remember) rememberWidth(clamped);
  };
  handle.setAttribute("aria-valuemin", String(SIDEBAR_MIN));
  setWidth(storedWidth() ?? SIDEBAR_DEFAULT, false);
  handle.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    handle.classList.add("dragging");
    const left = sidebar.getBoundingClientRect().left;
    const move = (e: PointerEvent): void => setWidth(e.clientX - left, false);
    const end = (e: PointerEvent): void => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", end);
      handle.removeEventListener("pointercancel", end);
      handle.classList.remove("dragging");
      setWidth(e.clientX - left, true);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", end);
    handle.addEventListener("pointercancel", end);
  });
  handle.addEventListener("keydown", (event) => {
    const step = event.key === "ArrowLeft" ? -16 : event.key === "ArrowRight" ? 16 : 0;
    if (step === 0) return;
    event.preventDefault();
    setWidth(sidebar.getBoundingClientRect().width + step, true);
  });
  handle.addEventListener("dblclick", () => setWidth(SIDEBAR_DEFAULT, true));
}

function storedWidth(): number | null {
  try {
    const width = Number(localStorage.getItem(SIDEBAR_KEY));
    return Number.isFinite(width) && width > 0 ? width : null;
  } catch {
    return null;
  }
}

function rememberWidth(width: number): void {
  try {
    localStorage.setItem(SIDEBAR_KEY, String(width));
  } catch {
    // no storage: the width holds while the page is open
  }
}
