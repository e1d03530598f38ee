// PLACEHOLDER (being built for issue 5): the audio view; until then the tags it will show.

import { TagTableView, type View } from "./cards";
import type { Store } from "./state";

export function audioView(_store: Store, _shownRuns: () => Set<string>, plugin: string): View {
  return new TagTableView(plugin);
}
