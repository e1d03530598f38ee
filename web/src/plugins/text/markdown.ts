// Markdown from a log file, made safe to put into the page: marked renders it
// (GitHub-flavoured, with tables), DOMPurify keeps only inert HTML, and the
// page gets a DOM fragment, never an HTML string.
//
// What a logged text may not do: run script (no <script>, no on* handlers, no
// javascript: URLs), load anything (no remote or relative images, no srcset,
// no style attributes or <style>, no iframes, objects, media or forms), or
// pass as part of the page (no id, name or class attributes). Images are kept
// only when they carry their bytes as a data:image URL of a raster format;
// any other image becomes its alt text in brackets. Links to http(s) and
// mailto open in a new tab without referrer; any other link keeps its text and
// loses its target.

import DOMPurify from "dompurify";
import { Marked } from "marked";

const marked = new Marked({ gfm: true, breaks: false });

// An instance of our own, so that its hooks touch no other sanitizing in the page.
const purify = DOMPurify(window);

const FORBID_TAGS = [
  "style", "link", "meta", "base", "iframe", "frame", "frameset", "object", "embed", "applet",
  "form", "button", "select", "option", "optgroup", "textarea", "datalist", "output", "label",
  "audio", "video", "source", "track", "picture", "canvas", "dialog", "template", "portal",
];
const FORBID_ATTR = [
  "style", "srcset", "sizes", "background", "poster", "action", "formaction", "ping", "usemap",
  "longdesc", "cite", "xlink:href", "id", "name", "class", "target", "rel", "loading", "form",
];
const SAFE_LINK = /^(?:https?:|mailto:)/i;
const SAFE_IMAGE = /^data:image\/(?:png|jpeg|gif|webp|bmp|avif);/i;

purify.addHook("afterSanitizeAttributes", (node) => {
  if (node instanceof HTMLAnchorElement) {
    const href = node.getAttribute("href");
    if (href !== null && !SAFE_LINK.test(href.trim())) node.removeAttribute("href");
    if (node.hasAttribute("href")) {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer nofollow");
    }
  } else if (node instanceof HTMLImageElement) {
    if (!SAFE_IMAGE.test((node.getAttribute("src") ?? "").trim())) {
      const alt = node.getAttribute("alt") ?? "";
      node.replaceWith(node.ownerDocument.createTextNode(`[image${alt ? ": " + alt : ""}]`));
    }
  } else if (node instanceof HTMLInputElement) {
    // GFM task lists are the only inputs: read-only checkboxes.
    if (node.getAttribute("type") !== "checkbox") node.remove();
    else node.setAttribute("disabled", "");
  }
});

/** Logged Markdown as a sanitized DOM fragment (GFM: tables, task lists, strikethrough). */
export function renderMarkdown(text: string): DocumentFragment {
  let html: string;
  try {
    html = marked.parse(text, { async: false });
  } catch {
    // marked gave up: show the text as it is
    const plain = document.createDocumentFragment();
    const pre = document.createElement("pre");
    pre.textContent = text;
    plain.append(pre);
    return plain;
  }
  return purify.sanitize(html, {
    RETURN_DOM_FRAGMENT: true,
    USE_PROFILES: { html: true },
    FORBID_TAGS,
    FORBID_ATTR,
    ALLOW_DATA_ATTR: false,
  });
}
