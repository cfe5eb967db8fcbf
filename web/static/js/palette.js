// The command palette (Ctrl+K, or Cmd+K on a Mac) and the shortcuts list (`?`), on
// every page (shell.js opens them). Pages add what they can do with addSource(fn):
// fn(query) returns commands {title, hint?, keywords?, run()} (or a promise of them,
// for chats found by the server). The palette is a dialog with a combobox: arrows
// choose, Enter runs, Esc closes and gives focus back where it was.

import { h } from "./dom.js";

const sources = [];
const shortcuts = [
  ["Ctrl K / ⌘ K", "Command palette: jump to a chat, act on the open one, go to a page"],
  ["?", "These shortcuts"],
];

export function addSource(source) {
  sources.push(source);
}

export function addShortcuts(list) {
  shortcuts.push(...list);
}

// Higher is better; 0 leaves the command out. Every word of the query must match.
export function score(query, command) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return 1 + (command.boost || 0);
  const title = command.title.toLowerCase();
  const hay = `${title} ${(command.keywords || "").toLowerCase()}`;
  let total = 0;
  for (const word of words) {
    if (!hay.includes(word)) return 0;
    total += title.startsWith(word) ? 3 : new RegExp(`\\b${word.replace(/[^a-z0-9]/g, "\\$&")}`).test(title) ? 2 : 1;
  }
  return total + (command.boost || 0);
}

class Palette {
  constructor() {
    this.items = [];
    this.active = 0;
    this.back = null;
    this.generation = 0;
    this.input = h("input", {
      id: "palette-input", type: "text", role: "combobox", autocomplete: "off", spellcheck: "false",
      "aria-expanded": "true", "aria-controls": "palette-list", "aria-autocomplete": "list",
      "aria-label": "Command or chat", placeholder: "Type a command, a name or a number",
      class: "w-full rounded-t-lg border-b border-slate-200 bg-white px-4 py-3 text-base focus:outline-none",
    });
    this.list = h("ul", { id: "palette-list", role: "listbox", "aria-label": "Commands",
                          class: "max-h-80 overflow-y-auto py-1 text-sm" });
    this.empty = h("p", { class: "px-4 py-3 text-sm text-slate-600", hidden: true, text: "Nothing matches." });
    this.dialog = h("dialog", {
      id: "palette", "aria-label": "Command palette",
      class: "mx-auto mt-[10vh] w-[36rem] max-w-[95vw] rounded-lg bg-white p-0 text-slate-900 shadow-xl backdrop:bg-black/40",
    }, this.input, this.list, this.empty);
    document.body.append(this.dialog);
    this.input.addEventListener("input", () => this.update());
    this.input.addEventListener("keydown", (event) => this.key(event));
    this.dialog.addEventListener("close", () => this.restore());
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  open(initial = "") {
    if (this.dialog.open) return;
    this.back = document.activeElement;
    this.input.value = initial;
    this.dialog.showModal();
    this.input.focus();
    this.update();
  }

  restore() {
    const back = this.back;
    this.back = null;
    if (back && back.isConnected && back !== document.body && !back.closest("[hidden]")) back.focus();
  }

  async update() {
    const generation = ++this.generation;
    const query = this.input.value.trim();
    const found = [];
    const later = [];
    for (const source of sources) {
      const answer = source(query);
      if (answer && typeof answer.then === "function") later.push(answer);
      else found.push(...(answer || []));
    }
    this.show(query, found);
    if (!later.length) return;
    const more = (await Promise.allSettled(later)).flatMap((r) => (r.status === "fulfilled" ? r.value : []));
    if (generation !== this.generation) return;
    this.show(query, [...found, ...more]);
  }

  show(query, commands) {
    const seen = new Set();
    const unique = commands.filter((c) => {
      const key = `${c.title}\n${c.hint || ""}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const ranked = unique.map((command, order) => ({ command, order, rank: score(query, command) }))
      .filter((r) => r.rank > 0).sort((a, b) => b.rank - a.rank || a.order - b.order).slice(0, 30);
    this.items = ranked.map((r) => r.command);
    this.active = 0;
    this.list.replaceChildren(...this.items.map((command, i) => h("li", {
      id: `palette-option-${i}`, role: "option", "aria-selected": "false",
      class: "palette-option flex cursor-pointer items-baseline gap-2 px-4 py-2 aria-selected:bg-emerald-700 aria-selected:text-white",
      onclick: () => this.run(i),
    }, h("span", { class: "min-w-0 flex-1 truncate", text: command.title }),
    command.hint ? h("span", { class: "palette-hint shrink-0 text-xs", text: command.hint }) : null)));
    this.empty.hidden = this.items.length > 0;
    this.mark();
  }

  mark() {
    [...this.list.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === this.active)));
    const current = this.list.children[this.active];
    if (current) {
      this.input.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView({ block: "nearest" });
    } else {
      this.input.removeAttribute("aria-activedescendant");
    }
  }

  key(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!this.items.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.items.length) % this.items.length;
      this.mark();
    } else if (event.key === "Enter") {
      event.preventDefault();
      this.run(this.active);
    }
  }

  run(index) {
    const command = this.items[index];
    if (!command) return;
    this.dialog.close();
    command.run();
  }
}

class ShortcutList {
  constructor() {
    this.dialog = h("dialog", {
      id: "shortcuts", "aria-labelledby": "shortcuts-title",
      class: "m-auto w-[32rem] max-w-[95vw] rounded-lg bg-white p-4 text-slate-900 shadow-xl backdrop:bg-black/40",
    });
    document.body.append(this.dialog);
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  open() {
    const back = document.activeElement;
    this.dialog.replaceChildren(
      h("div", { class: "mb-2 flex items-center" },
        h("h2", { id: "shortcuts-title", class: "font-semibold", text: "Keyboard shortcuts" }),
        h("form", { method: "dialog", class: "ml-auto" },
          h("button", { type: "submit", class: "rounded px-2 py-1 text-sm hover:bg-slate-100 focus:ring-2 focus:ring-emerald-600 focus:outline-none", text: "Close" }))),
      h("p", { class: "mb-2 text-xs text-slate-600", text: "Single keys work when you are not typing in a field." }),
      h("dl", { class: "grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm" },
        ...shortcuts.flatMap(([keys, what]) => [
          h("dt", {}, h("kbd", { class: "rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs ring-1 ring-slate-300", text: keys })),
          h("dd", { text: what })])));
    this.dialog.addEventListener("close", () => {
      if (back && back.isConnected && back !== document.body) back.focus();
    }, { once: true });
    this.dialog.showModal();
  }
}

let palette = null;
let shortcutList = null;

export function openPalette(initial = "") {
  palette = palette || new Palette();
  palette.open(initial);
}

export function openShortcuts() {
  shortcutList = shortcutList || new ShortcutList();
  shortcutList.open();
}

// Whether a key press belongs to a field (or an open dialog), not to the page.
export function typing(event) {
  const target = event.target;
  return Boolean(target && target.closest && target.closest("input, textarea, select, [contenteditable], dialog"));
}

const MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);

export function installKeys() {
  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.repeat || event.isComposing) return;
    const k = event.key === "k" || event.key === "K";
    // Cmd+K anywhere; Ctrl+K too, except in a Mac's text field (where it deletes to the
    // end of the line).
    if (k && !event.altKey && !event.shiftKey && (event.metaKey || (event.ctrlKey && !(MAC && typing(event))))) {
      event.preventDefault();
      openPalette();
      return;
    }
    if (event.key === "?" && !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event)) {
      event.preventDefault();
      openShortcuts();
    }
  });
}
