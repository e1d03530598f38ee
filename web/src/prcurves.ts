// PLACEHOLDER (being built for issue 5): the pr_curves view; until then the tags it will show.

import { TagTableView, type View } from "./cards";
import type { Store } from "./state";

export function prCurvesView(_store: Store, _shownRuns: () => Set<string>, plugin: string): View {
  return new TagTableView(plugin);
}
