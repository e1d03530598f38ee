// PLACEHOLDER (being built for issue 5): the histograms and distributions views; until then the tags they will show.

import { TagTableView, type View } from "./cards";
import type { Store } from "./state";

export function histogramsView(_store: Store, _shownRuns: () => Set<string>): View {
  return new TagTableView("histograms");
}

export function distributionsView(_store: Store, _shownRuns: () => Set<string>): View {
  return new TagTableView("histograms");
}
