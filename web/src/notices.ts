// The notices under the banner: one line per plugin the server could not
// load (/api/plugins "problems"), each shown once, until its × dismisses it.
// Unlike the banner (the logdir or the connection, which come and go), they
// are about the installation, not the data: they stay until dismissed.

import { button, el } from "./runs";

export class Notices {
  private seen = new Set<string>();

  constructor(private root: HTMLElement) {}

  /** Adds a notice for each line not shown before (a dismissed one does not come back). */
  show(lines: string[]): void {
    for (const line of lines) {
      if (this.seen.has(line)) continue;
      this.seen.add(line);
      this.root.append(this.notice(line));
    }
    this.root.hidden = this.root.childElementCount === 0;
  }

  private notice(line: string): HTMLElement {
    const notice = el("div", "notice");
    const text = el("span", "notice-text");
    text.textContent = line; // text, never HTML
    const dismiss = button("×", "Dismiss this notice", () => {
      notice.remove();
      this.root.hidden = this.root.childElementCount === 0;
    });
    dismiss.className = "notice-dismiss";
    dismiss.setAttribute("aria-label", "Dismiss this notice");
    notice.append(text, dismiss);
    return notice;
  }
}
