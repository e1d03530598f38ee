// Values as the panel and the labels write them: shapes, element counts, attributes.

import type { ApiAttr, ApiNode } from "./protocol";

export function shapeText(shape: number[] | null | undefined): string {
  if (!shape) return "";
  if (shape.length === 0) return "scalar";
  return shape.map((d) => (d < 0 ? "?" : String(d))).join("×");
}

export function elementCount(shape: number[] | null | undefined): number {
  if (!shape) return 0;
  return shape.reduce((n, d) => n * Math.max(d, 1), 1);
}

/** The attributes of a node as a list of text, with which were cut. */
export function attrList(node: ApiNode): { key: string; value: string; truncated: boolean; size: number | null }[] {
  return Object.entries(node.attrs ?? {}).map(([key, attr]) => ({
    key,
    value: attrText(attr),
    truncated: attr.truncated === true,
    size: typeof attr.bytes === "number" ? attr.bytes : null,
  }));
}

/** {"s": "text"} -> text, {"i": 3} -> 3, {"shape": [2, -1]} -> [2, -1], anything else as JSON. */
export function attrText(attr: ApiAttr): string {
  const kinds = Object.keys(attr).filter((k) => k !== "truncated" && k !== "bytes");
  if (kinds.length !== 1) return JSON.stringify(attr);
  const value = attr[kinds[0]];
  if (typeof value === "string") return value;
  if (kinds[0] === "list" && value && typeof value === "object") {
    const lists = Object.values(value as Record<string, unknown>);
    return lists.length === 1 ? JSON.stringify(lists[0]) : JSON.stringify(value);
  }
  return JSON.stringify(value);
}
