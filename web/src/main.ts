// The app shell: the tabs the server lists (/api/plugins: the plugins that
// have data, in tab order), the sidebar (the tab's settings and the runs,
// resizable), the view, the theme, and the live connection to the server.
// What each tab shows is plugins/index.ts'.

import "uplot/dist/uPlot.min.css";
import "./style.css";
import {
  errorText,
  getJson,
  type PluginInfo,
  type PluginsAnswer,
  type RunInfo,
  type ServerState,
  type TagsByRun,
} from "./api";
import type { View } from "./cards";
import { onRunColorChange, startTheme } from "./colors";
import { Notices } from "./notices";
import { tabPage } from "./plugins";
import { el, RunSelector } from "./runs";
import { settingsPanel, themeSwitch } from "./settings";
import { Store } from "./state";
import { resizableSidebar } from "./workspace";

/** The pages whose charts the scalar settings (smoothing, axes, ...) apply to; other tabs show their own. */
const SCALAR_SETTINGS_PAGES = new Set(["builtin:scalars", "builtin:custom_scalars"]);

startTheme(); // before anything is drawn
const store = new Store();
const tabsNav = document.getElementById("tabs")!;
const content = document.getElementById("content")!;
const sidebar = document.getElementById("sidebar")!;
const banner = document.getElementById("banner")!;
const statusLine = document.getElementById("status")!;
const notices = new Notices(document.getElementById("notices")!);
const scalarSettings = settingsPanel(store);

let tags: TagsByRun = {};
let plugins: PluginInfo[] = [];
let generation = -1;
/** The views made so far, by tab, with the key of the page each shows (a new key makes a new view). */
const views = new Map<string, { key: string; view: View }>();
const runSelector = new RunSelector(store, () => {
  for (const { view } of views.values()) view.updateRuns();
});

function showBanner(text: string): void {
  banner.textContent = text; // text, never HTML
  banner.hidden = text === "";
}

function renderTabs(): void {
  tabsNav.replaceChildren(
    ...plugins.map(({ name, title }) => {
      const tab = document.createElement("a");
      tab.className = "tab";
      tab.textContent = title; // text, never HTML
      tab.href = "#tab=" + encodeURIComponent(name);
      tab.dataset.plugin = name;
      tab.addEventListener("click", (event) => {
        event.preventDefault();
        store.set("tab", name);
      });
      if (name === store.state.tab) tab.setAttribute("aria-current", "page");
      return tab;
    }),
  );
}

/** The current tab's view, made when first shown or when the server changed what its page is. */
function renderView(): void {
  const tab = store.state.tab;
  const page = tabPage(tab, plugins.find((p) => p.name === tab));
  scalarSettings.hidden = !SCALAR_SETTINGS_PAGES.has(page.key);
  let made = views.get(tab);
  if (!made || made.key !== page.key) {
    made = { key: page.key, view: page.make(store, () => runSelector.shown()) };
    made.view.setTags(tags);
    views.set(tab, made);
  }
  // Put back only when another view: taking the same one out and in again would lose the scroll position.
  if (content.firstChild !== made.view.root || content.childNodes.length !== 1) content.replaceChildren(made.view.root);
}

async function refresh(): Promise<void> {
  const [runs, found, listed] = await Promise.all([
    getJson<RunInfo[]>("api/runs"),
    getJson<TagsByRun>("api/tags"),
    getJson<PluginsAnswer>("api/plugins"),
  ]);
  tags = found;
  plugins = listed.plugins;
  notices.show(listed.problems);
  runSelector.setRuns(runs);
  renderTabs();
  for (const { view } of views.values()) view.setTags(tags);
}

function connect(): void {
  const events = new EventSource("api/events");
  events.addEventListener("state", (event) => {
    const state = JSON.parse((event as MessageEvent).data) as ServerState;
    statusLine.textContent = state.error ? "not reading" : "live";
    statusLine.classList.toggle("live", !state.error);
    showBanner(
      state.error ? `The logdir cannot be read right now: ${state.error}. Retrying; the charts show what was read.` : "",
    );
    if (generation !== -1 && state.generation !== generation) {
      void refresh()
        .then(() => {
          for (const { view } of views.values()) view.invalidate();
          // A plugin's page may have changed (e.g. its first data named it): the tab follows.
          renderView();
        })
        .catch((error) => showBanner(String((error as Error).message)));
    }
    generation = state.generation;
  });
  events.addEventListener("error", () => {
    statusLine.textContent = "offline";
    statusLine.classList.remove("live");
    showBanner("Lost the connection to the stepscope server; retrying…");
  });
  events.addEventListener("open", () => {
    if (banner.textContent?.startsWith("Lost the connection")) showBanner("");
  });
}

/** A person picked a run's colour: every view draws it in it. */
function recolor(runs: Set<string>): void {
  runSelector.redraw();
  for (const { view } of views.values()) {
    if (view.recolor) view.recolor(runs);
    else view.invalidate();
  }
}

async function start(): Promise<void> {
  sidebar.append(scalarSettings, runSelector.root);
  resizableSidebar(sidebar, document.getElementById("sidebar-handle")!);
  document.getElementById("topbar-tools")!.append(themeSwitch());
  content.dataset.cardSize = store.state.cardSize;
  onRunColorChange(recolor);
  store.subscribe((changed) => {
    if (changed.has("tab")) {
      renderTabs();
      renderView();
    }
    if (changed.has("cardSize")) content.dataset.cardSize = store.state.cardSize;
  });
  try {
    // All at once: the generation is read before the runs and tags, so a change
    // in between is seen by the first event and fetched again.
    const [environment, status] = await Promise.all([
      getJson<{ window_title: string; version: string }>("api/environment"),
      getJson<ServerState>("api/status"),
      refresh(),
    ]);
    document.title = environment.window_title;
    generation = status.generation;
  } catch (error) {
    content.replaceChildren();
    const message = el("p", "empty error");
    message.textContent = errorText(error);
    content.append(message);
    return;
  }
  renderView();
  connect();
}

void start();
