// PLACEHOLDER (being built for issue 5): the mesh view; until then the tags it will show.

import { TagTableView, type View } from "./cards";
import type { Store } from "./state";

export function meshView(_store: Store, _shownRuns: () => Set<string>, plugin: string): View {
  return new TagTableView(plugin);
}
