// The messages the sidebar's search finds (GET /api/search), below the chats that
// match by name or number: grouped by chat, newest first, the match marked. Marks are
// built from the API's code point offsets with text nodes and <mark>, never HTML.

import { api } from "./api.js";
import { h } from "./dom.js";
import { listTime, showPhone } from "./format.js";

const PAGE = 20;
const CONTEXT = 40; // characters shown before the first match of a long text

// The field a result's highlights index into.
function matchedText(result) {
  const message = result.message;
  if (result.kind === "customer") {
    const customer = result.customer || {};
    const field = result.field || "";
    if (field.startsWith("customer.attributes.")) {
      const value = (customer.attributes || {})[field.slice("customer.attributes.".length)];
      return typeof value === "string" ? value : JSON.stringify(value ?? "");
    }
    return customer[field.replace("customer.", "")] || customer.name || customer.phone || "";
  }
  if (!message) return "";
  if (result.field === "caption") return message.caption || "";
  if (result.field === "edited") return (message.edited && message.edited.text) || "";
  if (result.field === "file_name") return (message.media && message.media.filename) || "";
  return message.text || message.caption || "";
}

// Text with its [start, end) code point ranges as <mark>: a list of nodes.
export function markedText(text, highlights) {
  const chars = Array.from(text || "");
  const ranges = (highlights || []).filter(([s, e]) => e > s && s >= 0 && e <= chars.length);
  let from = 0;
  if (ranges.length && ranges[0][0] > CONTEXT) from = ranges[0][0] - CONTEXT;
  const nodes = from ? ["…"] : [];
  let at = from;
  for (const [start, end] of ranges) {
    if (start < at) continue;
    if (start > at) nodes.push(chars.slice(at, start).join(""));
    nodes.push(h("mark", { class: "rounded-sm bg-amber-200 px-0.5 text-slate-900", text: chars.slice(start, end).join("") }));
    at = end;
  }
  if (at < chars.length) nodes.push(chars.slice(at).join(""));
  return nodes;
}

export class MessageSearch {
  constructor({ root, list, status, more, search, onOpen }) {
    this.root = root;
    this.list = list;
    this.status = status;
    this.moreButton = more;
    this.onOpen = onOpen;
    this.query = "";
    this.next = null;
    this.groups = new Map(); // phone -> <ul> of its results
    this.generation = 0;
    let debounce = null;
    search.addEventListener("input", () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => this.setQuery(search.value), 250);
    });
    more.addEventListener("click", () => this.load());
  }

  setQuery(value) {
    const query = value.trim();
    if (query === this.query) return;
    this.query = query;
    this.generation += 1;
    this.groups.clear();
    this.list.replaceChildren();
    this.next = null;
    this.moreButton.hidden = true;
    this.root.hidden = Array.from(query).length < 2;
    if (!this.root.hidden) this.load();
  }

  async load() {
    const generation = this.generation;
    const params = new URLSearchParams({ q: this.query, limit: String(PAGE) });
    if (this.next) params.set("before", this.next);
    this.status.textContent = "Searching messages…";
    this.moreButton.hidden = true;
    try {
      const page = await api(`/api/search?${params}`);
      if (generation !== this.generation) return;
      for (const result of page.results) this.add(result);
      this.next = page.next;
      this.moreButton.hidden = !page.next;
      this.status.textContent = this.groups.size ? "" : `No messages match “${this.query}”.`;
    } catch (error) {
      if (generation === this.generation) this.status.textContent = `Could not search: ${error.message}`;
    }
  }

  add(result) {
    let group = this.groups.get(result.phone);
    if (!group) {
      group = h("ul", { class: "divide-y divide-slate-100" });
      const name = result.name && result.name !== result.phone ? result.name : showPhone(result.phone);
      this.list.append(h("li", { class: "search-group", dataset: { phone: result.phone } },
        h("p", { class: "bg-slate-50 px-3 pt-2 pb-1 text-xs font-semibold text-slate-600", text: name }), group));
      this.groups.set(result.phone, group);
    }
    const message = result.message;
    const label = result.kind === "note" ? "Note" : result.kind === "customer" ? "Customer details"
      : result.field === "file_name" ? "File" : result.field === "edited" ? "Edited" : null;
    const link = h("a", {
      class: "search-hit block px-3 py-2 text-sm hover:bg-slate-50 focus:bg-emerald-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-emerald-600",
      href: `#/chat/${encodeURIComponent(result.phone)}`,
      dataset: { message: message ? message.id : "" },
      onclick: (event) => {
        event.preventDefault();
        this.onOpen(result.phone, message ? message.id : null);
      },
    },
      h("span", { class: "flex items-baseline gap-2" },
        label ? h("span", { class: "shrink-0 text-[11px] font-medium uppercase text-slate-500", text: label }) : null,
        h("span", { class: "search-snippet line-clamp-2 min-w-0 flex-1 text-slate-700" }, markedText(matchedText(result), result.highlights)),
        message ? h("time", { class: "shrink-0 text-xs text-slate-500", datetime: message.timestamp, text: listTime(message.timestamp) }) : null));
    group.append(h("li", {}, link));
  }
}
