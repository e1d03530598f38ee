// PLACEHOLDER (being built for issue 5): the (any plugin without a view of its own) view; until then the tags it will show.

import { TagTableView, type View } from "./cards";
import type { Store } from "./state";

export function rawView(_store: Store, _shownRuns: () => Set<string>, plugin: string): View {
  return new TagTableView(plugin);
}
