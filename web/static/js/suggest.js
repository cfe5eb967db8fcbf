// A suggestion list under a textarea: a trigger typed before the caret (`/pri`, `@bo`)
// opens it, filtered as one types; arrows move, Enter or Tab chooses, Esc closes.
//
// Its keys are taken in the capture phase on an ancestor, so Enter chooses an item
// instead of sending the message (the composer's own Enter handler never sees it).

import { h } from "./dom.js";

let ids = 0;

export class Suggest {
  // input: the textarea; list: the listbox <ul>; host: an ancestor for the keys;
  // pattern: a RegExp matched against the text before the caret, its group 1 the query;
  // items(query) -> [{label, detail}] (or a promise); choose(item, match) on choice.
  constructor({ input, list, host, pattern, items, choose }) {
    Object.assign(this, { input, list, pattern, items, choose });
    this.match = null;
    this.found = [];
    this.at = 0;
    this.asked = 0;
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.addEventListener("input", () => this.update());
    input.addEventListener("blur", () => setTimeout(() => {
      if (document.activeElement !== input) this.close();
    }, 150));
    host.addEventListener("keydown", (event) => this.key(event), true);
  }

  get open() {
    return this.list.dataset.owner === this.input.id && !this.list.hidden;
  }

  async update() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const match = before.match(this.pattern);
    if (!match) return this.close();
    const asked = ++this.asked;
    const found = await this.items(match[1].toLowerCase());
    if (asked !== this.asked) return;
    this.match = match;
    this.found = found;
    this.at = 0;
    if (!found.length) return this.close();
    this.render();
  }

  render() {
    this.list.dataset.owner = this.input.id;
    this.list.replaceChildren(...this.found.map((item, i) => {
      const id = `suggest-${++ids}`;
      const li = h("li", {
        id, role: "option", "aria-selected": i === this.at ? "true" : "false",
        class: "cursor-pointer px-3 py-1.5 aria-selected:bg-emerald-100",
        onmousedown: (event) => {
          event.preventDefault();
          this.pick(i);
        },
      }, h("span", { class: "font-medium", text: item.label }),
      item.detail ? h("span", { class: "block truncate text-xs text-slate-500", text: item.detail }) : null);
      return li;
    }));
    this.list.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    const active = this.list.children[this.at];
    if (active) {
      this.input.setAttribute("aria-activedescendant", active.id);
      active.scrollIntoView({ block: "nearest" });
    }
  }

  close() {
    this.asked += 1;
    this.match = null;
    if (this.list.dataset.owner === this.input.id) {
      this.list.hidden = true;
      this.list.replaceChildren();
    }
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  key(event) {
    if (event.target !== this.input || !this.open || event.isComposing) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      this.at = (this.at + moves[event.key] + this.found.length) % this.found.length;
      this.render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.pick(this.at);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  // Replaces the trigger and query before the caret with what choose() returns.
  pick(i) {
    const item = this.found[i];
    const match = this.match;
    if (!item || !match) return;
    const input = this.input;
    const end = input.selectionStart;
    const start = end - match[0].length + match[0].indexOf(match[0].trimStart());
    const text = this.choose(item);
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    const caret = start + text.length;
    input.setSelectionRange(caret, caret);
    this.close();
    input.focus();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }
}
