// The settings panel: smoothing, the x axis, log scale, outliers, tooltip order.

import { el } from "./runs";
import type { Store, TooltipSort, XAxis } from "./state";

export function settingsPanel(store: Store): HTMLElement {
  const root = el("details", "settings");
  (root as HTMLDetailsElement).open = true;
  const summary = el("summary", "");
  summary.textContent = "Settings";
  root.append(summary);

  const smoothingRow = el("div", "setting");
  const smoothingLabel = el("label", "");
  smoothingLabel.textContent = "Smoothing";
  smoothingLabel.setAttribute("for", "smoothing");
  const slider = document.createElement("input");
  slider.type = "range";
  slider.id = "smoothing";
  slider.min = "0";
  slider.max = "0.999";
  slider.step = "0.001";
  const number = document.createElement("input");
  number.type = "number";
  number.min = "0";
  number.max = "0.999";
  number.step = "0.01";
  number.className = "smoothing-number";
  number.setAttribute("aria-label", "Smoothing weight");
  const show = () => {
    slider.value = String(store.state.smoothing);
    number.value = String(store.state.smoothing);
  };
  const apply = (text: string) => {
    const value = Number(text);
    if (Number.isFinite(value)) store.set("smoothing", Math.min(0.999, Math.max(0, value)));
  };
  slider.addEventListener("input", () => apply(slider.value));
  number.addEventListener("change", () => apply(number.value));
  smoothingRow.append(smoothingLabel, slider, number);

  const axisRow = el("div", "setting");
  const axisLabel = el("label", "");
  axisLabel.textContent = "X axis";
  axisLabel.setAttribute("for", "x-axis");
  const axis = select("x-axis", [
    ["step", "Step"],
    ["relative", "Relative time"],
    ["wall", "Wall time"],
  ]);
  axis.addEventListener("change", () => store.set("xAxis", axis.value as XAxis));
  axisRow.append(axisLabel, axis);

  const log = checkbox("log-y", "Log-scale y axis", (on) => store.set("logY", on));
  const outliers = checkbox("ignore-outliers", "Ignore outliers in the y range", (on) =>
    store.set("ignoreOutliers", on),
  );

  const sortRow = el("div", "setting");
  const sortLabel = el("label", "");
  sortLabel.textContent = "Tooltip order";
  sortLabel.setAttribute("for", "tooltip-sort");
  const sort = select("tooltip-sort", [
    ["value", "By value"],
    ["run", "By run"],
  ]);
  sort.addEventListener("change", () => store.set("tooltipSort", sort.value as TooltipSort));
  sortRow.append(sortLabel, sort);

  root.append(smoothingRow, axisRow, log.row, outliers.row, sortRow);
  const sync = () => {
    show();
    axis.value = store.state.xAxis;
    log.box.checked = store.state.logY;
    outliers.box.checked = store.state.ignoreOutliers;
    sort.value = store.state.tooltipSort;
  };
  sync();
  store.subscribe(sync);
  return root;
}

function select(id: string, options: [string, string][]): HTMLSelectElement {
  const found = document.createElement("select");
  found.id = id;
  for (const [value, label] of options) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label;
    found.append(option);
  }
  return found;
}

function checkbox(id: string, label: string, onChange: (on: boolean) => void) {
  const row = el("div", "setting");
  const box = document.createElement("input");
  box.type = "checkbox";
  box.id = id;
  const text = el("label", "");
  text.textContent = label;
  text.setAttribute("for", id);
  box.addEventListener("change", () => onChange(box.checked));
  row.append(box, text);
  return { row, box };
}
