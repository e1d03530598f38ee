// The app shell: tabs for the plugins that have data, the sidebar (settings
// and runs), the view, and the live connection to the server.

import "uplot/dist/uPlot.min.css";
import "./style.css";
import { errorText, getJson, type RunInfo, type ServerState, type TagsByRun } from "./api";
import { audioView } from "./audio";
import type { View, ViewFactory } from "./cards";
import { customScalarsView } from "./customscalars";
import { distributionsView, histogramsView } from "./histograms";
import { hparamsView } from "./hparams";
import { imagesView } from "./images";
import { meshView } from "./mesh";
import { prCurvesView } from "./prcurves";
import { rawView } from "./raw";
import { el, RunSelector } from "./runs";
import { ScalarsView } from "./scalars";
import { textView } from "./text";
import { settingsPanel } from "./settings";
import { Store } from "./state";

// The tabs, in TensorBoard's order; a plugin not listed here is shown after them.
const TABS: [string, string][] = [
  ["scalars", "Scalars"],
  ["custom_scalars", "Custom scalars"],
  ["images", "Images"],
  ["audio", "Audio"],
  ["graphs", "Graphs"],
  ["distributions", "Distributions"],
  ["histograms", "Histograms"],
  ["hparams", "HParams"],
  ["pr_curves", "PR curves"],
  ["mesh", "Mesh"],
  ["projector", "Projector"],
  ["text", "Text"],
];

const store = new Store();
const tabsNav = document.getElementById("tabs")!;
const content = document.getElementById("content")!;
const sidebar = document.getElementById("sidebar")!;
const banner = document.getElementById("banner")!;
const statusLine = document.getElementById("status")!;

let tags: TagsByRun = {};
let generation = -1;
// The views of the tabs; a plugin without a view of its own gets the raw-tensor view.
const VIEWS: Record<string, ViewFactory> = {
  scalars: (store, shownRuns) => new ScalarsView(store, shownRuns),
  custom_scalars: customScalarsView,
  images: imagesView,
  audio: audioView,
  distributions: distributionsView,
  histograms: histogramsView,
  hparams: hparamsView,
  pr_curves: prCurvesView,
  mesh: meshView,
  text: textView,
};
const views = new Map<string, View>();
const runSelector = new RunSelector(store, () => {
  for (const view of views.values()) view.updateRuns();
});

function showBanner(text: string): void {
  banner.textContent = text; // text, never HTML
  banner.hidden = text === "";
}

function pluginsWithData(): string[] {
  const found = new Set<string>();
  for (const byTag of Object.values(tags)) {
    for (const meta of Object.values(byTag)) {
      found.add(meta.plugin);
      if (meta.plugin === "histograms") found.add("distributions");
    }
  }
  const known = TABS.map(([name]) => name);
  return [...known.filter((n) => found.has(n)), ...[...found].filter((n) => !known.includes(n)).sort()];
}

function renderTabs(): void {
  const plugins = pluginsWithData();
  if (!plugins.includes("scalars")) plugins.unshift("scalars");
  const labels = new Map(TABS);
  tabsNav.replaceChildren(
    ...plugins.map((plugin) => {
      const tab = document.createElement("a");
      tab.className = "tab";
      tab.textContent = labels.get(plugin) ?? plugin;
      tab.href = "#tab=" + encodeURIComponent(plugin);
      tab.dataset.plugin = plugin;
      tab.addEventListener("click", (event) => {
        event.preventDefault();
        store.set("tab", plugin);
      });
      if (plugin === store.state.tab) tab.setAttribute("aria-current", "page");
      return tab;
    }),
  );
}

function renderView(): void {
  const tab = store.state.tab;
  let view = views.get(tab);
  if (!view) {
    view = (VIEWS[tab] ?? rawView)(store, () => runSelector.shown(), tab);
    view.setTags(tags);
    views.set(tab, view);
  }
  content.replaceChildren(view.root);
}

async function refresh(): Promise<void> {
  const [runs, found] = await Promise.all([getJson<RunInfo[]>("api/runs"), getJson<TagsByRun>("api/tags")]);
  tags = found;
  runSelector.setRuns(runs);
  renderTabs();
  for (const view of views.values()) view.setTags(tags);
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
          for (const view of views.values()) view.invalidate();
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

async function start(): Promise<void> {
  sidebar.append(settingsPanel(store), runSelector.root);
  store.subscribe((changed) => {
    if (changed.has("tab")) {
      renderTabs();
      renderView();
    }
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
