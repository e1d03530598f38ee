// A yes/no choice of the page kept in the browser (local storage), which
// every part showing it follows: e.g. whether the charts show their legends.

export class RememberedFlag {
  private listeners = new Set<(on: boolean) => void>();
  private on: boolean;

  constructor(
    private key: string,
    fallback: boolean,
  ) {
    const kept = readStorage(key);
    this.on = kept === null ? fallback : kept === "1";
  }

  get value(): boolean {
    return this.on;
  }

  set(on: boolean): void {
    this.on = on;
    writeStorage(this.key, on ? "1" : "0");
    for (const listener of this.listeners) listener(on);
  }

  /** Calls ``listener`` on every change; returns what stops it. */
  subscribe(listener: (on: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

// Storage may be unavailable (private windows, a sandboxed frame): the choice then lasts the page's life.
export function readStorage(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function writeStorage(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // see readStorage
  }
}
