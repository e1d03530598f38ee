// The views bundled with the dashboard, by the builtin name a plugin's page
// gives (/api/plugins: "page": {"builtin": "images"}), and what a tab shows
// for the page the server names: a bundled view, a plugin's own module
// (external.ts), or one line saying why neither.
//
// Each kind's view lives in plugins/<kind>/, named as the Python package
// src/stepscope/plugins/<kind>/ that serves it; a kind's folder imports only
// the shared modules (../../), never another kind's.

import type { PluginInfo } from "../api";
import { messageView, type View, type ViewFactory } from "../cards";
import type { Store } from "../state";
import { audioView } from "./audio/audio";
import { customScalarsView } from "./custom_scalars/customscalars";
import { externalView } from "./external";
import { graphsView } from "./graphs/graphs";
import { distributionsView } from "./histograms/distributions";
import { histogramsView } from "./histograms/histograms";
import { hparamsView } from "./hparams/hparams";
import { imagesView } from "./images/images";
import { meshView } from "./mesh/mesh";
import { prCurvesView } from "./pr_curves/prcurves";
import { rawView } from "./raw/raw";
import { ScalarsView } from "./scalars/scalars";
import { sqlView } from "./sql/sql";
import { textView } from "./text/text";

/** The bundled views (mesh loads three.js itself, the first time it draws). */
export const BUILTIN_VIEWS: Readonly<Record<string, ViewFactory>> = {
  scalars: (store, shownRuns) => new ScalarsView(store, shownRuns),
  custom_scalars: customScalarsView,
  images: imagesView,
  audio: audioView,
  histograms: histogramsView,
  distributions: distributionsView,
  text: textView,
  pr_curves: prCurvesView,
  hparams: hparamsView,
  mesh: meshView,
  graphs: graphsView,
  raw: rawView,
  sql: sqlView,
};

/** What a tab shows; ``key`` changes exactly when a different view is wanted. */
export interface TabPage {
  key: string;
  make(store: Store, shownRuns: () => Set<string>): View;
}

/**
 * The page of a tab, from its entry in /api/plugins (``info``), or undefined
 * when the server lists no such plugin (yet): a link may open a tab before
 * its data exists (e.g. #tab=hparams for Lightning's hparams.yaml alone), and
 * its bundled view says what it waits for, as it did before the tabs came
 * from the server; any other name gets the raw view of tags of that name.
 */
export function tabPage(tab: string, info: PluginInfo | undefined): TabPage {
  if (!info) return builtinPage(tab, isBuiltin(tab) ? tab : "raw");
  if (info.problem !== null) return messagePage(`Plugin ${info.name}: ${info.problem}`, true);
  if (info.page === null) return messagePage(`Plugin ${info.name} has no page in the dashboard.`, false);
  if ("url" in info.page) {
    const url = info.page.url;
    return { key: `url:${url}`, make: (_store, shownRuns) => externalView(info, url, shownRuns) };
  }
  if (!isBuiltin(info.page.builtin)) {
    return messagePage(`Plugin ${info.name}: this dashboard has no built-in view "${info.page.builtin}".`, true);
  }
  return builtinPage(tab, info.page.builtin);
}

/** Own keys only: a tab named "constructor" (the URL's, or a plugin's) is not Object's. */
function isBuiltin(name: string): boolean {
  return Object.hasOwn(BUILTIN_VIEWS, name);
}

function builtinPage(tab: string, builtin: string): TabPage {
  return { key: `builtin:${builtin}`, make: (store, shownRuns) => BUILTIN_VIEWS[builtin](store, shownRuns, tab) };
}

function messagePage(text: string, error: boolean): TabPage {
  return { key: `message:${error}:${text}`, make: () => messageView(text, error) };
}
