// The settings: the scalar charts' panel in the sidebar (smoothing, the x
// axis, log scale, outliers, tooltip order), shown on the tabs that draw
// scalar charts only; the cards' size, in each card view's toolbar; the
// theme switch, in the top bar.

import { setThemeChoice, type ThemeChoice, themeChoice } from "./colors";
import { el } from "./runs";
import type { Store, TooltipSort, XAxis } from "./state";

/** The scalar charts' settings. */
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

  const axis = labelledSelect("x-axis", "X axis", [
    ["step", "Step"],
    ["relative", "Relative time"],
    ["wall", "Wall time"],
  ]);
  axis.box.addEventListener("change", () => store.set("xAxis", axis.box.value as XAxis));

  const log = checkbox("log-y", "Log-scale y axis", (on) => store.set("logY", on));
  const outliers = checkbox("ignore-outliers", "Ignore outliers in the y range", (on) =>
    store.set("ignoreOutliers", on),
  );

  const sort = labelledSelect("tooltip-sort", "Tooltip order", [
    ["value", "By value"],
    ["run", "By run"],
  ]);
  sort.box.addEventListener("change", () => store.set("tooltipSort", sort.box.value as TooltipSort));

  root.append(smoothingRow, axis.row, log.row, outliers.row, sort.row);
  const sync = () => {
    show();
    axis.box.value = store.state.xAxis;
    log.box.checked = store.state.logY;
    outliers.box.checked = store.state.ignoreOutliers;
    sort.box.value = store.state.tooltipSort;
  };
  sync();
  store.subscribe(sync);
  return root;
}

function labelledSelect(id: string, label: string, options: [string, string][]) {
  const row = el("div", "setting");
  const text = el("label", "");
  text.textContent = label;
  text.setAttribute("for", id);
  const box = document.createElement("select");
  box.id = id;
  for (const [value, name] of options) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = name;
    box.append(option);
  }
  row.append(text, box);
  return { row, box };
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

/** The cards' size (small, medium, large: in the URL), for a card view's toolbar. */
export function cardSizeControl(store: Store): HTMLElement {
  return toolbarSelect(store, "cardSize", "Cards", "Card size", "card-size", [
    ["small", "Small"],
    ["medium", "Medium"],
    ["large", "Large"],
  ]);
}

/** Where the steps go along a histogram view's axis: the scalars' x axis setting, so the tabs agree. */
export function stepAxisControl(store: Store): HTMLElement {
  return toolbarSelect(store, "xAxis", "Steps by", "Place the steps by", "histo-axis", [
    ["step", "Step"],
    ["relative", "Relative time"],
    ["wall", "Wall time"],
  ]);
}

/** A labelled select in a toolbar that shows and sets one key of the view state. */
function toolbarSelect<K extends "cardSize" | "xAxis">(
  store: Store,
  key: K,
  label: string,
  ariaLabel: string,
  className: string,
  options: [string, string][],
): HTMLElement {
  const row = el("label", `setting ${className}`);
  const text = el("span", "");
  text.textContent = label;
  const box = document.createElement("select");
  box.setAttribute("aria-label", ariaLabel);
  for (const [value, name] of options) box.append(new Option(name, value));
  box.value = store.state[key];
  box.addEventListener("change", () => store.set(key, box.value as Store["state"][K]));
  store.subscribe((changed) => {
    if (changed.has(key)) box.value = store.state[key];
  });
  row.append(text, box);
  return row;
}

/** Light, dark or the system's theme (remembered in the browser), for the top bar. */
export function themeSwitch(): HTMLElement {
  const box = document.createElement("select");
  box.id = "theme";
  box.className = "theme-switch";
  box.title = "Colour theme";
  box.setAttribute("aria-label", "Colour theme");
  for (const [value, name] of [
    ["system", "System theme"],
    ["light", "Light"],
    ["dark", "Dark"],
  ]) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = name;
    box.append(option);
  }
  box.value = themeChoice();
  box.addEventListener("change", () => setThemeChoice(box.value as ThemeChoice));
  return box;
}
