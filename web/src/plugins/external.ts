// A third-party plugin's page: an ES module served by the plugin from the
// same origin (api/plugins/<name>/static/...), so the page's CSP stays
// script-src 'self'. It is imported when its tab is first opened and wrapped
// in the View the shell drives. A module that fails (to load, to make its
// view) costs only its own tab one line; the other tabs keep working.
//
// The contract a plugin's author codes against (keep it exactly; the docs
// and plugins out there rely on it):
//
//   // A plugin's page module: an ES module whose default export makes the tab's view.
//   export default function createView(host) {
//     // host.name: the tab's plugin name; host.title: its title
//     // host.fetchJson(path): GET JSON from "api/plugins/<name>/<path>", rejecting with an Error carrying the server's one-line message
//     // host.runs(): the run names checked in the run selector (array of strings)
//     // host.runColor(run): the run's colour (a CSS colour string)
//     // host.tags(): the logdir's tags of this plugin's claims: {run: {tag: {plugin, display_name, description}}}
//     const root = document.createElement("div");
//     return { root, setTags(tags) {}, updateRuns() {}, invalidate() {} };   // setTags/updateRuns/invalidate optional
//   }

import { getJson, type PluginInfo, type TagsByRun } from "../api";
import type { View } from "../cards";
import { runColor } from "../colors";
import { el } from "../runs";

/** What a page module's createView is given. */
export interface PluginHost {
  readonly name: string;
  readonly title: string;
  fetchJson(path: string): Promise<unknown>;
  runs(): string[];
  runColor(run: string): string;
  tags(): TagsByRun;
}

/** What a page module's createView returns. */
export interface PluginPageView {
  root: Element;
  setTags?(tags: TagsByRun): void;
  updateRuns?(): void;
  invalidate?(): void;
}

type CreateView = (host: PluginHost) => PluginPageView;

/** The tags of the plugin names a plugin claims, by run (runs without any left out). */
function claimedTags(tags: TagsByRun, claims: readonly string[]): TagsByRun {
  const found: TagsByRun = {};
  for (const [run, byTag] of Object.entries(tags)) {
    const kept = Object.entries(byTag).filter(([, meta]) => claims.includes(meta.plugin));
    if (kept.length > 0) found[run] = Object.fromEntries(kept);
  }
  return found;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The View of a plugin's page module: a frame that holds the plugin's root once it is made. */
class ExternalView implements View {
  readonly root: HTMLElement;
  private tags: TagsByRun = {};
  private page: PluginPageView | null = null;

  constructor(
    private info: PluginInfo,
    url: string,
    private shownRuns: () => Set<string>,
  ) {
    this.root = el("div", "plugin-page");
    this.root.dataset.plugin = info.name;
    this.root.dataset.state = "loading";
    const loading = el("p", "empty");
    loading.textContent = "Loading…";
    this.root.append(loading);
    void this.load(url);
  }

  private host(): PluginHost {
    const { name, title, claims } = this.info;
    return {
      name,
      title,
      fetchJson: (path) => getJson<unknown>(`api/plugins/${name}/${path.replace(/^\/+/, "")}`),
      runs: () => [...this.shownRuns()],
      runColor,
      tags: () => claimedTags(this.tags, claims),
    };
  }

  private async load(url: string): Promise<void> {
    let page: PluginPageView;
    try {
      // Resolved against the document, not this bundle (in assets/), so that a
      // --path_prefix and the server's relative URL both hold.
      const module = await import(/* @vite-ignore */ new URL(url, document.baseURI).href);
      const createView = (module as { default?: unknown }).default;
      if (typeof createView !== "function") throw new Error("its default export is not a function (createView)");
      page = (createView as CreateView)(this.host());
      if (!page || !(page.root instanceof Element)) throw new Error("createView returned no root element");
    } catch (error) {
      this.fail(`its page module failed to load: ${reasonOf(error)}`);
      return;
    }
    this.page = page;
    this.root.replaceChildren(page.root);
    this.root.dataset.state = "ready";
    this.call("setTags", () => page.setTags?.(claimedTags(this.tags, this.info.claims)));
  }

  /** Replaces the tab's content with one line saying what went wrong (and logs it). */
  private fail(what: string): void {
    const text = `Plugin ${this.info.name}: ${what}`;
    console.error(text);
    const line = el("p", "empty error");
    line.textContent = text; // text, never HTML
    this.root.replaceChildren(line);
    this.root.dataset.state = "error";
    this.page = null;
  }

  /** Calls into the plugin's view; what it throws stays in its tab, logged, so the shell goes on. */
  private call(method: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      console.error(`Plugin ${this.info.name}: its view's ${method}() failed: ${reasonOf(error)}`);
    }
  }

  setTags(tags: TagsByRun): void {
    this.tags = tags;
    const page = this.page;
    if (page) this.call("setTags", () => page.setTags?.(claimedTags(tags, this.info.claims)));
  }

  updateRuns(): void {
    const page = this.page;
    if (page) this.call("updateRuns", () => page.updateRuns?.());
  }

  invalidate(): void {
    const page = this.page;
    if (page) this.call("invalidate", () => page.invalidate?.());
  }
}

/** The view of a plugin whose page is its own module at ``url`` (relative to the page). */
export function externalView(info: PluginInfo, url: string, shownRuns: () => Set<string>): View {
  return new ExternalView(info, url, shownRuns);
}
